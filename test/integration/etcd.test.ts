// swarm's etcd foundations against a real etcd (Debian's etcd-server 3.4): the EtcdMember
// supervisor and the JSON-gateway client. Each member runs on 127.0.0.1 with kernel-chosen ports in
// a temp data root; everything is stopped and removed in `after`, even when a test fails.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { EtcdMember, type EtcdMemberTls } from '../../src/swarm/etcd/member.ts';
import { EtcdClient, type WatchEvent } from '../../src/swarm/etcd/client.ts';
import { freePort, until } from './harness.ts';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const skip = hasEtcd ? false : 'etcd is not installed (Debian package etcd-server; scripts/install-deps)';



const tmp = mkdtempSync(join(tmpdir(), 'berth-etcd-test-'));
const members: EtcdMember[] = [];
const clients: EtcdClient[] = [];

async function newMember(name: string, scheme: 'http' | 'https', tls?: EtcdMemberTls): Promise<EtcdMember> {
  const [cp, pp] = [await freePort(), await freePort()];
  const peer = `${scheme}://127.0.0.1:${pp}`;
  const m = new EtcdMember({
    dataRoot: join(tmp, name), name, clientUrls: [`${scheme}://127.0.0.1:${cp}`], peerUrls: [peer],
    initialCluster: `${name}=${peer}`, initialClusterState: 'new', tls, minDelayMs: 200, maxDelayMs: 1000, killAfterMs: 5000,
  });
  members.push(m);
  return m;
}

