// dockerode's container.update() against berthd, one resource field at a time: each reaches the
// running container's cgroup through the installed runtime (runc 1.1 spells CPU shares
// `--cpu-share`; an unknown flag fails the whole update) and is recorded in HostConfig; what the
// host cannot enforce comes back as Docker's warning instead of an error. The cgroup files read
// are cgroup v1's (these machines are v1 hybrid).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { startDaemon, hasDocker, type Daemon } from '../integration/harness.ts';
import { cgroupFileOf } from '../integration/runtime-util.ts';

let d: Daemon;
let docker: Docker;
let a: Docker.Container;
before(async () => {
  d = await startDaemon();
  docker = new Docker({ socketPath: d.sock });
  a = await running('upd-a');
});
after(async () => { await d?.stop(); });

async function running(name: string, hostConfig: Docker.HostConfig = {}): Promise<Docker.Container> {
  const c = await docker.createContainer({ name, Image: 'busybox', Cmd: ['sleep', '1000'], HostConfig: hostConfig });
  await c.start();
  return c;
}

/** The container's cgroup file, or undefined when this host has no such file. */
async function cg(c: Docker.Container, ctrl: string, file: string): Promise<string | undefined> {
  const pid = (await c.inspect()).State.Pid;
  try { return cgroupFileOf(pid, ctrl, file); } catch { return undefined; }
}

async function hostConfig(c: Docker.Container): Promise<Record<string, any>> {
  return (await c.inspect()).HostConfig as Record<string, any>;
}

test('CpuShares → cpu.shares', async () => {
  const r = await a.update({ CpuShares: 512 });
  assert.deepEqual(r.Warnings ?? [], []);
  assert.equal(await cg(a, 'cpu', 'cpu.shares'), '512');
  assert.equal((await hostConfig(a)).CpuShares, 512);
});

test('Memory with MemorySwap → memory.limit_in_bytes and memory.memsw.limit_in_bytes', async () => {
  await a.update({ Memory: 64 << 20, MemorySwap: 128 << 20 });
  assert.equal(await cg(a, 'memory', 'memory.limit_in_bytes'), String(64 << 20));
  const swap = await cg(a, 'memory', 'memory.memsw.limit_in_bytes');
  if (swap !== undefined) assert.equal(swap, String(128 << 20));
  const hc = await hostConfig(a);
  assert.deepEqual([hc.Memory, hc.MemorySwap], [64 << 20, 128 << 20]);
  // Memory alone, within the swap limit already set.
  await a.update({ Memory: 96 << 20 });
  assert.equal(await cg(a, 'memory', 'memory.limit_in_bytes'), String(96 << 20));
});

test('MemorySwap alone → memory.memsw.limit_in_bytes', async () => {
  await a.update({ MemorySwap: 256 << 20 });
  const swap = await cg(a, 'memory', 'memory.memsw.limit_in_bytes');
  if (swap !== undefined) assert.equal(swap, String(256 << 20));
  assert.equal((await hostConfig(a)).MemorySwap, 256 << 20);
});

test('MemoryReservation → memory.soft_limit_in_bytes', async () => {
  await a.update({ MemoryReservation: 32 << 20 });
  assert.equal(await cg(a, 'memory', 'memory.soft_limit_in_bytes'), String(32 << 20));
  assert.equal((await hostConfig(a)).MemoryReservation, 32 << 20);
});

