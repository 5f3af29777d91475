import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../common/errors.ts';
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, capsFromMask, hostCapabilities, normalizeCapabilities, tweakCapabilities } from './capabilities.ts';

const invalidWith = (msg: string) => (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;

// These machines: every capability up to CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE.
const HERE = { available: capsFromMask('000001fffeffffff') };

test('masks decode to names in kernel order', () => {
  assert.deepEqual(capsFromMask('0'), []);
  assert.deepEqual(capsFromMask('0000000000000001'), ['CAP_CHOWN']);
  // Docker's default set, as /proc/<pid>/status shows it in a default container.
  assert.deepEqual(new Set(capsFromMask('00000000a80425fb')), new Set(DEFAULT_CAPABILITIES));
  assert.equal(HERE.available.length, 40);
  assert.ok(!HERE.available.includes('CAP_SYS_RESOURCE'));
  assert.equal(CAPABILITY_NAMES[40], 'CAP_CHECKPOINT_RESTORE');
});

test('names are normalized: any case, with or without CAP_', () => {
  assert.deepEqual(normalizeCapabilities(['net_admin', 'CAP_SYS_ADMIN', 'Sys_Ptrace', 'all'], HERE), ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'ALL']);
  assert.throws(() => normalizeCapabilities(['FOO'], HERE), invalidWith('unknown capability: "CAP_FOO"'));
  assert.throws(
    () => normalizeCapabilities(['sys_resource'], HERE),
    invalidWith('capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"'),
  );
  // Unknown environment: every known name passes (Docker's fallback).
  assert.deepEqual(normalizeCapabilities(['SYS_RESOURCE'], {}), ['CAP_SYS_RESOURCE']);
});

test("Docker's add/drop rules", () => {
  assert.deepEqual(tweakCapabilities({}, HERE), [...DEFAULT_CAPABILITIES]);
  const t = tweakCapabilities({ capAdd: ['SYS_ADMIN'], capDrop: ['net_raw', 'CAP_KILL'] }, HERE);
  assert.ok(t.includes('CAP_SYS_ADMIN') && !t.includes('CAP_NET_RAW') && !t.includes('CAP_KILL'));
  assert.equal(t.length, DEFAULT_CAPABILITIES.length - 1);
  // drop ALL: exactly the added ones
  assert.deepEqual(tweakCapabilities({ capAdd: ['chown'], capDrop: ['ALL'] }, HERE), ['CAP_CHOWN']);
  assert.deepEqual(tweakCapabilities({ capDrop: ['all'] }, HERE), []);
  // add ALL: everything available minus the drops
  const all = tweakCapabilities({ capAdd: ['ALL'], capDrop: ['MKNOD'] }, HERE);
  assert.equal(all.length, 39);
  assert.ok(!all.includes('CAP_MKNOD') && !all.includes('CAP_SYS_RESOURCE'));
  // privileged: everything available, add/drop ignored
  assert.deepEqual(tweakCapabilities({ privileged: true, capDrop: ['ALL'] }, HERE), HERE.available);
  assert.equal(tweakCapabilities({ privileged: true }, {}).length, CAPABILITY_NAMES.length);
  // a default the daemon lacks is left out rather than failing in the runtime
  const noMknod = { available: HERE.available.filter((c) => c !== 'CAP_MKNOD') };
  assert.ok(!tweakCapabilities({}, noMknod).includes('CAP_MKNOD'));
});

test('the daemon reads its own effective set', async () => {
  const env = await hostCapabilities();
  assert.ok(env.available && env.available.length > 0);
  assert.deepEqual(await hostCapabilities('/nonexistent/status'), {});
});
