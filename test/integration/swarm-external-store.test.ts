// `berthd --cluster-store etcd://…`: two managers keep the swarm's state in an external etcd (run by
// this test on the cluster bridge's host address) instead of members of their own; the last
// manager's `swarm leave --force` erases the state there, as leaving erases Docker's raft.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from './swarm-harness.js';
import { freePort, until } from './harness.js';
import { EtcdMember } from '../../src/swarm/etcd/member.ts';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
let cluster: Cluster | undefined;
let etcd: EtcdMember | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'berth-swarm-ext-'));
after(async () => {
  await cluster?.stop();
  await etcd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** etcd processes whose data dir is under `dir` (the embedded members a berthd would run). */
const membersUnder = (dir: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) && /etcd/.test(readFileSync(`/proc/${p}/comm`, 'utf8')); } catch { return false; }
});

describe('swarm with an external cluster store', { skip: hasEtcd ? false : 'etcd is not installed', timeout: 300_000 }, () => {
  test('two managers on an external etcd; the last leave erases the state', async () => {
    const [cp, pp] = [await freePort(), await freePort()];
    let gw = '';
    cluster = await startCluster({ nodes: 2, extraArgs: (g) => { gw = g; return ['--cluster-store', `etcd://${g}:${cp}`]; } });
    const [n1, n2] = cluster.nodes;
    etcd = new EtcdMember({
      dataRoot: tmp, name: 'ext', clientUrls: [`http://${gw}:${cp}`], peerUrls: [`http://127.0.0.1:${pp}`],
      initialCluster: `ext=http://127.0.0.1:${pp}`, initialClusterState: 'new',
    });
    await etcd.start();
    const init = n1!.daemon.berth(['swarm', 'init', '--advertise-addr', n1!.addr]);
    assert.equal(init.status, 0, init.stderr);
    const token = n1!.daemon.berth(['swarm', 'join-token', '-q', 'manager']).stdout.trim();
    const j = n2!.daemon.berth(['swarm', 'join', '--token', token, `${n1!.addr}:2377`]);
    assert.equal(j.status, 0, j.stderr);
    for (const n of cluster.nodes) assert.deepEqual(membersUnder(n.daemon.dataRoot), [], 'no embedded etcd member');
    const kv = etcd.client();
    try {
      assert.ok(await kv.get('/berth/swarm/cluster'), 'the cluster object is in the external store');
      const c = n2!.daemon.berth(['service', 'create', '--detach', '--name', 'app', '--replicas', '2', 'busybox', 'sleep', '100000']);
      assert.equal(c.status, 0, c.stderr);
      await until('2 running', async () => {
        const ts = (await n1!.daemon.api('GET', '/tasks')).json() as any[];
        return ts.filter((t) => t.Status.State === 'running').length === 2;
      }, 60_000);
      assert.equal((await kv.getPrefix('/berth/swarm/services/')).kvs.length, 1);
      assert.equal(n2!.daemon.berth(['swarm', 'leave', '--force']).status, 0);
      const last = n1!.daemon.berth(['swarm', 'leave']);
      assert.notEqual(last.status, 0);
      assert.match(last.stderr, /Removing the last manager erases all current state of the swarm/);
      assert.equal(n1!.daemon.berth(['swarm', 'leave', '--force']).status, 0);
      assert.equal((await kv.getPrefix('/berth/swarm/')).kvs.length, 0, 'the state is erased');
    } finally {
      kv.close();
    }
  });
});
