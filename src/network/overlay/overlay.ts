// The overlay network data plane on one node: the kernel's VXLAN driven through iproute2, in
// moby libnetwork's drivers/overlay layout. Per overlay network a namespace of its own
// (`berthov[-<instance>]-<id12>`) holds a bridge `br0` and a vxlan device (created in the node's
// namespace so its UDP socket is bound there on the VTEP address, port 4789, then moved in).
// Containers join with a veth: one end on br0, the other as eth<N> in the container, MTU 1450.
// Nothing floods or learns: each remote endpoint is a static FDB entry (its MAC → its node's
// VTEP) and a permanent neighbour entry that the vxlan's proxy ARP answers from. The exact
// commands are in plan.ts; this file only runs them, per namespace, in `ip -batch` runs.
//
// Lifecycle, worked through (node A at 192.168.5.1, node B at 192.168.5.2, network `n1`, VNI
// 4097, subnet 10.0.1.0/24; the cluster hands out the VNI and the addresses):
//   on A: const net = await OverlayNetwork.create({ id: n1, vni: 4097, subnet: '10.0.1.0/24',
//           localVtep: '192.168.5.1', instance })           // the first task on n1 arrives
//         await net.attach('/run/netns/<task ns>', { ip: '10.0.1.2', ifname: 'eth0' })
//         await net.addPeer({ ip: '10.0.1.3', vtep: '192.168.5.2' })   // B's endpoint (etcd watch)
//   on B: the same with localVtep 192.168.5.2, attach 10.0.1.3, addPeer({ ip: '10.0.1.2', vtep: '192.168.5.1' })
//   now 10.0.1.2 and 10.0.1.3 reach each other over VXLAN.
//   B's task ends: B detach('10.0.1.3'); A removePeer({ ip: '10.0.1.3', vtep: '192.168.5.2' })
//   the last task on n1 leaves A: await net.remove()                    // namespace and links gone
// MACs default to Docker's 02:42:<ip bytes> on both sides, so a peer needs only ip and vtep.
// Encryption (`--opt encrypted`) is refused by plan.ts's refuseEncrypted, never half-done.
import { existsSync } from 'node:fs';
import { run } from '../../sys/index.ts';
import { createNetns, deleteNetns, NETNS_DIR } from '../link.ts';
import {
  attachLines, checkSpec, createOverlayLines, createUnderlayLines, endpointPort, overlayNames, peerAddLines, peerRemoveLines,
  type AttachSpec, type Lines, type OverlayNames, type OverlaySpec, type Peer,
} from './plan.ts';

export { refuseEncrypted, ENCRYPTED_REFUSED, OVERLAY_MTU, VXLAN_PORT, overlayNames, endpointMac } from './plan.ts';
export type { OverlaySpec, AttachSpec, Peer } from './plan.ts';

/** Where a batch runs: a named namespace (/run/netns/<name>), a namespace file by path, or ours. */
type Where = { ns?: string; path?: string };

/** One `ip`/`bridge` process for several lines (each spawn costs ~7 ms); stops at the first error
 *  unless `force`. A namespace given by path is entered with nsenter: `ip -n` takes only names. */
async function batch(prog: 'ip' | 'bridge', lines: Lines, where: Where, o: { force?: boolean; allowFail?: boolean } = {}) {
  if (!lines.length) return;
  const args = [...(where.ns ? ['-n', where.ns] : []), ...(o.force ? ['-force'] : []), '-batch', '-'];
  const input = lines.map((l) => l.join(' ')).join('\n') + '\n';
  if (where.path) await run('nsenter', [`--net=${where.path}`, prog, ...args], { input, allowFail: o.allowFail });
  else await run(prog, args, { input, allowFail: o.allowFail });
}

export interface CreateOptions extends OverlaySpec {
  /** The namespace (a /run/netns name) the node's underlay address lives in; absent = the
   *  daemon's own. Tests model nodes as namespaces; a daemon inside one leaves it absent. */
  underlayNetns?: string;
}

export class OverlayNetwork {
  readonly spec: OverlaySpec;
  readonly names: OverlayNames;
  readonly #underlay: string | undefined;

