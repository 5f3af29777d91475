// Service VIPs (src/network/vip) on the real kernel, without berthd: a bridge in a namespace of
// its own, three "task" namespaces each running busybox httpd that answers its own name, and a
// "client" namespace holding the VIP table. Traffic only inside a random 10.x.y.0/24 that no host
// route covers, on the test's own bridge (which is not even in the host's namespace); every request
// (curl) is bounded by `timeout`. The after hook kills the servers it started and deletes the namespaces
// (which takes the veths, the bridge and the table along), even when a check fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { run } from '../../src/sys/index.ts';
import { createNetns, deleteNetns, hostRoutes } from '../../src/network/link.ts';
import { cidrsOverlap, parseCidr } from '../../src/network/ipam.ts';
import { VipTable } from '../../src/network/vip/vip.ts';
import { until } from './harness.ts';

const tag = randomBytes(3).toString('hex');
const brNs = `berth-vipt-${tag}-br`;
const clientNs = `berth-vipt-${tag}-c`;
const lbNs = `berth-vipt-${tag}-lb`;
const tasks = ['task-a', 'task-b', 'task-c'];
const taskNs = (i: number) => `berth-vipt-${tag}-t${i}`;
const servers: ChildProcess[] = [];
const www = mkdtempSync(join(tmpdir(), 'berth-vipt-'));

after(async () => {
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  for (const ns of [clientNs, lbNs, ...tasks.map((_, i) => taskNs(i)), brNs]) await deleteNetns(ns);
  rmSync(www, { recursive: true, force: true });
});

/** A random /24 in 10/8 that no host route overlaps (bounded tries). */
async function freeSubnet(): Promise<string> {
  const routes = (await hostRoutes()).map(parseCidr);
  for (let i = 0; i < 200; i++) {
    const net = `10.${randomInt(1, 255)}.${randomInt(0, 256)}`;
    const mine = parseCidr(`${net}.0/24`);
    if (!routes.some((r) => cidrsOverlap(r, mine))) return net;
  }
  throw new Error('no free test subnet');
}

const ip = (args: string[]) => run('ip', args);
const inNs = (ns: string, cmd: string, args: string[]) => ['--net=/run/netns/' + ns, '--', cmd, ...args];

