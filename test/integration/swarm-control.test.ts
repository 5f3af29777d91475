// The swarm control plane without the engine: three SwarmControllers in this process, each with its
// own data root and its own loopback address (127.x.y.2-4, chosen at random so parallel test files
// do not meet), real etcd members, real certificates and the real dispatcher over mutual TLS. The
// agents here only record what they are sent: the engine side is swarm-lab's business.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import https from 'node:https';
import { SwarmController, LAST_MANAGER } from '../../src/swarm/node/controller.ts';
import { SWARM_EXISTS } from '../../src/api/types/swarm.ts';
import type { WireAssignment } from '../../src/swarm/dispatcher/protocol.ts';
import type { Task, TaskStatus } from '../../src/api/types/swarm.ts';
import { certDir, etcdTlsDir } from '../../src/swarm/node/local-state.ts';
import { until } from './harness.ts';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
const skip = hasEtcd ? false : 'etcd is not installed (Debian package etcd-server; scripts/install-deps)';

const tmp = mkdtempSync(join(tmpdir(), 'berth-swarm-control-'));
const net = `127.${randomInt(1, 250)}.${randomInt(1, 250)}`;
const addr = (i: number) => `${net}.${i + 2}`;

interface Node { ctl: SwarmController; assignments: WireAssignment[]; reporter?: { report(id: string, s: TaskStatus): Promise<void> } }
const nodes: Node[] = [];

function newNode(i: number): Node {
  const n: Node = { assignments: [], ctl: undefined as unknown as SwarmController };
  n.ctl = new SwarmController({
    dataRoot: join(tmp, `n${i}`),
    description: () => ({ Hostname: `node${i}`, Platform: { Architecture: 'x86_64', OS: 'linux' }, Engine: { EngineVersion: 'test' } }),
    agent: (_id, reporter) => {
      n.reporter = reporter;
      return { start: async () => {}, setAssignments: (a) => { n.assignments = a; }, close: async () => {} };
    },
    leader: () => ({ start() {}, stop: async () => {} }),
    removeTaskContainers: async () => {},
  });
  nodes.push(n);
  return n;
}

