// Resource limits end to end: HostConfig fields → OCI spec → runc → the container's own cgroup
// files (cgroup v1 here: the container sees its own cgroup at /sys/fs/cgroup/<controller>).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from './harness.ts';
import { Runner, assertBadRequest } from './runtime-util.ts';

let d: Daemon;
let r: Runner;
before(async () => { d = await startDaemon(); r = new Runner(d); });
after(async () => { await d?.stop(); });

const MiB = 1024 * 1024;
/** What the kernel prints for "no limit" in a v1 memory cgroup (PAGE_COUNTER_MAX pages). */
const V1_UNLIMITED = /^9223372036854\d+$/;

const cat = (files: string[]) => files.map((f) => `cat ${f}`).join('; ');

test('Memory sets memory.limit_in_bytes, and swap defaults to twice the limit', async () => {
  const out = await r.out(cat(['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes']), { HostConfig: { Memory: 32 * MiB } });
  assert.deepEqual(out.trim().split('\n'), [String(32 * MiB), String(64 * MiB)]);
});

test('no Memory means no limit', async () => {
  const out = await r.out('cat /sys/fs/cgroup/memory/memory.limit_in_bytes', { HostConfig: {} });
  assert.match(out.trim(), V1_UNLIMITED);
});

test('MemorySwap sets memory+swap; -1 means unlimited swap', async () => {
  const files = ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'];
  const a = await r.out(cat(files), { HostConfig: { Memory: 32 * MiB, MemorySwap: 48 * MiB } });
  assert.deepEqual(a.trim().split('\n'), [String(32 * MiB), String(48 * MiB)]);
  const b = (await r.out(cat(files), { HostConfig: { Memory: 32 * MiB, MemorySwap: -1 } })).trim().split('\n');
  assert.equal(b[0], String(32 * MiB));
  assert.match(b[1], V1_UNLIMITED);
});

test('MemorySwap below Memory, or without Memory, is refused at create', async () => {
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Memory: 32 * MiB, MemorySwap: 16 * MiB } }), /Minimum memoryswap limit should be larger than memory limit/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { MemorySwap: 16 * MiB } }), /You should always set the Memory limit when using Memoryswap limit/);
});

test('MemoryReservation sets memory.soft_limit_in_bytes', async () => {
  const out = await r.out('cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes', { HostConfig: { Memory: 64 * MiB, MemoryReservation: 16 * MiB } });
  assert.equal(out.trim(), String(16 * MiB));
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Memory: 16 * MiB, MemoryReservation: 32 * MiB } }), /Minimum memory limit can not be less than memory reservation limit/);
});

test('memory below 6MB is refused at create with 400', async () => {
  const count = async () => ((await r.api('GET', '/containers/json?all=1')).json() as unknown[]).length;
  const before = await count();
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Memory: 4 * MiB } }), /Minimum memory limit allowed is 6MB/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { MemoryReservation: 1 * MiB } }), /Minimum memory reservation allowed is 6MB/);
  assert.equal(await count(), before, 'nothing was created');
});

test('NanoCpus sets the CFS quota over a 100 ms period', async () => {
  const out = await r.out(cat(['/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us']), { HostConfig: { NanoCpus: 500_000_000 } });
  assert.deepEqual(out.trim().split('\n'), ['50000', '100000']);
  const none = await r.out('cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  assert.equal(none.trim(), '-1');
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { NanoCpus: 1e9, CpuQuota: 50000 } }), /Conflicting options: Nano CPUs and CPU Quota cannot both be set/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { NanoCpus: 1000 * 1e9 } }), /range of CPUs is from 0.01 to/);
});

test('CpuPeriod and CpuQuota set the CFS files directly', async () => {
  const out = await r.out(cat(['/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us']), { HostConfig: { CpuPeriod: 50000, CpuQuota: 25000 } });
  assert.deepEqual(out.trim().split('\n'), ['25000', '50000']);
});

test('CpuShares sets cpu.shares', async () => {
  assert.equal((await r.out('cat /sys/fs/cgroup/cpu/cpu.shares', { HostConfig: { CpuShares: 512 } })).trim(), '512');
  assert.equal((await r.out('cat /sys/fs/cgroup/cpu/cpu.shares')).trim(), '1024');
});

test('CpusetCpus pins the container to the CPUs asked for', async () => {
  const out = await r.out("cat /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/self/status | tr -d ' \\t'", { HostConfig: { CpusetCpus: '0' } });
  assert.deepEqual(out.trim().split('\n'), ['0', 'Cpus_allowed_list:0']);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { CpusetCpus: '4000' } }), /Requested CPUs are not available|Invalid value 4000 for cpuset cpus/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { CpusetCpus: 'x-y' } }), /Invalid value x-y for cpuset cpus/);
});

test('PidsLimit sets pids.max and forks beyond it fail', async () => {
  // A subshell starts 10 background sleeps; with a limit of 8 (the shell and the subshell count)
  // its 7th fork fails and it dies. Builtins only after that: there is no pid left for `cat`.
  // (Not lower: runc init, a Go program, runs its threads inside the limit before the start, and
  // with 5 it could fail to make one and die: "cannot start a container that has stopped".)
  const script = [
    'read max < /sys/fs/cgroup/pids/pids.max; echo $max',
    '(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done) 2>/tmp/err',
    'echo $?',
    'read cur < /sys/fs/cgroup/pids/pids.current; echo $cur',
    'kill -9 -1; wait',
    'grep -c "can.t fork" /tmp/err',
  ].join('\n');
  const limited = (await r.out(script, { HostConfig: { PidsLimit: 8 } })).trim().split('\n');
  assert.equal(limited[0], '8');
  assert.notEqual(limited[1], '0', 'the subshell died of a failed fork');
  assert.equal(limited[2], '7', 'pids.current: the shell and the 6 sleeps that could start');
  assert.equal(limited[3], '1', 'one "can\'t fork" error');
  // The same script with no limit: every fork succeeds.
  const free = (await r.run(script, { HostConfig: { PidsLimit: -1 } })).stdout.trim().split('\n');
  assert.deepEqual([free[0], free[1], free[2]], ['max', '0', '11']);
});

test('a container exceeding Memory is OOM-killed: OOMKilled, exit 137 and an oom event', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  // tail keeps the current (endless, newline-free) line of /dev/zero in memory.
  const res = await r.run(['tail', '/dev/zero'], { HostConfig: { Memory: 16 * MiB } }, { keep: true });
  try {
    assert.equal(res.exitCode, 137);
    assert.equal(res.inspect.State.OOMKilled, true);
    assert.equal(res.inspect.State.ExitCode, 137);
    assert.equal(res.inspect.State.Status, 'exited');
    const until = Math.ceil(Date.now() / 1000) + 1;
    const ev = await r.api('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ container: [res.id] }))}`);
    assert.equal(ev.status, 200);
    const events = ev.body.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string } });
    const actions = events.filter((e) => e.Actor.ID === res.id).map((e) => e.Action);
    assert.ok(actions.includes('oom'), `events: ${actions.join(',')}`);
    assert.ok(actions.indexOf('oom') < actions.indexOf('die'), `oom comes before die: ${actions.join(',')}`);
  } finally {
    await r.remove(res.id);
  }
});

test('a container that stays within Memory is not OOMKilled', async () => {
  const res = await r.run('head -c 1048576 /dev/zero | wc -c', { HostConfig: { Memory: 16 * MiB } });
  assert.equal(res.exitCode, 0);
  assert.equal(res.stdout.trim(), '1048576');
  assert.equal(res.inspect.State.OOMKilled, false);
});
