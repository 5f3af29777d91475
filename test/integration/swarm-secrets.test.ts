// Swarm secrets and configs on three berth nodes (swarm-harness.ts: each berthd in its own network
// namespace): a secret and a config used by a service pinned to node 2 reach its container at
// their targets with the owner and mode asked, and nowhere else — not in inspect, not in any
// file of any node's data root or exec root (etcd's data included: it holds ciphertext), not on
// node 3 which runs no such task. Removal while in use is refused with swarmkit's text, rotation
// works by a service update (the replaced task's tmpfs goes when its container stops), and the
// task's tmpfs goes with the service. The docker CLI drives
// part of it (secret create/ls/inspect/rm, service create --secret/--config, service update
// --secret-rm/--secret-add), resolving names client side as docker 28 does.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { nodeApi, running, startCluster, tasksOf, type Cluster, type ClusterNode } from './swarm-harness.js';
import { hasDocker, until } from './harness.js';

let cluster: Cluster | undefined;
after(async () => {
  if (process.env.SECRETS_TEST_LOGS) for (const n of cluster?.nodes ?? []) writeFileSync(`${process.env.SECRETS_TEST_LOGS}-${n.name}.log`, n.daemon?.log() ?? '');
  await cluster?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean);
const secretsRoot = (n: ClusterNode) => join(n.daemon.execRoot, 'swarm', 'secrets');
const taskDirs = (n: ClusterNode) => (existsSync(secretsRoot(n)) ? readdirSync(secretsRoot(n)) : []);
const tmpfsUnder = (n: ClusterNode) => mounts().filter((m) => m.startsWith(secretsRoot(n) + '/'));

/**
 * The first message of a dispatcher session opened with node `n`'s own certificate (what its
 * agent is sent), read from the manager at `manager`; the connection is closed after.
 */
function sessionMessage(n: ClusterNode, manager: string): Promise<any> {
  const certs = join(n.daemon.dataRoot, 'swarm', 'certificates');
  const read = (f: string) => readFileSync(join(certs, f), 'utf8');
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: manager, port: 2377, path: '/session', method: 'POST', agent: false, timeout: 10_000,
      ca: read('swarm-root-ca.crt'), cert: read('swarm-node.crt'), key: read('swarm-node.key'), checkServerIdentity: () => undefined,
      headers: { 'Content-Type': 'application/json' },
    }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        const i = buf.indexOf('\n');
        if (i < 0) return;
        req.destroy();
        try { resolve(JSON.parse(buf.slice(0, i))); } catch (e) { reject(e); }
      });
      res.on('error', reject);
    });
    // Once resolved, the error of the destroy that follows changes nothing.
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(); reject(new Error('no session message within 10 s')); });
    req.end('{}');
  });
}

