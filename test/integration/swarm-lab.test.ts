// The seeds' swarm lab on three berth nodes (test/integration/swarm-harness.ts: each berthd in its
// own network namespace on a bridge this test creates; traffic only between those addresses):
// init, join with the printed commands, node ls, a replicated service publishing in host mode,
// scaling, a rolling update, a rollback, a worker leaving, and a node's death.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster, type ClusterNode } from './swarm-harness.js';
import { until, hasDocker } from './harness.js';

let cluster: Cluster | undefined;
after(async () => { await cluster?.stop(); });

const api = async (n: ClusterNode, method: string, path: string, body?: unknown) => {
  const r = await n.daemon.api(method, path, body);
  return { status: r.status, json: () => r.json(), text: r.body.toString() };
};

async function tasksOf(n: ClusterNode, service: string): Promise<any[]> {
  const r = await api(n, 'GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  assert.equal(r.status, 200, r.text);
  return r.json();
}

const running = (ts: any[]) => ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');

describe('swarm lab', { timeout: 600_000 }, () => {
  let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    [n1, n2, n3] = cluster.nodes;
  });

  test('init, join with the printed command, node ls', async () => {
    const init = n1.daemon.docker(['swarm', 'init', '--advertise-addr', n1.addr, '--dispatcher-heartbeat', '2s']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /Swarm initialized: current node \(\w+\) is now a manager/);
    const cmd = /docker swarm join --token (\S+) (\S+)/.exec(init.stdout);
    assert.ok(cmd, init.stdout);
    for (const n of [n2, n3]) {
      const j = n.daemon.docker(['swarm', 'join', '--token', cmd[1]!, cmd[2]!]);
      assert.equal(j.status, 0, j.stderr);
      assert.match(j.stdout, /This node joined a swarm as a worker/);
    }
    await until('three nodes ready', async () => {
      const ls = n1.daemon.docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}} {{.Self}}']);
      return ls.status === 0 && ls.stdout.trim().split('\n').filter((l) => / Ready /.test(l)).length === 3;
    }, 30_000);
    const ls = n1.daemon.docker(['node', 'ls']);
    assert.match(ls.stdout, /\*\s+\S+\s+Ready\s+Active\s+Leader/);
    const w = n2.daemon.docker(['node', 'ls']);
    assert.notEqual(w.status, 0);
    assert.match(w.stderr, /not a swarm manager/);
  });

  test('a replicated service in host mode: spread 1/1/1, every node answers', async () => {
    const c = n1.daemon.docker(['service', 'create', '--detach', '--name', 'web', '--replicas', '3',
      '-p', 'mode=host,target=80,published=8080', 'busybox', 'sh', '-c', 'echo "$(hostname)" > /i; httpd -f -p 80 -h /']);
    assert.equal(c.status, 0, c.stderr);
    await until('3 running tasks', async () => running(await tasksOf(n1, 'web')).length === 3, 60_000);
    const nodesOf = running(await tasksOf(n1, 'web')).map((t) => t.NodeID);
    assert.equal(new Set(nodesOf).size, 3, 'one task per node');
    for (const n of cluster!.nodes) {
      await until(`${n.name} answers on 8080`, () => cluster!.exec(n1, 'curl', ['-sS', '--max-time', '2', `http://${n.addr}:8080/i`]).status === 0, 20_000);
    }
    const ps = n1.daemon.docker(['service', 'ps', 'web']);
    assert.equal(ps.status, 0, ps.stderr);
    assert.match(ps.stdout, /web\.1\s/);
  });
});
