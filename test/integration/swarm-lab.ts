// The seeds' swarm lab on three berth nodes (test/integration/swarm-harness.ts: each berthd in its
// own network namespace on a bridge this test creates; traffic only between those addresses):
// init, join with the printed commands, node ls, a replicated service publishing in host mode,
// scaling, a rolling update, a rollback, a worker leaving, and a node's death. Driven through one
// CLI: swarm-lab-berth.test.ts runs all of it with berth's, swarm-lab-docker.test.ts the
// representative part with the docker CLI.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { nodeApi, running, startCluster, tasksOf, type Cluster, type ClusterNode } from './swarm-harness.js';
import { until, type RunOptions, type RunOut } from './harness.js';

export function labSuite(client: 'berth' | 'docker', o: { rollingUpdates: boolean }): void {
let cluster: Cluster | undefined;
after(async () => { await cluster?.stop(); });
const cli = (n: ClusterNode, args: string[], x?: RunOptions): RunOut => n.daemon[client](args, x);

const api = nodeApi;

describe(`swarm lab (${client} CLI)`, { timeout: 600_000 }, () => {
  let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;
  let n1id = '', n2id = '', n3id = '';
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    [n1, n2, n3] = cluster.nodes;
  });

  test('init, join with the printed command, node ls', async () => {
    const init = cli(n1, ['swarm', 'init', '--advertise-addr', n1.addr, '--dispatcher-heartbeat', '2s']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /Swarm initialized: current node \(\w+\) is now a manager/);
    const cmd = new RegExp(`${client} swarm join --token (\\S+) (\\S+)`).exec(init.stdout);
    assert.ok(cmd, init.stdout);
    for (const n of [n2, n3]) {
      const j = cli(n, ['swarm', 'join', '--token', cmd[1]!, cmd[2]!]);
      assert.equal(j.status, 0, j.stderr);
      assert.match(j.stdout, /This node joined a swarm as a worker/);
    }
    await until('three nodes ready', async () => {
      const ls = cli(n1, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}} {{.Self}}']);
      return ls.status === 0 && ls.stdout.trim().split('\n').filter((l) => / Ready /.test(l)).length === 3;
    }, 30_000);
    n1id = (await api(n1, 'GET', '/info')).json().Swarm.NodeID;
    n2id = (await api(n2, 'GET', '/info')).json().Swarm.NodeID;
    n3id = (await api(n3, 'GET', '/info')).json().Swarm.NodeID;
    const ls = cli(n1, ['node', 'ls']);
    assert.match(ls.stdout, /\*\s+\S+\s+Ready\s+Active\s+Leader/);
    const w = cli(n2, ['node', 'ls']);
    assert.notEqual(w.status, 0);
    assert.match(w.stderr, /not a swarm manager/);
    const wc = cli(n2, ['service', 'create', '--detach', '--name', 'nope', 'busybox', 'true']);
    assert.notEqual(wc.status, 0, 'a worker cannot create a service');
    assert.match(wc.stderr, /not a swarm manager/);
  });

  test('promote a worker to manager (an etcd member of its own), then demote it again', async () => {
    const p = cli(n1, ['node', 'promote', n2id]);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /promoted to a manager in the swarm/);
    await until('n2 serves as a manager', async () => (await api(n2, 'GET', '/info')).json().Swarm.ControlAvailable === true
      && cli(n2, ['node', 'ls']).status === 0, 60_000);
    await until('n1 sees two reachable managers', () => {
      const ls = cli(n1, ['node', 'ls', '--format', '{{.ManagerStatus}}']).stdout.split('\n');
      return ls.filter((l) => /Leader|Reachable/.test(l)).length === 2;
    }, 30_000);
    const d = cli(n1, ['node', 'demote', n2id]);
    assert.equal(d.status, 0, d.stderr);
    await until('n2 is a worker again', async () => (await api(n2, 'GET', '/info')).json().Swarm.ControlAvailable === false
      && (await api(n2, 'GET', '/info')).json().Swarm.LocalNodeState === 'active', 60_000);
    const last = cli(n1, ['node', 'demote', n1id]);
    assert.notEqual(last.status, 0);
    assert.match(last.stderr, /attempting to demote the last manager of the swarm/);
    await until('all three ready', () => cli(n1, ['node', 'ls']).stdout.split('\n').filter((l) => / Ready /.test(l)).length === 3, 30_000);
  });

  test('a replicated service in host mode: spread 1/1/1, every node answers', async () => {
    const c = cli(n1, ['service', 'create', '--detach', '--name', 'web', '--replicas', '3',
      '-p', 'mode=host,target=80,published=8080', 'busybox', 'sh', '-c', 'echo "task on $(hostname)" | tee /i; httpd -f -p 80 -h /']);
    assert.equal(c.status, 0, c.stderr);
    await until('3 running tasks', async () => running(await tasksOf(n1, 'web')).length === 3, 60_000);
    const nodesOf = running(await tasksOf(n1, 'web')).map((t) => t.NodeID);
    assert.equal(new Set(nodesOf).size, 3, 'one task per node');
    for (const n of cluster!.nodes) {
      await until(`${n.name} answers on 8080`, () => cluster!.exec(n1, 'curl', ['-sS', '--max-time', '2', `http://${n.addr}:8080/i`]).status === 0, 20_000);
    }
    // service logs gathers the lines of the tasks on every node (two of them through their dispatcher session).
    await until('service logs shows all three tasks', () => {
      const l = cli(n1, ['service', 'logs', 'web']);
      return l.status === 0 && new Set(l.stdout.split('\n').filter((x) => /^web\.[123]\.\w+@\S+\s+\| task on /.test(x)).map((x) => x.split('.')[1])).size === 3;
    }, 20_000);
    const ps = cli(n1, ['service', 'ps', 'web']);
    assert.equal(ps.status, 0, ps.stderr);
    assert.match(ps.stdout, /web\.1\s/);
  });

  test('scale past the published port: the extra tasks wait, as Docker\'s do', async () => {
    const r = cli(n1, ['service', 'scale', '--detach', 'web=4']);
    assert.equal(r.status, 0, r.stderr);
    await until('a pending task explains why', async () => (await tasksOf(n1, 'web')).some((t) => t.Status.State === 'pending' && /host-mode port already in use on 3 nodes/.test(t.Status.Err ?? '')), 30_000);
    assert.equal(running(await tasksOf(n1, 'web')).length, 3);
    assert.equal(cli(n1, ['service', 'scale', '--detach', 'web=3']).status, 0);
    await until('back to 3 tasks', async () => (await tasksOf(n1, 'web')).filter((t) => t.DesiredState === 'running').length === 3, 30_000);
  });

  test('scale to 6: the CLI waits for convergence, tasks spread 2/2/2', async () => {
    const c = cli(n1, ['service', 'create', '--detach', '--name', 'app', '--replicas', '3', 'busybox:latest', 'sleep', '100000']);
    assert.equal(c.status, 0, c.stderr);
    const sc = cli(n1, ['service', 'scale', 'app=6'], { timeout: 120_000 });
    assert.equal(sc.status, 0, sc.stderr);
    assert.match(sc.stdout, /app scaled to 6/);
    assert.match(sc.stdout, /verify: Service app converged/);
    assert.equal(running(await tasksOf(n1, 'app')).length, 6);
    const perNode = new Map<string, number>();
    for (const t of running(await tasksOf(n1, 'app'))) perNode.set(t.NodeID, (perNode.get(t.NodeID) ?? 0) + 1);
    assert.deepEqual([...perNode.values()], [2, 2, 2]);
  });

  test('rolling update stop-first then start-first', { skip: o.rollingUpdates ? false : 'the berth CLI\'s lab covers rolling updates' }, async () => {
    for (const n of cluster!.nodes) assert.equal(cli(n, ['tag', 'busybox', 'busybox:v2']).status, 0);

    // Watches the update, sampling the running count, until the service says it completed.
    const watch = async (want: string) => {
      let min = Infinity;
      await until(`update ${want}`, async () => {
        const ts = await tasksOf(n1, 'app');
        min = Math.min(min, running(ts).length);
        const svc = (await api(n1, 'GET', '/services/app')).json();
        return svc.UpdateStatus?.State === want && running(ts).length === 6;
      }, 180_000, 50);
      return min;
    };
    const u1 = cli(n1, ['service', 'update', '--detach', '--image', 'busybox:v2', '--update-parallelism', '2', '--update-delay', '1s', 'app']);
    assert.equal(u1.status, 0, u1.stderr);
    const min1 = await watch('completed');
    assert.ok(min1 >= 4, `stop-first with parallelism 2 kept ${min1} of 6 running at worst`);
    assert.ok(running(await tasksOf(n1, 'app')).every((t) => t.Spec.ContainerSpec.Image.startsWith('busybox:v2')));

    const u2 = cli(n1, ['service', 'update', '--detach', '--image', 'busybox:latest', '--update-parallelism', '2', '--update-order', 'start-first', 'app']);
    assert.equal(u2.status, 0, u2.stderr);
    const min2 = await watch('completed');
    assert.ok(min2 >= 6, `start-first kept ${min2} of 6 running at worst`);
  });

  test('a failing image rolls back', async () => {
    const u = cli(n1, ['service', 'update', '--detach', '--image', 'nosuch:1', '--update-failure-action', 'rollback', '--update-monitor', '2s', 'app']);
    assert.equal(u.status, 0, u.stderr);
    await until('rollback completed', async () => (await api(n1, 'GET', '/services/app')).json().UpdateStatus?.State === 'rollback_completed', 120_000);
    await until('6 tasks of the old image run', async () => {
      const ts = running(await tasksOf(n1, 'app'));
      return ts.length === 6 && ts.every((t) => /^busybox:latest/.test(t.Spec.ContainerSpec.Image));
    }, 60_000);
    const svc = (await api(n1, 'GET', '/services/app')).json();
    assert.match(svc.Spec.TaskTemplate.ContainerSpec.Image, /^busybox:latest/);
  });

  test('a worker leaves, then a node dies: the service is back at 6 within the bound', async () => {
    const l = cli(n3, ['swarm', 'leave']);
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /Node left the swarm/);
    assert.equal(cli(n3, ['ps', '-aq', '--filter', 'label=com.docker.swarm.service.name=app']).stdout.trim(), '', 'its task containers are removed');
    await until('n3 is down', () => /Down/.test(cli(n1, ['node', 'ls']).stdout), 15_000);
    // Heartbeat 2s: the lease lapses after 3s; the bound leaves room for a loaded machine.
    await until('6 running on n1 and n2 after the leave', async () => {
      const ts = running(await tasksOf(n1, 'app'));
      return ts.length === 6 && !ts.some((t) => t.NodeID === n3id);
    }, 30_000);
    const stale = cli(n2, ['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=app']).stdout.trim();
    assert.ok(stale, 'n2 runs tasks of app');
    const t0 = Date.now();
    await cluster!.kill9(n2);
    cluster!.cut(n2);
    await until('6 running on n1 alone after n2 died', async () => {
      const ts = running(await tasksOf(n1, 'app'));
      return ts.length === 6 && ts.every((t) => t.NodeID === n1id);
    }, 30_000);
    const took = Date.now() - t0;
    assert.ok(took < 30_000, `rescheduled in ${took} ms`);
    // n2 comes back: it is ready again, and the containers of its replaced tasks are stopped.
    cluster!.heal(n2);
    await n2.daemon.restart();
    await until('n2 is ready again', () => cli(n1, ['node', 'ls', '--format', '{{.Status}}']).stdout.split('\n').filter((l) => l === 'Ready').length === 2, 30_000);
    await until('its stale tasks are shut down', () => cli(n2, ['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=app']).stdout.trim() === '', 30_000);
    assert.equal(running(await tasksOf(n1, 'app')).length, 6);
  });
});
}
