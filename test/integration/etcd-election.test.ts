// The orchestrator election (src/swarm/etcd/election.ts) against a real etcd (Debian's etcd-server
// 3.4): one member on 127.0.0.1 with kernel-chosen ports in a temp data root. Each test uses its own
// key prefix. A partition is made with a small TCP proxy between one candidate and etcd. Everything
// (elections, observers, proxy, etcd, temp dir) is stopped and removed in `after`, even on failure.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { EtcdMember } from '../../src/swarm/etcd/member.ts';
import { EtcdClient } from '../../src/swarm/etcd/client.ts';
import { Election, isNotLeader } from '../../src/swarm/etcd/election.ts';
import { freePort, until } from './harness.ts';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
const skip = hasEtcd ? false : 'etcd is not installed (Debian package etcd-server; scripts/install-deps)';

const TTL = 2;



/** Whether a promise settled within `ms` (without consuming its rejection for the caller). */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

/** A TCP proxy to etcd that can drop every connection and refuse new ones: a network partition. */
function proxyTo(port: number): Promise<{ url: string; cut(): void; heal(): void; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((s) => {
    if (cut) { s.destroy(); return; }
    const up = net.connect(port, '127.0.0.1');
    socks.add(s); socks.add(up);
    s.pipe(up); up.pipe(s);
    const end = () => { s.destroy(); up.destroy(); socks.delete(s); socks.delete(up); };
    s.on('error', end); up.on('error', end); s.on('close', end); up.on('close', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      resolve({
        url,
        cut() { cut = true; for (const s of socks) s.destroy(); socks.clear(); },
        heal() { cut = false; },
        close() { for (const s of socks) s.destroy(); return new Promise((r) => server.close(() => r())); },
      });
    });
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'berth-etcd-election-test-'));
let member: EtcdMember | undefined;
const clients: EtcdClient[] = [];
const elections: Election[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const e of elections) e.close();
  for (const f of cleanups) await Promise.resolve(f()).catch(() => {});
  for (const c of clients) c.close();
  await member?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('orchestrator election over etcd', { skip }, () => {
  let url: string;
  let etcdPort: number;
  let admin: EtcdClient;
  const client = (endpoint = url) => { const c = new EtcdClient({ endpoints: [endpoint], timeoutMs: 2000 }); clients.push(c); return c; };
  const election = (prefix: string, nodeId: string, c = client(), onLost?: (e: Error) => void) => {
    const e = new Election({ client: c, prefix, nodeId, ttlSeconds: TTL, onLost });
    elections.push(e);
    return e;
  };
  const watchLeaders = (prefix: string) => {
    const seen: (string | undefined)[] = [];
    const o = new Election({ client: admin, prefix, nodeId: 'observer' }).observe((l) => seen.push(l));
    cleanups.push(() => o.cancel());
    return seen;
  };

  before(async () => {
    const [cp, pp] = [await freePort(), await freePort()];
    etcdPort = cp;
    url = `http://127.0.0.1:${cp}`;
    const peer = `http://127.0.0.1:${pp}`;
    member = new EtcdMember({ dataRoot: tmp, name: 'e1', clientUrls: [url], peerUrls: [peer], initialCluster: `e1=${peer}`, initialClusterState: 'new', killAfterMs: 5000 });
    await member.start();
    admin = client();
  });

  test('the first candidate leads, the second waits; when the first resigns the second leads; observe sees each change', async () => {
    const prefix = '/berth/test/resign';
    const seen = watchLeaders(prefix);
    await until('the observer to report no leader', () => seen.length === 1);
    assert.deepEqual(seen, [undefined]);

    const a = election(prefix, 'node-a');
    const b = election(prefix, 'node-b');
    await a.campaign();
    assert.equal(a.isLeader, true);
    assert.match(a.key!, /^\/berth\/test\/resign\/[0-9a-f]+$/);
    assert.equal(a.key, `${prefix}/${BigInt(a.leaseId!).toString(16)}`);
    const bLeads = b.campaign();
    assert.equal(await settledWithin(bLeads, 1500), false, 'the second candidate must wait');
    assert.equal(b.isLeader, false);
    assert.equal(await a.leader(), 'node-a');
    assert.equal(await b.leader(), 'node-a');
    // Both keys exist; the leader's is the older.
    const { kvs } = await admin.getPrefix(`${prefix}/`);
    assert.equal(kvs.length, 2);
    assert.ok(a.revision < b.revision);
    assert.deepEqual(a.fence(), { key: a.key, target: 'create', result: '=', value: a.revision });

    await a.resign();
    assert.equal(a.isLeader, false);
    await bLeads;
    assert.equal(b.isLeader, true);
    assert.equal(await b.leader(), 'node-b');
    assert.equal((await admin.getPrefix(`${prefix}/`)).kvs.length, 1);
    assert.throws(() => a.fence(), /not the orchestrator leader any more/);
    await until('the observer to see node-b', () => seen.length === 3);
    assert.deepEqual(seen, [undefined, 'node-a', 'node-b']);

    await b.resign();
    assert.equal(await b.leader(), undefined);
    await until('the observer to see no leader', () => seen.length === 4);
    assert.deepEqual(seen, [undefined, 'node-a', 'node-b', undefined]);
  });

  test('a leader whose lease is revoked loses leadership; the other takes over; its fenced writes fail, the new leader\'s succeed', async () => {
    const prefix = '/berth/test/revoke';
    const seen = watchLeaders(prefix);
    let lostA: Error | undefined;
    const a = election(prefix, 'node-a', client(), (e) => { lostA = e; });
    const b = election(prefix, 'node-b');
    await a.campaign();
    const bLeads = b.campaign();
    assert.equal(await settledWithin(bLeads, 500), false);
    await a.leaderTxn([{ put: { key: '/berth/test/revoke-state', value: 'from-a' } }]);
    assert.equal((await admin.get('/berth/test/revoke-state'))?.value, 'from-a');

    const aFence = a.fence();
    const t0 = Date.now();
    await admin.leaseRevoke(a.leaseId!); // a's death, as etcd sees it
    // Fencing is etcd's decision, not a's belief: a's compare fails the moment its key is gone.
    const stale = await admin.txn([aFence], [{ put: { key: '/berth/test/revoke-state', value: 'stale-a' } }]);
    assert.equal(stale.succeeded, false);
    await bLeads;
    const took = Date.now() - t0;
    assert.ok(took < (TTL + 3) * 1000, `takeover took ${took} ms`);
    await until('a to notice it lost its lease', () => lostA !== undefined, (TTL + 3) * 1000);
    assert.equal(a.isLeader, false);
    assert.equal(b.isLeader, true);

    // The deposed leader still holds its fencing token; etcd refuses the write all the same.
    await assert.rejects(a.leaderTxn([{ put: { key: '/berth/test/revoke-state', value: 'stale-a' } }]),
      (e: Error) => isNotLeader(e) && /^not the orchestrator leader any more$/.test(e.message));
    const r = await b.leaderTxn([{ put: { key: '/berth/test/revoke-state', value: 'from-b' } }]);
    assert.equal(r.succeeded, true);
    assert.equal((await admin.get('/berth/test/revoke-state'))?.value, 'from-b');
    // A caller compare that fails under a valid fence is not a loss of leadership.
    const noop = await b.leaderTxn([{ put: { key: '/berth/test/revoke-state', value: 'x' } }],
      [{ key: '/berth/test/revoke-state', target: 'value', result: '=', value: 'other' }]);
    assert.equal(noop.succeeded, false);
    assert.equal(b.isLeader, true);

    await until('the observer to see node-b', () => seen.at(-1) === 'node-b');
    assert.deepEqual(seen, [undefined, 'node-a', 'node-b']);
    await b.resign();
  });

  test('candidates queue by arrival: one leaving from the middle of the queue changes nothing; a crashed leader is replaced once its lease expires', async () => {
    const prefix = '/berth/test/queue';
    const seen = watchLeaders(prefix);
    const a = election(prefix, 'node-a');
    const b = election(prefix, 'node-b');
    const c = election(prefix, 'node-c');
    await a.campaign();
    const bLeads = b.campaign();
    await until('b to be queued', async () => (await admin.getPrefix(`${prefix}/`)).kvs.length === 2);
    const cLeads = c.campaign();
    await until('c to be queued', async () => (await admin.getPrefix(`${prefix}/`)).kvs.length === 3);
    // b, c's predecessor, leaves: c looks again, finds a older than itself and waits on a.
    const bGaveUp = assert.rejects(bLeads, /not the orchestrator leader any more \(resigned\)/);
    await b.resign();
    await bGaveUp;
    assert.equal(await settledWithin(cLeads, 1000), false, 'c must still wait for a');
    assert.equal(a.isLeader, true);
    assert.equal(await c.leader(), 'node-a');

    // a crashes: nothing renews its lease any more and nothing deletes its key; etcd does, at expiry.
    const t0 = Date.now();
    a.close();
    await cLeads;
    const took = Date.now() - t0;
    assert.ok(took >= 1000 && took < (TTL + 4) * 1000, `takeover took ${took} ms`);
    assert.equal(c.isLeader, true);
    await until('the observer to see node-c', () => seen.at(-1) === 'node-c');
    assert.deepEqual(seen, [undefined, 'node-a', 'node-c']);
    // The crashed leader's fencing token is worthless now.
    await assert.rejects(a.leaderTxn([{ put: { key: '/berth/test/queue-state', value: 'stale-a' } }]), /not the orchestrator leader any more/);
    assert.equal(await admin.get('/berth/test/queue-state'), undefined);
    await c.resign();
  });

  test('a leader that still believes it leads is refused by the fence, and steps down', async () => {
    const prefix = '/berth/test/believer';
    const proxy = await proxyTo(etcdPort);
    cleanups.push(() => proxy.close());
    const lost: Error[] = [];
    const a = election(prefix, 'node-a', client(proxy.url), (e) => { lost.push(e); });
    await a.campaign();
    // a cannot hear about its own death while it happens (no watch event, no keepalive answer) ...
    proxy.cut();
    await admin.leaseRevoke(a.leaseId!);
    proxy.heal();
    // ... so it still thinks it leads, and its next write is the first it hears of it.
    assert.equal(a.isLeader, true);
    await assert.rejects(a.leaderTxn([{ put: { key: '/berth/test/believer-state', value: 'stale-a' } }]), /not the orchestrator leader any more/);
    assert.equal(a.isLeader, false);
    assert.equal(await admin.get('/berth/test/believer-state'), undefined);
    await until('onLost to be reported', () => lost.length > 0);
    assert.equal(lost.length, 1, 'onLost is reported once');
  });

  test('a leader cut off from etcd (partition) steps down after its TTL; the other takes over once the lease expires; its late write is fenced off', async () => {
    const prefix = '/berth/test/partition';
    const seen = watchLeaders(prefix);
    const proxy = await proxyTo(etcdPort);
    cleanups.push(() => proxy.close());
    let lostA: Error | undefined;
    let lostAt = 0;
    const a = election(prefix, 'node-a', client(proxy.url), (e) => { lostA = e; lostAt = Date.now(); });
    const b = election(prefix, 'node-b');
    await a.campaign();
    const bLeads = b.campaign();
    assert.equal(await settledWithin(bLeads, 500), false);

    const t0 = Date.now();
    proxy.cut();
    await bLeads;
    const took = Date.now() - t0;
    // etcd deletes the key when the lease runs out: no sooner than about the TTL, within a bound.
    assert.ok(took >= 1000 && took < (TTL + 4) * 1000, `takeover took ${took} ms`);
    await until('a to step down', () => lostA !== undefined, (TTL + 4) * 1000);
    assert.equal(a.isLeader, false);
    assert.ok(lostAt - t0 < (TTL + 4) * 1000);
    assert.deepEqual(seen, [undefined, 'node-a', 'node-b']);

    // The partition heals; whatever a still tries is refused by etcd.
    proxy.heal();
    await assert.rejects(a.leaderTxn([{ put: { key: '/berth/test/partition-state', value: 'stale-a' } }]), /not the orchestrator leader any more/);
    assert.equal(await admin.get('/berth/test/partition-state'), undefined);
    await b.leaderTxn([{ put: { key: '/berth/test/partition-state', value: 'from-b' } }]);
    assert.equal((await admin.get('/berth/test/partition-state'))?.value, 'from-b');
    await b.resign();
  });
});
