// The pure half of the overlay data plane (overlay.ts runs it): names, MAC addresses, input
// checks, and the iproute2 command lines for each operation, as argument arrays. Kept apart so
// the exact kernel setup is unit-tested without root, and so a reader sees the whole recipe in
// one place. It follows moby libnetwork's drivers/overlay: one namespace per network holding a
// bridge `br0` and a vxlan device `vx-<vni>-<id5>`; no flooding or learning, only static FDB and
// neighbour entries per remote endpoint (peerAdd), with proxy ARP answered by the vxlan device.
import { createHash } from 'node:crypto';
import { invalid } from '../../common/errors.ts';
import { macFromIPv4, parseCidrParts, parseIPv4, parseMacAddress } from '../ipam.ts';

/** VXLAN adds 50 bytes (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14) to a 1500 underlay. */
export const OVERLAY_MTU = 1450;
/** The IANA VXLAN port, Docker's default `--data-path-port`. */
export const VXLAN_PORT = 4789;
export const BRIDGE = 'br0';
const VNI_MAX = 0xffffff;

/** Docker's text for a refused encrypted overlay: berth never accepts it and then sends plain text. */
export const ENCRYPTED_REFUSED = 'encrypted overlay networks are not supported by berth: refusing rather than sending plain text';

/**
 * Throws when an overlay network's driver options ask for encryption (`--opt encrypted`, any
 * value, as Docker treats the key's presence). Call it before storing the network.
 */
export function refuseEncrypted(driverOpts: Record<string, string> | undefined): void {
  if (driverOpts && Object.prototype.hasOwnProperty.call(driverOpts, 'encrypted')) throw invalid(ENCRYPTED_REFUSED);
}

export interface OverlaySpec {
  /** The network's ID (64 hex, or any [0-9a-zA-Z] of at least 5 characters). */
  id: string;
  /** VXLAN network identifier, 1..16777215, the same on every node (from the cluster). */
  vni: number;
  /** The overlay's IPv4 subnet, e.g. 10.0.1.0/24: the prefix length of container addresses. */
  subnet: string;
  /** This node's underlay address (its advertise/data-path address): the VTEP. */
  localVtep: string;
  /** Per-daemon suffix ('' for none) so two daemons on one host never share a name. */
  instance: string;
}

export interface OverlayNames {
  /** The network's own namespace, under /run/netns. */
  netns: string;
  /** The vxlan device inside it (libnetwork's `vx-%06x-<id[:5]>`). */
  vxlan: string;
  /** The vxlan's name while it still sits in the underlay namespace, before it moves: unique per
   *  (instance, network) so two daemons, or two networks, never collide there. */
  vxlanTmp: string;
}

const ID_RE = /^[0-9a-zA-Z]{5,64}$/;

/** Checks a spec (Docker-like errors; nothing is created for bad input) and returns its prefix length. */
export function checkSpec(s: OverlaySpec): { bits: number } {
  if (!ID_RE.test(s.id)) throw invalid(`invalid overlay network id ${JSON.stringify(s.id)}`);
  if (!Number.isInteger(s.vni) || s.vni < 1 || s.vni > VNI_MAX) throw invalid(`invalid VXLAN id ${s.vni}: must be between 1 and ${VNI_MAX}`);
  const p = parseCidrParts(s.subnet);
  if (!p || p.bits < 1 || p.bits > 30) throw invalid(`invalid overlay subnet ${JSON.stringify(s.subnet)}: expected an IPv4 CIDR with a prefix of 1 to 30 bits`);
  if (parseIPv4(s.localVtep) === undefined) throw invalid(`invalid VTEP address ${JSON.stringify(s.localVtep)}: expected an IPv4 address`);
  if (!/^[0-9a-zA-Z]{0,16}$/.test(s.instance)) throw invalid(`invalid daemon instance ${JSON.stringify(s.instance)}`);
  return { bits: p.bits };
}

export function overlayNames(s: Pick<OverlaySpec, 'id' | 'vni' | 'instance'>): OverlayNames {
  const inst = s.instance ? `-${s.instance}` : '';
  const h = createHash('sha256').update(`${s.instance}/${s.id}`).digest('hex');
  // `berthov…`, not `berth-…`: the bridge service reconciles every `berth<inst>-` namespace
  // against its running containers and would delete this one.
  return { netns: `berthov${inst}-${s.id.slice(0, 12)}`, vxlan: `vx-${s.vni.toString(16).padStart(6, '0')}-${s.id.slice(0, 5)}`, vxlanTmp: `vt${h.slice(0, 12)}` };
}

/** The bridge port of an endpoint inside the overlay namespace: derived from its address, so
 *  detach needs nothing but the address (`veth0a000102` for 10.0.1.2). */
export function endpointPort(ip: string): string {
  return `veth${hex8(ip)}`;
}

function hex8(ip: string): string {
  const n = parseIPv4(ip);
  if (n === undefined) throw invalid(`invalid IP address: ${ip}`);
  return n.toString(16).padStart(8, '0');
}

/** Whether an address lies in the subnet (and is neither its network nor broadcast address). */
export function inSubnet(ip: string, subnet: string): boolean {
  const n = parseIPv4(ip);
  const p = parseCidrParts(subnet);
  if (n === undefined || !p) return false;
  const size = 2 ** (32 - p.bits);
  return n > p.base && n < p.base + size - 1;
}

/** An endpoint's MAC: given, or Docker's 02:42:<IPv4 bytes>. */
export function endpointMac(ip: string, mac?: string): string {
  return mac ? parseMacAddress(mac) : macFromIPv4(ip);
}

/** Command lines, each an `ip` (or `bridge`) argument array without the program name, for one namespace. */
export type Lines = string[][];