/** The files under `dir` that contain `needle` (binary-safe; devices, fifos and sockets skipped). */
function filesWith(dir: string, needle: string): string[] {
  const r = spawnSync('grep', ['-rlF', '-D', 'skip', '--binary-files=text', '--', needle, dir], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return r.stdout.split('\n').filter(Boolean);
}

describe('swarm secrets and configs', { timeout: 600_000, skip: hasDocker ? false : 'needs the docker CLI' }, () => {
  let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;
  let n2id = '';
  // Unique per run, so a match can only come from this test.
  const plain = `berth-secret-${randomBytes(12).toString('hex')}`;
  const plain2 = `berth-rotated-${randomBytes(12).toString('hex')}`;
  const conf = `listen ${randomBytes(6).toString('hex')}\n`;

  const api = nodeApi;
  const runningTask = async (service: string) => running(await tasksOf(n1, service))[0];
  // Inside the task's container through its mount namespace, from the host: `berth exec` into a
  // task container on a worker node stalls that daemon for ~40 s (a separate problem, reported),
  // long enough for the node to miss its heartbeats and have its task replaced.
  const inTask = (t: any, args: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(t.Status.ContainerStatus.PID), '-m', '--', ...args], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    [n1, n2, n3] = cluster.nodes;
    const init = await api(n1, 'POST', '/swarm/init', { ListenAddr: `${n1.addr}:2377`, AdvertiseAddr: n1.addr, Spec: { Dispatcher: { HeartbeatPeriod: 2e9 } } });
    assert.equal(init.status, 200, init.text);
    const token = (await api(n1, 'GET', '/swarm')).json().JoinTokens.Worker;
    for (const n of [n2, n3]) {
      const j = await api(n, 'POST', '/swarm/join', { ListenAddr: `${n.addr}:2377`, AdvertiseAddr: n.addr, RemoteAddrs: [`${n1.addr}:2377`], JoinToken: token });
      assert.equal(j.status, 200, j.text);
    }
    await until('three nodes ready', async () => (await api(n1, 'GET', '/nodes')).json().filter((x: any) => x.Status.State === 'ready').length === 3, 60_000);
    n2id = (await api(n2, 'GET', '/info')).json().Swarm.NodeID;
  });

  test('create, list, inspect: a secret\'s data is never returned, a config\'s is; names unique; only labels update', async () => {
    const c = n1.daemon.docker(['secret', 'create', '--label', 'env=test', 'x', '-'], { input: plain });
    assert.equal(c.status, 0, c.stderr);
    const id = c.stdout.trim();
    assert.match(id, /^[0-9a-z]{25}$/);
    const ls = n1.daemon.docker(['secret', 'ls', '--format', '{{.ID}} {{.Name}}']);
    assert.equal(ls.stdout.trim(), `${id} x`);
    const insp = JSON.parse(n1.daemon.docker(['secret', 'inspect', 'x']).stdout);
    assert.equal(insp[0].ID, id);
    assert.deepEqual(insp[0].Spec.Labels, { env: 'test' });
    assert.equal(insp[0].Spec.Data, undefined);
    for (const path of ['/secrets', `/secrets/${id}`, '/secrets/x', `/secrets/${id.slice(0, 5)}`]) {
      const r = await api(n1, 'GET', path);
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(b64(plain)) && !r.text.includes(plain), `${path} returns no data`);
    }
    const dup = await api(n1, 'POST', '/secrets/create', { Name: 'x', Data: b64('other') });
    assert.equal(dup.status, 409);
    assert.equal(dup.json().message, 'rpc error: code = AlreadyExists desc = secret x already exists');
    const bad = await api(n1, 'POST', '/secrets/create', { Name: '-x', Data: b64('other') });
    assert.equal(bad.status, 400);
    assert.match(bad.json().message, /invalid name, only 64/);
    const version = insp[0].Version.Index;
    const change = await api(n1, 'POST', `/secrets/${id}/update?version=${version}`, { Name: 'x', Data: b64('changed'), Labels: {} });
    assert.equal(change.status, 400);
    assert.equal(change.json().message, 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed');
    const relabel = await api(n1, 'POST', `/secrets/${id}/update?version=${version}`, { Name: 'x', Labels: { env: 'prod' } });
    assert.equal(relabel.status, 200, relabel.text);
    assert.deepEqual((await api(n1, 'GET', '/secrets/x')).json().Spec.Labels, { env: 'prod' });
    // A worker is no manager.
    const w = await api(n2, 'GET', '/secrets');
    assert.equal(w.status, 503);
    // The berth CLI: secret ls's table, config create from stdin, config inspect returns the data.
    const bls = n1.daemon.berth(['secret', 'ls']);
    assert.equal(bls.status, 0, bls.stderr);
    assert.match(bls.stdout, /^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED\n/);
    assert.match(bls.stdout, new RegExp(`^${id}\\s+x\\s+\\S.* ago\\s+\\S.* ago$`, 'm'));
    assert.equal(n1.daemon.berth(['secret', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.Labels.env}}', id]).stdout, 'x prod\n');
    const cc = n1.daemon.berth(['config', 'create', '--label', 'app=web', 'app.conf', '-'], { input: conf });
    assert.equal(cc.status, 0, cc.stderr);
    assert.match(cc.stdout, /^[0-9a-z]{25}\n$/);
    assert.equal((await api(n1, 'GET', '/configs/app.conf')).json().Spec.Data, b64(conf));
    assert.equal(n1.daemon.berth(['config', 'inspect', '--format', '{{json .Spec.Data}}', 'app.conf']).stdout.trim(), JSON.stringify(b64(conf)));
    assert.equal(n1.daemon.berth(['config', 'ls', '--format', '{{.Name}}']).stdout, 'app.conf\n');
  });

  test('a service on node 2 gets the files at their targets with uid, gid and mode; node 3 gets nothing', async () => {
    const missing = await api(n1, 'POST', '/services/create', {
      Name: 'nope', TaskTemplate: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretID: 'zzzz', SecretName: 'gone', File: { Name: 'gone', UID: '0', GID: '0', Mode: 0o444 } }] } },
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.json().message, 'rpc error: code = InvalidArgument desc = secret not found: gone');
    const c = n1.daemon.docker(['service', 'create', '--detach', '--name', 'web', '--constraint', `node.id==${n2id}`,
      '--secret', 'source=x,target=x,uid=1000,gid=1001,mode=0400', '--config', 'source=app.conf,target=/etc/app.conf,mode=0440',
      'busybox', 'sleep', '100000']);
    assert.equal(c.status, 0, c.stderr);
    await until('the task runs on node 2', async () => (await runningTask('web'))?.NodeID === n2id, 90_000);
    const t = await runningTask('web');
    const cat = inTask(t, ['cat', '/run/secrets/x']);
    assert.equal(cat.status, 0, cat.stderr);
    assert.equal(cat.stdout, plain);
    assert.equal(inTask(t, ['stat', '-c', '%u %g %a', '/run/secrets/x']).stdout.trim(), '1000 1001 400');
    assert.equal(inTask(t, ['cat', '/etc/app.conf']).stdout, conf);
    assert.equal(inTask(t, ['stat', '-c', '%a', '/etc/app.conf']).stdout.trim(), '440');
    // Read-only in the container.
    assert.notEqual(inTask(t, ['/bin/sh', '-c', 'echo x > /run/secrets/x']).status, 0);
    // Its tmpfs on node 2, mode 0700; none on nodes 1 and 3.
    assert.deepEqual(taskDirs(n2), [t.ID]);
    assert.deepEqual(tmpfsUnder(n2), [join(secretsRoot(n2), t.ID)]);
    assert.equal(spawnSync('stat', ['-c', '%a', join(secretsRoot(n2), t.ID)], { encoding: 'utf8' }).stdout.trim(), '700');
    for (const n of [n1, n3]) {
      assert.deepEqual(taskDirs(n), [], `${n.name} has no task secrets`);
      assert.deepEqual(tmpfsUnder(n), []);
    }
    // What each node is sent over its session: node 2 the two objects its task uses, node 3
    // (no task) and node 1 (the manager, no task) none.
    const m2 = await sessionMessage(n2, n1.addr);
    assert.deepEqual(m2.secrets.map((x: any) => [x.Name, Buffer.from(x.Data, 'base64').toString()]), [['x', plain]]);
    assert.deepEqual(m2.configs.map((x: any) => [x.Name, Buffer.from(x.Data, 'base64').toString()]), [['app.conf', conf]]);
    for (const n of [n3, n1]) {
      const m = await sessionMessage(n, n1.addr);
      assert.ok(Array.isArray(m.assignments), 'a session message');
      assert.deepEqual([m.secrets, m.configs], [[], []], `${n.name} is sent no secret or config`);
      assert.ok(!JSON.stringify(m).includes(b64(plain)));
    }
  });

  test('the plaintext is on no node\'s disk: data roots, exec roots and etcd\'s data hold none of it', async () => {
    const t = await runningTask('web');
    const tmpfs = join(secretsRoot(n2), t.ID);
    for (const n of cluster!.nodes) {
      for (const needle of [plain, b64(plain), conf.trim()]) {
        const found = filesWith(n.daemon.dir, needle).filter((f) => !f.startsWith(tmpfs + '/'));
        assert.deepEqual(found, [], `${n.name}: ${needle.slice(0, 12)}… found outside the task's tmpfs`);
      }
    }
    // etcd's data is there (the search did cover it) and holds the objects, sealed.
    const etcdDir = join(n1.daemon.dataRoot, 'swarm', 'etcd');
    assert.ok(existsSync(etcdDir));
    assert.ok(filesWith(etcdDir, '"Sealed":"v1:').length > 0, 'the sealed objects are in etcd\'s files');
    // The data key is a manager's file alone, mode 0600.
    assert.equal(spawnSync('stat', ['-c', '%a', join(n1.daemon.dataRoot, 'swarm', 'data.key')], { encoding: 'utf8' }).stdout.trim(), '600');
    for (const n of [n2, n3]) assert.ok(!existsSync(join(n.daemon.dataRoot, 'swarm', 'data.key')), `${n.name} (a worker) holds no data key`);
  });

  test('removal in use is refused; rotation by service update; the tmpfs goes with the service', async () => {
    const rm = n1.daemon.docker(['secret', 'rm', 'x']);
    assert.notEqual(rm.status, 0);
    assert.match(rm.stderr, /secret 'x' is in use by the following service: web/);
    const brm = n1.daemon.berth(['secret', 'rm', 'x']);
    assert.equal(brm.status, 1);
    assert.equal(brm.stderr, "Error response from daemon: rpc error: code = InvalidArgument desc = secret 'x' is in use by the following service: web\n");
    const crm = await api(n1, 'DELETE', '/configs/app.conf');
    assert.equal(crm.status, 400);
    assert.equal(crm.json().message, "rpc error: code = InvalidArgument desc = config 'app.conf' is in use by the following service: web");
    const old = await runningTask('web');
    assert.equal(n1.daemon.berth(['secret', 'create', 'x2', '-'], { input: plain2 }).status, 0);
    const nf = n1.daemon.berth(['service', 'update', '--detach', '--secret-add', 'source=nope,target=y', 'web']);
    assert.equal(nf.status, 1);
    assert.equal(nf.stderr, 'secret not found: nope\n');
    const u = n1.daemon.berth(['service', 'update', '--detach', '--secret-rm', 'x', '--secret-add', 'source=x2,target=x,mode=0400', 'web']);
    assert.equal(u.status, 0, u.stderr);
    await until('a new task runs', async () => { const t = await runningTask('web'); return !!t && t.ID !== old.ID; }, 90_000);
    const t = await runningTask('web');
    assert.equal(inTask(t, ['cat', '/run/secrets/x']).stdout, plain2);
    // The replaced task's container has stopped: its tmpfs (the old plaintext) is gone already.
    await until('only the new task has a tmpfs', () => JSON.stringify(taskDirs(n2)) === JSON.stringify([t.ID]) && tmpfsUnder(n2).length === 1, 30_000);
    assert.deepEqual(filesWith(n2.daemon.dir, plain), []);
    const ok = n1.daemon.docker(['secret', 'rm', 'x']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'x');
    assert.equal((await api(n1, 'GET', '/secrets/x')).status, 404);
    assert.equal(n1.daemon.docker(['service', 'rm', 'web']).status, 0);
    await until('node 2 has no task tmpfs left', () => taskDirs(n2).length === 0 && tmpfsUnder(n2).length === 0, 60_000);
    assert.equal(n1.daemon.docker(['secret', 'rm', 'x2']).status, 0);
    assert.deepEqual((await api(n1, 'GET', '/secrets')).json(), []);
  });

  test('a promoted manager gets the data key with its certificate (it can open the configs); demoted, it deletes it', async () => {
    const n3id = (await api(n3, 'GET', '/info')).json().Swarm.NodeID;
    const keyFile = join(n3.daemon.dataRoot, 'swarm', 'data.key');
    assert.equal(n1.daemon.berth(['node', 'promote', n3id]).status, 0);
    await until('node 3 serves configs as a manager', async () => (await api(n3, 'GET', '/configs/app.conf')).status === 200, 90_000, 250);
    assert.equal((await api(n3, 'GET', '/configs/app.conf')).json().Spec.Data, b64(conf));
    assert.equal(spawnSync('stat', ['-c', '%a', keyFile], { encoding: 'utf8' }).stdout.trim(), '600');
    assert.deepEqual(readFileSync(keyFile), readFileSync(join(n1.daemon.dataRoot, 'swarm', 'data.key')));
    // A secret made on the new manager opens on the first one: one key for the cluster.
    const made = await api(n3, 'POST', '/secrets/create', { Name: 'fromn3', Data: b64('z') });
    assert.equal(made.status, 201, made.text);
    assert.equal(n1.daemon.berth(['node', 'demote', n3id]).status, 0);
    await until('node 3 is a worker again, without the key', async () => (await api(n3, 'GET', '/info')).json().Swarm.ControlAvailable === false
      && !existsSync(keyFile), 90_000, 250);
    assert.equal((await api(n1, 'DELETE', '/secrets/fromn3')).status, 204);
    assert.equal((await api(n1, 'DELETE', '/configs/app.conf')).status, 204);
  });
});
