// Fuzz tests of the Dockerfile front end (see src/common/fuzz-testing.ts): parser directives,
// instruction lines with random keywords, flags, quoting, escapes, variables and JSON forms,
// continuation lines with comments and blanks, heredocs (quoted, chomped, several per line), all
// mutated with the Dockerfile's own special characters; then the shell lexer on its own, with
// every option. Whatever the text, reading, typing and expanding it gives a result or a
// DockerfileError, in bounded time.
import assert from 'node:assert/strict';
import { expectError, fc, fuzz, mutatedString } from '../../common/fuzz-testing.ts';
import { DockerfileError } from './ast.ts';
import { expandCommand, parseCommand, splitStages } from './commands.ts';
import { parseDockerfile } from './parser.ts';
import { ShellLex, expandHeredoc } from './shell-lex.ts';

const dockerfileError = (e: Error) => e instanceof DockerfileError;

const KEYWORDS = ['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'LABEL', 'ARG', 'EXPOSE', 'COPY', 'ADD', 'WORKDIR', 'USER',
  'STOPSIGNAL', 'MAINTAINER', 'VOLUME', 'HEALTHCHECK', 'SHELL', 'ONBUILD', 'from', 'Run'];
const keyword = fc.oneof({ weight: 40, arbitrary: fc.constantFrom(...KEYWORDS) }, { weight: 1, arbitrary: fc.constantFrom('FORM', 'COPPY', 'X') });
const FLAGS = ['--from=base', '--chown="a b"', '--chmod=755', '--link', '--link=false', '--network=none', '--mount=type=cache,target=/x',
  '--interval=5s', '--timeout=1ms', '--retries=3', '--retries=-1', '--start-period=1h2m', '--interval=1.5µs', '--interval=99999999999h',
  '--platform=$P', '--parents', '--exclude=*.md', '--checksum=sha256:00', '--keep-git-dir', '--bogus', '--', '--from', "--chown='x'"];

// Pieces of arguments: words, quotes, escapes, variables with every modifier, heredoc openers.
const variable = fc.oneof(
  fc.constantFrom('$A', '${A}', '$B', '${B:-d}', '${U-d}', '${A:+x}', '${U:?no}', '${A?}', '${A#*a}', '${A##*a}', '${A%a*}', '${A%%a*}',
    '${A/a/b}', '${A//a/b}', '${A/#a/b}', '${A:0:2}', '${#A}', '${A', '${', '${}', '${:}', '$1', '$@', '${A:', '${A/', '${A//'),
  // Patterns with many wildcards, against a long value: a backtracking matcher takes forever.
  fc.tuple(fc.constantFrom('#', '##', '%', '%%', '/', '//'), fc.array(fc.constantFrom('*', '*', 'a', 'a', '?', '\\*', 'b'), { minLength: 1, maxLength: 24, size: 'max' }))
    .map(([op, p]) => `\${L${op}${p.join('')}${op.startsWith('/') ? '/r' : ''}}`),
);
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9./_:=-]{1,8}$/) },
  { weight: 2, arbitrary: variable },
  { weight: 1, arbitrary: fc.constantFrom('"a b"', "'c d'", '"$A"', '\\ ', '\\"', '`', '\\', '\t', '  ', '"', "'", '#x', '<<EOF', '<<-EOT', '<<"Q"', "<<'R'", '2<<E', '<<', '[', ']', '\u00a0', '\u2028') },
);
const shellArgs = fc.array(piece, { maxLength: 8 }).map((ps) => ps.join(' '));
const jsonArgs = fc.oneof(
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }).map((a) => JSON.stringify(a)),
  fc.constantFrom('[1, "a"]', '["a",', '[]', '["a"] b', '{"a":1}', '[null]'),
);
const instruction = fc.tuple(
  keyword,
  fc.array(fc.constantFrom(...FLAGS), { maxLength: 2 }),
  fc.oneof({ weight: 3, arbitrary: shellArgs }, { weight: 1, arbitrary: jsonArgs }),
  fc.option(fc.constantFrom('AS stage', 'as Stage', 'AS', 'CMD echo', 'NONE', 'RUN <<EOF'), { nil: undefined }),
).map(([k, fl, args, extra]) => [k, ...fl, args, extra ?? ''].filter((x) => x !== '').join(' '));
const continued = fc.tuple(instruction, fc.array(fc.oneof(shellArgs, fc.constantFrom('# comment', '', '   ', 'RUN x')), { maxLength: 3 }), fc.constantFrom('\\', '`'))
  .map(([first, more, esc]) => [first, ...more].join(` ${esc}\n`));
