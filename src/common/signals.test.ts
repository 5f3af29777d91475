import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { isEngineError } from './errors.ts';
import { parseSignal, signalName, isValidSignal, SIGTERM, SIGKILL } from './signals.ts';

function invalidWith(msg: string) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;
}

test('names with or without SIG, in any case', () => {
  for (const s of ['SIGKILL', 'KILL', 'kill', 'SigKill', 'sigkill', '9', '+9']) assert.equal(parseSignal(s), 9, s);
  assert.equal(parseSignal('TERM'), SIGTERM);
  assert.equal(parseSignal('SIGKILL'), SIGKILL);
  assert.equal(parseSignal('hup'), 1);
  assert.equal(parseSignal('SIGWINCH'), 28);
  assert.equal(parseSignal('SIGUSR1'), 10);
});

test('aliases', () => {
  assert.equal(parseSignal('IOT'), 6);
  assert.equal(parseSignal('CLD'), 17);
  assert.equal(parseSignal('POLL'), 29);
  assert.equal(signalName(6), 'SIGABRT');
  assert.equal(signalName(17), 'SIGCHLD');
  assert.equal(signalName(29), 'SIGIO');
});

test('every classic name agrees with the kernel numbers Node knows', () => {
  for (const [name, n] of Object.entries(constants.signals)) {
    if (name === 'SIGUNUSED' || name === 'SIGBREAK' || name === 'SIGLOST' || name === 'SIGINFO') continue;
    assert.equal(parseSignal(name), n, name);
  }
});

test('real-time signals', () => {
  assert.equal(parseSignal('SIGRTMIN'), 34);
  assert.equal(parseSignal('SIGRTMIN+3'), 37);
  assert.equal(parseSignal('rtmin+15'), 49);
  assert.equal(parseSignal('SIGRTMAX-14'), 50);
  assert.equal(parseSignal('RTMAX-1'), 63);
  assert.equal(parseSignal('SIGRTMAX'), 64);
  assert.equal(signalName(34), 'SIGRTMIN');
  assert.equal(signalName(37), 'SIGRTMIN+3');
  assert.equal(signalName(49), 'SIGRTMIN+15');
  assert.equal(signalName(50), 'SIGRTMAX-14');
  assert.equal(signalName(64), 'SIGRTMAX');
  assert.throws(() => parseSignal('SIGRTMIN+16'), invalidWith('invalid signal: SIGRTMIN+16'));
  assert.throws(() => parseSignal('RTMIN+0'), invalidWith('invalid signal: RTMIN+0'));
});

test('numbers', () => {
  assert.equal(parseSignal('1'), 1);
  assert.equal(parseSignal('64'), 64);
  assert.equal(parseSignal('034'), 34);
  assert.throws(() => parseSignal('0'), invalidWith('invalid signal: 0'));
  assert.throws(() => parseSignal('-0'), invalidWith('invalid signal: -0'));
  assert.throws(() => parseSignal('32'), invalidWith('the linux daemon does not support signal 32'));
  assert.throws(() => parseSignal('65'), invalidWith('the linux daemon does not support signal 65'));
  assert.throws(() => parseSignal('-9'), invalidWith('the linux daemon does not support signal -9'));
});

test('unknown names', () => {
  assert.throws(() => parseSignal('xyz'), invalidWith('invalid signal: xyz'));
  assert.throws(() => parseSignal(''), invalidWith('invalid signal: '));
  assert.throws(() => parseSignal('SIG'), invalidWith('invalid signal: SIG'));
  assert.throws(() => parseSignal('SIGSIGKILL'), invalidWith('invalid signal: SIGSIGKILL'));
  assert.throws(() => parseSignal(' 9'), invalidWith('invalid signal:  9'));
  assert.throws(() => parseSignal('9.0'), invalidWith('invalid signal: 9.0'));
});

test('signalName and isValidSignal', () => {
  assert.equal(signalName(9), 'SIGKILL');
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName(32), undefined);
  assert.equal(signalName(0), undefined);
  assert.equal(isValidSignal(31), true);
  assert.equal(isValidSignal(33), false);
  for (let n = 1; n <= 64; n++) {
    const name = signalName(n);
    if (name) assert.equal(parseSignal(name), n, name);
  }
});
