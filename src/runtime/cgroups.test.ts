import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { detectCgroups, parseCgroupMounts } from './cgroups.ts';

// As these machines have it: v1 controllers on a tmpfs, cgroup2 at unified (hybrid).
const HYBRID = `
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V1_COMOUNTED = `
31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
35 31 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
`;
const V2 = `
26 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

test('hybrid, v1 and v2 layouts are told apart', () => {
  const h = parseCgroupMounts(HYBRID);
  assert.equal(h.version, 'hybrid');
  assert.equal(h.unified, '/sys/fs/cgroup/unified');
  assert.deepEqual(h.v1, { cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' });
  const v1 = parseCgroupMounts(V1_COMOUNTED);
  assert.equal(v1.version, 'v1');
  assert.equal(v1.v1.cpu, '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(v1.v1.cpuacct, '/sys/fs/cgroup/cpu,cpuacct');
  const v2 = parseCgroupMounts(V2);
  assert.equal(v2.version, 'v2');
  assert.deepEqual(v2.v1, {});
  assert.equal(parseCgroupMounts('').version, 'v1');
});

test('the default cgroup namespace follows the hierarchy, as in Docker', async () => {
  assert.equal((await detectCgroups({ mountinfo: V2 })).defaultCgroupns, 'private');
  assert.equal((await detectCgroups({ mountinfo: HYBRID })).defaultCgroupns, 'host');
});

test('this host', async (t) => {
  if (!existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) return t.skip('not a cgroup v1 memory host');
  const h = await detectCgroups();
  assert.notEqual(h.version, 'v2');
  assert.equal(h.features.memory, true);
  assert.equal(h.features.pids, true);
  assert.equal(h.features.cpuCfs, true);
  assert.equal(h.features.swap, existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'));
});
