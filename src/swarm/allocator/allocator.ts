// The cluster's network allocator (swarmkit's allocator, cnmallocator): VNIs and subnets of
// cluster networks, addresses on them (service VIPs, task attachments, node load-balancer
// addresses, standalone containers' attachments) and ingress published ports.
//
// There is no allocation record of its own: an Allocator is rebuilt from the stored objects on
// every leader pass (Allocator.from), so a new leader, or a leader after a failed transaction,
// starts from exactly what the store says is in use. What a pass allocates is written back on the
// objects themselves (Service.Endpoint, Task.NetworksAttachments, Node.Attachments, the
// attachment records) in the pass's fenced transaction.
//
// Worked example: appnet 10.0.1.0/24 (gateway 10.0.1.1), service web with --network appnet and
// -p 8080:80, two replicas, on a fresh cluster (ingress 10.0.0.0/24, two nodes):
//   node LB addresses:  n1 10.0.0.2/24, n2 10.0.0.3/24             (Node.Attachments)
//   web's Endpoint:     Ports [{tcp 80 → 8080 ingress}], VirtualIPs [ingress 10.0.0.4/24, appnet 10.0.1.2/24]
//   task 1:             NetworksAttachments [ingress 10.0.0.5/24, appnet 10.0.1.3/24]
//   task 2:             NetworksAttachments [ingress 10.0.0.6/24, appnet 10.0.1.4/24]
// Addresses are the lowest free in the subnet (or its IPRange); a freed address is given out again.
import type { ClusterNetwork, NetworkAttachment, Node, Service, ServiceEndpoint, ServiceSpec, Task } from '../../api/types/swarm.ts';
import { VXLANID_OPTION } from '../../api/types/swarm.ts';
import { compareStates } from '../orchestrator/task-state.ts';
import { contains, hostAt, ipString, parseCidr, parseIp, size, type Cidr } from './ipv4.ts';

/** The ingress network's VNI; user networks get 4097 and up (Docker's numbers). */
export const INGRESS_VNI = 4096;
export const FIRST_VNI = 4097;
export const MAX_VNI = 16_777_215;
/** swarmkit's dynamic range for ingress published ports. */
export const DYNAMIC_PORT_START = 30000;
export const DYNAMIC_PORT_END = 32767;
export const INGRESS_NAME = 'ingress';

/** A standalone container's address on an attachable network (/berth/swarm/attachments/<ID>). */
export interface StandaloneAttachment {
  ID: string;
  Version?: { Index: number };
  NodeID: string;
  ContainerID: string;
  /** The container's name, for the embedded DNS of the network's other members. */
  ContainerName?: string;
  NetworkID: string;
  CreatedAt: string;
  /** Set by the leader's allocator: one address, '10.0.1.9/24'. */
  Addresses?: string[];
}

export interface AllocationInput {
  networks: readonly ClusterNetwork[];
  services: readonly Service[];
  tasks: readonly Task[];
  nodes: readonly Node[];
  attachments: readonly StandaloneAttachment[];
}

interface PortConfig { Name?: string; Protocol?: 'tcp' | 'udp' | 'sctp'; TargetPort?: number; PublishedPort?: number; PublishMode?: 'ingress' | 'host' }
interface AttachmentConfig { Target?: string; Aliases?: string[]; DriverOpts?: Record<string, string> }

export const isIngress = (n: ClusterNetwork): boolean => n.Spec.Ingress === true;
export const vniOf = (n: ClusterNetwork): number => Number(n.DriverState?.Options?.[VXLANID_OPTION] ?? 0);

/** The networks a service is attached to: TaskTemplate.Networks, else the deprecated Spec.Networks (swarmkit's order). */
export function serviceNetworks(spec: ServiceSpec): AttachmentConfig[] {
  const t = (spec.TaskTemplate?.Networks ?? []) as AttachmentConfig[];
  return t.length ? t : ((spec.Networks ?? []) as AttachmentConfig[]);
}

/** The spec's ports as swarmkit fills them: protocol tcp and publish mode ingress by default. */
export function specPorts(spec: ServiceSpec): PortConfig[] {
  const es = (spec.EndpointSpec ?? {}) as { Ports?: PortConfig[] };
  return (es.Ports ?? []).map((p) => ({ ...p, Protocol: p.Protocol || 'tcp', PublishMode: p.PublishMode || 'ingress' }));
}

/** swarmkit's IsIngressNetworkNeeded: the service publishes a port in ingress mode. */
export const needsIngress = (spec: ServiceSpec): boolean => specPorts(spec).some((p) => p.PublishMode === 'ingress');

/** swarmkit's taskDead: wanted stopped and stopped; its addresses go back to the pool. */
export const taskDead = (t: Task): boolean => compareStates(t.DesiredState, 'running') > 0 && compareStates(t.Status.State, 'running') > 0;

