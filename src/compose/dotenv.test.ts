import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDotEnv, parseRawEnv, readEnvFiles } from './dotenv.ts';

const plain = (v: object) => ({ ...v });

test('dotenv syntax: export, spacing, comments, quotes, escapes, expansion', () => {
  const text = [
    '# a comment',
    'export A=1',
    '  B = two words  ',
    'C=with#hash and inline # comment',
    "D='single $A \\n \\' kept'",
    'E="tab\\there \\"q\\" \\\\ \\$A ${A}"',
    'F=${A}-$A-${NOPE:-dflt}',
    'G: yaml style',
    'H=',
    'I="multi',
    'line"',
    "J='x' # trailing comment",
    'K=\'\'',
    'L="\\0101 octal"',
    'M.N-O[0]=odd name',
    '',
  ].join('\n');
  assert.deepEqual(plain(parseDotEnv(text)), {
    A: '1',
    B: 'two words',
    C: 'with#hash and inline',
    D: "single $A \\n ' kept",
    E: 'tab\there "q" \\ $A 1',
    F: '1-1-dflt',
    G: 'yaml style',
    H: '',
    I: 'multi\nline',
    J: 'x',
    K: '',
    L: 'A octal',
    'M.N-O[0]': 'odd name',
  });
});

test('expansion looks in the environment first, then in the file; bare keys inherit', () => {
  const env: Record<string, string> = { HOST: 'from-env', INHERIT: 'inherited' };
  const lookup = (k: string) => env[k];
  const out = parseDotEnv('HOST=from-file\nURL=http://${HOST}/\nLOCAL=x\nUSE=${LOCAL}\nINHERIT\nMISSING\n', lookup);
  assert.deepEqual(plain(out), { HOST: 'from-file', URL: 'http://from-env/', LOCAL: 'x', USE: 'x', INHERIT: 'inherited' });
});

test('dotenv errors: compose texts with line numbers', () => {
  assert.throws(() => parseDotEnv('A=1\nB="open\n'), (e: Error) => e.message === 'line 3: unterminated quoted value "open');
  assert.throws(() => parseDotEnv('A B=1\n'), /line 1: key cannot contain a space/);
  assert.throws(() => parseDotEnv('ok=1\n$bad=1\n'), /line 2: unexpected character "\$" in variable name "\$bad=1"/);
  assert.throws(() => parseDotEnv('A=${B:?need B}\n'), /required variable B is missing a value: need B/);
});

test('raw env files (env_file format: raw) are docker --env-file lines', () => {
  const out = parseRawEnv('# c\nA=${not expanded}\n  B=2\nC\nD\n', (k) => (k === 'C' ? 'from-env' : undefined));
  assert.deepEqual(plain(out), { A: '${not expanded}', B: '2', C: 'from-env' });
  assert.throws(() => parseRawEnv('A B=1\n', () => undefined), /variable 'A B' contains whitespaces/);
});

test('readEnvFiles: files in order, the environment wins in expansions, compose errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dotenv-'));
  try {
    writeFileSync(join(dir, 'one.env'), 'A=1\nB=${A}\n');
    writeFileSync(join(dir, 'two.env'), 'A=2\nC=${A}${P}\n');
    mkdirSync(join(dir, 'd.env'));
    const out = readEnvFiles([join(dir, 'one.env'), join(dir, 'two.env')], { P: 'p' });
    assert.deepEqual(plain(out), { A: '2', B: '1', C: '2p' });
    assert.throws(() => readEnvFiles([join(dir, 'none.env')], {}), new RegExp(`couldn't find env file: ${join(dir, 'none.env')}`));
    assert.throws(() => readEnvFiles([join(dir, 'd.env')], {}), /d\.env is a directory/);
    writeFileSync(join(dir, 'bad.env'), 'X="\n');
    assert.throws(() => readEnvFiles([join(dir, 'bad.env')], {}), /failed to read .*bad\.env: line \d: unterminated quoted value "/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