after(async () => {
  for (const c of clients) c.close();
  await Promise.allSettled(members.map((m) => m.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('etcd member and client (plain HTTP)', { skip }, () => {
  let m: EtcdMember;
  let c: EtcdClient;
  before(async () => {
    m = await newMember('m1', 'http');
    await m.start();
    c = m.client();
    clients.push(c);
  });

  test('put, get, prefix, delete', async () => {
    const r1 = await c.put('/t/a', 'one');
    await c.put('/t/b', 'two');
    await c.put('/u/c', 'three');
    const a = await c.get('/t/a');
    assert.equal(a?.value, 'one');
    assert.equal(a?.createRevision, r1);
    assert.equal(a?.version, 1);
    assert.equal(await c.get('/t/none'), undefined);
    const list = await c.getPrefix('/t/');
    assert.deepEqual(list.kvs.map((k) => [k.key, k.value]), [['/t/a', 'one'], ['/t/b', 'two']]);
    assert.ok(list.revision >= r1 + 2);
    assert.equal(await c.delete('/t/', { prefix: true }), 2);
    assert.equal((await c.getPrefix('/t/')).kvs.length, 0);
    assert.equal(await c.delete('/u/c'), 1);
    assert.equal(await c.delete('/u/c'), 0);
  });

  test('txn: a create-if-absent that succeeds, then one whose compare fails', async () => {
    const ok = await c.txn([{ key: '/x/lock', target: 'create', result: '=', value: 0 }], [{ put: { key: '/x/lock', value: 'me' } }], [{ get: { key: '/x/lock' } }]);
    assert.equal(ok.succeeded, true);
    assert.deepEqual(ok.responses, [{ put: true }]);
    const no = await c.txn([{ key: '/x/lock', target: 'create', result: '=', value: 0 }], [{ put: { key: '/x/lock', value: 'you' } }], [{ get: { key: '/x/lock' } }]);
    assert.equal(no.succeeded, false);
    assert.equal(no.responses[0].kvs?.[0].value, 'me');
    const kv = (await c.get('/x/lock'))!;
    // Fenced on mod_revision and on value.
    const fenced = await c.txn([{ key: '/x/lock', target: 'mod', result: '=', value: kv.modRevision }, { key: '/x/lock', target: 'value', result: '=', value: 'me' }],
      [{ delete: { key: '/x/lock' } }]);
    assert.equal(fenced.succeeded, true);
    assert.deepEqual(fenced.responses, [{ deleted: 1 }]);
    const stale = await c.txn([{ key: '/x/lock', target: 'mod', result: '=', value: kv.modRevision }], [{ put: { key: '/x/lock', value: 'late' } }]);
    assert.equal(stale.succeeded, false);
    assert.equal(await c.get('/x/lock'), undefined);
  });

  test('a lease that expires deletes its key; keepalive and revoke', async () => {
    const l = await c.leaseGrant(2);
    assert.match(l.id, /^\d+$/);
    assert.equal(l.ttl, 2);
    await c.put('/lease/k', 'v', { lease: l.id });
    assert.equal((await c.get('/lease/k'))?.lease, l.id);
    assert.ok((await c.leaseKeepAlive(l.id)) > 0);
    await until('the leased key to go', async () => (await c.get('/lease/k')) === undefined, 10_000);
    await assert.rejects(c.leaseKeepAlive(l.id), /not found/);
    const l2 = await c.leaseGrant(60);
    await c.put('/lease/k2', 'v', { lease: l2.id });
    await c.leaseRevoke(l2.id);
    assert.equal(await c.get('/lease/k2'), undefined);
    await assert.rejects(c.leaseRevoke(l2.id), (e: Error & { grpcCode?: number }) => e.grpcCode === 5);
  });

  test('watch from a revision, surviving a reconnect; compaction is reported', async () => {
    const first = await c.put('/w/1', 'a');
    await c.put('/w/2', 'b');
    const seen: WatchEvent[] = [];
    const errors: Error[] = [];
    const w = c.watch('/w/', { fromRevision: first, onEvents: (ev) => seen.push(...ev), onError: (e) => errors.push(e) });
    try {
      await until('the two earlier puts', () => seen.length >= 2);
      // Break the stream under the watch: the client's sockets go, the watch reconnects from the
      // next revision it has not seen.
      (c as unknown as { agent: { destroy(): void } }).agent.destroy();
      await until('the watch to notice the broken stream', () => errors.length >= 1);
      await c.put('/w/3', 'c');
      await c.delete('/w/1');
      await until('the later put and delete', () => seen.length >= 4);
      assert.deepEqual(seen.map((e) => [e.type, e.kv.key, e.kv.value]), [['put', '/w/1', 'a'], ['put', '/w/2', 'b'], ['put', '/w/3', 'c'], ['delete', '/w/1', '']]);
      assert.equal(seen[3].prevKv?.value, 'a');
    } finally {
      w.cancel();
    }
    // A watch from a compacted revision tells the caller to re-list.
    const now = await c.put('/w/4', 'd');
    const compactRes = await fetch(`${m.client()['endpoints'][0].origin}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(now) }) });
    assert.equal(compactRes.status, 200);
    let compacted = 0;
    const w2 = c.watch('/w/', { fromRevision: first, onEvents: () => {}, onCompacted: (r) => { compacted = r; } });
    try {
      await until('compaction to be reported', () => compacted > 0);
      assert.equal(compacted, now);
    } finally {
      w2.cancel();
    }
  });

  test('member list', async () => {
    const list = await c.memberList();
    assert.equal(list.length, 1);
    assert.equal(list[0].name, 'm1');
    assert.match(list[0].id, /^\d+$/);
    assert.deepEqual(list[0].clientUrls, [m['opts'].clientUrls[0]]);
  });

  test('a lease kept alive outlives its TTL; revoking it is reported as lost', async () => {
    const l = await c.leaseGrant(2);
    await c.put('/ka/k', 'v', { lease: l.id });
    let lost: Error | undefined;
    const ka = c.keepAlive(l.id, l.ttl, (e) => { lost = e; });
    try {
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal((await c.get('/ka/k'))?.value, 'v');
      assert.equal(lost, undefined);
      await c.leaseRevoke(l.id);
      await until('the keepalive to report the lease lost', () => lost !== undefined, 5000);
      assert.match(lost!.message, /not found/);
    } finally {
      ka.stop();
    }
  });

  test('a manager join: member add, then a second member starts with initial-cluster-state=existing; then member remove', async () => {
    const [cp, pp] = [await freePort(), await freePort()];
    const peer = `http://127.0.0.1:${pp}`;
    const added = await c.memberAdd([peer]);
    assert.deepEqual(added.member.peerUrls, [peer]);
    assert.equal(added.members.length, 2);
    const m1 = (await c.memberList()).find((x) => x.name === 'm1')!;
    const m2 = new EtcdMember({
      dataRoot: join(tmp, 'm2'), name: 'm2', clientUrls: [`http://127.0.0.1:${cp}`], peerUrls: [peer],
      initialCluster: `m1=${m1.peerUrls[0]},m2=${peer}`, initialClusterState: 'existing', killAfterMs: 5000,
    });
    members.push(m2);
    await m2.start();
    const c2 = m2.client();
    clients.push(c2);
    await c.put('/joined', 'yes');
    await until('the new member to see the write', async () => (await c2.get('/joined'))?.value === 'yes');
    const list = await c2.memberList();
    assert.deepEqual(list.map((x) => x.name).sort(), ['m1', 'm2']);
    // etcd refuses to remove a member that has not been connected for its health interval (5 s)
    // when removing it could cost quorum: "unhealthy cluster", to be retried.
    let left: Awaited<ReturnType<EtcdClient['memberRemove']>> = [];
    await until('member remove to be accepted', async () => {
      try { left = await c.memberRemove(added.member.id); return true; } catch (e) {
        if (/unhealthy cluster/.test((e as Error).message)) return false;
        throw e;
      }
    }, 20_000);
    assert.deepEqual(left.map((x) => x.name), ['m1']);
    await m2.stop();
    assert.equal((await c.memberList()).length, 1);
  });

  test('the supervisor restarts etcd after kill -9, and the data survives', async () => {
    await c.put('/keep', 'me');
    // A watch open across the crash resumes on the restarted member without losing an event.
    const seen: string[] = [];
    const w = c.watch('/kw/', { onEvents: (ev) => seen.push(...ev.map((e) => e.kv.value)) });
    try {
      await c.put('/kw/before', '1');
      await until('the watch to see the first put', () => seen.length === 1);
      const pid = m.pid!;
      process.kill(pid, 'SIGKILL');
      await until('a new etcd process', () => m.pid !== undefined && m.pid !== pid);
      assert.equal(m.restarts, 1);
      await m.waitReady(20_000);
      assert.equal((await c.get('/keep'))?.value, 'me');
      await c.put('/kw/after', '2');
      await until('the watch to see the put after the restart', () => seen.length === 2);
      assert.deepEqual(seen, ['1', '2']);
    } finally {
      w.cancel();
    }
  });

  test('stop() ends etcd for good: no restart follows', async () => {
    const pid = m.pid!;
    await m.stop();
    assert.equal(m.pid, undefined);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await new Promise((r) => setTimeout(r, 1500)); // past maxDelayMs: a restart would have happened
    assert.equal(m.pid, undefined);
    assert.equal(await c.health(500), false);
  });
});

describe('etcd member start failure', { skip }, () => {
  test('an etcd that cannot start rejects start() with its stderr', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const pp = await freePort();
      const m = new EtcdMember({
        dataRoot: join(tmp, 'busy'), name: 'busy', clientUrls: [`http://127.0.0.1:${port}`], peerUrls: [`http://127.0.0.1:${pp}`],
        initialCluster: `busy=http://127.0.0.1:${pp}`, initialClusterState: 'new',
      });
      members.push(m);
      const t0 = Date.now();
      await assert.rejects(m.start(), /exited before it was ready.*address already in use/s);
      assert.ok(Date.now() - t0 < 15_000);
      assert.equal(m.pid, undefined);
    } finally {
      busy.close();
    }
  });
});

describe('etcd member with client certificate auth', { skip: skip || (hasOpenssl ? false : 'no openssl CLI') }, () => {
  const dir = join(tmp, 'certs');
  const P = (f: string) => join(dir, f);
  function openssl(args: string[]): void {
    const r = spawnSync('openssl', args, { cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  }
  let m: EtcdMember;
  before(async () => {
    mkdirSync(dir, { recursive: true });
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca']);
    writeFileSync(P('node.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'node-key.pem', '-out', 'node.csr', '-subj', '/CN=node']);
    openssl(['x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'node.pem', '-days', '1', '-extfile', 'node.ext']);
    m = await newMember('tls1', 'https', { caFile: P('ca.pem'), certFile: P('node.pem'), keyFile: P('node-key.pem') });
    await m.start();
  });

  test('refuses a client without a certificate, accepts one with it', async () => {
    assert.ok(existsSync(join(tmp, 'tls1', 'swarm', 'etcd', 'member')));
    const url = m['opts'].clientUrls;
    const bare = new EtcdClient({ endpoints: url, tls: { ca: readFileSync(P('ca.pem')) }, timeoutMs: 3000 });
    clients.push(bare);
    // etcd (Go's TLS 1.2 here) ends the handshake with a bad_certificate alert.
    await assert.rejects(bare.put('/secret', 'x'), /etcd: .*bad certificate/);
    const good = new EtcdClient({ endpoints: url, tls: { ca: readFileSync(P('ca.pem')), cert: readFileSync(P('node.pem')), key: readFileSync(P('node-key.pem')) } });
    clients.push(good);
    await good.put('/secret', 'x');
    assert.equal((await good.get('/secret'))?.value, 'x');
  });

  test('several endpoints: a dead first one is skipped', async () => {
    const dead = `https://127.0.0.1:${await freePort()}`;
    const c = new EtcdClient({ endpoints: [dead, ...m['opts'].clientUrls], tls: { ca: readFileSync(P('ca.pem')), cert: readFileSync(P('node.pem')), key: readFileSync(P('node-key.pem')) } });
    clients.push(c);
    await c.put('/multi', 'y');
    assert.equal((await c.get('/multi'))?.value, 'y');
  });
});