/**
 * The ingress network swarm init creates (swarmkit's newIngressNetwork), allocated: VNI 4096 and
 * the first subnet of the cluster's default pools (10.0.0.0/24 with Docker's defaults).
 */
export function ingressNetwork(id: string, now: string, pool: { DefaultAddrPool?: string[]; SubnetSize?: number } = {}): ClusterNetwork {
  const spec: ClusterNetwork['Spec'] = {
    Name: INGRESS_NAME, Labels: {}, DriverConfiguration: { Name: 'overlay' }, Ingress: true,
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [] },
  };
  const { IPAMOptions } = allocateNetwork(spec, [], pool);
  return {
    ID: id, Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now, Spec: spec,
    DriverState: { Name: 'overlay', Options: { [VXLANID_OPTION]: String(INGRESS_VNI) } }, IPAMOptions,
  };
}

/** An allocation the pool cannot give (subnets, VNIs, addresses, ports all exhausted or taken). */
export class AllocationError extends Error {}

/**
 * A new network's VNI and subnet: the user's subnet (and gateway, else the first address) when
 * given, else the next free SubnetSize block of the cluster's default pools; never overlapping
 * another cluster network's. Throws AllocationError.
 */
export function allocateNetwork(spec: ClusterNetwork['Spec'], existing: readonly ClusterNetwork[],
  pool: { DefaultAddrPool?: string[]; SubnetSize?: number }): Pick<ClusterNetwork, 'DriverState' | 'IPAMOptions'> {
  const vnis = new Set(existing.map(vniOf));
  let vni = FIRST_VNI;
  while (vnis.has(vni)) vni++;
  if (vni > MAX_VNI) throw new AllocationError('no VXLAN ID left');
  const taken = existing.flatMap((n) => n.IPAMOptions.Configs.map((c) => parseCidr(c.Subnet))).filter((c): c is Cidr => !!c);
  const free = (c: Cidr) => !taken.some((t) => c.base < t.base + size(t) && t.base < c.base + size(c));
  const want = spec.IPAMOptions?.Configs?.[0];
  let subnet: Cidr | undefined;
  if (want?.Subnet) {
    subnet = parseCidr(want.Subnet);
    if (!subnet) throw new AllocationError(`invalid subnet ${want.Subnet}`);
    if (!free(subnet)) throw new AllocationError('invalid pool request: Pool overlaps with other one on this address space');
  } else {
    const bits = pool.SubnetSize || 24;
    for (const p of pool.DefaultAddrPool?.length ? pool.DefaultAddrPool : ['10.0.0.0/8']) {
      const c = parseCidr(p);
      if (!c || bits < c.bits) continue;
      for (let base = c.base; base < c.base + size(c); base += 2 ** (32 - bits)) {
        const cand = { base, bits };
        if (free(cand)) { subnet = cand; break; }
      }
      if (subnet) break;
    }
    if (!subnet) throw new AllocationError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }
  const gateway = want?.Gateway || hostAt(subnet, 1);
  return {
    DriverState: { Name: 'overlay', Options: { ...(spec.DriverConfiguration?.Options ?? {}), [VXLANID_OPTION]: String(vni) } },
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: `${ipString(subnet.base)}/${subnet.bits}`, Gateway: gateway }] },
  };
}

interface NetState { net: ClusterNetwork; subnet: Cidr; range: Cidr; gateway: number; used: Set<number> }

export class Allocator {
  readonly #nets = new Map<string, NetState>();
  /** 'tcp/8080' → the service ID publishing it in ingress mode. */
  readonly #ports = new Map<string, string>();
  #ingress: ClusterNetwork | undefined;

  private constructor(networks: readonly ClusterNetwork[]) {
    for (const n of networks) {
      const cfg = n.IPAMOptions?.Configs?.[0];
      const subnet = cfg ? parseCidr(cfg.Subnet) : undefined;
      if (!subnet) continue;
      const range = (n.Spec.IPAMOptions?.Configs?.[0]?.Range && parseCidr(n.Spec.IPAMOptions.Configs[0].Range)) || subnet;
      this.#nets.set(n.ID, { net: n, subnet, range, gateway: parseIp(cfg!.Gateway) ?? -1, used: new Set() });
      if (isIngress(n)) this.#ingress = n;
    }
  }