after(async () => {
  await Promise.allSettled(nodes.map((n) => n.ctl.close()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('swarm control plane: init, join, dispatcher, leave', { skip, timeout: 180_000 }, () => {
  let a: Node, b: Node, c: Node;
  let tokens: { Worker: string; Manager: string };

  before(async () => {
    a = newNode(0); b = newNode(1); c = newNode(2);
    await a.ctl.init({ ListenAddr: `${addr(0)}:2377`, AdvertiseAddr: addr(0), Spec: { Dispatcher: { HeartbeatPeriod: 1_000_000_000 } } });
    tokens = (await a.ctl.inspect()).JoinTokens;
  });

  test('init: a one-manager swarm, its node ready, /info says so', async () => {
    const info = a.ctl.info();
    assert.equal(info.LocalNodeState, 'active');
    assert.equal(info.ControlAvailable, true);
    assert.equal(info.NodeAddr, addr(0));
    assert.match(tokens.Worker, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    assert.notEqual(tokens.Worker, tokens.Manager);
    await assert.rejects(a.ctl.init({ AdvertiseAddr: addr(0) }), (e: Error) => e.message === SWARM_EXISTS);
    const nodesA = await a.ctl.store().list('nodes');
    assert.equal(nodesA.length, 1);
    assert.equal(nodesA[0]!.Spec.Role, 'manager');
    await until('the manager heartbeats to itself', async () => (await a.ctl.store().alive()).has(a.ctl.nodeId!), 20_000);
  });

  test('a forged token and a token of another CA are refused; nothing is left behind', async () => {
    const forged = tokens.Worker.replace(/-[0-9a-z]{25}$/, '-' + 'a'.repeat(25));
    const x = newNode(9);
    await assert.rejects(x.ctl.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: forged, ListenAddr: `${addr(9)}:2377`, AdvertiseAddr: addr(9) }),
      /A valid join token is necessary to join this cluster/);
    const otherCA = tokens.Worker.replace(/^SWMTKN-1-[0-9a-z]{50}/, 'SWMTKN-1-' + '1'.repeat(50));
    await assert.rejects(x.ctl.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: otherCA, ListenAddr: `${addr(9)}:2377`, AdvertiseAddr: addr(9) }),
      /remote CA does not match fingerprint|CA/);
    assert.equal(x.ctl.info().LocalNodeState, 'inactive');
    assert.equal((await a.ctl.store().list('nodes')).length, 1);
  });

  test('a worker joins: it gets a worker certificate, no etcd credentials, and heartbeats', async () => {
    await b.ctl.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: tokens.Worker, ListenAddr: `${addr(1)}:2377`, AdvertiseAddr: addr(1) });
    assert.equal(b.ctl.info().LocalNodeState, 'active');
    assert.equal(b.ctl.info().ControlAvailable, false);
    assert.throws(() => b.ctl.store(), /not a swarm manager/);
    const cert = readFileSync(join(certDir(join(tmp, 'n1')), 'swarm-node.crt'), 'utf8');
    assert.match(new (await import('node:crypto')).X509Certificate(cert).subject, /OU=swarm-worker/);
    assert.throws(() => readFileSync(join(etcdTlsDir(join(tmp, 'n1')), 'member.key')), /ENOENT/);
    // A worker's certificate (same cluster CA) is not an etcd credential: etcd trusts only its own CA.
    const key = readFileSync(join(certDir(join(tmp, 'n1')), 'swarm-node.key'), 'utf8');
    const status = await new Promise<string>((resolve) => {
      const req = https.request({ host: addr(0), port: 2379, path: '/v3/kv/put', method: 'POST', cert, key, rejectUnauthorized: false }, (res) => resolve(String(res.statusCode)));
      req.on('error', (e) => resolve(`refused: ${e.message}`));
      req.end(JSON.stringify({ key: Buffer.from('/berth/swarm/x').toString('base64'), value: 'eA==' }));
    });
    assert.match(status, /refused/);
    await until('the worker is alive', async () => (await a.ctl.store().alive()).has(b.ctl.nodeId!), 20_000);
    const nb = await a.ctl.store().get('nodes', b.ctl.nodeId!);
    assert.equal(nb?.Spec.Role, 'worker');
    assert.equal(nb?.Description?.Hostname, 'node1');
  });

  test('a manager joins: a second etcd member, the dispatcher answers on it too', async () => {
    await c.ctl.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: tokens.Manager, ListenAddr: `${addr(2)}:2377`, AdvertiseAddr: addr(2) });
    assert.equal(c.ctl.info().ControlAvailable, true);
    const members = await c.ctl.store().client.memberList();
    assert.equal(members.length, 2);
    assert.equal((await c.ctl.store().list('nodes')).length, 3);
    await until('the info of the first manager counts 2 managers', () => a.ctl.info().Managers === 2, 10_000);
  });

  test('assignments reach the worker; its reports apply forward only, to its own tasks only', async () => {
    const store = a.ctl.store();
    const now = new Date().toISOString();
    const task: Task = {
      ID: 'task0000000000000000000001', Version: { Index: 0 }, ServiceID: 'svc', Slot: 1, NodeID: b.ctl.nodeId!, Spec: {},
      Status: { Timestamp: now, State: 'assigned', Message: 'scheduler assigned task to node' }, DesiredState: 'running',
    };
    await store.create('tasks', task);
    await until('the worker is sent the task', () => b.assignments.some((x) => x.task.ID === task.ID), 10_000);
    await b.reporter!.report(task.ID, { Timestamp: now, State: 'running', Message: 'started', ContainerStatus: { ContainerID: 'c1', PID: 42 } });
    let t = await store.get('tasks', task.ID);
    assert.equal(t?.Status.State, 'running');
    assert.equal(t?.Status.ContainerStatus?.PID, 42);
    await b.reporter!.report(task.ID, { Timestamp: now, State: 'preparing', Message: 'preparing' });
    t = await store.get('tasks', task.ID);
    assert.equal(t?.Status.State, 'running', 'a backward report is ignored');
    // Node C (a manager, but as an agent only a node) may not report on B's task.
    await assert.rejects(c.reporter!.report(task.ID, { Timestamp: now, State: 'failed', Message: 'x' }), /not assigned to node/);
    await store.remove('tasks', task.ID);
    await until('the task leaves the worker\'s assignments', () => !b.assignments.some((x) => x.task.ID === task.ID), 10_000);
  });

  test('a rotated worker token: the old one is refused', async () => {
    const cur = await a.ctl.inspect();
    await a.ctl.update(cur.Spec, { version: cur.Version.Index, rotateWorkerToken: true, rotateManagerToken: false, rotateManagerUnlockKey: false });
    const next = (await a.ctl.inspect()).JoinTokens;
    assert.notEqual(next.Worker, tokens.Worker);
    assert.equal(next.Manager, tokens.Manager);
    const x = newNode(8);
    await assert.rejects(x.ctl.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: tokens.Worker, ListenAddr: `${addr(8)}:2377`, AdvertiseAddr: addr(8) }),
      /A valid join token is necessary/);
    await assert.rejects(a.ctl.update(cur.Spec, { version: cur.Version.Index, rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false }),
      /update out of sequence/);
  });

  test('leave: a worker leaves and is marked down; the last manager needs --force', async () => {
    const id = b.ctl.nodeId!;
    await b.ctl.leave(false);
    assert.equal(b.ctl.info().LocalNodeState, 'inactive');
    const nb = await a.ctl.store().get('nodes', id);
    assert.equal(nb?.Status.State, 'down');
    assert.equal((await a.ctl.store().alive()).has(id), false);
    await c.ctl.leave(true);
    await until('one etcd member left', async () => (await a.ctl.store().client.memberList()).length === 1, 15_000);
    await assert.rejects(a.ctl.leave(false), (e: Error) => e.message === LAST_MANAGER);
    await a.ctl.leave(true);
    assert.equal(a.ctl.info().LocalNodeState, 'inactive');
  });
});
