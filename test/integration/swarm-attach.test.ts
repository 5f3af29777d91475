// Standalone containers' attachments, the manager's side: a manager (real etcd, its real leader
// and allocator) and a worker in this process, on loopback addresses of their own (as
// swarm-control.test.ts). The worker's DispatcherSession asks for an address on an attachable
// overlay network with its node certificate; a non-attachable network is refused with swarmkit's
// text; detach gives the address back; the leader never hands out an address twice.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { SwarmController, newId } from '../../src/swarm/node/controller.ts';
import { ClusterObjects } from '../../src/swarm/node/objects.ts';
import { Leader } from '../../src/swarm/leader/leader.ts';
import { EtcdLeaderStore } from '../../src/swarm/cluster/leader-store.ts';
import { DispatcherSession } from '../../src/swarm/dispatcher/client.ts';
import { certDir } from '../../src/swarm/node/local-state.ts';
import { isEngineError } from '../../src/common/errors.ts';
import { until } from './harness.ts';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
const skip = hasEtcd ? false : 'etcd is not installed (Debian package etcd-server; scripts/install-deps)';

const tmp = mkdtempSync(join(tmpdir(), 'berth-swarm-attach-'));
const net = `127.${randomInt(1, 250)}.${randomInt(1, 250)}`;
const addr = (i: number) => `${net}.${i + 2}`;
const ctls: SwarmController[] = [];
let session: DispatcherSession | undefined;

function newController(i: number, withLeader: boolean): SwarmController {
  const ctl = new SwarmController({
    dataRoot: join(tmp, `n${i}`),
    description: () => ({ Hostname: `node${i}`, Platform: { Architecture: 'x86_64', OS: 'linux' }, Engine: { EngineVersion: 'test' } }),
    agent: () => ({ start: async () => {}, setAssignments: () => {}, close: async () => {} }),
    leader: withLeader ? ({ cache, election }) => new Leader({ store: new EtcdLeaderStore(cache, election), newId }) : () => ({ start() {}, stop: async () => {} }),
    removeTaskContainers: async () => {},
  });
  ctls.push(ctl);
  return ctl;
}