/** One namespace on the bridge: a veth made inside the bridge's namespace, its peer moved into `ns` as eth0. */
async function plug(ns: string, port: string, addr: string): Promise<void> {
  await ip(['-n', brNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await ip(['-n', brNs, 'link', 'set', port, 'master', 'br0', 'up']);
  await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
  await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
}

/** GET http://host:port/ from the client namespace: the body, or curl's verbose error (it names the errno). */
async function get(host: string, port = 80): Promise<{ ok: boolean; body: string; ms: number }> {
  const t0 = Date.now();
  const r = await run('timeout', ['10', 'nsenter', ...inNs(clientNs, 'curl', ['-sSv', '--max-time', '5', `http://${host}:${port}/`])], { allowFail: true });
  return { ok: r.code === 0, body: r.code === 0 ? r.stdout.trim() : r.stderr.trim(), ms: Date.now() - t0 };
}

async function tables(ns: string): Promise<string> {
  return (await run('nsenter', inNs(ns, 'nft', ['list', 'tables']))).stdout;
}

let net = '';
let vip = '';
let addrs: string[] = [];
let clientPath = '';

before(async () => {
  net = await freeSubnet();
  vip = `${net}.100`;
  addrs = tasks.map((_, i) => `${net}.${11 + i}`);

  await createNetns(brNs);
  await ip(['-n', brNs, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', brNs, 'link', 'set', 'br0', 'up']);
  clientPath = await createNetns(clientNs);
  await plug(clientNs, 'vc', `${net}.2`);
  for (let i = 0; i < tasks.length; i++) {
    await createNetns(taskNs(i));
    await plug(taskNs(i), `vt${i}`, addrs[i]);
    const dir = join(www, tasks[i]);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), `${tasks[i]}\n`);
    const s = spawn('nsenter', inNs(taskNs(i), 'busybox', ['httpd', '-f', '-p', '80', '-h', dir]), { stdio: 'ignore' });
    servers.push(s);
  }
  // The servers answer directly before the VIP is involved.
  for (let i = 0; i < tasks.length; i++) {
    await until(`${tasks[i]} serving`, async () => (await get(addrs[i])).body === tasks[i], 20_000, 200);
  }
});

/** Requests to the VIP until each is answered; the names that answered and how often. */
async function spread(n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(vip);
    assert.ok(r.ok, `request ${i} to the VIP failed: ${r.body}`);
    seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
  }
  return seen;
}

test('in the client\'s own namespace: a VIP balances over three tasks, follows backend changes, refuses when empty, and leaves nothing behind', async () => {
  const t = await VipTable.create(clientPath, `berth-vip-${tag}`);
  try {
    assert.match(await tables(clientNs), new RegExp(`table ip berth-vip-${tag}\\b`));
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], addrs);
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], [...addrs].reverse()); // idempotent: same set
    assert.deepEqual(t.list(), [{ vip, ports: [{ protocol: 'tcp', port: 80 }], backends: addrs }]);

    const seen = await spread(30);
    assert.deepEqual([...seen.keys()].sort(), tasks, `30 requests reached ${JSON.stringify([...seen])}`);

    // A port the service does not expose is refused, not left to hang on an address nobody owns.
    const other = await get(vip, 81);
    assert.ok(!other.ok && /refused/i.test(other.body), `port 81: ${other.body}`);

    // task-b leaves (unhealthy, or stopped): new connections never reach it; its server still runs.
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], [addrs[0], addrs[2]]);
    assert.deepEqual([...(await spread(20)).keys()].sort(), ['task-a', 'task-c']);
    assert.equal((await get(addrs[1])).body, 'task-b', 'the removed backend itself is still up');

    // No backend: a clean, quick refusal.
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], []);
    const empty = await get(vip);
    assert.ok(!empty.ok && /refused/i.test(empty.body), `empty service: ${empty.body}`);
    assert.ok(empty.ms < 4000, `refusal took ${empty.ms} ms`);

    // 'all' ports with one backend, then the service removed (twice: idempotent).
    await t.setService(vip, 'all', [addrs[2]]);
    assert.equal((await get(vip)).body, 'task-c');
    await t.removeService(vip);
    await t.removeService(vip); // idempotent
    assert.deepEqual(t.list(), []);
  } finally {
    await t.destroy();
  }
  assert.doesNotMatch(await tables(clientNs), new RegExp(`berth-vip-${tag}\\b`));
  await t.destroy(); // already gone: not an error
  await assert.rejects(t.setService(vip, 'all', [addrs[0]]), /destroyed/);
});

test('in a load-balancer namespace that owns the VIP (Docker\'s lb-<network> sandbox): prerouting DNAT and masquerade', async () => {
  // The VIP is an address of the lb namespace: the client reaches it on the link (ARP), the lb
  // namespace DNATs and forwards back out of the same interface, masquerading so answers return.
  const lbPath = await createNetns(lbNs);
  await plug(lbNs, 'vl', `${net}.3`);
  await ip(['-n', lbNs, 'addr', 'add', `${vip}/32`, 'dev', 'eth0']);
  for (const k of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']) {
    await run('nsenter', inNs(lbNs, 'sysctl', ['-q', '-w', k]));
  }
  const t = await VipTable.create(lbPath, `berth-vip-${tag}`, { masquerade: true });
  try {
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], addrs);
    assert.deepEqual([...(await spread(30)).keys()].sort(), tasks);
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], [addrs[1]]);
    assert.deepEqual([...(await spread(10)).keys()], ['task-b']);
    await t.setService(vip, [{ protocol: 'tcp', port: 80 }], []);
    const empty = await get(vip);
    assert.ok(!empty.ok && /refused/i.test(empty.body), `empty service: ${empty.body}`);
    assert.ok(empty.ms < 4000, `refusal took ${empty.ms} ms`);
  } finally {
    await t.destroy();
  }
  assert.doesNotMatch(await tables(lbNs), new RegExp(`berth-vip-${tag}\\b`));
});
