import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPathsToSkip, mergeConfig } from './commit.ts';

test('commit config: the user config wins where set, the container fills the rest', () => {
  const m = mergeConfig({ Cmd: ['x'], Env: ['A=b'], Labels: { l: '1' } }, { Cmd: ['sh'], Env: ['PATH=/bin', 'A=a'], User: 'u', Labels: { k: '2' } });
  assert.deepEqual(m.Cmd, ['x']);
  assert.deepEqual(m.Env, ['A=b', 'PATH=/bin']);
  assert.equal(m.User, 'u');
  assert.deepEqual(m.Labels, { k: '2', l: '1' });
});

test('commit layer: mount targets the image lacks are left out, user files kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commit-skip-'));
  try {
    const upper = join(dir, 'upper');
    const lower = join(dir, 'lower');
    mkdirSync(join(upper, 'etc'), { recursive: true });
    mkdirSync(join(upper, 'proc'), { recursive: true });
    mkdirSync(join(upper, 'dev', 'shm'), { recursive: true });
    mkdirSync(join(lower, 'etc'), { recursive: true });
    for (const f of ['hosts', 'hostname', 'resolv.conf']) writeFileSync(join(upper, 'etc', f), '');
    writeFileSync(join(lower, 'etc', 'hostname'), 'img');
    const s = initPathsToSkip(upper, [lower]);
    // etc/hostname exists in the image: a change to it is kept (and so is /etc).
    assert.deepEqual([...s].sort(), ['dev', 'dev/shm', 'etc/hosts', 'etc/resolv.conf', 'proc']);
    rmSync(join(upper, 'etc', 'hostname'));
    assert.ok(initPathsToSkip(upper, [lower]).has('etc'));
    writeFileSync(join(upper, 'etc', 'mine'), 'x');
    assert.ok(!initPathsToSkip(upper, [lower]).has('etc'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