after(async () => {
  await session?.close();
  await Promise.allSettled(ctls.map((c) => c.close()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('standalone attachments through the dispatcher', { skip, timeout: 180_000 }, () => {
  let manager: SwarmController, worker: SwarmController;
  let objects: ClusterObjects;

  before(async () => {
    manager = newController(0, true);
    worker = newController(1, false);
    // swarm init's default address pool and mask length: ingress takes the first block, then user networks.
    await assert.rejects(newController(2, false).init({ AdvertiseAddr: addr(2), ListenAddr: `${addr(2)}:2377`, DefaultAddrPool: ['10.123.0.0/16'], SubnetSize: 8 }),
      /invalid CIDR: "10.123.0.0\/16". Subnet size is too small for pool: 8/);
    await manager.init({ ListenAddr: `${addr(0)}:2377`, AdvertiseAddr: addr(0), Spec: { Dispatcher: { HeartbeatPeriod: 1_000_000_000 } }, DefaultAddrPool: ['10.123.0.0/16'], SubnetSize: 25 });
    const tokens = (await manager.inspect()).JoinTokens;
    await worker.join({ RemoteAddrs: [`${addr(0)}:2377`], JoinToken: tokens.Worker, ListenAddr: `${addr(1)}:2377`, AdvertiseAddr: addr(1) });
    objects = new ClusterObjects(manager);
    session = sessionOf(1);
  });

  /** A dispatcher client with node i's certificate (the worker's is node 1). */
  function sessionOf(i: number): DispatcherSession {
    const dir = certDir(join(tmp, `n${i}`));
    return new DispatcherSession({
      managers: [`${addr(0)}:2377`],
      tls: { caCertPem: readFileSync(join(dir, 'swarm-root-ca.crt'), 'utf8'), certPem: readFileSync(join(dir, 'swarm-node.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'swarm-node.key'), 'utf8') },
      description: () => ({}), onMessage: () => {},
    });
  }

  test('attach: an address on an attachable network, the same one when asked again; distinct per container; detach frees it', async () => {
    await objects.createNetwork({ Name: 'shared', Driver: 'overlay', Attachable: true });
    const c1 = await session!.attach('shared', 'c'.repeat(64));
    assert.equal(c1.Network.Spec.Name, 'shared');
    assert.equal(c1.Network.Spec.Attachable, true);
    assert.deepEqual(c1.Network.IPAMOptions.Configs, [{ Subnet: '10.123.0.128/25', Gateway: '10.123.0.129' }]);
    assert.equal(c1.Addresses[0], '10.123.0.130/25');
    assert.deepEqual((await objects.network('ingress'))?.IPAMOptions.Configs, [{ Subnet: '10.123.0.0/25', Gateway: '10.123.0.1' }]);
    assert.deepEqual((await session!.attach(c1.Network.ID, 'c'.repeat(64))).Addresses, c1.Addresses, 'asked again by ID: the same address');
    const c2 = await session!.attach('shared', 'd'.repeat(64));
    assert.notEqual(c2.Addresses[0], c1.Addresses[0]);
    const stored = await manager.store().list('attachments');
    assert.equal(stored.length, 2);
    assert.ok(stored.every((a) => a.NodeID === worker.nodeId), 'recorded for the node the certificate names');
    // Another node (the manager's own node certificate) cannot give this node's addresses back.
    const other = sessionOf(0);
    try {
      await other.detach(c1.Network.ID, 'c'.repeat(64));
      assert.equal((await manager.store().list('attachments')).length, 2, 'another node\'s detach changes nothing');
    } finally {
      await other.close();
    }
    // A network in use by an attachment cannot be removed.
    await assert.rejects(objects.removeNetwork(c1.Network.ID), /is in use by task/);
    await session!.detach(c1.Network.ID, 'c'.repeat(64));
    assert.equal((await manager.store().list('attachments')).length, 1);
    // The freed address is given out again.
    const c3 = await session!.attach('shared', 'e'.repeat(64));
    assert.deepEqual(c3.Addresses, c1.Addresses);
    await session!.detach(c1.Network.ID, 'd'.repeat(64));
    await session!.detach(c1.Network.ID, 'e'.repeat(64));
    await until('no attachment left', async () => (await manager.store().list('attachments')).length === 0, 10_000);
    await objects.removeNetwork(c1.Network.ID);
  });

  test('refused: a network that is not attachable (swarmkit\'s text), an unknown one', async () => {
    await objects.createNetwork({ Name: 'private', Driver: 'overlay' });
    await assert.rejects(session!.attach('private', 'c'.repeat(64)),
      (e) => isEngineError(e, 'Forbidden') && (e as Error).message === 'rpc error: code = PermissionDenied desc = network private not manually attachable');
    await assert.rejects(session!.attach('nosuch', 'c'.repeat(64)), (e) => isEngineError(e, 'NotFound') && /network nosuch not found/.test((e as Error).message));
    assert.equal((await manager.store().list('attachments')).length, 0, 'nothing recorded');
  });

  test('one ingress network: a second is refused while the first exists; after its removal a custom one takes its place', async () => {
    const ingress = (await objects.network('ingress'))!;
    await assert.rejects(objects.createNetwork({ Name: 'ing2', Driver: 'overlay', Ingress: true }),
      (e) => isEngineError(e, 'Conflict') && (e as Error).message === `rpc error: code = AlreadyExists desc = ingress network (${ingress.ID}) is already present`);
    await objects.removeNetwork(ingress.ID);
    const { Id } = await objects.createNetwork({ Name: 'ing2', Driver: 'overlay', Ingress: true, IPAM: { Config: [{ Subnet: '10.124.0.0/24' }] } });
    const custom = (await objects.network(Id))!;
    assert.equal(custom.Spec.Ingress, true);
    assert.deepEqual(custom.IPAMOptions.Configs, [{ Subnet: '10.124.0.0/24', Gateway: '10.124.0.1' }]);
  });
});
