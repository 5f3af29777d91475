// Swarm faults on three managers (swarm-harness.ts: each berthd in its own network namespace):
// the orchestrator leader's berthd and etcd member killed (kill -9) — another manager takes over
// and updates keep working; two of three managers down — writes fail with dockerd's no-leader
// error while the running tasks stay; then every node restarted — the state is all still there.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { running, startCluster, tasksOf, type Cluster, type ClusterNode } from './swarm-harness.js';
import { until } from './harness.js';

let cluster: Cluster | undefined;
after(async () => { await cluster?.stop(); });

const info = async (n: ClusterNode) => (await n.daemon.api('GET', '/info')).json().Swarm;

/** kill -9 of a node's etcd member (berthd's child; a berthd killed with -9 leaves it running). */
function killEtcd(n: ClusterNode): void {
  const dataDir = join(n.daemon.dataRoot, 'swarm', 'etcd');
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    const i = argv.indexOf('--data-dir');
    if (i >= 0 && argv[i + 1] === dataDir) { try { process.kill(Number(e), 'SIGKILL'); } catch { /* gone */ } }
  }
}

async function down(c: Cluster, n: ClusterNode): Promise<void> {
  await c.kill9(n);
  killEtcd(n);
}

describe('swarm faults (three managers)', { timeout: 600_000 }, () => {
  let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    [n1, n2, n3] = cluster.nodes;
  });

  test('three managers: one leader, two reachable', async () => {
    const init = n1.daemon.berth(['swarm', 'init', '--advertise-addr', n1.addr, '--dispatcher-heartbeat', '2s']);
    assert.equal(init.status, 0, init.stderr);
    const token = n1.daemon.berth(['swarm', 'join-token', '-q', 'manager']).stdout.trim();
    for (const n of [n2, n3]) {
      const j = n.daemon.berth(['swarm', 'join', '--token', token, `${n1.addr}:2377`]);
      assert.equal(j.status, 0, j.stderr);
      assert.match(j.stdout, /This node joined a swarm as a manager/);
    }
    await until('3 ready managers, one leader', async () => {
      const ls = n2.daemon.berth(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}']);
      const lines = ls.stdout.trim().split('\n');
      return ls.status === 0 && lines.filter((l) => l.startsWith('Ready')).length === 3
        && lines.filter((l) => /Leader/.test(l)).length === 1 && lines.filter((l) => /Reachable/.test(l)).length === 2;
    }, 30_000);
    const c = n1.daemon.berth(['service', 'create', '--detach', '--name', 'app', '--replicas', '3', 'busybox', 'sleep', '100000']);
    assert.equal(c.status, 0, c.stderr);
    await until('3 running', async () => running(await tasksOf(n1, 'app')).length === 3, 60_000);
  });

  test('kill -9 of the leader\'s berthd and etcd member: another manager leads, updates keep working', async () => {
    const leaderLine = n2.daemon.berth(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}} {{.ID}}']).stdout.split('\n').find((l) => /Leader/.test(l))!;
    const leaderId = leaderLine.split(' ').at(-1)!;
    const ids = await Promise.all(cluster!.nodes.map(async (n) => (await info(n)).NodeID));
    const leader = cluster!.nodes[ids.indexOf(leaderId)]!;
    const others = cluster!.nodes.filter((n) => n !== leader);
    await down(cluster!, leader);
    await until('a new leader', async () => {
      const ls = others[0]!.daemon.berth(['node', 'ls', '--format', '{{.ID}} {{.ManagerStatus}}']);
      return ls.status === 0 && ls.stdout.split('\n').some((l) => /Leader/.test(l) && !l.startsWith(leaderId));
    }, 30_000);
    const u = others[0]!.daemon.berth(['service', 'scale', '--detach', 'app=4']);
    assert.equal(u.status, 0, u.stderr);
    await until('4 running on the two live managers', async () => {
      const ts = running(await tasksOf(others[1]!, 'app'));
      return ts.length === 4 && ts.every((t) => t.NodeID !== leaderId);
    }, 60_000);
    await leader.daemon.restart();
    await until('the old leader is back and ready', async () => {
      const ls = others[0]!.daemon.berth(['node', 'ls', '--format', '{{.Status}}']);
      return ls.stdout.trim().split('\n').filter((l) => l === 'Ready').length === 3;
    }, 60_000);
  });

  test('two of three managers down: writes fail with the no-leader error, running tasks stay', async () => {
    const before = n1.daemon.berth(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=app']).stdout.trim().split('\n').filter(Boolean).sort();
    await down(cluster!, n2);
    await down(cluster!, n3);
    const t0 = Date.now();
    const w = n1.daemon.berth(['service', 'scale', '--detach', 'app=2'], { timeout: 120_000 });
    assert.notEqual(w.status, 0);
    assert.match(w.stderr, /The swarm does not have a leader. It's possible that too few managers are online/);
    assert.ok(Date.now() - t0 < 60_000, `the error came after ${Date.now() - t0} ms`);
    const after = n1.daemon.berth(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=app']).stdout.trim().split('\n').filter(Boolean).sort();
    assert.deepEqual(after, before, 'the running task containers are untouched');
    await n2.daemon.restart();
    await n3.daemon.restart();
    await until('quorum is back: writes work', () => n1.daemon.berth(['service', 'scale', '--detach', 'app=3']).status === 0, 60_000);
    await until('3 running', async () => running(await tasksOf(n1, 'app')).length === 3, 60_000);
  });

  test('the state survives a restart of every node', async () => {
    const svc = (await n1.daemon.api('GET', '/services/app')).json();
    await Promise.all(cluster!.nodes.map((n) => n.daemon.restart()));
    await until('the service is there and back at 3 running', async () => {
      const r = await n2.daemon.api('GET', '/services/app');
      if (r.status !== 200) return false;
      return r.json().ID === svc.ID && running(await tasksOf(n2, 'app')).length === 3;
    }, 90_000);
    // A node whose lease lapsed while it restarted is down until its next heartbeat.
    await until('three ready managers again', () => {
      const ls = n3.daemon.berth(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}']);
      return ls.stdout.trim().split('\n').filter((l) => /^Ready (Leader|Reachable)$/.test(l)).length === 3;
    }, 30_000);
  });
});
