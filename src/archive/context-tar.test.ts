// createContextTar read back with the project's own TarReader (and with GNU tar): names, order,
// modes, owners, symlinks, hard links, exclusions with exceptions, kept build files, appended
// Dockerfile, replaced .dockerignore; isArchive and tarOfFiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, link, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { TarReader, type TarEntry } from './tar-reader.ts';
import { createContextTar, isArchive, tarOfFiles, type ContextTarOptions } from './context-tar.ts';
import { contextExcludes, parseDockerignore } from '../build/context/dockerignore.ts';


function tree(files: Record<string, string | { symlink: string } | { dir: true; mode?: number } | { content: string; mode: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctxtar-'));
  for (const [name, spec] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof spec === 'string') writeFileSync(p, spec);
    else if ('symlink' in spec) symlinkSync(spec.symlink, p);
    else if ('dir' in spec) { mkdirSync(p, { recursive: true }); if (spec.mode !== undefined) chmodSync(p, spec.mode); }
    else { writeFileSync(p, spec.content); chmodSync(p, spec.mode); }
  }
  return dir;
}

interface Read { entry: TarEntry; body: Buffer }

async function readTar(src: AsyncIterable<Buffer | string> | Buffer): Promise<Read[]> {
  const r = new TarReader(Buffer.isBuffer(src) ? Readable.from([src]) : src);
  const out: Read[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    const chunks: Buffer[] = [];
    for await (const c of r.body()) chunks.push(Buffer.from(c));
    out.push({ entry: e, body: Buffer.concat(chunks) });
  }
  await r.drain();
  return out;
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The old option shape (patterns and the Dockerfile's path), turned into a matcher as the CLI does. */
type Spec = Partial<ContextTarOptions> & { excludes?: string[]; dockerfilePath?: string };
const tarOf = (dir: string, { excludes = [], dockerfilePath, ...o }: Spec = {}) =>
  collect(createContextTar(dir, { ...o, exclude: contextExcludes(excludes, dockerfilePath) }));
const names = (r: Read[]) => r.map((x) => x.entry.name);

test('every kind of entry, in byte order, depth first, with mode, owner, mtime and targets', async () => {
  const dir = tree({
    'Dockerfile': 'FROM busybox\n',
    'b.txt': 'bee',
    'a.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'Z-upper': 'z',
    'dir/sub/deep.txt': 'deep',
    'dir/file': 'f',
    'link-abs': { symlink: '/etc/passwd' },
    'link-rel': { symlink: 'dir/file' },
    'dangling': { symlink: 'nowhere' },
    'secret': { content: 's', mode: 0o600 },
    'sticky': { dir: true, mode: 0o1777 },
  });
  try {
    lutimesSync(join(dir, 'b.txt'), 1_700_000_000.9, 1_700_000_000.9);
    await promisify(link)(join(dir, 'b.txt'), join(dir, 'hard.txt'));
    const tar = await tarOf(dir);
    const r = await readTar(tar);
    assert.deepEqual(names(r), [
      'Dockerfile', 'Z-upper', 'a.sh', 'b.txt', 'dangling', 'dir/', 'dir/file', 'dir/sub/', 'dir/sub/deep.txt',
      'hard.txt', 'link-abs', 'link-rel', 'secret', 'sticky/',
    ]);
    const by = (n: string) => r.find((x) => x.entry.name === n)!;
    assert.equal(by('a.sh').entry.mode, 0o755);
    assert.equal(by('secret').entry.mode, 0o600);
    assert.equal(by('sticky/').entry.mode, 0o1777);
    assert.equal(by('sticky/').entry.kind, 'dir');
    assert.equal(by('b.txt').entry.mtime, 1_700_000_000);
    assert.equal(by('b.txt').body.toString(), 'bee');
    assert.equal(by('hard.txt').entry.kind, 'link');
    assert.equal(by('hard.txt').entry.linkname, 'b.txt');
    assert.equal(by('link-abs').entry.kind, 'symlink');
    assert.equal(by('link-abs').entry.linkname, '/etc/passwd');
    assert.equal(by('link-rel').entry.linkname, 'dir/file');
    assert.equal(by('dangling').entry.linkname, 'nowhere');
    assert.equal(by('dir/sub/deep.txt').body.toString(), 'deep');
    assert.equal(by('Dockerfile').entry.uid, process.getuid!());
    // The same tree gives the same bytes.
    assert.deepEqual(await tarOf(dir), tar);
    // GNU tar reads it too.
    const t = spawnSync('tar', ['-tvf', '-'], { input: tar });
    assert.equal(t.status, 0, t.stderr.toString());
    assert.match(t.stdout.toString(), /link-abs -> \/etc\/passwd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('owner override (docker sends 0:0), long names and link targets through PAX', async () => {
  const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}.txt`;
  const dir = tree({ [long]: 'long', 'l': { symlink: 'x'.repeat(150) }, 'ünïcode.txt': 'u' });
  try {
    const r = await readTar(await tarOf(dir, { owner: { uid: 0, gid: 0 } }));
    assert.ok(names(r).includes(long));
    assert.ok(names(r).includes('ünïcode.txt'));
    assert.equal(r.find((x) => x.entry.name === 'l')!.entry.linkname, 'x'.repeat(150));
    for (const x of r) { assert.equal(x.entry.uid, 0); assert.equal(x.entry.gid, 0); }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.dockerignore: excluded files and directories, exceptions, docker\'s walk into excluded dirs', async () => {
  const dir = tree({
    'Dockerfile': 'FROM x',
    '.dockerignore': '',
    'app.py': 'a',
    'debug.log': 'l',
    'logs/keep.log': 'k',
    'logs/other.log': 'o',
    'node_modules/pkg/index.js': 'n',
    'src/node_modules/x.js': 'x',
    'src/main.py': 'm',
    '.git/HEAD': 'h',
    'docs/README.md': 'r',
    'docs/guide.md': 'g',
    'docs/img/a.png': 'p',
    'tmp/a.md': 'a',
  });
  try {
    const excludes = parseDockerignore([
      '*.log', // top level only
      'logs', '!logs/keep.log', // an exception inside an excluded directory
      '**/node_modules',
      '.git',
      'docs', '!docs/README.md',
      'tmp', '!**/*.md', // docker does not walk into tmp for this exception
    ].join('\n'));
    const r = await readTar(await tarOf(dir, { excludes, dockerfilePath: 'Dockerfile' }));
    assert.deepEqual(names(r), [
      '.dockerignore', 'Dockerfile', 'app.py',
      // docs/ is walked for `!docs/README.md`; inside it `!**/*.md` re-includes guide.md too,
      // but tmp/ is never walked (no exception starts with `tmp/`), so tmp/a.md stays out.
      'docs/README.md', 'docs/guide.md',
      // logs/ itself stays out, only what the exception re-includes goes in
      'logs/keep.log',
      'src/', 'src/main.py',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Dockerfile, its ignore file and .dockerignore are kept even when excluded', async () => {
  const dir = tree({
    'build/app.Dockerfile': 'FROM x',
    'build/app.Dockerfile.dockerignore': 'build\n',
    'build/other': 'o',
    '.dockerignore': '.dockerignore\n',
    'src/a': 'a',
  });
  try {
    const r = await readTar(await tarOf(dir, { excludes: ['build', '.dockerignore', 'src'], dockerfilePath: 'build/app.Dockerfile' }));
    assert.deepEqual(names(r), ['.dockerignore', 'build/app.Dockerfile', 'build/app.Dockerfile.dockerignore']);
    // Without dockerfilePath (Dockerfile from elsewhere) only .dockerignore is kept.
    const r2 = await readTar(await tarOf(dir, { excludes: ['build', '.dockerignore', 'src'] }));
    assert.deepEqual(names(r2), ['.dockerignore']);
    // Everything excluded with '*' still keeps the build files.
    const r3 = await readTar(await tarOf(dir, { excludes: ['*'], dockerfilePath: 'build/app.Dockerfile' }));
    assert.deepEqual(names(r3), ['.dockerignore', 'build/app.Dockerfile', 'build/app.Dockerfile.dockerignore']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an extra Dockerfile is appended; files replace or add entries', async () => {
  const dir = tree({ 'a': 'a', '.dockerignore': '*.tmp\n', 'x.tmp': 't' });
  try {
    const now = 1_700_000_123_000;
    const r = await readTar(await tarOf(dir, {
      excludes: ['*.tmp'],
      dockerfile: { name: '.dockerfile.0123456789abcdef0123', content: Buffer.from('FROM busybox\n') },
      files: { '.dockerignore': Buffer.from('*.tmp\n\n.dockerfile.0123456789abcdef0123\n'), 'added.txt': Buffer.from('new') },
      owner: { uid: 0, gid: 0 },
      now,
    }));
    assert.deepEqual(names(r), ['.dockerignore', 'a', '.dockerfile.0123456789abcdef0123', 'added.txt']);
    const df = r[2];
    assert.equal(df.body.toString(), 'FROM busybox\n');
    assert.equal(df.entry.mode, 0o600);
    assert.equal(df.entry.mtime, now / 1000);
    assert.equal(r[0].body.toString(), '*.tmp\n\n.dockerfile.0123456789abcdef0123\n');
    assert.equal(r[3].body.toString(), 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('large files stream in pieces with exact sizes', async () => {
  const dir = tree({});
  try {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(dir, 'small'), 'x');
    const s = createContextTar(dir, {});
    let chunks = 0;
    const parts: Buffer[] = [];
    for await (const c of s) { chunks++; parts.push(c as Buffer); }
    assert.ok(chunks > 2, 'streamed, not one buffer');
    const r = await readTar(Buffer.concat(parts));
    assert.deepEqual(names(r), ['big.bin', 'small']);
    assert.ok(r[0].body.equals(big));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad patterns throw at once; an unreadable file fails the stream with docker\'s text', async () => {
  assert.throws(() => contextExcludes(['['], undefined), /syntax error in pattern/);
  if (process.getuid!() === 0) return; // root reads everything
  const dir = tree({ 'locked': { content: 'x', mode: 0o000 } });
  try {
    await assert.rejects(tarOf(dir), /no permission to read from '.*\/locked'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isArchive: compressed streams and tar headers, not Dockerfiles', () => {
  const tar = tarOfFiles([{ name: 'Dockerfile', content: Buffer.from('FROM busybox\n'), mtime: 0 }]);
  assert.equal(isArchive(tar), true);
  assert.equal(isArchive(tar.subarray(0, 512)), true);
  assert.equal(isArchive(gzipSync(Buffer.from('x'))), true);
  assert.equal(isArchive(Buffer.from('BZh91AY&SY')), true);
  assert.equal(isArchive(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1])), true);
  assert.equal(isArchive(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), true);
  assert.equal(isArchive(Buffer.from('FROM busybox\nRUN echo hi\n')), false);
  assert.equal(isArchive(Buffer.from('FROM busybox\n'.repeat(100))), false);
  assert.equal(isArchive(Buffer.alloc(1024)), false);
  const corrupt = Buffer.from(tar);
  corrupt[0] ^= 1;
  assert.equal(isArchive(corrupt), false);
});

test('tarOfFiles: a context of in-memory files', async () => {
  const r = await readTar(tarOfFiles([{ name: 'Dockerfile', content: Buffer.from('FROM scratch\n'), mtime: 1_000_000 }]));
  assert.equal(r.length, 1);
  assert.equal(r[0].entry.name, 'Dockerfile');
  assert.equal(r[0].entry.mode, 0o644);
  assert.equal(r[0].entry.mtime, 1000);
  assert.equal(r[0].body.toString(), 'FROM scratch\n');
});
