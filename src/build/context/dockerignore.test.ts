import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import {
  PatternMatcher, dockerignoreFor, locateDockerignore, parseDockerignore, trimBuildFilesFromExcludes,
} from './dockerignore.ts';

const matches = (patterns: string[], path: string) => new PatternMatcher(patterns).matches(path);

test('parseDockerignore: comments, blanks, trimming, cleaning, leading slash, exceptions', () => {
  const text = [
    '\uFEFFtest1',
    '/test2',
    '/a/file/here',
    '',
    '   ',
    'lastfile',
    '# this is a comment',
    '  # an indented hash is a pattern',
    '! /inverted/abs/path',
    '!',
    '! ',
    './dot/slash/',
    'a//b/../c',
    '\ttabbed\t',
    'crlf\r',
  ].join('\n');
  assert.deepEqual(parseDockerignore(text), [
    'test1', 'test2', 'a/file/here', 'lastfile', '# an indented hash is a pattern', '!inverted/abs/path', '!', '!',
    'dot/slash', 'a/c', 'tabbed', 'crlf',
  ]);
  assert.deepEqual(parseDockerignore(''), []);
  assert.deepEqual(parseDockerignore('/\n'), ['/']);
});

test('globs: *, ?, literal regexp characters', () => {
  const t: Array<[string, string, boolean]> = [
    ['*', 'file', true], ['*', 'dir/file', true], // the parent "dir" matches
    ['*.go', 'main.go', true], ['*.go', 'main.go.txt', false],
    ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true], ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['abc?def', 'abcZdef', true], ['abc?def', 'abcdef', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false],
    ['a?b', 'a☺b', true], ['a???b', 'a☺b', false],
    ['abc.def', 'abcZdef', false], ['abc.def', 'abc.def', true],
    ['.*', '.foo', true], ['.*', 'foo', false],
    ['a(b)c/def', 'a(b)c/def', true], ['a(b)c/def', 'a(b)c/xyz', false],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false], ['a\\\\', 'a\\', true],
    ['*x', 'xxx', true],
  ];
  for (const [p, path, want] of t) assert.equal(matches([p], path), want, `${p} ~ ${path}`);
});

test('character classes: ranges, ^ negation, escapes; ! is not negation (as in docker)', () => {
  const t: Array<[string, string, boolean]> = [
    ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true],
    ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[^b-d]e', 'aze', true],
    ['a[^a]b', 'a☺b', true], ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false],
    ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true], ['[\\-x]', 'a', false],
    ['[!a]', '!', true], ['[!a]', 'b', false],
    ['[.]', '.', true], ['[.]', 'x', false],
  ];
  for (const [p, path, want] of t) assert.equal(matches([p], path), want, `${p} ~ ${path}`);
});

test('malformed patterns: syntax error in pattern; a lone ! is illegal', () => {
  for (const bad of ['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[', 'ok/[']) {
    assert.throws(() => new PatternMatcher([bad]), /syntax error in pattern/, bad);
  }
  assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern: "!"/);
  assert.doesNotThrow(() => new PatternMatcher(['', '  ', 'ok']));
});

test('a reversed class range is a syntax error in pattern, not a crash (found by the fuzz test)', () => {
  // Go's regexp refuses `[a-*]` ("invalid character class range"); patternmatcher says ErrBadPattern.
  for (const bad of ['**[a-*z]', '[z-a]', '[\\z-a]', '[b-\\a]', '!x/[ζ-a]']) {
    assert.throws(() => new PatternMatcher([bad]), (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === 'syntax error in pattern', bad);
  }
  assert.equal(matches(['[a-a]'], 'a'), true);
});

test('many wildcards against a long name are answered in linear time, as Go\'s regexp does (found by the fuzz test)', () => {
  // dockerignore.fuzz.test.ts, seed 42: as a backtracking regular expression this never returned.
  const m = new PatternMatcher(['*?*b*a*a*?*ba*a*a*a*a*?']);
  const t0 = Date.now();
  assert.equal(m.matches('ab'.repeat(111)), true);
  assert.equal(m.matches(`${'ab'.repeat(110)}/c`), true, 'a parent matches');
  assert.equal(m.matches('a'.repeat(200)), false);
  assert.equal(new PatternMatcher(['*a*a*a*a*a*a*a*a*a*b']).matches('a'.repeat(200)), false);
  assert.equal(new PatternMatcher(['x/**/*a*a*a*a*a*a*a*a*a*b']).matches(`x/${'a/'.repeat(50)}${'a'.repeat(200)}`), false);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});

test('**: in front, in the middle, at the end, alone', () => {
  const t: Array<[string, string, boolean]> = [
    ['**', 'file', true], ['**', 'dir/file', true], ['**/', 'dir/file', true], ['**/**', 'dir/file', true],
    ['dir/**', 'dir/file', true], ['dir/**', 'dir/dir2/file', true], ['abc/**', 'abc', false],
    ['**/dir', 'dir', true], ['**/dir', 'dir/file', true], ['**/dir', 'xdir', false],
    ['**/dir2/*', 'dir/dir2/file', true], ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**file', 'file', true], ['**file', 'dir/file', true], ['**file', 'dir/xfile', true], // a suffix test, as in docker
    ['**/file', 'dir/dir/file', true], ['**/file', 'dir/xfile', false],
    ['**/file*', 'dir/dir/file.txt', true], ['**/file*.txt*', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true], ['**/**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/file.txt', true], ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true], ['a/*.txt**', 'a/file.txt', true],
    ['**/foo/bar', 'foo/bar', true], ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['**/.foo', '.foo', true], ['**/.foo', 'bar.foo', false],
    ['a/**/b', 'a/b', true], ['a/**/b', 'a/x/y/b', true], ['a/**/b', 'ab', false],
  ];
  for (const [p, path, want] of t) assert.equal(matches([p], path), want, `${p} ~ ${path}`);
});

