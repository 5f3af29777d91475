// stats (one-shot, two-sample, stream, stopped) and update (live cgroup limits, persistence,
// errors) through the API, the berth CLI and the docker CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDaemon, hasDocker, type Daemon } from './harness.ts';
import { cgroupFileOf } from './runtime-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon({ importBusybox: true }); });
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first `n` JSON lines of a streaming GET, then the connection is dropped. */
function streamLines(path: string, n: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: d.sock, path, agent: false }, (res) => {
      let buf = '';
      const out: any[] = [];
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const l = buf.slice(0, i); buf = buf.slice(i + 1);
          if (l.trim()) out.push(JSON.parse(l));
          if (out.length === n) { req.destroy(); resolve(out); return; }
        }
      });
      res.on('end', () => resolve(out));
    });
    req.on('error', (e) => { if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e); });
  });
}

/** A container's file in cgroup controller `ctrl` (v1 hierarchy of this host, or v2). */
function cgroupFile(id: string, ctrl: string, file: string): string {
  return cgroupFileOf(JSON.parse(d.berth(['inspect', id]).stdout)[0].State.Pid as number, ctrl, file);
}

test('update: memory, pids, cpus and restart policy live and persisted; pids limit enforced', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'upd', '-m', '64m', 'busybox', 'sleep', '300']).status, 0);
  assert.equal(cgroupFile('upd', 'memory', 'memory.limit_in_bytes'), String(64 << 20));
  const r = d.berth(['update', '-m', '128m', '--memory-swap', '256m', '--pids-limit', '5', '--cpus', '0.5', '--restart', 'on-failure:3', 'upd']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'upd\n');
  assert.equal(cgroupFile('upd', 'memory', 'memory.limit_in_bytes'), String(128 << 20));
  assert.equal(cgroupFile('upd', 'pids', 'pids.max'), '5');
  assert.equal(cgroupFile('upd', 'cpu', 'cpu.cfs_quota_us'), '50000');
  const hc = (await d.api('GET', '/containers/upd/json')).json().HostConfig;
  assert.deepEqual([hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCpus, hc.RestartPolicy], [128 << 20, 256 << 20, 5, 5e8, { Name: 'on-failure', MaximumRetryCount: 3 }]);
  const fork = d.berth(['exec', 'upd', 'sh', '-c', 'for i in 1 2 3 4 5 6; do sleep 5 & done; wait']);
  assert.notEqual(fork.status, 0);
  // The shell's forks fail; or, with the limit reached sooner, runc's own exec helper (a Go
  // program in the same pids cgroup) cannot start its threads, or cannot even start (on some
  // machines `runc init` dies: "read init-p: connection reset by peer", the exec's 126 and the
  // runtime's message in the stream, as with dockerd). Either way the limit holds.
  if (fork.status === 126) assert.match(fork.stdout, /OCI runtime exec failed/);
  else assert.match(fork.stderr, /can't fork|pthread_create failed: Resource temporarily unavailable/);
  if (hasDocker) {
    const k = d.docker(['update', '--pids-limit', '10', 'upd']);
    assert.equal(k.status, 0, k.stderr);
    assert.equal(cgroupFile('upd', 'pids', 'pids.max'), '10');
  }
  await d.restart();
  const after = (await d.api('GET', '/containers/upd/json')).json().HostConfig;
  assert.equal(after.RestartPolicy.Name, 'on-failure');
  assert.equal(after.PidsLimit, hasDocker ? 10 : 5);
  // A later start applies the recorded limits.
  assert.equal(d.berth(['restart', '-t', '0', 'upd']).status, 0);
  assert.equal(cgroupFile('upd', 'memory', 'memory.limit_in_bytes'), String(128 << 20));
});

test('update errors, as docker reports them, change nothing', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'upe', '-m', '64m', 'busybox', 'sleep', '300']).status, 0);
  assert.equal(d.berth(['run', '-d', '--rm', '--name', 'uprm', 'busybox', 'sleep', '300']).status, 0);
  const cases: [string[], RegExp][] = [
    [['update', '-m', '2m', 'upe'], /Minimum memory limit allowed is 6MB/],
    [['update', '-m', '512m', 'upe'], /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/],
    [['update', '-m', '128m', '--memory-swap', '64m', 'upe'], /Minimum memoryswap limit should be larger than memory limit/],
    [['update', '--restart', 'always', 'uprm'], /Restart policy cannot be updated because AutoRemove is enabled for the container/],
    [['update', '--cpus', '64', 'upe'], /range of CPUs is from 0.01 to \d+\.00/],
    [['update', '-m', '64m', 'nope'], /No such container: nope/],
  ];
  for (const [args, re] of cases) {
    for (const cli of hasDocker ? ['berth', 'docker'] as const : ['berth'] as const) {
      const r = cli === 'berth' ? d.berth(args) : d.docker(args);
      assert.equal(r.status, 1, `${cli} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, `${cli} ${args.join(' ')}`);
    }
  }
  assert.equal(cgroupFile('upe', 'memory', 'memory.limit_in_bytes'), String(64 << 20));
  assert.match(d.berth(['update', 'upe']).stderr, /you must provide one or more flags when using this command/);
});
