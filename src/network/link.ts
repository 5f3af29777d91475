// Kernel plumbing for bridge networking through iproute2 (Node has no netlink or setns): Linux
// bridges, veth pairs and named network namespaces. Every call spawns `ip` with an argument
// array and puts its stderr into the error. Names are the caller's: they must be unique per
// daemon instance (DESIGN.md: host-global names), and interface names fit IFNAMSIZ (15 bytes).
//
// Worked example (a container on the default bridge): `ensureBridge("berth0", "172.17.0.1/16")`
// once; per container `createNetns("berth-1a2b-3c4d5e6f7a8b")` (runc then joins
// /run/netns/<name>), `attachVeth({ ns, hostIf: "vb3c4d5e6f7a8b", bridge: "berth0",
// address: "172.17.0.2/16", gateway: "172.17.0.1", mac })`; when the container ends,
// `deleteNetns(name)` removes the namespace and with it both ends of the veth pair.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { invalid, system } from '../common/errors.ts';
import { bindNewNetns, makeVeth, run, unbindNetns } from '../sys/index.ts';

export const NETNS_DIR = '/run/netns';
const IFNAMSIZ = 15;

function checkIfName(name: string): void {
  if (!name || name.length > IFNAMSIZ || /[\s/:]/.test(name)) throw invalid(`invalid interface name ${JSON.stringify(name)}: at most ${IFNAMSIZ} characters, no spaces, '/' or ':'`);
}

async function ip(args: string[], o: { allowFail?: boolean; input?: string } = {}) {
  return run('ip', args, { allowFail: o.allowFail, input: o.input });
}

/** Several commands in one `ip` process (`ip [-n ns] -batch -`, stopping at the first error): each spawn costs ~7 ms. */
async function ipBatch(lines: string[][], ns?: string): Promise<void> {
  await ip([...(ns ? ['-n', ns] : []), '-batch', '-'], { input: lines.map((l) => l.join(' ')).join('\n') + '\n' });
}

/** Whether a link exists in the host's namespace. */
export async function linkExists(name: string): Promise<boolean> {
  return (await ip(['link', 'show', 'dev', name], { allowFail: true })).code === 0;
}

/**
 * Creates (or adopts) a Linux bridge with the gateway address (and the IPv6 gateway address of an
 * IPv6 network) and brings it up. Idempotent, so a restarted daemon finds its bridge as it left it.
 * IPv6 addresses go on without duplicate address detection (`nodad`): berth chose them in its own
 * subnet, and a tentative address would not answer for the first second or two.
 */
