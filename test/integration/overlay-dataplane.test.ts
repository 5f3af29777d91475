// The overlay data plane (src/network/overlay) on the real kernel, without a daemon: two "nodes"
// as namespaces joined by a veth pair (the underlay, a random 10.x.y.0/24 the host does not
// route), one overlay network on each with the same ID and VNI (two daemon instances on one
// host, so their names must not collide), and one "container" namespace per node attached to it.
// Traffic only between these namespaces, bounded pings. Everything is removed in `after`, even
// when a check fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { createNetns, deleteNetns, hostRoutes, listNetns } from '../../src/network/link.ts';
import { cidrsOverlap, parseCidr } from '../../src/network/ipam.ts';
import { OverlayNetwork } from '../../src/network/overlay/overlay.ts';

const tag = randomBytes(3).toString('hex');
const nodeA = `ovtest-${tag}-na`;
const nodeB = `ovtest-${tag}-nb`;
const ctrA = `ovtest-${tag}-ca`;
const ctrB = `ovtest-${tag}-cb`;
const nets: OverlayNetwork[] = [];

after(async () => {
  for (const n of nets) await n.remove().catch(() => {});
  for (const ns of [ctrA, ctrB, nodeA, nodeB]) await deleteNetns(ns);
});

/** A random 10.x.y.0/24 that no host route overlaps (and that differs from `not`). */
async function freeSubnet(not = ''): Promise<string> {
  const routes = (await hostRoutes()).map((r) => parseCidr(r));
  for (let i = 0; i < 200; i++) {
    const net = `10.${randomInt(1, 255)}.${randomInt(0, 256)}`;
    if (net !== not && !routes.some((r) => cidrsOverlap(r, parseCidr(`${net}.0/24`)))) return net;
  }
  throw new Error('no free test subnet');
}