test('exceptions: the last matching pattern wins, in file order', () => {
  assert.equal(matches(['*.go', '!main.go'], 'main.go'), false);
  assert.equal(matches(['!main.go', '*.go'], 'main.go'), true);
  assert.equal(matches(['*.md', '!README.md', 'README.md'], 'README.md'), true);
  assert.equal(matches(['docs', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(matches(['docs/', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(matches(['docs/*', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(matches(['docs', '!docs/README.md'], 'docs/other.md'), true);
  assert.equal(matches(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
  assert.equal(matches(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
  assert.equal(matches(['**', '!dist/*.whl'], 'dist/a-1.0+x.whl'), false);
  const m = new PatternMatcher(['*.log', '!keep/*.log']);
  assert.equal(m.exclusions(), true);
  assert.equal(new PatternMatcher(['a', 'b']).exclusions(), false);
  assert.deepEqual(new PatternMatcher(['  docs ', '!docs/README.md  ']).patterns(), [
    { pattern: 'docs', exclusion: false }, { pattern: 'docs/README.md', exclusion: true },
  ]);
});

test('a pattern matching a parent directory excludes everything below it', () => {
  assert.equal(matches(['node_modules'], 'node_modules'), true);
  assert.equal(matches(['node_modules'], 'node_modules/a/b/c.js'), true);
  assert.equal(matches(['node_modules'], 'src/node_modules/x'), false);
  assert.equal(matches(['**/node_modules'], 'src/node_modules/x'), true);
  assert.equal(matches(['a/b'], 'a/b/c/d'), true);
  assert.equal(matches(['a/b'], 'a/bc'), false);
  assert.equal(matches(['*/b'], 'x/b/c'), true);
  assert.equal(matches([], 'anything'), false);
});

test('leading / and ./ in the file are the same pattern; paths are cleaned before matching', () => {
  const patterns = parseDockerignore('/secret\n./build\n/a/../tmp\n');
  assert.deepEqual(patterns, ['secret', 'build', 'tmp']);
  const m = new PatternMatcher(patterns);
  assert.equal(m.matches('secret'), true);
  assert.equal(m.matches('build/out.o'), true);
  assert.equal(m.matches('tmp'), true);
  assert.equal(m.matches('./secret'), true);
  assert.equal(m.matches('src/secret'), false);
});

test('mayReinclude: docker\'s prefix rule for walking excluded directories', () => {
  const m = new PatternMatcher(['dir', '!dir/keep.txt', 'other', '!**/*.md']);
  assert.equal(m.mayReinclude('dir'), true);
  assert.equal(m.mayReinclude('other'), false);
  assert.equal(m.mayReinclude('di'), false);
  assert.equal(new PatternMatcher(['a/b', '!a/b/c/d']).mayReinclude('a/b/c'), true);
  assert.equal(new PatternMatcher(['dir']).mayReinclude('dir'), false);
});

test('Dockerfile-specific ignore file takes precedence over .dockerignore', () => {
  const files: Record<string, string> = {
    '.dockerignore': '*.log\n',
    'build/app.Dockerfile.dockerignore': '*.tmp\n!x.tmp\n',
  };
  const read = (p: string) => files[p];
  assert.deepEqual(dockerignoreFor(read, 'build/app.Dockerfile'), ['*.tmp', '!x.tmp']);
  assert.deepEqual(dockerignoreFor(read, 'Dockerfile'), ['*.log']);
  assert.deepEqual(dockerignoreFor(read, undefined), ['*.log']);
  assert.deepEqual(dockerignoreFor(read, '-'), ['*.log']);
  assert.deepEqual(dockerignoreFor(() => undefined, 'Dockerfile'), []);
  // Absolute paths on the client: the context root is given.
  const abs: Record<string, string> = { '/ctx/.dockerignore': 'a\n', '/elsewhere/x.Dockerfile.dockerignore': 'b\n' };
  assert.deepEqual(locateDockerignore((p) => abs[p], '/elsewhere/x.Dockerfile', '/ctx'), { path: '/elsewhere/x.Dockerfile.dockerignore', text: 'b\n' });
  assert.deepEqual(locateDockerignore((p) => abs[p], '/ctx/Dockerfile', '/ctx/'), { path: '/ctx/.dockerignore', text: 'a\n' });
});

test('trimBuildFilesFromExcludes keeps .dockerignore, the Dockerfile and its ignore file', () => {
  assert.deepEqual(trimBuildFilesFromExcludes(['*.md'], 'Dockerfile'), ['*.md']);
  assert.deepEqual(trimBuildFilesFromExcludes(['.*', 'Dockerfile'], 'Dockerfile'), ['.*', 'Dockerfile', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(trimBuildFilesFromExcludes(['build'], 'build/app.Dockerfile'), ['build', '!build/app.Dockerfile', '!build/app.Dockerfile.dockerignore']);
  // A Dockerfile from stdin is not in the context.
  assert.deepEqual(trimBuildFilesFromExcludes(['*'], 'Dockerfile', true), ['*', '!.dockerignore']);
  assert.deepEqual(trimBuildFilesFromExcludes(['['], 'Dockerfile'), ['[']);
  const m = new PatternMatcher(trimBuildFilesFromExcludes(['**'], 'Dockerfile'));
  assert.equal(m.matches('Dockerfile'), false);
  assert.equal(m.matches('.dockerignore'), false);
  assert.equal(m.matches('src/a'), true);
});
