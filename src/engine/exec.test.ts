import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execEnv } from './exec.ts';

const base = ['PATH=/usr/bin:/bin', 'HOSTNAME=abc', 'A=1'];

test('execEnv: the container environment, the exec Env replacing, appending and removing', () => {
  assert.deepEqual(execEnv(base, {}, false, []), base);
  assert.deepEqual(execEnv(base, {}, false, ['A=2', 'B=3', 'PATH']), ['HOSTNAME=abc', 'A=2', 'B=3']);
});

test('execEnv: TERM=xterm follows the exec TTY unless the user set TERM', () => {
  assert.deepEqual(execEnv(base, {}, true, []), ['PATH=/usr/bin:/bin', 'HOSTNAME=abc', 'TERM=xterm', 'A=1']);
  const ttyCtr = ['PATH=/bin', 'HOSTNAME=abc', 'TERM=xterm'];
  assert.deepEqual(execEnv(ttyCtr, { Tty: true }, false, []), ['PATH=/bin', 'HOSTNAME=abc']);
  assert.deepEqual(execEnv(ttyCtr, { Tty: true, Env: ['TERM=xterm'] }, false, []), ttyCtr);
  assert.deepEqual(execEnv(['PATH=/bin', 'TERM=vt100'], { Env: ['TERM=vt100'] }, true, []), ['PATH=/bin', 'TERM=vt100']);
});