// Heredocs: openers on a RUN/COPY/ADD line, then bodies each closed by its delimiter (or not).
const HEREDOCS: Array<[string, string]> = [['<<EOF', 'EOF'], ['<<-EOT', '\tEOT'], ['<<"Q"', 'Q'], ["<<'R'", 'R'], ['2<<E', 'E'], ['<< EOF', 'EOF'], ['<<E"O"F', 'EOF']];
const heredoc = fc.tuple(
  fc.constantFrom('RUN', 'COPY', 'ADD', 'RUN --mount=type=cache,target=/x', 'ONBUILD RUN', 'run'),
  fc.array(fc.constantFrom(...HEREDOCS), { minLength: 1, maxLength: 2 }),
  fc.constantFrom('', '/dest', 'cat', 'x "y z"', '&& echo $A'),
  fc.array(fc.array(fc.oneof(shellArgs, fc.constantFrom('\t$A', '${L#*a}', 'EOF ', ' EOF', '\\')), { maxLength: 2 }), { minLength: 2, maxLength: 2 }),
  fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
).map(([kw, docs, tail, bodies, close]) => [
  `${kw} ${docs.map(([open]) => open).join(' ')} ${tail}`,
  ...docs.flatMap(([, end], i) => [...bodies[i], ...(close || i === 0 ? [end] : [])]),
].join('\n'));
const line = fc.oneof(
  { weight: 6, arbitrary: instruction },
  { weight: 2, arbitrary: continued },
  { weight: 2, arbitrary: heredoc },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '  # indented', '\\', '\r', 'ONBUILD ONBUILD RUN x', 'ONBUILD COPY <<EOF /x', 'FROM scratch') },
);
const directives = fc.oneof(
  { weight: 8, arbitrary: fc.subarray(['# syntax=docker/dockerfile:1', '# escape=`', '# check=skip=all'], { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('# escape=\\', '# escape=x', '#escape = `', '# ESCAPE=`', '# syntax=a', '# escape=`'), { maxLength: 2 }) },
);
const dockerfile = fc.tuple(fc.constantFrom('', '\uFEFF'), directives, fc.constantFrom('FROM busybox', '', 'ARG A=1\nFROM x'), fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'))
  .map(([bom, ds, from, ls, nl]) => bom + [...ds, from, ...ls].join(nl));
const text = fc.oneof(
  { weight: 4, arbitrary: dockerfile },
  { weight: 2, arbitrary: mutatedString(dockerfile, '\\`"\'$#{}[]:=- \t\n\r<>*?%/', 6) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
);
// Build args: one long value, so a slow pattern shows.
const env = { A: 'a/b/c', B: '', C: 'x y', L: 'a'.repeat(100) + 'b' + 'a'.repeat(100) };

fuzz('Dockerfile: any text reads, types and expands to a result or a DockerfileError', text, (t) => {
  const df = expectError(() => parseDockerfile(t), dockerfileError);
  if (!df) return;
  assert.ok(df.escape === '\\' || df.escape === '`');
  const split = expectError(() => splitStages(df), dockerfileError);
  for (const inst of df.instructions) {
    assert.ok(inst.line >= 1 && inst.endLine >= inst.line);
    const cmd = expectError(() => parseCommand(inst), dockerfileError);
    if (cmd) expectError(() => expandCommand(cmd, env, df.escape), dockerfileError);
    for (const h of inst.heredocs) expectError(() => expandHeredoc(h.content, env), dockerfileError);
  }
  if (split) assert.ok(split.stages.every((s) => s.from.cmd === 'from'));
}, { runs: 2500, caseMs: 1000, hangMs: 15_000 });

const word = fc.oneof(
  { weight: 3, arbitrary: fc.array(piece, { maxLength: 10 }).map((ps) => ps.join('')) },
  { weight: 2, arbitrary: mutatedString(fc.array(piece, { maxLength: 6 }).map((ps) => ps.join('')), '\\`"\'${}:-+?#%/* \t', 5) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);
const lexOptions = fc.record({ rawQuotes: fc.boolean(), rawEscapes: fc.boolean(), skipProcessQuotes: fc.boolean(), skipUnsetEnv: fc.boolean() });

fuzz('shell lexer: any word with any options expands or is a DockerfileError', fc.tuple(word, fc.constantFrom<'\\' | '`'>('\\', '`'), lexOptions), ([w, esc, o]) => {
  const lex = new ShellLex(esc, o);
  const one = expectError(() => lex.processWord(w, env), dockerfileError);
  const many = expectError(() => lex.processWords(w, env), dockerfileError);
  // Both passes read the word the same way: both fail or neither.
  assert.equal(one === undefined, many === undefined);
  if (many) for (const x of many) assert.equal(typeof x, 'string');
}, { runs: 3000, caseMs: 1000, hangMs: 15_000 });
