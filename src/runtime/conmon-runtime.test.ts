import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runtimeUpdateArgs, UPDATE_FLAGS } from './conmon-runtime.ts';

test('update args: one --flag=value per field given, negative values included', () => {
  assert.deepEqual(runtimeUpdateArgs({}), ['update']);
  assert.deepEqual(runtimeUpdateArgs({ cpuShares: 512, pidsLimit: -1, memorySwap: -1, cpusetCpus: '0' }),
    ['update', '--memory-swap=-1', '--cpu-share=512', '--cpuset-cpus=0', '--pids-limit=-1']);
});

// Every flag berth passes must be one the installed runtime knows: runc 1.1 has `--cpu-share`
// and fails the whole update on an unknown flag ("flag provided but not defined").
for (const bin of ['runc', 'crun']) {
  const help = spawnSync(bin, ['update', '--help'], { encoding: 'utf8' });
  const text = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  test(`every update flag is one ${bin} update accepts`, { skip: help.error || !/--memory/.test(text) ? `no ${bin} here` : false }, () => {
    const known = new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
    for (const [field, flag] of Object.entries(UPDATE_FLAGS)) assert.ok(known.has(flag), `${bin} update has no ${flag} (for ${field})`);
  });
}