  /** The allocator's state as the stored objects say: every live object's addresses and ports claimed. */
  static from(input: AllocationInput): Allocator {
    const a = new Allocator(input.networks);
    const claimAll = (list: readonly NetworkAttachment[] | undefined) => {
      for (const at of list ?? []) for (const addr of at.Addresses ?? []) a.claim(at.Network?.ID, addr);
    };
    for (const n of input.nodes) claimAll(n.Attachments as NetworkAttachment[] | undefined);
    // Oldest services first, so a port two services claim (a race of two creates) stays with the first.
    for (const s of [...input.services].sort((x, y) => x.CreatedAt.localeCompare(y.CreatedAt) || x.ID.localeCompare(y.ID))) {
      const ep = s.Endpoint as ServiceEndpoint | undefined;
      for (const v of ep?.VirtualIPs ?? []) a.claim(v.NetworkID, v.Addr);
      for (const p of ep?.Ports ?? []) {
        if (p.PublishMode === 'ingress' && p.PublishedPort) {
          const k = `${p.Protocol ?? 'tcp'}/${p.PublishedPort}`;
          if (!a.#ports.has(k)) a.#ports.set(k, s.ID);
        }
      }
    }
    for (const t of input.tasks) if (!taskDead(t)) claimAll(t.NetworksAttachments as NetworkAttachment[] | undefined);
    for (const at of input.attachments) for (const addr of at.Addresses ?? []) a.claim(at.NetworkID, addr);
    return a;
  }

  get ingress(): ClusterNetwork | undefined { return this.#ingress; }
  network(id: string): ClusterNetwork | undefined { return this.#nets.get(id)?.net; }

  /** Marks an address used; false when it is not on the network or already used. */
  claim(networkId: string | undefined, addr: string): boolean {
    const st = networkId ? this.#nets.get(networkId) : undefined;
    const ip = parseIp(addr.split('/')[0] ?? '');
    if (!st || ip === undefined || !contains(st.subnet, ip) || st.used.has(ip) || ip === st.gateway) return false;
    st.used.add(ip);
    return true;
  }

  release(networkId: string, addr: string): void {
    const ip = parseIp(addr.split('/')[0] ?? '');
    if (ip !== undefined) this.#nets.get(networkId)?.used.delete(ip);
  }

  /** The lowest free address on a network ('10.0.1.5/24'): not the network's, broadcast or gateway address. */
  address(networkId: string): string {
    const st = this.#nets.get(networkId);
    if (!st) throw new AllocationError(`network ${networkId} not found`);
    const first = Math.max(st.range.base, st.subnet.base + 1);
    const end = Math.min(st.range.base + size(st.range), st.subnet.base + size(st.subnet) - 1);
    for (let ip = first; ip < end; ip++) {
      if (ip === st.gateway || st.used.has(ip)) continue;
      st.used.add(ip);
      return `${ipString(ip)}/${st.subnet.bits}`;
    }
    throw new AllocationError(`no available IPv4 addresses on network ${st.net.Spec.Name}`);
  }

  /** The service ID holding an ingress port ('tcp', 8080), if any. */
  portOwner(protocol: string, port: number): string | undefined { return this.#ports.get(`${protocol}/${port}`); }

  /**
   * A service's Endpoint for its current spec: ports with PublishMode and PublishedPort filled
   * (dynamic ingress ports from 30000-32767, an earlier allocation kept), and in VIP mode one VIP
   * per attached network, ingress first when the service publishes ingress ports. VIPs and ports
   * the spec no longer wants are released. Throws AllocationError (a port another service holds).
   */
  endpoint(svc: Service): ServiceEndpoint {
    const spec = svc.Spec;
    const cur = (svc.Endpoint ?? {}) as ServiceEndpoint;
    const es = (spec.EndpointSpec ?? {}) as { Mode?: 'vip' | 'dnsrr'; Ports?: unknown[] };
    const mode = es.Mode || 'vip';
    // Ports: explicit ones first (they must be free or ours), then dynamic ones.
    const mine = new Set<string>();
    for (const [k, owner] of this.#ports) if (owner === svc.ID) mine.add(k);
    const keep = new Set<string>();
    const ports: NonNullable<ServiceEndpoint['Ports']> = specPorts(spec).map((p) => ({ ...p }));
    for (const p of ports) {
      if (p.PublishMode !== 'ingress' || !p.PublishedPort) continue;
      const k = `${p.Protocol}/${p.PublishedPort}`;
      const owner = this.#ports.get(k);
      if (owner && owner !== svc.ID) throw new AllocationError(`port '${p.PublishedPort}' is already in use by service ${owner} as an ingress port`);
      keep.add(k);
    }
    for (const p of ports) {
      if (p.PublishMode !== 'ingress' || p.PublishedPort) continue;
      // The port this target had before, if it is still ours and not asked for explicitly now.
      const prev = (cur.Ports ?? []).find((q) => q.PublishMode === 'ingress' && q.Protocol === p.Protocol && q.TargetPort === p.TargetPort
        && q.PublishedPort && mine.has(`${q.Protocol}/${q.PublishedPort}`) && !keep.has(`${q.Protocol}/${q.PublishedPort}`));
      if (prev) {
        p.PublishedPort = prev.PublishedPort;
      } else {
        let port = DYNAMIC_PORT_START;
        while (port <= DYNAMIC_PORT_END && (this.#ports.has(`${p.Protocol}/${port}`) || keep.has(`${p.Protocol}/${port}`))) port++;
        if (port > DYNAMIC_PORT_END) throw new AllocationError('no dynamic ingress port left (30000-32767)');
        p.PublishedPort = port;
      }
      keep.add(`${p.Protocol}/${p.PublishedPort}`);
    }
    for (const k of mine) if (!keep.has(k)) this.#ports.delete(k);
    for (const k of keep) this.#ports.set(k, svc.ID);

    // VIPs.
    const want: string[] = [];
    if (mode === 'vip') {
      if (ports.some((p) => p.PublishMode === 'ingress') && this.#ingress) want.push(this.#ingress.ID);
      for (const n of serviceNetworks(spec)) if (n.Target && this.#nets.has(n.Target) && !want.includes(n.Target)) want.push(n.Target);
    }
    const vips: NonNullable<ServiceEndpoint['VirtualIPs']> = [];
    for (const v of cur.VirtualIPs ?? []) if (!want.includes(v.NetworkID)) this.release(v.NetworkID, v.Addr);
    for (const id of want) {
      const had = (cur.VirtualIPs ?? []).find((v) => v.NetworkID === id);
      vips.push({ NetworkID: id, Addr: had?.Addr ?? this.address(id) });
    }
    const out: ServiceEndpoint = { Spec: { Mode: mode, ...(es.Ports?.length ? { Ports: es.Ports } : {}) } };
    if (ports.length) out.Ports = ports;
    if (vips.length) out.VirtualIPs = vips;
    return out;
  }

  /** A new task's NetworksAttachments: ingress (when it publishes ingress ports), then its networks, each with one new address. */
  taskAttachments(spec: ServiceSpec): NetworkAttachment[] {
    const out: NetworkAttachment[] = [];
    if (needsIngress(spec) && this.#ingress) out.push({ Network: this.#ingress, Addresses: [this.address(this.#ingress.ID)] });
    for (const n of serviceNetworks(spec)) {
      const net = n.Target ? this.#nets.get(n.Target)?.net : undefined;
      if (!net || out.some((o) => o.Network.ID === net.ID)) continue;
      out.push({ Network: net, Addresses: [this.address(net.ID)], ...(n.Aliases?.length ? { Aliases: [...n.Aliases] } : {}) });
    }
    return out;
  }
}

/**
 * swarmkit's checkPortConflicts (controlapi) on create and update: a port this spec publishes in
 * ingress mode that another service publishes (in its spec or its allocated endpoint) in any
 * mode, or a host-mode port another service publishes in ingress mode. Returns the error text.
 */
export function portConflict(spec: ServiceSpec, serviceId: string, services: readonly Service[]): string | undefined {
  const mine = specPorts(spec).filter((p) => p.PublishedPort);
  const ingress = new Set(mine.filter((p) => p.PublishMode === 'ingress').map((p) => `${p.Protocol}/${p.PublishedPort}`));
  const host = new Set(mine.filter((p) => p.PublishMode === 'host').map((p) => `${p.Protocol}/${p.PublishedPort}`));
  if (!ingress.size && !host.size) return undefined;
  for (const s of services) {
    if (s.ID === serviceId) continue;
    const theirs = [...specPorts(s.Spec), ...(((s.Endpoint as ServiceEndpoint | undefined)?.Ports ?? []) as PortConfig[])];
    for (const p of theirs) {
      if (!p.PublishedPort) continue;
      const k = `${p.Protocol || 'tcp'}/${p.PublishedPort}`;
      const by = `'${s.Spec.Name ?? ''}' (${s.ID})`;
      if ((p.PublishMode || 'ingress') === 'host') {
        if (ingress.has(k)) return `port '${p.PublishedPort}' is already in use by service ${by} as a host-published port`;
      } else if (ingress.has(k) || host.has(k)) {
        return `port '${p.PublishedPort}' is already in use by service ${by} as an ingress port`;
      }
    }
  }
  return undefined;
}

/** dockerd's validateDefaultAddrPool for swarm init's --default-addr-pool and its mask length; the error text, or undefined. */
export function defaultAddrPoolError(pools: readonly string[] | undefined, subnetSize: number | undefined): string | undefined {
  if (!pools?.length) return undefined;
  const size = subnetSize || 24;
  if (size > 29) return `subnet size is out of range: ${size}`;
  for (const p of pools) {
    const c = parseCidr(p.trim());
    if (!c) return `invalid base pool ${p.trim()}: invalid CIDR address: ${p.trim()}`;
    if (size < c.bits) return `invalid CIDR: "${p.trim()}". Subnet size is too small for pool: ${size}`;
  }
  return undefined;
}
