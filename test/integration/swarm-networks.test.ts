// Cluster networks on the manager side (issue 18): two berth nodes (swarm-harness: each berthd in
// its own network namespace), a manager and a worker. Overlay networks are created, listed,
// inspected and removed through the berth and docker CLIs; a service on one with an ingress port
// gets its VIPs and its tasks their addresses, all distinct; a second service cannot take the
// port. Only the cluster's records are checked here: the data plane is the nodes' business.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { nodeApi, running, startCluster, tasksOf, type Cluster, type ClusterNode } from './swarm-harness.js';
import { until } from './harness.js';

const VNI = 'com.docker.network.driver.overlay.vxlanid_list';
let cluster: Cluster | undefined;
after(async () => { await cluster?.stop(); });

const api = nodeApi;

describe('swarm cluster networks (berth and docker CLIs)', { timeout: 600_000 }, () => {
  let m: ClusterNode, w: ClusterNode;
  before(async () => {
    cluster = await startCluster({ nodes: 2 });
    [m, w] = cluster.nodes;
    // Outside a swarm: dockerd's not-a-manager refusal, nothing created.
    const outside = m.daemon.docker(['network', 'create', '-d', 'overlay', 'early']);
    assert.notEqual(outside.status, 0);
    assert.match(outside.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./);
    assert.doesNotMatch(m.daemon.docker(['network', 'ls']).stdout, /early/);
    const init = m.daemon.berth(['swarm', 'init', '--advertise-addr', m.addr]);
    assert.equal(init.status, 0, init.stderr);
    const cmd = /berth swarm join --token (\S+) (\S+)/.exec(init.stdout);
    assert.ok(cmd, init.stdout);
    const j = w.daemon.berth(['swarm', 'join', '--token', cmd[1]!, cmd[2]!]);
    assert.equal(j.status, 0, j.stderr);
    await until('two nodes ready', () => m.daemon.berth(['node', 'ls']).stdout.split('\n').filter((l) => / Ready /.test(l)).length === 2, 60_000);
  });

  test('swarm init made ingress: a manager lists and inspects it (docker CLI)', async () => {
    const ls = m.daemon.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /^ingress overlay swarm$/m);
    const i = m.daemon.docker(['network', 'inspect', 'ingress']);
    assert.equal(i.status, 0, i.stderr);
    const [n] = JSON.parse(i.stdout);
    assert.equal(n.Ingress, true);
    assert.equal(n.Scope, 'swarm');
    assert.equal(n.Options[VNI], '4096');
    assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    // A worker lists the cluster networks it has a part in: ingress (its routing mesh), as Docker's workers do.
    await until('the worker lists ingress', () => /^ingress overlay swarm$/m.test(w.daemon.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']).stdout), 30_000);
  });

  test('network create -d overlay on a manager (berth CLI); ls and inspect show it; refusals as dockerd', async () => {
    const c = m.daemon.berth(['network', 'create', '-d', 'overlay', '--attachable', '--label', 'team=a', 'appnet']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout.trim(), /^[0-9a-z]{25}$/);
    const ls = m.daemon.berth(['network', 'ls', '--filter', 'scope=swarm', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['appnet overlay swarm', 'ingress overlay swarm']);
    const [n] = JSON.parse(m.daemon.docker(['network', 'inspect', 'appnet']).stdout);
    assert.equal(n.Id, c.stdout.trim());
    assert.equal(n.Scope, 'swarm');
    assert.equal(n.Driver, 'overlay');
    assert.equal(n.Attachable, true);
    assert.deepEqual(n.Labels, { team: 'a' });
    assert.equal(n.Options[VNI], '4097');
    assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
    // A user subnet (docker CLI), then the next default one skips it.
    const u = m.daemon.docker(['network', 'create', '-d', 'overlay', '--subnet', '10.0.2.0/24', '--gateway', '10.0.2.254', 'usernet']);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(JSON.parse(m.daemon.docker(['network', 'inspect', 'usernet']).stdout)[0].IPAM.Config, [{ Subnet: '10.0.2.0/24', Gateway: '10.0.2.254' }]);
    const overlap = m.daemon.docker(['network', 'create', '-d', 'overlay', '--subnet', '10.0.1.128/25', 'clash']);
    assert.notEqual(overlap.status, 0);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);

    const dup = m.daemon.docker(['network', 'create', '-d', 'overlay', 'appnet']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /network with name appnet already exists/);
    const dupLocal = m.daemon.docker(['network', 'create', 'appnet']);
    assert.notEqual(dupLocal.status, 0, 'a local network cannot take a cluster network\'s name');
    assert.match(dupLocal.stderr, /network with name appnet already exists/);
    const enc = m.daemon.docker(['network', 'create', '-d', 'overlay', '--opt', 'encrypted', 'secret']);
    assert.notEqual(enc.status, 0);
    assert.match(enc.stderr, /encrypted overlay networks are not supported by berth: refusing rather than sending plain text/);
    const worker = w.daemon.berth(['network', 'create', '-d', 'overlay', 'fromworker']);
    assert.notEqual(worker.status, 0);
    assert.match(worker.stderr, /Cannot create a multi-host network from a worker node\. Please create the network from a manager node\./);
    // Nothing was stored by the refusals.
    const names = (await api(m, 'GET', '/networks')).json().map((x: { Name: string }) => x.Name);
    for (const x of ['clash', 'secret', 'fromworker']) assert.ok(!names.includes(x), x);
    assert.equal(names.filter((x: string) => x === 'appnet').length, 1);
    assert.equal((await api(m, 'DELETE', '/networks/usernet')).status, 204);
  });

  test('a service on appnet publishing 8080: VIPs on ingress and appnet, tasks with addresses, all distinct; 8080 taken for others', async () => {
    const c = m.daemon.berth(['service', 'create', '--detach', '--name', 'web', '--replicas', '2', '--network', 'name=appnet,alias=www',
      '--publish', '8080:80', '--publish', 'target=81', 'busybox', 'httpd', '-f', '-p', '80']);
    assert.equal(c.status, 0, c.stderr);
    const netId = (name: string) => JSON.parse(m.daemon.docker(['network', 'inspect', name]).stdout)[0].Id as string;
    const ingress = netId('ingress');
    const appnet = netId('appnet');
    let svc: any;
    await until('the service\'s endpoint is allocated', async () => {
      svc = JSON.parse(m.daemon.docker(['service', 'inspect', 'web']).stdout)[0];
      return (svc?.Endpoint?.VirtualIPs ?? []).length === 2;
    }, 30_000);
    assert.deepEqual(svc.Spec.TaskTemplate.Networks, [{ Target: appnet, Aliases: ['www'] }], 'the name became the ID');
    assert.deepEqual(svc.Endpoint.VirtualIPs.map((v: any) => v.NetworkID), [ingress, appnet]);
    assert.deepEqual(svc.Endpoint.Ports.map((p: any) => [p.PublishMode, p.TargetPort, p.PublishedPort]), [['ingress', 80, 8080], ['ingress', 81, 30000]]);
    const ps = m.daemon.docker(['service', 'ls', '--format', '{{.Name}} {{.Ports}}']);
    assert.match(ps.stdout, /^web \*:8080->80\/tcp, \*:30000->81\/tcp$/m);

    let tasks: any[] = [];
    await until('two tasks with their addresses', async () => {
      tasks = (await api(m, 'GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['web'] }))}`)).json();
      return tasks.length === 2 && tasks.every((t) => (t.NetworksAttachments ?? []).length === 2);
    }, 30_000);
    const byNet = new Map<string, string[]>();
    const add = (net: string, a: string) => byNet.set(net, [...(byNet.get(net) ?? []), a]);
    for (const v of svc.Endpoint.VirtualIPs) add(v.NetworkID, v.Addr);
    for (const t of tasks) {
      assert.deepEqual(t.NetworksAttachments.map((a: any) => a.Network.ID), [ingress, appnet]);
      assert.deepEqual(t.NetworksAttachments[1].Aliases, ['www']);
      for (const a of t.NetworksAttachments) add(a.Network.ID, a.Addresses[0]);
    }
    assert.equal(byNet.get(ingress)!.length, 3);
    assert.equal(byNet.get(appnet)!.length, 3);
    for (const [net, list] of byNet) {
      assert.equal(new Set(list).size, list.length, `distinct on ${net}: ${list.join(' ')}`);
      for (const a of list) assert.match(a, net === ingress ? /^10\.0\.0\.\d+\/24$/ : /^10\.0\.1\.\d+\/24$/);
      assert.ok(!list.includes(net === ingress ? '10.0.0.1/24' : '10.0.1.1/24'), 'never the gateway');
    }
    // Task inspect through the docker CLI shows the same.
    const ti = JSON.parse(m.daemon.docker(['inspect', '--type', 'task', tasks[0].ID]).stdout)[0];
    assert.deepEqual(ti.NetworksAttachments.map((a: any) => a.Addresses[0]), tasks[0].NetworksAttachments.map((a: any) => a.Addresses[0]));
    // The docker CLI's service create with --network (it resolves the name with scope=swarm), in dnsrr mode: no VIP.
    const dns = m.daemon.docker(['service', 'create', '--detach', '--name', 'api', '--network', 'appnet', '--endpoint-mode', 'dnsrr', 'busybox', 'httpd', '-f', '-p', '80']);
    assert.equal(dns.status, 0, dns.stderr);
    let apiTask: any;
    await until('the api task has its address', async () => {
      apiTask = (await api(m, 'GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['api'] }))}`)).json()[0];
      return (apiTask?.NetworksAttachments ?? []).length === 1;
    }, 30_000);
    assert.equal(apiTask.NetworksAttachments[0].Network.ID, appnet);
    assert.ok(!byNet.get(appnet)!.includes(apiTask.NetworksAttachments[0].Addresses[0]), 'distinct from web\'s');
    assert.equal(JSON.parse(m.daemon.docker(['service', 'inspect', 'api']).stdout)[0].Endpoint.VirtualIPs, undefined);
    assert.equal(m.daemon.docker(['service', 'rm', 'api']).status, 0);
        // Node objects do not show their ingress load-balancer address (dockerd's GET /nodes has no such field).
    for (const n of (await api(m, 'GET', '/nodes')).json()) assert.equal(n.Attachments, undefined);

    const second = m.daemon.docker(['service', 'create', '--detach', '--name', 'web2', '--publish', '8080:80', 'busybox', 'httpd', '-f', '-p', '80']);
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`port '8080' is already in use by service 'web' \\(${svc.ID}\\) as an ingress port`));
    const unknown = m.daemon.berth(['service', 'create', '--detach', '--name', 'web3', '--network', 'nosuch', 'busybox', 'true']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /network nosuch not found/);
    // The API: a local network cannot carry a service; ingress cannot be named.
    assert.equal(m.daemon.docker(['network', 'create', 'localnet']).status, 0);
    try {
      const spec = (target: string) => ({ Name: 'web4', TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: target }] } });
      let r = await api(m, 'POST', '/services/create', spec('localnet'));
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /The network localnet cannot be used with services\. Only networks scoped to the swarm can be used/);
      r = await api(m, 'POST', '/services/create', spec('ingress'));
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /Service cannot be explicitly attached to the ingress network \\"ingress\\"/);
    } finally {
      m.daemon.docker(['network', 'rm', 'localnet']);
    }
    assert.doesNotMatch(m.daemon.docker(['service', 'ls']).stdout, /web[234]/);
  });

  test('service update moves the published port; network rm refused while in use, then works after service rm', async () => {
    const u = m.daemon.berth(['service', 'update', '--detach', '--publish-rm', '80', '--publish-add', '9090:80', 'web']);
    assert.equal(u.status, 0, u.stderr);
    let ports = '';
    await until('the endpoint follows the update', () => {
      const s = JSON.parse(m.daemon.docker(['service', 'inspect', 'web']).stdout)[0];
      ports = (s.Endpoint.Ports ?? []).map((p: any) => p.PublishedPort).sort().join(',');
      return ports === '30000,9090';
    }, 30_000).catch((e: Error) => { throw new Error(`${e.message}: published ports ${ports}`); });
    // 8080 is free again.
    const other = m.daemon.docker(['service', 'create', '--detach', '--name', 'web2', '--publish', '8080:80', 'busybox', 'httpd', '-f', '-p', '80']);
    assert.equal(other.status, 0, other.stderr);
    assert.equal(m.daemon.docker(['service', 'rm', 'web2']).status, 0);

    // network prune removes the unused cluster network, keeps the one in use and ingress.
    assert.equal(m.daemon.docker(['network', 'create', '-d', 'overlay', 'unused']).status, 0);
    const pr = m.daemon.docker(['network', 'prune', '-f']);
    assert.equal(pr.status, 0, pr.stderr);
    assert.match(pr.stdout, /^unused$/m);
    assert.deepEqual(m.daemon.docker(['network', 'ls', '--filter', 'scope=swarm', '--format', '{{.Name}}']).stdout.trim().split('\n').sort(), ['appnet', 'ingress']);
    const rm = m.daemon.berth(['network', 'rm', 'appnet']);
    assert.notEqual(rm.status, 0);
    assert.match(rm.stderr, /network \w+ is in use by service \w+/);
    // (The CLIs ask before removing ingress: the API, as they send it.)
    const rmIngress = await api(m, 'DELETE', '/networks/ingress');
    assert.equal(rmIngress.status, 400);
    assert.match(rmIngress.text, /ingress network cannot be removed because service \w+ depends on it/);
    assert.equal(m.daemon.berth(['service', 'rm', 'web']).status, 0);
    await until('appnet removed once the service\'s tasks are gone', () => m.daemon.docker(['network', 'rm', 'appnet']).status === 0, 60_000);
    assert.doesNotMatch(m.daemon.docker(['network', 'ls']).stdout, /appnet/);
    assert.match(m.daemon.docker(['network', 'ls']).stdout, /ingress/);
  });

  test('a removed network\'s VXLAN id goes to a new network while a task on the old one is still stopping: the new one\'s task starts on that node', async () => {
    const vniOf = (name: string) => JSON.parse(m.daemon.docker(['network', 'inspect', name]).stdout)[0].Options[VNI];
    assert.equal(m.daemon.berth(['network', 'create', '-d', 'overlay', 'oldnet']).status, 0);
    const vni = vniOf('oldnet');
    // `sleep` as PID 1 ignores SIGTERM: the task keeps its place on oldnet for its whole grace period.
    const slow = m.daemon.berth(['service', 'create', '--detach', '--name', 'slow', '--network', 'oldnet', '--constraint', 'node.role==worker', '--stop-grace-period', '40s', 'busybox', 'sleep', '100000']);
    assert.equal(slow.status, 0, slow.stderr);
    await until('slow runs on the worker', async () => running(await tasksOf(m, 'slow')).length === 1, 60_000);
    assert.equal(m.daemon.berth(['service', 'rm', 'slow']).status, 0);
    await until('oldnet can be removed', () => m.daemon.berth(['network', 'rm', 'oldnet']).status === 0, 30_000);
    assert.equal(m.daemon.berth(['network', 'create', '-d', 'overlay', 'newnet']).status, 0);
    assert.equal(vniOf('newnet'), vni, 'the cluster gives the freed VXLAN id to the next network');
    const fresh = m.daemon.berth(['service', 'create', '--detach', '--name', 'fresh', '--network', 'newnet', '--constraint', 'node.role==worker', 'busybox', 'sleep', '100000']);
    assert.equal(fresh.status, 0, fresh.stderr);
    await until('fresh runs on the worker', async () => running(await tasksOf(m, 'fresh')).length === 1, 30_000);
    assert.deepEqual((await tasksOf(m, 'fresh')).filter((t) => t.Status.State === 'failed').map((t) => t.Status.Err), [], 'no task of fresh failed');
    // The old task was still stopping when the new one started (what this test is about).
    assert.match(w.daemon.berth(['ps', '--format', '{{.Names}}']).stdout, /^slow\./m);
    assert.equal(m.daemon.berth(['service', 'rm', 'fresh']).status, 0);
    await until('newnet removed', () => m.daemon.berth(['network', 'rm', 'newnet']).status === 0, 60_000);
  });
  test('a standalone container created on an attachable overlay starts after the node has forgotten the network (docker CLI on the worker)', async () => {
    assert.equal(m.daemon.berth(['network', 'create', '-d', 'overlay', '--attachable', 'later']).status, 0);
    const c = w.daemon.docker(['create', '--name', 'lone', '--network', 'later', 'busybox', 'sleep', '100000']);
    assert.equal(c.status, 0, c.stderr);
    try {
      // The probe attachment of create came and went: the worker's next view leaves `later` out,
      // and with no container of this node on it, the worker forgets its record.
      await until('the worker forgets later', () => !/^later$/m.test(w.daemon.docker(['network', 'ls', '--format', '{{.Name}}']).stdout), 30_000);
      const s = w.daemon.docker(['start', 'lone']);
      assert.equal(s.status, 0, s.stderr);
      const ip = w.daemon.docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "later").IPAddress}}', 'lone']).stdout.trim();
      assert.match(ip, /^10\.0\.\d+\.\d+$/);
      assert.match(w.daemon.docker(['network', 'ls', '--format', '{{.Name}}']).stdout, /^later$/m);
      // Stopped, then started again after it was forgotten once more.
      assert.equal(w.daemon.docker(['stop', '-t', '0', 'lone']).status, 0);
      await until('the worker forgets later again', () => !/^later$/m.test(w.daemon.docker(['network', 'ls', '--format', '{{.Name}}']).stdout), 30_000);
      const again = w.daemon.docker(['start', 'lone']);
      assert.equal(again.status, 0, again.stderr);
    } finally {
      w.daemon.docker(['rm', '-f', 'lone']);
    }
    await until('later removed', () => m.daemon.berth(['network', 'rm', 'later']).status === 0, 30_000);
  });
});
