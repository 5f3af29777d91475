// The multi-node harness itself: three berthd nodes in their own network namespaces answer on
// their sockets, talk to each other only through their bridge addresses, can be cut off and
// healed, survive a neighbour's kill -9, and leave nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readlinkSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, leftovers, type Cluster, type ClusterNode } from './swarm-harness.js';
import { inNetns } from './harness.js';

let cluster: Cluster | undefined;
let server: ChildProcess | undefined;
const www = mkdtempSync(join(tmpdir(), 'berth-swarm-www-'));
after(async () => {
  server?.kill('SIGKILL');
  await cluster?.stop();
  rmSync(www, { recursive: true, force: true });
});

// A node's namespace is its own: the published port cannot collide with anything on the host.
const PORT = 18080;

/** One bounded GET from inside `from`'s namespace (curl exits non-zero on a timeout). */
const fetchFrom = (c: Cluster, from: ClusterNode, url: string, seconds = 3) =>
  c.exec(from, 'curl', ['-sS', '--max-time', String(seconds), url], { timeout: (seconds + 5) * 1000 });

/** Polls `fetchFrom` until it answers `want` (a container's server needs a moment), bounded. */
async function fetchUntil(c: Cluster, from: ClusterNode, url: string, want: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    const r = fetchFrom(c, from, url);
    last = `${r.status} ${r.stdout}${r.stderr}`;
    if (r.status === 0 && r.stdout.trim() === want) return r.stdout.trim();
    await new Promise((res) => setTimeout(res, 250));
  }
  return last;
}

test('three berthd nodes, each in its own network namespace', { timeout: 120_000 }, async () => {
  const c = await startCluster({ nodes: 3 });
  cluster = c;
  const [n1, n2, n3] = c.nodes;
  assert.equal(new Set(c.nodes.map((n) => n.addr)).size, 3);

  // Each answers on its own socket, as a daemon of its own.
  const ids = new Set<string>();
  for (const n of c.nodes) {
    assert.equal((await n.daemon.api('GET', '/_ping')).status, 200, n.name);
    const info = await n.daemon.api('GET', '/info');
    assert.equal(info.status, 200, n.name);
    ids.add(info.json().ID);
  }
  assert.equal(ids.size, 3, 'three distinct daemons');
  // Each berthd runs in its node's namespace, and its nft table is there, not on the host.
  const hostTables = spawnSync('nft', ['list', 'tables']).stdout.toString();
  for (const n of c.nodes) {
    assert.equal(readlinkSync(`/proc/${n.daemon.proc.pid}/ns/net`), `net:[${statSync(`/run/netns/${n.ns}`).ino}]`, n.name);
    const table = `berth-${createHash('sha256').update(n.daemon.execRoot).digest('hex').slice(0, 8)}`;
    assert.match(c.exec(n, 'nft', ['list', 'tables']).stdout, new RegExp(`table ip ${table}\\b`), n.name);
    assert.doesNotMatch(hostTables, new RegExp(`${table}\\b`), n.name);
  }

  // A published port on node 2 answers other nodes at node 2's address.
  const run = n2.daemon.docker(['run', '-d', '-p', `${PORT}:80`, 'busybox', 'sh', '-c',
    'mkdir -p /www && echo hello-from-node2 > /www/index.html && exec httpd -f -p 80 -h /www']);
  assert.equal(run.status, 0, run.stderr);
  const url2 = `http://${n2.addr}:${PORT}/`;
  assert.equal(await fetchUntil(c, n1, url2, 'hello-from-node2'), 'hello-from-node2');
  assert.equal(await fetchUntil(c, n3, url2, 'hello-from-node2'), 'hello-from-node2');
  // The host is not a node: the port is published in node 2's namespace, not on the host.
  // (Only the bridge's own address is tried: traffic stays on the test's bridge.)
  const fromHost = spawnSync('curl', ['-sS', '--max-time', '2', `http://${c.gateway}:${PORT}/`], { timeout: 10_000 });
  assert.notEqual(fromHost.status, 0, 'the host itself does not serve node 2\'s port');

  // Cut and heal: a server in node 3's namespace, reached from node 1.
  mkdirSync(join(www, 'n3'));
  writeFileSync(join(www, 'n3', 'index.html'), 'hello-from-node3\n');
  const [cmd, args] = inNetns(n3.ns, 'busybox', ['httpd', '-f', '-p', `${n3.addr}:8000`, '-h', join(www, 'n3')]);
  server = spawn(cmd, args, { stdio: 'ignore' });
  const url3 = `http://${n3.addr}:8000/`;
  assert.equal(await fetchUntil(c, n1, url3, 'hello-from-node3'), 'hello-from-node3');
  c.cut(n3);
  const cut = fetchFrom(c, n1, url3, 2);
  assert.notEqual(cut.status, 0, `node 3 still answered while cut: ${cut.stdout}`);
  c.heal(n3);
  assert.equal(await fetchUntil(c, n1, url3, 'hello-from-node3'), 'hello-from-node3');

  // kill -9 of node 2's berthd: the others still answer.
  await c.kill9(n2);
  await assert.rejects(n2.daemon.api('GET', '/_ping'));
  for (const n of [n1, n3]) assert.equal((await n.daemon.api('GET', '/_ping')).status, 200, n.name);

  server.kill('SIGKILL');
  server = undefined;
  await c.stop();
  assert.deepEqual(leftovers(c), []);
  await c.stop(); // idempotent
});