function ipIn(ns: string, args: string[]) {
  const r = spawnSync('ip', ['-n', ns, ...args], { timeout: 10_000 });
  assert.equal(r.status, 0, `ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}
const exec = (ns: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { timeout: 15_000 });
const ping = (ns: string, ip: string) => exec(ns, 'busybox', 'ping', '-c', '1', '-W', '2', ip).status === 0;
/** A ping that may need a retry on a loaded machine (bounded: three tries). */
function pingSoon(ns: string, ip: string): boolean {
  for (let i = 0; i < 3; i++) if (ping(ns, ip)) return true;
  return false;
}

/** Bytes per second over TCP from `fromNs` to `toIp` in `toNs`, for about 1.5 s (node as the tool). */
async function throughput(fromNs: string, toNs: string, toIp: string): Promise<number> {
  const port = 20000 + randomInt(0, 20000);
  const server = spawn('ip', ['netns', 'exec', toNs, process.execPath, '-e', `
    const s = require('net').createServer((c) => { let n = 0; const t0 = Date.now();
      c.on('data', (d) => { n += d.length; }); c.on('end', () => { console.log(JSON.stringify({ n, ms: Date.now() - t0 })); process.exit(0); }); });
    s.listen(${port}, ${JSON.stringify(toIp)}, () => console.log('ready'));
    setTimeout(() => process.exit(2), 20000).unref();`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    server.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    if (!out.includes('ready')) throw new Error('server did not start');
    const c = exec(fromNs, process.execPath, '-e', `
      const c = require('net').connect(${port}, ${JSON.stringify(toIp)}, () => {
        const buf = Buffer.alloc(1 << 16); const end = Date.now() + 1500;
        const pump = () => { while (Date.now() < end) { if (!c.write(buf)) return c.once('drain', pump); } c.end(); };
        pump(); });
      c.on('error', (e) => { console.error(e.message); process.exit(1); });
      setTimeout(() => process.exit(2), 10000).unref();`);
    if (c.status !== 0) throw new Error(`client: ${c.stderr}`);
    for (let i = 0; i < 100 && !out.includes('"n"'); i++) await new Promise((r) => setTimeout(r, 50));
    const m = JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? 'null') as { n: number; ms: number } | null;
    if (!m) throw new Error('no result');
    return m.n / (m.ms / 1000);
  } finally { server.kill(); }
}

test('two nodes, one overlay: containers reach each other over VXLAN only through the peers given, and remove() leaves nothing', async () => {
  const under = await freeSubnet();
  const overlay = await freeSubnet(under);
  const vtepA = `${under}.1`;
  const vtepB = `${under}.2`;
  const ipA = `${overlay}.2`;
  const ipB = `${overlay}.3`;
  // The underlay: two node namespaces and a veth pair between them.
  for (const ns of [nodeA, nodeB, ctrA, ctrB]) await createNetns(ns);
  ipIn(nodeA, ['link', 'add', 'name', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', nodeB]);
  for (const [ns, ip] of [[nodeA, vtepA], [nodeB, vtepB]]) {
    ipIn(ns, ['addr', 'add', `${ip}/24`, 'dev', 'ul0']);
    ipIn(ns, ['link', 'set', 'dev', 'ul0', 'up']);
    ipIn(ns, ['link', 'set', 'dev', 'lo', 'up']);
  }
  assert.ok(pingSoon(nodeA, vtepB), 'underlay reachable');

  // Bad input creates nothing.
  const id = randomBytes(32).toString('hex');
  const vni = 4096 + randomInt(0, 100000);
  await assert.rejects(OverlayNetwork.create({ id, vni: 0, subnet: `${overlay}.0/24`, localVtep: vtepA, instance: `t${tag}a`, underlayNetns: nodeA }), /invalid VXLAN id/);
  assert.deepEqual(await listNetns(`berthov-t${tag}`), []);

  // The same network (ID, VNI) on both nodes: two daemon instances on one host.
  const spec = { id, vni, subnet: `${overlay}.0/24` };
  const a = await OverlayNetwork.create({ ...spec, localVtep: vtepA, instance: `t${tag}a`, underlayNetns: nodeA });
  nets.push(a);
  const b = await OverlayNetwork.create({ ...spec, localVtep: vtepB, instance: `t${tag}b`, underlayNetns: nodeB });
  nets.push(b);
  assert.notEqual(a.names.netns, b.names.netns);
  assert.ok(existsSync(a.netnsPath) && existsSync(b.netnsPath));

  // The vxlan device as asked for: VNI, VTEP, port 4789, no learning, proxy ARP, MTU 1450, on br0.
  const vx = JSON.parse(ipIn(a.names.netns, ['-d', '-j', 'link', 'show', 'dev', a.names.vxlan]))[0];
  assert.equal(vx.linkinfo.info_kind, 'vxlan');
  assert.equal(vx.linkinfo.info_data.id, vni);
  assert.equal(vx.linkinfo.info_data.local, vtepA);
  assert.equal(vx.linkinfo.info_data.port, 4789);
  assert.equal(vx.linkinfo.info_data.learning, false);
  assert.equal(vx.linkinfo.info_data.proxy, true);
  assert.equal(vx.mtu, 1450);
  assert.equal(vx.master, 'br0');
  // ... and nothing of it left in the node's own namespace.
  assert.doesNotMatch(ipIn(nodeA, ['-br', 'link']), /vxlan|^vt/m);

  await a.attach(`/run/netns/${ctrA}`, { ip: ipA, ifname: 'eth0' });
  await b.attach(`/run/netns/${ctrB}`, { ip: ipB, ifname: 'eth0' });
  const eth = JSON.parse(ipIn(ctrA, ['-j', 'addr', 'show', 'dev', 'eth0']))[0];
  assert.equal(eth.address, `02:42:${ipA.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(':')}`);
  assert.equal(eth.mtu, 1450);
  assert.ok(eth.addr_info.some((x: { local: string; prefixlen: number }) => x.local === ipA && x.prefixlen === 24));

  // No peers yet: no flooding, no learning, so nothing gets across.
  assert.equal(ping(ctrA, ipB), false, 'reachable before any peer was added');

  await a.addPeer({ ip: ipB, vtep: vtepB });
  await b.addPeer({ ip: ipA, vtep: vtepA });
  await a.addPeer({ ip: ipB, vtep: vtepB }); // idempotent
  assert.ok(pingSoon(ctrA, ipB), 'A → B over the overlay');
  assert.ok(pingSoon(ctrB, ipA), 'B → A over the overlay');
  const stats = JSON.parse(ipIn(a.names.netns, ['-s', '-j', 'link', 'show', 'dev', a.names.vxlan]))[0].stats64;
  assert.ok(stats.tx.packets > 0 && stats.rx.packets > 0, 'the packets went through the vxlan device');

  // A second create on a node where it is set up adopts it (a restarted daemon) and breaks nothing.
  const again = await OverlayNetwork.create({ ...spec, localVtep: vtepA, instance: `t${tag}a`, underlayNetns: nodeA });
  assert.equal(again.names.netns, a.names.netns);
  assert.ok(pingSoon(ctrA, ipB), 'still reachable after adoption');

  // Throughput, logged for the record (the bench compares it properly).
  try {
    const ov = await throughput(ctrA, ctrB, ipB);
    const direct = await throughput(nodeA, nodeB, vtepB);
    console.log(`# overlay TCP ${(ov / 1e6).toFixed(0)} MB/s, direct veth ${(direct / 1e6).toFixed(0)} MB/s (${(ov / direct).toFixed(2)}×)`);
  } catch (e) { console.log(`# throughput not measured: ${(e as Error).message}`); }

  // Removing the peer on A cuts A → B (the entries are gone even if A's ARP cache still has B).
  await a.removePeer({ ip: ipB, vtep: vtepB });
  await a.removePeer({ ip: ipB, vtep: vtepB }); // idempotent
  assert.doesNotMatch(ipIn(a.names.netns, ['neigh', 'show', 'dev', a.names.vxlan]), new RegExp(ipB.replace(/\./g, '\\.') + ' '));
  assert.equal(ping(ctrA, ipB), false, 'still reachable after removePeer');
  await a.addPeer({ ip: ipB, vtep: vtepB });
  assert.ok(pingSoon(ctrA, ipB), 'reachable again once the peer is back');

  // detach takes the container's interface away.
  await a.detach(ipA);
  await a.detach(ipA); // idempotent
  let gone = false;
  for (let i = 0; i < 40 && !gone; i++) {
    gone = !JSON.parse(ipIn(ctrA, ['-j', 'link'])).some((l: { ifname: string }) => l.ifname === 'eth0');
    if (!gone) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(gone, 'eth0 left in the container after detach');

  // remove() leaves nothing: no namespace, no link in the nodes, B's container loses its interface.
  await a.remove();
  await b.remove();
  assert.deepEqual(await listNetns(`berthov-t${tag}`), []);
  for (const ns of [nodeA, nodeB]) assert.deepEqual(JSON.parse(ipIn(ns, ['-j', 'link'])).map((l: { ifname: string }) => l.ifname).sort(), ['lo', 'ul0']);
  gone = false;
  for (let i = 0; i < 40 && !gone; i++) {
    gone = JSON.parse(ipIn(ctrB, ['-j', 'link'])).every((l: { ifname: string }) => l.ifname === 'lo');
    if (!gone) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(gone, 'the container kept its overlay interface after remove()');
  await b.remove(); // idempotent
});