export async function ensureBridge(name: string, gatewayCidr: string, o: { mtu?: number; gateway6Cidr?: string } = {}): Promise<void> {
  checkIfName(name);
  // The bridge's MAC address is set, never left to the kernel: a bridge with none set takes the
  // lowest of its ports' MACs, and changes it when that port (a container's veth) goes. Every
  // other container's ARP entry for its gateway then points at a MAC nobody answers to, and its
  // traffic out goes nowhere until neighbour probing notices, some 5-30 s later (Docker's bridge
  // driver sets a random MAC for the same reason).
  if (!(await linkExists(name))) {
    await ip(['link', 'add', 'name', name, 'address', randomMac(), 'type', 'bridge']);
  }
  if (o.mtu) await ip(['link', 'set', 'dev', name, 'mtu', String(o.mtu)]);
  if (o.gateway6Cidr) await enableIPv6(name);
  const addrs = (await ip(['-j', 'addr', 'show', 'dev', name])).stdout;
  const links = JSON.parse(addrs || '[]') as { address?: string; addr_info?: { local: string; prefixlen: number }[] }[];
  const have = new Set(links.flatMap((l) => l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  if (!have.has(gatewayCidr)) await ip(['addr', 'add', gatewayCidr, 'dev', name]);
  if (o.gateway6Cidr && !have.has(o.gateway6Cidr)) await ip(['addr', 'add', o.gateway6Cidr, 'dev', name, 'nodad']);
  // A bridge adopted from an older berth keeps its current MAC, now set (so it no longer follows its ports).
  const mac = links[0]?.address;
  await ip(['link', 'set', 'dev', name, ...(mac && MAC_RE.test(mac) ? ['address', mac] : []), 'up']);
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A random unicast, locally administered MAC address. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** IPv6 on an interface of the host (a bridge): off when the host's default is off. */
async function enableIPv6(dev: string): Promise<void> {
  const f = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  let v: string;
  try { v = (await readFile(f, 'utf8')).trim(); } catch {
    throw invalid(`cannot enable IPv6 on ${dev}: ${f} is missing (is IPv6 disabled in this kernel, ipv6.disable=1?)`);
  }
  if (v !== '0') await writeFile(f, '0');
}

export async function deleteLink(name: string): Promise<void> {
  await ip(['link', 'del', 'dev', name], { allowFail: true });
}

/** A named network namespace (`/run/netns/<name>`); attachVeth brings its `lo` up with the first interface. */
export async function createNetns(name: string): Promise<string> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw invalid(`invalid network namespace name ${JSON.stringify(name)}`);
  const path = `${NETNS_DIR}/${name}`;
  if (!(await bindNewNetns(path))) await ip(['netns', 'add', name]);
  return path;
}

/** Removes a namespace (and every interface inside it, which takes the veth peers along). */
export async function deleteNetns(name: string): Promise<void> {
  const path = `${NETNS_DIR}/${name}`;
  if (!existsSync(path)) return; // nothing to do: no process spawned
  if (!(await unbindNetns(path))) await ip(['netns', 'del', name], { allowFail: true });
}

/** Names of the namespaces that start with `prefix` (for reconciliation after a crash). */
export async function listNetns(prefix: string): Promise<string[]> {
  try { return (await readdir(NETNS_DIR)).filter((n) => n.startsWith(prefix)); } catch { return []; }
}

export interface VethOptions {
  /** Network namespace name (created with createNetns). */
  ns: string;
  /** Host-side interface name (≤ 15 bytes). */
  hostIf: string;
  /** Name inside the namespace (Docker: eth0, eth1, ...). */
  nsIf?: string;
  bridge: string;
  /** Address with prefix, e.g. 172.17.0.2/16. */
  address: string;
  /** Default route via this address (omitted for --internal networks). */
  gateway?: string;
  /** IPv6 address with prefix on an IPv6 network, e.g. fd12:3456:789a:1::2/64. */
  address6?: string;
  /** IPv6 default route via this address. */
  gateway6?: string;
  mac?: string;
  mtu?: number;
}

/**
 * Creates a veth pair with one end inside the namespace (named, addressed, up, default route;
 * `lo` up too) and the other on the bridge: over rtnetlink through berth-spawn (sys/index.ts's
 * makeVeth), or, with no helper, in two `ip -batch` runs (one per namespace). On failure nothing
 * is left behind.
 */
export async function attachVeth(o: VethOptions): Promise<void> {
  checkIfName(o.hostIf);
  checkIfName(o.bridge);
  const nsIf = o.nsIf ?? 'eth0';
  checkIfName(nsIf);
  const bad = (x: string | undefined, re: RegExp) => x !== undefined && x !== '' && !re.test(x);
  if (!/^[0-9a-fA-F:./]+$/.test(o.address) || bad(o.gateway, /^[0-9a-fA-F:.]+$/) || bad(o.mac, /^[0-9a-fA-F:]+$/)
    || bad(o.address6, /^[0-9a-fA-F:./]+$/) || bad(o.gateway6, /^[0-9a-fA-F:.]+$/)) {
    throw invalid(`invalid address for ${nsIf}: ${o.address} ${o.gateway ?? ''} ${o.mac ?? ''} ${o.address6 ?? ''} ${o.gateway6 ?? ''}`);
  }
  // Through berth-spawn when there is one: the same steps over rtnetlink, no `ip` started.
  const viaHelper = () => makeVeth({ ...o, nsIf, netnsPath: `${NETNS_DIR}/${o.ns}` });
  const made = await viaHelper().then(async (failed) => {
    if (!failed || !/File exists/.test(failed)) return failed;
    await deleteLink(o.hostIf); // (the same retry as below)
    return viaHelper();
  });
  if (made === '') return;
  if (made !== undefined) {
    await deleteLink(o.hostIf);
    throw system(`veth ${o.hostIf} into ${o.ns}: ${made}`);
  }
  const tmpPeer = `${o.hostIf.slice(0, 13)}p`;
  const add = () => ipBatch([
    ['link', 'add', 'name', o.hostIf, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'type', 'veth', 'peer', 'name', tmpPeer, 'netns', o.ns],
    ['link', 'set', 'dev', o.hostIf, 'master', o.bridge],
    ['link', 'set', 'dev', o.hostIf, 'up'],
  ]);
  // The host end's name is the same for the same container on the same network: a veth of its
  // namespace before (a restart, the ingress sandbox re-made) may still be there, since a deleted
  // namespace's devices go asynchronously. It is removed and the pair made again, once.
  await add().catch(async (e) => {
    await deleteLink(o.hostIf);
    if (!/File exists/.test((e as Error).message)) throw e;
    await add().catch(async (e2) => { await deleteLink(o.hostIf); throw e2; });
  });
  try {
    await ipBatch([
      ['link', 'set', 'dev', 'lo', 'up'],
      ['link', 'set', 'dev', tmpPeer, 'name', nsIf],
      ...(o.mac ? [['link', 'set', 'dev', nsIf, 'address', o.mac]] : []),
      ['addr', 'add', o.address, 'dev', nsIf],
      ...(o.address6 ? [['addr', 'add', o.address6, 'dev', nsIf, 'nodad']] : []),
      ['link', 'set', 'dev', nsIf, 'up'],
      ...(o.gateway ? [['route', 'add', 'default', 'via', o.gateway, 'dev', nsIf]] : []),
      ...(o.gateway6 ? [['route', 'add', 'default', 'via', o.gateway6, 'dev', nsIf]] : []),
    ], o.ns);
  } catch (e) {
    await deleteLink(o.hostIf);
    throw e;
  }
}

/** Brings `lo` up in a namespace that gets no veth (attachVeth does it with the first one). */
export async function loopbackUp(ns: string): Promise<void> {
  await ip(['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
}

/** Removes one interface from a namespace (network disconnect); its veth peer goes with it. */
export async function detachVeth(ns: string, nsIf: string): Promise<void> {
  await ip(['-n', ns, 'link', 'del', 'dev', nsIf], { allowFail: true });
}

/** Points a namespace's default route of the gateway's family through `gateway` on `dev` (replacing any other one). */
export async function setDefaultRoute(ns: string, gateway: string, dev: string): Promise<void> {
  checkIfName(dev);
  if (!/^[0-9a-fA-F:.]+$/.test(gateway)) throw invalid(`invalid gateway ${JSON.stringify(gateway)}`);
  await ip(['-n', ns, 'route', 'replace', 'default', 'via', gateway, 'dev', dev]);
}

/** The host's IPv6 unicast routes as CIDRs (for choosing an IPv6 subnet nobody routes yet). */
export async function hostRoutes6(): Promise<string[]> {
  const r = await ip(['-j', '-6', 'route', 'show', 'table', 'all'], { allowFail: true });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  const routes = JSON.parse(r.stdout) as { dst?: string; type?: string }[];
  return routes.filter((x) => (x.type ?? 'unicast') === 'unicast').map((x) => x.dst ?? '')
    .filter((d) => d && d !== 'default' && d.includes(':') && !/^(fe80|ff)/i.test(d)).map((d) => (d.includes('/') ? d : `${d}/128`));
}

/** The host's IPv4 routes as CIDRs (for choosing a bridge subnet nobody routes yet). */
export async function hostRoutes(): Promise<string[]> {
  const r = await ip(['-j', '-4', 'route', 'show', 'table', 'all'], { allowFail: true });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  const routes = JSON.parse(r.stdout) as { dst?: string; type?: string }[];
  return routes.map((x) => x.dst ?? '').filter((d) => d && d !== 'default' && !d.startsWith('127.') && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d))
    .map((d) => (d.includes('/') ? d : `${d}/32`));
}
