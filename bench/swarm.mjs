#!/usr/bin/env node
// bench/swarm: swarm mode on three berth nodes of this machine (scripts/swarm-local: each berthd in
// its own network namespace), measured in one run:
// - convergence: from `service create --replicas 30` (API, detached) to 30 tasks running;
// - rescheduling: after a worker's berthd is killed (-9) and its link cut, until 30 run again,
//   beside the heartbeat period (issue 17's target: within 2×);
// - steady state: the manager's berthd and etcd RSS.
// With BENCH_DOCKER_HOST (a reference dockerd with busybox), Docker's convergence for the same 30
// replicas on a single-node `docker swarm init`, and the ratio.
// Usage: node bench/swarm.mjs [replicas]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 30);
const NAME = 'bsbench';
const NET = process.env.SWARM_LOCAL_SUBNET ?? '10.233.0';
const HEARTBEAT_S = 5;
const env = { ...process.env, SWARM_LOCAL_NAME: NAME, SWARM_LOCAL_SUBNET: NET };
const sock = (i) => `/run/berth-${NAME}/n${i}/berth.sock`;
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function sh(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
const docker = (host, args) => sh('docker', ['-H', host, ...args]);

function api(socketPath, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(text ? JSON.parse(text) : undefined);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Polls until `n` tasks of the service run (bounded); returns the ms it took from `t0`. */
async function untilRunning(get, service, n, t0, boundMs, extra = () => true, marks = {}) {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    const tasks = await get(`/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
    const at = Number(process.hrtime.bigint() - t0) / 1e6;
    if (marks.assigned === undefined && tasks.filter((t) => t.NodeID && t.DesiredState === 'running').length >= n) marks.assigned = at;
    const run = tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
    if (run.length === n && extra(run)) return Number(process.hrtime.bigint() - t0) / 1e6;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${service}: not ${n} running within ${boundMs} ms`);
}

const spec = (name) => ({
  Name: name, Mode: { Replicated: { Replicas: N } },
  TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '1000000'] }, RestartPolicy: { Condition: 'any' } },
});

let up = false;
process.on('exit', () => { if (up) spawnSync('bash', [join(root, 'scripts/swarm-local'), 'down'], { env }); });
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const out = {};
try {
  sh('bash', [join(root, 'scripts/swarm-local'), 'up', '3']);
  up = true;
  const h = (i) => `unix://${sock(i)}`;
  const init = docker(h(1), ['swarm', 'init', '--advertise-addr', `${NET}.11`]);
  const token = /--token (\S+)/.exec(init)[1];
  for (const i of [2, 3]) docker(h(i), ['swarm', 'join', '--token', token, `${NET}.11:2377`]);
  const get = (p) => api(sock(1), 'GET', p);
  for (let i = 0; i < 200; i++) {
    const nodes = await get('/nodes');
    if (nodes.filter((n) => n.Status.State === 'ready').length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ids = await Promise.all([1, 2, 3].map(async (i) => (await api(sock(i), 'GET', '/info')).Swarm.NodeID));

  let t0 = process.hrtime.bigint();
  await api(sock(1), 'POST', '/services/create', spec('bench'));
  const marks = {};
  out.converge = await untilRunning(get, 'bench', N, t0, 300_000, () => true, marks);
  out.assigned = marks.assigned;

  // A worker dies: berthd killed, its link cut (its containers are unreachable, as on a real host).
  const pid3 = Number(readFileSync(`/run/berth-${NAME}/n3/berthd.pid`, 'utf8'));
  t0 = process.hrtime.bigint();
  process.kill(pid3, 'SIGKILL');
  sh('ip', ['link', 'set', 'dev', `${NAME}v3`, 'down']);
  const downAt = (async () => {
    for (let i = 0; i < 2400; i++) {
      if ((await get(`/nodes/${ids[2]}`)).Status.State === 'down') return Number(process.hrtime.bigint() - t0) / 1e6;
      await new Promise((r) => setTimeout(r, 50));
    }
    return NaN;
  })();
  out.reschedule = await untilRunning(get, 'bench', N, t0, 120_000, (run) => run.every((t) => t.NodeID !== ids[2]));
  out.down = await downAt;

  const pid1 = Number(readFileSync(`/run/berth-${NAME}/n1/berthd.pid`, 'utf8'));
  const etcd = sh('pgrep', ['-P', String(pid1), 'etcd']).trim().split('\n')[0];
  out.berthdRss = rssMiB(pid1);
  out.etcdRss = etcd ? rssMiB(Number(etcd)) : NaN;
} catch (e) {
  console.error(`bench/swarm: ${e.message}`);
  process.exit(1);
}

if (process.env.BENCH_DOCKER_HOST) {
  const dh = process.env.BENCH_DOCKER_HOST;
  const dsock = dh.replace(/^unix:\/\//, '');
  let joined = false;
  try {
    const adv = process.env.BENCH_DOCKER_ADVERTISE ?? '127.0.0.1';
    docker(dh, ['swarm', 'init', '--advertise-addr', adv]);
    joined = true;
    const t0 = process.hrtime.bigint();
    await api(dsock, 'POST', '/services/create', spec('bench'));
    out.dockerConverge = await untilRunning((p) => api(dsock, 'GET', p), 'bench', N, t0, 300_000);
  } catch (e) {
    console.error(`bench/swarm: the Docker anchor failed: ${e.message}`);
  } finally {
    if (joined) spawnSync('docker', ['-H', dh, 'swarm', 'leave', '--force']);
  }
}

const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`swarm on 3 berth nodes (one machine, each node in its own netns), ${N} replicas of busybox sleep`);
console.log(`  convergence (create → ${N} running):   berth ${f(out.converge)} (all assigned after ${f(out.assigned)})${out.dockerConverge ? `   docker ${f(out.dockerConverge)} (single-node swarm)   ratio ${(out.converge / out.dockerConverge).toFixed(2)}×` : ''}`);
console.log(`  rescheduling after a node's kill -9:   ${f(out.reschedule)} (marked down after ${f(out.down)})   heartbeat period ${HEARTBEAT_S} s   ratio ${(out.reschedule / (HEARTBEAT_S * 1000)).toFixed(2)}× (target ≤ 2×)`);
console.log(`  manager RSS: berthd ${out.berthdRss.toFixed(1)} MiB + etcd ${out.etcdRss.toFixed(1)} MiB = ${(out.berthdRss + out.etcdRss).toFixed(1)} MiB`);
