// The seeds' swarm lab, part 2 (issue 18), on three berth nodes (swarm-harness.ts: each berthd in
// its own network namespace on a bridge this test creates; every request goes to those addresses
// or to the overlay addresses inside them): the routing mesh (a published port answers on every
// node and balances over every task), scaling and a rolling update with the port answering
// throughout, a service reaching another by name across nodes (VIP and tasks.<name>), the
// ingress network as the docker CLI shows it, and a node's death with the port still answering.
// meshSuite('berth') runs all of it with berth's CLI, meshSuite('docker') a representative part
// with the docker CLI.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeApi, running, startCluster, tasksOf, type Cluster, type ClusterNode } from './swarm-harness.js';
import { until, type RunOptions, type RunOut } from './harness.js';

/** The compose issue's example app as a stack (a web app published through the mesh, a database with a named volume, a cache). */
const SHOP = (greeting: string) => `services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo ${greeting} > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["8080:80"]
    deploy: { replicas: 2, update_config: { order: start-first } }
  db:
    image: busybox
    command: ["sh", "-c", "touch /data/ready; exec sleep 100000"]
    volumes: [data:/data]
  cache:
    image: busybox
    command: ["sleep", "100000"]
volumes:
  data:
`;

/** httpd serving the task's hostname; healthy once it answers. */
const WEB = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];
const HEALTH = ['--health-cmd', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 127.0.0.1 80 | grep -q 200', '--health-interval', '1s', '--health-start-period', '5s'];

export function meshSuite(client: 'berth' | 'docker', o: { full: boolean }): void {
  let cluster: Cluster | undefined;
  after(async () => { await cluster?.stop(); });
  const cli = (n: ClusterNode, args: string[], x?: RunOptions): RunOut => n.daemon[client](args, x);
  const api = nodeApi;
  /** One HTTP GET from inside node `from`'s namespace: the body (a task's hostname), or undefined. */
  const get = (from: ClusterNode, url: string): Promise<string | undefined> => new Promise((resolve) => {
    const p = spawn('nsenter', [`--net=/run/netns/${from.ns}`, '--', 'curl', '-sS', '--max-time', '3', url]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve(code === 0 && out.trim() ? out.trim() : undefined));
  });
  /** A task container's name → its container ID's short form, its hostname. */
  const hostnames = async (service: string): Promise<Set<string>> => new Set(running(await tasksOf(cluster!.nodes[0], service)).map((t) => t.Status.ContainerStatus.ContainerID.slice(0, 12)));

  describe(`swarm routing mesh and service discovery (${client} CLI)`, { timeout: 900_000 }, () => {
    let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;
    let n2id = '';
    before(async () => {
      cluster = await startCluster({ nodes: 3 });
      [n1, n2, n3] = cluster.nodes;
      const init = cli(n1, ['swarm', 'init', '--advertise-addr', n1.addr, '--dispatcher-heartbeat', '2s']);
      assert.equal(init.status, 0, init.stderr);
      const token = cli(n1, ['swarm', 'join-token', '-q', 'worker']).stdout.trim();
      for (const n of [n2, n3]) {
        const j = cli(n, ['swarm', 'join', '--token', token, `${n1.addr}:2377`]);
        assert.equal(j.status, 0, j.stderr);
      }
      await until('three nodes ready', () => cli(n1, ['node', 'ls']).stdout.split('\n').filter((l) => / Ready /.test(l)).length === 3, 30_000);
      n2id = (await api(n2, 'GET', '/info')).json().Swarm.NodeID;
    });

    test('the ingress network exists from swarm init, as docker shows it', async () => {
      const ls = cli(n1, ['network', 'ls', '--filter', 'name=ingress', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
      assert.equal(ls.status, 0, ls.stderr);
      assert.match(ls.stdout, /^ingress overlay swarm$/m);
      const ins = cli(n1, ['network', 'inspect', 'ingress', '--format', '{{.Ingress}} {{range .IPAM.Config}}{{.Subnet}}{{end}}']);
      assert.equal(ins.status, 0, ins.stderr);
      assert.match(ins.stdout, /^true 10\.0\.0\.0\/24$/m);
    });

    test('a published port answers on every node and balances over every task, wherever it runs', async () => {
      const c = cli(n1, ['service', 'create', '--detach', '--name', 'web', '--replicas', '3', '--publish', '80:80', ...HEALTH, 'busybox', ...WEB]);
      assert.equal(c.status, 0, c.stderr);
      await until('3 running tasks', async () => running(await tasksOf(n1, 'web')).length === 3, 90_000);
      const want = await hostnames('web');
      assert.equal(new Set(running(await tasksOf(n1, 'web')).map((t) => t.NodeID)).size, 3, 'one task per node');
      // Every node's address answers (node 3's from node 1, and so on).
      for (const n of cluster!.nodes) await until(`${n.name}:80 answers`, async () => (await get(n1, `http://${n.addr}/`)) !== undefined, 30_000);
      // 30 requests to node 3: every task answers at least once, the two on other nodes included.
      const seen = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const h = await get(n1, `http://${n3.addr}/`);
        assert.ok(h, `request ${i} to ${n3.addr}:80 failed`);
        seen.set(h, (seen.get(h) ?? 0) + 1);
      }
      assert.deepEqual([...seen.keys()].sort(), [...want].sort(), `answers per task: ${JSON.stringify([...seen])}`);
      // A second service cannot take the same published port.
      const dup = cli(n1, ['service', 'create', '--detach', '--name', 'web2', '--publish', '80:80', 'busybox', 'sleep', '1000']);
      assert.notEqual(dup.status, 0);
      assert.match(dup.stderr, /port '80' is already in use by service 'web'/);
    });

    test('scale to 5 and a start-first rolling update: the published port answers throughout', { skip: o.full ? false : 'the berth CLI\'s suite covers it' }, async () => {
      const sc = cli(n1, ['service', 'scale', '--detach', 'web=5']);
      assert.equal(sc.status, 0, sc.stderr);
      await until('5 running tasks', async () => running(await tasksOf(n1, 'web')).length === 5, 90_000);
      for (const n of cluster!.nodes) assert.equal(cli(n, ['tag', 'busybox', 'busybox:v2']).status, 0);
      // Requests go on (to every node in turn) while the update runs; every failure is counted.
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const load = (async () => {
        for (let i = 0; !stop && i < 5000; i++) {
          const n = cluster!.nodes[i % 3];
          const h = await get(n1, `http://${n.addr}/`);
          if (h) ok++; else failures.push(`${n.name} at ${new Date().toISOString()}`);
        }
      })();
      try {
        const u = cli(n1, ['service', 'update', '--detach', '--image', 'busybox:v2', '--update-order', 'start-first', '--update-parallelism', '1', 'web']);
        assert.equal(u.status, 0, u.stderr);
        await until('the update completed', async () => {
          const svc = (await api(n1, 'GET', '/services/web')).json();
          const ts = running(await tasksOf(n1, 'web'));
          return svc.UpdateStatus?.State === 'completed' && ts.length === 5 && ts.every((t) => t.Spec.ContainerSpec.Image.startsWith('busybox:v2'));
        }, 240_000, 250);
      } finally {
        stop = true;
        await load;
      }
      assert.ok(ok > 20, `only ${ok} requests were made during the update`);
      assert.deepEqual(failures, [], `${failures.length} of ${ok + failures.length} requests failed during the rolling update`);
    });

    test('a service reaches another by name across nodes: its VIP and tasks.<name>', async () => {
      const net = cli(n1, ['network', 'create', '-d', 'overlay', 'appnet']);
      assert.equal(net.status, 0, net.stderr);
      const u = cli(n1, ['service', 'update', '--detach', '--network-add', 'appnet', 'web']);
      assert.equal(u.status, 0, u.stderr);
      await until('web runs on appnet', async () => {
        const ts = running(await tasksOf(n1, 'web'));
        return ts.length >= 3 && ts.every((t) => (t.NetworksAttachments ?? []).some((a: any) => a.Network.Spec.Name === 'appnet'));
      }, 120_000);
      const w = cli(n1, ['service', 'create', '--detach', '--name', 'worker', '--network', 'appnet', '--constraint', `node.id==${n2id}`, 'busybox', 'sleep', '100000']);
      assert.equal(w.status, 0, w.stderr);
      await until('worker runs on node 2', async () => running(await tasksOf(n1, 'worker')).length === 1, 60_000);
      const wt = running(await tasksOf(n1, 'worker'))[0];
      assert.equal(wt.NodeID, n2id);
      const ctr = wt.Status.ContainerStatus.ContainerID;
      const svc = (await api(n1, 'GET', '/services/web')).json();
      const appnetId = running(await tasksOf(n1, 'web'))[0].NetworksAttachments.find((a: any) => a.Network.Spec.Name === 'appnet').Network.ID;
      const vip = svc.Endpoint.VirtualIPs.find((v: any) => v.NetworkID === appnetId).Addr.split('/')[0];
      const taskIps = running(await tasksOf(n1, 'web')).map((t) => t.NetworksAttachments.find((a: any) => a.Network.ID === appnetId).Addresses[0].split('/')[0]).sort();
      const sh = (script: string) => cli(n2, ['exec', ctr, 'sh', '-c', script]);
      await until('web resolves to its VIP', () => new RegExp(`Address:\\s+${vip.replace(/\./g, '\\.')}\\b`).test(sh('nslookup web').stdout), 30_000);
      await until('tasks.web resolves to every task', () => {
        const out = sh('nslookup tasks.web').stdout;
        return taskIps.every((ip) => out.includes(ip));
      }, 30_000);
      // Through the VIP (balanced in the worker's own namespace) and straight to a task on node 1.
      const http = (ip: string) => sh(`printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80`).stdout;
      await until('the VIP answers', () => /200 OK/.test(http(vip)), 30_000);
      const onN1 = running(await tasksOf(n1, 'web')).find((t) => t.NodeID !== n2id)!;
      const ipOnN1 = onN1.NetworksAttachments.find((a: any) => a.Network.ID === appnetId).Addresses[0].split('/')[0];
      assert.match(http(ipOnN1), /200 OK/);
      const answered = new Set<string>();
      for (let i = 0; i < 15; i++) answered.add(http(vip).trim().split('\n').pop()!.trim());
      assert.ok(answered.size >= 2, `the VIP balanced over ${answered.size} task(s)`);
    });

    test('an attachable overlay: standalone containers on two nodes reach each other by name', async () => {
      const net = cli(n1, ['network', 'create', '-d', 'overlay', '--attachable', 'talk']);
      assert.equal(net.status, 0, net.stderr);
      const a = cli(n1, ['run', '-d', '--name', 'alpha', '--network', 'talk', 'busybox', 'sleep', '100000']);
      assert.equal(a.status, 0, a.stderr);
      const b = cli(n2, ['run', '-d', '--name', 'beta', '--network', 'talk', 'busybox', 'sleep', '100000']);
      assert.equal(b.status, 0, b.stderr);
      try {
        await until('beta pings alpha by name', () => cli(n2, ['exec', 'beta', 'ping', '-c', '1', '-W', '2', 'alpha']).status === 0, 30_000, 500);
        await until('alpha pings beta by name', () => cli(n1, ['exec', 'alpha', 'ping', '-c', '1', '-W', '2', 'beta']).status === 0, 30_000, 500);
        const ls = cli(n2, ['network', 'ls', '--filter', 'name=talk', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
        assert.match(ls.stdout, /^talk overlay swarm$/m, 'a worker lists the overlay it has a part in');
        const bad = cli(n2, ['run', '--rm', '--network', 'ingress', 'busybox', 'true']);
        assert.notEqual(bad.status, 0, 'ingress is not attachable');
      } finally {
        cli(n1, ['rm', '-f', 'alpha']);
        cli(n2, ['rm', '-f', 'beta']);
      }
      await until('talk can go', () => cli(n1, ['network', 'rm', 'talk']).status === 0, 30_000, 500);
    });

    test('a node dies: the published port on the others keeps answering within the bound', { skip: o.full ? false : 'the berth CLI\'s suite covers it' }, async () => {
      await cluster!.kill9(n3);
      cluster!.cut(n3);
      const t0 = Date.now();
      // The bound: the node is marked down after its heartbeat lapses (2 s period), its tasks are
      // dropped from every load balancer; 20 s leaves room for a loaded machine.
      await until('10 requests in a row succeed on nodes 1 and 2', async () => {
        for (let i = 0; i < 10; i++) if (!(await get(n1, `http://${[n1, n2][i % 2].addr}/`))) return false;
        return true;
      }, 20_000, 200);
      const took = Date.now() - t0;
      assert.ok(took < 20_000, `answering again after ${took} ms`);
    });

    test('removing the service frees the port on every node', async () => {
      assert.equal(cli(n1, ['service', 'rm', 'worker']).status, 0);
      const r = cli(n1, ['service', 'rm', 'web']);
      assert.equal(r.status, 0, r.stderr);
      const live = o.full ? [n1, n2] : [n1, n2, n3];
      await until('port 80 is refused on every node', async () => {
        for (const n of live) if ((await get(n1, `http://${n.addr}/`)) !== undefined) return false;
        return true;
      }, 30_000);
      const c = cli(n1, ['service', 'create', '--detach', '--name', 'again', '--publish', '80:80', 'busybox', 'sleep', '1000']);
      assert.equal(c.status, 0, c.stderr);
      assert.equal(cli(n1, ['service', 'rm', 'again']).status, 0);
      await until('appnet can go', () => cli(n1, ['network', 'rm', 'appnet']).status === 0, 30_000);
    });

    test('stack deploy: the example app on overlay networks, then a second deploy after an edit updates only what changed', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-stack-'));
      const file = join(dir, 'compose.yaml');
      try {
        writeFileSync(file, SHOP('hello'));
        const d = cli(n1, ['stack', 'deploy', '-c', file, 'shop'], { timeout: 120_000 });
        assert.equal(d.status, 0, d.stderr);
        assert.match(d.stdout, /Creating network shop_default/);
        const net = cli(n1, ['network', 'inspect', 'shop_default', '--format', '{{.Driver}} {{.Scope}} {{index .Labels "com.docker.stack.namespace"}}']);
        assert.equal(net.stdout.trim(), 'overlay swarm shop');
        for (const [svc, n] of [['shop_web', 2], ['shop_db', 1], ['shop_cache', 1]] as const) {
          await until(`${svc} runs ${n}`, async () => running(await tasksOf(n1, svc)).length === n, 120_000);
        }
        const live = o.full ? [n1, n2] : [n1, n2, n3];
        for (const n of live) await until(`${n.name}:8080 says hello`, async () => (await get(n1, `http://${n.addr}:8080/`)) === 'hello', 60_000);
        // The web task finds db by its short name on the stack's network (its alias there).
        const wt = running(await tasksOf(n1, 'shop_web'))[0];
        const onNode = cluster!.nodes.find((n) => cli(n, ['ps', '-q', '--filter', `id=${wt.Status.ContainerStatus.ContainerID}`]).stdout.trim() !== '')!;
        await until('web resolves db', () => /Address:\s+10\./.test(cli(onNode, ['exec', wt.Status.ContainerStatus.ContainerID, 'nslookup', 'db']).stdout), 30_000, 500);
        const ls = cli(n1, ['stack', 'ls', '--format', '{{.Name}} {{.Services}}']);
        assert.match(ls.stdout, /^shop 3$/m);
        const taskIds = async (svc: string) => running(await tasksOf(n1, svc)).map((t) => t.ID).sort().join(',');
        const before = { web: await taskIds('shop_web'), db: await taskIds('shop_db'), cache: await taskIds('shop_cache') };
        // The edit: web's greeting. A second deploy updates web only.
        writeFileSync(file, SHOP('hello2'));
        const d2 = cli(n1, ['stack', 'deploy', '-c', file, 'shop'], { timeout: 120_000 });
        assert.equal(d2.status, 0, d2.stderr);
        assert.match(d2.stdout, /Updating service shop_web/);
        await until('the mesh serves the edit', async () => (await get(n1, `http://${n1.addr}:8080/`)) === 'hello2', 120_000);
        await until('web\'s tasks are replaced', async () => running(await tasksOf(n1, 'shop_web')).length === 2 && (await taskIds('shop_web')).split(',').every((id) => !before.web.includes(id)), 120_000);
        assert.equal(await taskIds('shop_db'), before.db, 'db\'s task was not replaced');
        assert.equal(await taskIds('shop_cache'), before.cache, 'cache\'s task was not replaced');
        const rm = cli(n1, ['stack', 'rm', 'shop']);
        assert.equal(rm.status, 0, rm.stderr);
        await until('the stack is gone', () => cli(n1, ['service', 'ls', '-q']).stdout.trim() === '' && cli(n1, ['network', 'inspect', 'shop_default']).status !== 0, 60_000, 500);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