test('NanoCpus → cpu.cfs_period_us and cpu.cfs_quota_us; then CFS period/quota conflict (409)', async () => {
  await a.update({ NanoCpus: 5e8 });
  assert.equal(await cg(a, 'cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(await cg(a, 'cpu', 'cpu.cfs_period_us'), '100000');
  assert.equal((await hostConfig(a)).NanoCpus, 5e8);
  await assert.rejects(a.update({ CpuQuota: 20000 }), (e: any) => e.statusCode === 409 && /CPU Quota cannot be updated as NanoCPUs has already been set/.test(e.message));
});

test('CpuPeriod and CpuQuota → cpu.cfs_period_us and cpu.cfs_quota_us', async () => {
  const b = await running('upd-b');
  await b.update({ CpuPeriod: 50000 });
  assert.equal(await cg(b, 'cpu', 'cpu.cfs_period_us'), '50000');
  await b.update({ CpuQuota: 25000 });
  assert.equal(await cg(b, 'cpu', 'cpu.cfs_quota_us'), '25000');
  const hc = await hostConfig(b);
  assert.deepEqual([hc.CpuPeriod, hc.CpuQuota], [50000, 25000]);
  await assert.rejects(b.update({ NanoCpus: 1e9 }), (e: any) => e.statusCode === 409 && /Nano CPUs cannot be updated as CPU Period has already been set/.test(e.message));
});

test('CpusetCpus and CpusetMems → cpuset.cpus and cpuset.mems', async () => {
  await a.update({ CpusetCpus: '0' });
  assert.equal(await cg(a, 'cpuset', 'cpuset.cpus'), '0');
  await a.update({ CpusetMems: '0' });
  assert.equal(await cg(a, 'cpuset', 'cpuset.mems'), '0');
  const hc = await hostConfig(a);
  assert.deepEqual([hc.CpusetCpus, hc.CpusetMems], ['0', '0']);
});

test('PidsLimit → pids.max (0 is unlimited)', async () => {
  await a.update({ PidsLimit: 20 });
  assert.equal(await cg(a, 'pids', 'pids.max'), '20');
  assert.equal((await hostConfig(a)).PidsLimit, 20);
  await a.update({ PidsLimit: 0 });
  assert.equal(await cg(a, 'pids', 'pids.max'), 'max');
});

test('BlkioWeight → blkio.weight, or Docker\'s warning where the host has no weight file', async () => {
  const had = await cg(a, 'blkio', 'blkio.weight');
  const r = await a.update({ BlkioWeight: 300 });
  if (had !== undefined) {
    assert.deepEqual(r.Warnings ?? [], []);
    assert.equal(await cg(a, 'blkio', 'blkio.weight'), '300');
    assert.equal((await hostConfig(a)).BlkioWeight, 300);
  } else {
    assert.deepEqual(r.Warnings, ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
    assert.equal((await hostConfig(a)).BlkioWeight ?? 0, 0);
  }
  // Where unsupported, the weight is discarded before its range is checked (as Docker).
  const bad = a.update({ BlkioWeight: 5 });
  if (had !== undefined) await assert.rejects(bad, /Range of blkio weight is from 10 to 1000/);
  else assert.equal((await bad).Warnings?.length, 1);
});

test('RestartPolicy is recorded', async () => {
  await a.update({ RestartPolicy: { Name: 'unless-stopped' } });
  assert.deepEqual((await hostConfig(a)).RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
});

test('field names in any case, as Go decodes them: cpushares', async () => {
  const r = await d.api('POST', '/containers/upd-a/update', { cpushares: 256, restartpolicy: { name: 'no' } });
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(await cg(a, 'cpu', 'cpu.shares'), '256');
  const hc = await hostConfig(a);
  assert.equal(hc.CpuShares, 256);
  assert.equal(hc.RestartPolicy.Name, 'no');
});

test('a stopped container: recorded, applied at the next start', async () => {
  const c = await running('upd-stopped');
  await c.kill();
  await c.update({ CpuShares: 700, Memory: 48 << 20, MemorySwap: -1 });
  await c.start();
  assert.equal(await cg(c, 'cpu', 'cpu.shares'), '700');
  assert.equal(await cg(c, 'memory', 'memory.limit_in_bytes'), String(48 << 20));
});

for (const cli of ['docker', 'berth'] as const) {
  test(`${cli} update --cpu-shares and --blkio-weight (the warning after the names, on stdout, where unsupported)`, { skip: cli === 'docker' && !hasDocker ? 'no docker CLI' : false }, async () => {
    const shares = cli === 'docker' ? '300' : '400';
    const r = d[cli](['update', '--cpu-shares', shares, '--blkio-weight', '200', 'upd-a', 'upd-b']);
    assert.equal(r.status, 0, r.stderr);
    const supported = await cg(a, 'blkio', 'blkio.weight') !== undefined;
    const warning = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';
    assert.equal(r.stdout, supported ? 'upd-a\nupd-b\n' : `upd-a\nupd-b\n${warning}\n${warning}\n`);
    assert.equal(await cg(a, 'cpu', 'cpu.shares'), shares);
  });
}