/** In the underlay namespace: the vxlan device is created there, so its UDP socket lives there
 *  (bound to the VTEP), then it moves into the overlay namespace, as libnetwork does. */
export function createUnderlayLines(s: OverlaySpec): Lines {
  const n = overlayNames(s);
  return [
    ['link', 'add', 'name', n.vxlanTmp, 'mtu', String(OVERLAY_MTU), 'type', 'vxlan', 'id', String(s.vni), 'local', s.localVtep,
      'dstport', String(VXLAN_PORT), 'nolearning', 'proxy'],
    ['link', 'set', 'dev', n.vxlanTmp, 'netns', n.netns],
  ];
}

/** In the overlay namespace once the vxlan is there: a bridge with no address (the overlay is
 *  pure layer 2 here; containers route elsewhere through their own default route), the vxlan on it. */
export function createOverlayLines(s: OverlaySpec): Lines {
  const n = overlayNames(s);
  return [
    ['link', 'set', 'dev', 'lo', 'up'],
    ['link', 'add', 'name', BRIDGE, 'mtu', String(OVERLAY_MTU), 'type', 'bridge'],
    ['link', 'set', 'dev', n.vxlanTmp, 'name', n.vxlan],
    ['link', 'set', 'dev', n.vxlan, 'master', BRIDGE],
    ['link', 'set', 'dev', n.vxlan, 'up'],
    ['link', 'set', 'dev', BRIDGE, 'up'],
  ];
}

export interface AttachSpec {
  /** The container's overlay address (no prefix; the subnet's prefix is used). */
  ip: string;
  mac?: string;
  /** The interface's name in the container (eth0, eth1, ...). */
  ifname: string;
}

/** A container's interface on the overlay: `overlay` runs in the overlay namespace (the veth is
 *  made there, its peer goes straight into the container's namespace under a temporary name),
 *  `container` in the container's namespace. */
export function attachLines(s: OverlaySpec, a: AttachSpec, containerNetnsPath: string): { overlay: Lines; container: Lines; port: string; tmp: string } {
  const { bits } = checkSpec(s);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(a.ifname)) throw invalid(`invalid interface name ${JSON.stringify(a.ifname)}`);
  if (!inSubnet(a.ip, s.subnet)) throw invalid(`address ${a.ip} is not in the overlay subnet ${s.subnet}`);
  if (!containerNetnsPath.startsWith('/') || /\s/.test(containerNetnsPath)) throw invalid(`invalid network namespace path ${JSON.stringify(containerNetnsPath)}`);
  const mac = endpointMac(a.ip, a.mac);
  const port = endpointPort(a.ip);
  const tmp = `ovt${hex8(a.ip)}`;
  return {
    port,
    tmp,
    overlay: [
      ['link', 'add', 'name', port, 'mtu', String(OVERLAY_MTU), 'type', 'veth', 'peer', 'name', tmp, 'netns', containerNetnsPath],
      ['link', 'set', 'dev', port, 'master', BRIDGE],
      ['link', 'set', 'dev', port, 'up'],
    ],
    container: [
      ['link', 'set', 'dev', 'lo', 'up'],
      ['link', 'set', 'dev', tmp, 'name', a.ifname],
      ['link', 'set', 'dev', a.ifname, 'address', mac],
      // `mtu` on `link add` sets only the end it names: the container's end gets its own.
      ['link', 'set', 'dev', a.ifname, 'mtu', String(OVERLAY_MTU)],
      ['addr', 'add', `${a.ip}/${bits}`, 'dev', a.ifname],
      ['link', 'set', 'dev', a.ifname, 'up'],
    ],
  };
}

export interface Peer {
  /** The remote endpoint's overlay address. */
  ip: string;
  /** Its MAC; Docker's 02:42:<ip> when absent. */
  mac?: string;
  /** The underlay address of the node it runs on. */
  vtep: string;
}

function checkPeer(p: Peer): string {
  if (parseIPv4(p.ip) === undefined) throw invalid(`invalid peer address ${JSON.stringify(p.ip)}`);
  if (parseIPv4(p.vtep) === undefined) throw invalid(`invalid peer VTEP ${JSON.stringify(p.vtep)}`);
  return endpointMac(p.ip, p.mac);
}

/**
 * A remote endpoint, as libnetwork's peerAdd: a permanent neighbour entry (the vxlan's proxy ARP
 * answers from it) and a static FDB entry sending its MAC to its node's VTEP. `replace`, not
 * `append`: a peer that moved to another node must not keep its old destination too (netlink's
 * NeighSet, which libnetwork uses, is create-or-replace as well).
 */
export function peerAddLines(s: Pick<OverlaySpec, 'id' | 'vni' | 'instance'>, p: Peer): { ip: Lines; bridge: Lines } {
  const mac = checkPeer(p);
  const vx = overlayNames(s).vxlan;
  return {
    ip: [['neigh', 'replace', p.ip, 'lladdr', mac, 'dev', vx, 'nud', 'permanent']],
    bridge: [['fdb', 'replace', mac, 'dev', vx, 'dst', p.vtep, 'self', 'permanent']],
  };
}

/** Undoes peerAddLines (each line may fail harmlessly when the entry is already gone). */
export function peerRemoveLines(s: Pick<OverlaySpec, 'id' | 'vni' | 'instance'>, p: Peer): { ip: Lines; bridge: Lines } {
  const mac = checkPeer(p);
  const vx = overlayNames(s).vxlan;
  return {
    ip: [['neigh', 'del', p.ip, 'dev', vx]],
    bridge: [['fdb', 'del', mac, 'dev', vx, 'dst', p.vtep, 'self']],
  };
}
