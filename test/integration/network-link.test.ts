// Bridge plumbing (src/network/link.ts) on the real kernel: a bridge, two namespaces with veth
// pairs, traffic between them and from the host — only to addresses on the bridge this test
// created (a /24 in 10.234/16 that the host does not route), bounded pings. Everything is
// removed in `after`, even when a check fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { attachVeth, createNetns, deleteLink, deleteNetns, ensureBridge, hostRoutes, linkExists, listNetns } from '../../src/network/link.ts';

const tag = randomBytes(3).toString('hex');
const bridge = `bt${tag}`;
const ns1 = `berth-test-${tag}-a`;
const ns2 = `berth-test-${tag}-b`;

after(async () => {
  await deleteNetns(ns1);
  await deleteNetns(ns2);
  await deleteLink(bridge);
});

/** A /24 inside 10.234.0.0/16 that no host route covers. */
async function freeSubnet(): Promise<string> {
  const routes = await hostRoutes();
  for (let i = 1; i < 255; i++) {
    const net = `10.234.${i}`;
    if (!routes.some((r) => r.startsWith(`${net}.`) || r.startsWith('10.234.0.0/16') || r === '10.0.0.0/8')) return net;
  }
  throw new Error('no free test subnet');
}

test('bridge + veth into named namespaces: addresses, routes, traffic on the bridge only', async () => {
  const net = await freeSubnet();
  await ensureBridge(bridge, `${net}.1/24`);
  await ensureBridge(bridge, `${net}.1/24`); // idempotent
  assert.ok(await linkExists(bridge));
  const p1 = await createNetns(ns1);
  await createNetns(ns2);
  assert.equal(p1, `/run/netns/${ns1}`);
  assert.deepEqual((await listNetns(`berth-test-${tag}`)).sort(), [ns1, ns2]);
  await attachVeth({ ns: ns1, hostIf: `v${tag}a`, bridge, address: `${net}.2/24`, gateway: `${net}.1`, mac: '02:42:0a:ea:00:02' });
  await attachVeth({ ns: ns2, hostIf: `v${tag}b`, bridge, address: `${net}.3/24`, gateway: `${net}.1` });
  const inNs = (ns: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { timeout: 10_000 });
  const addr = inNs(ns1, 'ip', '-j', 'addr', 'show', 'dev', 'eth0').stdout.toString();
  const info = JSON.parse(addr)[0];
  assert.equal(info.address, '02:42:0a:ea:00:02');
  assert.ok(info.addr_info.some((a: any) => a.local === `${net}.2` && a.prefixlen === 24));
  assert.match(inNs(ns1, 'ip', 'route').stdout.toString(), new RegExp(`default via ${net.replace(/\./g, '\\.')}\\.1 dev eth0`));
  // host → namespace, namespace → namespace, namespace → gateway: one bounded ping each
  assert.equal(spawnSync('busybox', ['ping', '-c', '1', '-W', '2', `${net}.2`], { timeout: 10_000 }).status, 0);
  assert.equal(inNs(ns1, 'busybox', 'ping', '-c', '1', '-W', '2', `${net}.3`).status, 0);
  assert.equal(inNs(ns2, 'busybox', 'ping', '-c', '1', '-W', '2', `${net}.1`).status, 0);
  // deleting a namespace takes its veth pair with it
  await deleteNetns(ns2);
  // the kernel removes the peer asynchronously, once the namespace's last reference is gone
  let gone = false;
  for (let i = 0; i < 40 && !gone; i++) { gone = !(await linkExists(`v${tag}b`)); if (!gone) await new Promise((r) => setTimeout(r, 50)); }
  assert.equal(gone, true);
  await assert.rejects(attachVeth({ ns: ns1, hostIf: 'this-name-is-too-long', bridge, address: `${net}.9/24` }), /invalid interface name/);
});