  private constructor(o: CreateOptions) {
    this.spec = { id: o.id, vni: o.vni, subnet: o.subnet, localVtep: o.localVtep, instance: o.instance };
    this.names = overlayNames(o);
    this.#underlay = o.underlayNetns;
  }

  /** The overlay namespace's file (for `ip netns exec`, nsenter, inspection). */
  get netnsPath(): string { return `${NETNS_DIR}/${this.names.netns}`; }

  /**
   * Sets the network up on this node, or adopts it when a daemon of before left it complete
   * (its namespace holds the vxlan device). A partial setup is removed and made again; on
   * failure nothing is left behind. Bad input throws InvalidParameter before anything is made.
   */
  static async create(o: CreateOptions): Promise<OverlayNetwork> {
    checkSpec(o);
    const net = new OverlayNetwork(o);
    const { netns, vxlan } = net.names;
    if (existsSync(net.netnsPath)) {
      if ((await run('ip', ['-n', netns, 'link', 'show', 'dev', vxlan], { allowFail: true })).code === 0) return net;
    }
    await net.remove();
    try {
      await createNetns(netns);
      await batch('ip', createUnderlayLines(o), { ns: o.underlayNetns });
      await batch('ip', createOverlayLines(o), { ns: netns });
    } catch (e) {
      await net.remove();
      throw e;
    }
    return net;
  }

  /** Joins a container: a veth whose peer is `ifname` in the container's namespace (a path), with
   *  the address in the subnet's prefix and the MAC given or derived from it. No default route:
   *  an overlay's containers reach the outside through another interface. */
  async attach(containerNetnsPath: string, a: AttachSpec): Promise<void> {
    const l = attachLines(this.spec, a, containerNetnsPath);
    const ns = this.names.netns;
    // Deleting our end takes the peer along, wherever it is and whatever it is called.
    const drop = () => run('ip', ['-n', ns, 'link', 'del', 'dev', l.port], { allowFail: true });
    try {
      // The port's name comes from the address: the same address's port of before (a container
      // restarted, the ingress sandbox re-made) may still be there while its old namespace's
      // devices are destroyed, asynchronously. It goes, and the port is made again, once.
      await batch('ip', l.overlay, { ns }).catch(async (e) => {
        if (!/File exists/.test((e as Error).message)) throw e;
        await drop();
        await batch('ip', l.overlay, { ns });
      });
      await batch('ip', l.container, { path: containerNetnsPath });
    } catch (e) {
      await drop();
      throw e;
    }
  }

  /** Takes a container off the network by its overlay address (idempotent). */
  async detach(ip: string): Promise<void> {
    await run('ip', ['-n', this.names.netns, 'link', 'del', 'dev', endpointPort(ip)], { allowFail: true });
  }

  /** A remote endpoint: reachable from here once this is done (and the remote side knows us). */
  async addPeer(p: Peer): Promise<void> {
    const l = peerAddLines(this.spec, p);
    await batch('bridge', l.bridge, { ns: this.names.netns });
    await batch('ip', l.ip, { ns: this.names.netns });
  }

  /** Forgets a remote endpoint (idempotent: entries already gone are not an error). */
  async removePeer(p: Peer): Promise<void> {
    const l = peerRemoveLines(this.spec, p);
    await batch('ip', l.ip, { ns: this.names.netns }, { force: true, allowFail: true });
    await batch('bridge', l.bridge, { ns: this.names.netns }, { force: true, allowFail: true });
  }

  /** Removes the network from this node: its namespace takes br0, the vxlan and every veth (and
   *  so the containers' ends) with it; a vxlan stranded in the underlay by a crash goes too. */
  async remove(): Promise<void> {
    // The vxlan goes first, by itself: a namespace's devices are destroyed asynchronously after
    // `ip netns del`, and until then its VNI stays bound on the VXLAN port (a new network given
    // the same VNI would fail to make its device).
    if (existsSync(this.netnsPath)) await run('ip', ['-n', this.names.netns, 'link', 'del', 'dev', this.names.vxlan], { allowFail: true });
    await deleteNetns(this.names.netns);
    await run('ip', [...(this.#underlay ? ['-n', this.#underlay] : []), 'link', 'del', 'dev', this.names.vxlanTmp], { allowFail: true });
  }
}
