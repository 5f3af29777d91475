// berth's bridge networks (Docker's bridge driver): the default `bridge` network and
// user-defined bridge networks, their IPAM, the containers' endpoints, published ports, the
// embedded DNS and the userland proxy. Implements the engine's ContainerNetworking extension
// point and the network management the `/networks` API needs.
//
// Data path: per network a Linux bridge (`berth0`, or `br-<id12>` for a user network) holding
// the gateway address; per running container one named network namespace with `lo` and one
// veth per network (eth0 on the first, eth1... on later ones, the default route via the first
// network that is not --internal). Published ports, isolation between networks, --internal,
// icc=false and what other hosts may not reach (unpublished container ports, ports published on
// 127.0.0.1) are berth's own nftables table, rendered whole and replaced atomically (nft.ts).
// With `userland-proxy` on (Docker's default) the daemon also listens on each published port
// and forwards to the container: it serves the host's loopback, which DNAT then leaves alone.
//
// Names: containers on a user network ask the embedded DNS server, which listens on the
// network's gateway address (port 53) and answers by the asking container's networks: names,
// network aliases and short IDs of the containers sharing a network with it; anything else is
// forwarded to the container's --dns servers or the host's resolvers. (Docker answers on
// 127.0.0.11 inside the namespace; berth's daemon cannot enter namespaces, so resolv.conf names
// the gateway address instead.) On the default bridge there is no name resolution.
//
// IPv6: a network created with EnableIPv6 has an IPv6 subnet too (the user's, or a /64 of the
// daemon's ULA /48, Docker 27's default pool); its bridge holds the IPv6 gateway and each
// container an IPv6 address and route besides the IPv4 ones. Its published ports on every
// address serve both families, ports on IPv6 host addresses go to the container's IPv6 address,
// the embedded DNS answers AAAA, and the ip6 table mirrors the ip table's rules (nft.ts). An
// IPv6 subnet given without EnableIPv6 is ignored, as Docker does; the default bridge is IPv4.
//
// Swarm mode: the cluster networks (driver overlay) this node has a part in are records here too,
// kept from the views its manager sends; their data plane is an OverlayNetwork (VXLAN) made while
// a container here is on one. See "cluster networks" below for docker_gwbridge, the names the
// DNS answers across nodes, the per-container VIP tables and the routing mesh's ingress sandbox.
//
// State: networks and endpoints in one JSON document written atomically after every change. At
// start the bridges and rules are made again from it; endpoints of containers that no longer
// run and namespaces nobody owns are removed (a kill -9 of berthd leaves nothing stale).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, EngineError, invalid, notFound } from '../common/errors.ts';
import { parseLink } from '../common/links.ts';
import { readJson, writeJsonAtomic } from '../store/metadata/atomic.ts';
import type { ContainerNetworking, NetworkSetup, NetworkTarget } from './networking.ts';
import type { EndpointConfig, EndpointState } from '../api/types/network.ts';
import type { HostConfig } from '../api/types/container.ts';
import {
  AddressPool, canonicalAddr, checkPoolOverlap, chooseSubnet, chooseSubnet6, DEFAULT_ADDRESS_POOLS, formatIPv4, macFromIPv4, parseAddr,
  parseCidrParts, parseMacAddress, parsePrefix, prefixContains, ulaBasePrefix, validateIpamConfigs, type AddressPoolState, type IpamConfig,
} from './ipam.ts';
import { withHostLock } from './host-lock.ts';
import { run } from '../sys/index.ts';
import { attachVeth, createNetns, deleteLink, deleteNetns, detachVeth, ensureBridge, hostRoutes, hostRoutes6, listNetns, loopbackUp, NETNS_DIR, setDefaultRoute } from './link.ts';
import { networkSettingsPorts, parseProcNetPorts, PortAllocator, publishAllBindings, splitProtoPort, type PortBinding, type PortMap, type Proto } from './ports.ts';
import { applyRuleset, renderRuleset, requiredSysctls, type RulesetState } from './nft.ts';
import { EmbeddedDns, parseResolvConfNameservers } from './dns.ts';
import { UserlandProxy } from './proxy.ts';
import { OverlayNetwork, overlayNames } from './overlay/overlay.ts';
import { applyIngressTable, VipTable, type IngressRule, type VipService } from './vip/vip.ts';
import { GWBRIDGE_NETWORK, VXLANID_OPTION, type ClusterNetwork, type NetworkAttachment, type NodeNetworkView } from '../api/types/swarm.ts';
import type { NetworkCreateRequest } from '../api/types/network.ts';

export interface PublishedPort { proto: Proto; hostIp: string; hostPort: number; containerPort: number }

/** A bridge network as stored. */
export interface NetworkRecord {
  name: string;
  id: string;
  created: string;
  /** The default `bridge` network (pre-defined: cannot be removed or created). */
  predefined: boolean;
  bridge: string;
  internal: boolean;
  attachable: boolean;
  icc: boolean;
  masquerade: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** IPAM.Config as inspect shows it (the subnets and gateways in effect). */
  ipamConfig: IpamConfig[];
  pool: AddressPoolState;
  /** EnableIPv6: the network has an IPv6 subnet too (pool6). */
  enableIPv6?: boolean;
  pool6?: AddressPoolState;
  /** The subnets the user asked for (canonical): only in those may a container ask for an
   *  address (--ip, --ip6). Absent in records of before: every subnet counts. */
  staticSubnets?: string[];
  /** A cluster network of swarm mode (driver overlay): no bridge of its own here; its data plane
   *  is an OverlayNetwork, set up while a container of this node is on it. */
  driver?: 'overlay';
  vni?: number;
  ingress?: boolean;
  /** docker_gwbridge: a task container's way out and DNS address; no names resolve on it. */
  swarmGateway?: boolean;
}

export interface EndpointRecord extends EndpointState {
  container: string;
  containerName: string;
  netns: string;
  nsIf: string;
  ports?: PublishedPort[];
  /** The container's --dns servers: the embedded DNS forwards its queries there. */
  upstreams?: string[];
  /** The container's default route goes through this endpoint's gateway. */
  routed?: boolean;
  /** EndpointSettings.Links on a user network: link alias → the linked container's name. */
  links?: Record<string, string>;
  /** A standalone container's endpoint on a cluster network: its address is given back to the cluster when it goes. */
  standalone?: boolean;
}

interface State {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  /** Each running container's network namespace, by container ID: it outlives the container's
   *  endpoints (a container disconnected from every network keeps it and can connect again). */
  sandboxes?: Record<string, string>;
}

/** `POST /networks/create`'s body: a wire type, with the API's (a leaf layer). */
export type { NetworkCreateRequest } from '../api/types/network.ts';

export interface NetworkServiceOptions {
  /** Linux bridge of the default network (`-b`), or `none` for no default bridge. */
  bridge: string;
  /** `--bip`: the default bridge's gateway with prefix; chosen from Docker's pools when absent. */
  bip?: string;
  /** Makes host-global names (namespaces, nft table) unique per daemon instance. */
  instance: string;
  /** The daemon's ID: the pre-defined networks' IDs derive from it. */
  engineId: string;
  stateDir: string;
  /** Docker's `userland-proxy` (default true). */
  userlandProxy?: boolean;
  /** Docker's `icc` for the default bridge (default true). */
  icc?: boolean;
  /** Docker's `ip-masq` (default true). */
  ipMasq?: boolean;
  log?: (msg: string) => void;
}

/** Swarm mode's calls for standalone containers on attachable cluster networks (the node's dispatcher session). */
export interface ClusterAttach {
  /** The node is in a swarm now. */
  active(): boolean;
  /** The node's address for overlay traffic (its advertise address). */
  vtep(): string;
  /** The address of container `containerId` (`name`) on the attachable network `ref` (name, ID or ID prefix), with the network. */
  attach(ref: string, containerId: string, name: string): Promise<NetworkAttachment>;
  /** Gives the address back (idempotent). */
  detach(containerId: string, networkId: string): Promise<void>;
}

/** Held by any berthd on the host while it chooses a subnet and brings its bridge up (host-lock.ts). */
const SUBNET_LOCK = '/run/berth/subnet.lock';
const BRIDGE_OPT = 'com.docker.network.bridge.name';
const ICC_OPT = 'com.docker.network.bridge.enable_icc';
const IPV6_OPT = 'com.docker.network.enable_ipv6';
const MASQ_OPT = 'com.docker.network.bridge.enable_ip_masquerade';
const KNOWN_BRIDGE_OPTS = new Set([BRIDGE_OPT, ICC_OPT, MASQ_OPT, 'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.driver.mtu',
  'com.docker.network.bridge.default_bridge', 'com.docker.network.bridge.inhibit_ipv4', 'com.docker.network.container_iface_prefix',
  'com.docker.network.bridge.gateway_mode_ipv4', 'com.docker.network.enable_ipv4', 'com.docker.network.enable_ipv6']);

export class NetworkService implements ContainerNetworking {
  #o: NetworkServiceOptions;
  #path: string;
  #networks = new Map<string, NetworkRecord>(); // by id
  #pools = new Map<string, AddressPool>(); // by network id
  #pools6 = new Map<string, AddressPool>(); // by network id, IPv6 networks only
  #endpoints: EndpointRecord[] = [];
  #sandboxes = new Map<string, string>(); // container ID → network namespace name
  #queue: Promise<unknown> = Promise.resolve();
  #ports = this.#newPortAllocator();
  #dns: EmbeddedDns;
  #proxy = new UserlandProxy();
  #hostUpstreams: string[] = [];
  // Swarm mode (see "cluster networks" below): the views the node's manager sent, the overlays
  // set up here, the peers written into each, and each container's VIP table.
  #views = new Map<string, NodeNetworkView>();
  #vtep = '';
  #overlays = new Map<string, OverlayNetwork>();
  #peers = new Map<string, Map<string, string>>(); // network ID → peer IP → VTEP
  #vips = new Map<string, { table: VipTable; key: string }>(); // container ID → its table
  #ingressKey = '';
  /** Peers, VIP tables and the routing mesh's rules follow each view at once, in order, on this
   *  chain: never behind the network lock, which a container's set-up may hold for a while. */
  #fast: Promise<unknown> = Promise.resolve();
  #cluster: ClusterAttach | undefined;

  constructor(o: NetworkServiceOptions) {
    this.#o = o;
    this.#path = join(o.stateDir, 'networks.json');
    this.#dns = new EmbeddedDns({
      resolver: {
        lookup: (client, name) => this.#lookup(client, name),
        lookup6: (client, name) => [...new Set(this.#resolve(client, name)?.flatMap((e) => (e.ip6 ? [e.ip6] : [])) ?? [])],
        reverse: (client, ip) => this.#reverse(client, ip),
        mayForward: (client) => !this.#clientEndpoints(client).every((e) => this.#networks.get(e.networkId)?.internal),
      },
      upstreams: (client?: string) => {
        const own = client ? this.#clientEndpoints(client).find((e) => e.upstreams?.length)?.upstreams : undefined;
        return own ?? this.#hostUpstreams;
      },
      log: o.log,
    });
  }

  /** A port a host process listens on is never given (it would be shadowed); berth's own proxies don't count. */
  #newPortAllocator(): PortAllocator {
    return new PortAllocator({ inUse: (port, proto) => hostListens(port, proto) && !this.#proxied(port, proto) });
  }

  get #proxyOn(): boolean { return this.#o.userlandProxy !== false; }
  #proxied(port: number, proto: Proto): boolean {
    return this.#proxy.list().some((s) => s.hostPort === port && s.proto === proto);
  }

  get #inst(): string { return this.#o.instance ? `-${this.#o.instance}` : ''; }
  /** berth's nft table: `berth[-<instance>]`. */
  get table(): string { return `berth${this.#inst}`; }
  #nsName(id: string): string { return `berth${this.#inst}-${id.slice(0, 12)}`; }
  /** Host end of a container's veth on a network: unique per (container, network), ≤ 15 bytes. */
  #hostIf(container: string, network: string): string {
    return `vb${createHash('sha256').update(`${container}/${network}`).digest('hex').slice(0, 11)}`;
  }


  get defaultBridge(): NetworkRecord | undefined { return [...this.#networks.values()].find((n) => n.predefined); }

  // ------------------------------------------------------------------------------------ start

  async init(): Promise<void> {
    await withHostLock(SUBNET_LOCK, () => this.#init());
  }

  async #init(): Promise<void> {
    try { this.#hostUpstreams = parseResolvConfNameservers(readFileSync('/etc/resolv.conf', 'utf8')); } catch { /* none */ }
    const saved = await readJson<State>(this.#path);
    for (const n of saved?.networks ?? []) {
      if (n.predefined) continue;
      this.#networks.set(n.id, n);
      this.#pools.set(n.id, AddressPool.restore(n.pool));
      if (n.pool6) this.#pools6.set(n.id, AddressPool.restore(n.pool6));
    }
    if (this.#o.bridge && this.#o.bridge !== 'none') {
      const old = saved?.networks.find((n) => n.predefined);
      let pool: AddressPool;
      if (old && old.bridge === this.#o.bridge && (!this.#o.bip || sameBip(this.#o.bip, old.pool))) {
        pool = AddressPool.restore(old.pool);
      } else {
        let subnet: string;
        let gateway: string;
        if (this.#o.bip) {
          const p = parseCidrParts(this.#o.bip);
          if (!p) throw invalid(`invalid --bip ${JSON.stringify(this.#o.bip)}: expected an address with a prefix, such as 172.17.0.1/16`);
          subnet = `${formatIPv4(p.base)}/${p.bits}`;
          gateway = formatIPv4(p.addr);
        } else {
          subnet = chooseSubnet(DEFAULT_ADDRESS_POOLS, this.#subnets(), await hostRoutes());
          gateway = formatIPv4(parseCidrParts(subnet)!.base + 1);
        }
        pool = new AddressPool({ subnet, gateway });
      }
      const icc = this.#o.icc !== false;
      const masq = this.#o.ipMasq !== false;
      const rec: NetworkRecord = {
        name: 'bridge', id: predefinedNetworkId(this.#o.engineId, 'bridge'), created: old?.created ?? new Date().toISOString(), predefined: true,
        bridge: this.#o.bridge, internal: false, attachable: false, icc, masquerade: masq, labels: {},
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          [ICC_OPT]: String(icc),
          [MASQ_OPT]: String(masq),
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          [BRIDGE_OPT]: this.#o.bridge,
          'com.docker.network.driver.mtu': '1500',
        },
        ipamOptions: null, ipamConfig: [{ Subnet: pool.subnetText, Gateway: pool.gatewayText }], pool: pool.serialize(),
      };
      this.#networks.set(rec.id, rec);
      this.#pools.set(rec.id, pool);
    }
    for (const [c, ns] of Object.entries(saved?.sandboxes ?? {})) this.#sandboxes.set(c, ns);
    for (const e of saved?.endpoints ?? []) {
      if (!this.#sandboxes.has(e.container)) this.#sandboxes.set(e.container, e.netns); // a state file of before sandboxes
      if (!this.#networks.has(e.networkId)) continue;
      this.#endpoints.push(e);
      for (const p of e.ports ?? []) { try { this.#ports.reserve(p.proto, p.hostPort, p.hostIp); } catch { /* a duplicate in a damaged state file */ } }
    }
    for (const n of this.#networks.values()) await this.#bringUp(n);
    await this.#save();
    await this.#applyRules();
  }

  /** The bridge with its gateway address, and the DNS server on it for a user network. */
  async #bringUp(n: NetworkRecord): Promise<void> {
    if (n.driver === 'overlay') return; // set up on demand (#overlayOf)
    const pool = this.#pools.get(n.id)!;
    const pool6 = this.#pools6.get(n.id);
    await ensureBridge(n.bridge, `${pool.gatewayText}/${pool.prefixLen}`, { gateway6Cidr: pool6 && `${pool6.gatewayText}/${pool6.prefixLen}` });
    if (!n.predefined) {
      try { await this.#dns.listen(pool.gatewayText); } catch (e) { this.#o.log?.(`embedded DNS on ${pool.gatewayText}:53 for network ${n.name}: ${(e as Error).message}`); }
    }
  }

  async reconcile(isRunning: (id: string) => boolean): Promise<void> {
    await this.#locked(async () => {
      for (const [c, ns] of [...this.#sandboxes]) {
        if (isRunning(c)) continue;
        await deleteNetns(ns);
        this.#sandboxes.delete(c);
      }
      this.#endpoints = this.#endpoints.filter((e) => isRunning(e.container));
      this.#restoreCounts();
      // An overlay's namespace whose containers are gone goes too; one still in use is adopted
      // when the node's views arrive (it needs the node's swarm address).
      for (const n of this.#networks.values()) {
        if (n.driver === 'overlay' && n.vni && !this.#endpoints.some((e) => e.networkId === n.id)) await deleteNetns(overlayNames({ id: n.id, vni: n.vni, instance: this.#o.instance ?? '' }).netns);
      }
      const mine = new Set(this.#sandboxes.values());
      for (const ns of await listNetns(`berth${this.#inst}-`)) {
        if (!mine.has(ns) && new RegExp(`^berth${this.#inst}-[0-9a-f]{12}$`).test(ns)) await deleteNetns(ns);
      }
      await this.#save();
      await this.#applyRules();
      // The proxies died with the previous daemon: listen again for the running containers.
      for (const e of this.#endpoints) await this.#startProxies(e).catch((err) => this.#o.log?.(`userland proxy for ${e.containerName}: ${(err as Error).message}`));
    });
  }

  /** Pools and ports recomputed from the endpoints (after endpoints were dropped wholesale). */
  #restoreCounts(): void {
    for (const [id, n] of this.#networks) {
      const p = new AddressPool({ subnet: n.pool.subnet, ipRange: n.pool.ipRange, gateway: n.pool.gateway, auxAddresses: n.pool.reserved });
      for (const e of this.#endpoints) if (e.networkId === id) { try { p.allocate(e.ip); } catch { /* a duplicate in a damaged state file */ } }
      this.#pools.set(id, p);
      if (n.pool6) {
        const p6 = new AddressPool({ subnet: n.pool6.subnet, ipRange: n.pool6.ipRange, gateway: n.pool6.gateway, auxAddresses: n.pool6.reserved });
        for (const e of this.#endpoints) if (e.networkId === id && e.ip6) { try { p6.allocate(e.ip6); } catch { /* idem */ } }
        this.#pools6.set(id, p6);
      }
    }
    this.#ports = this.#newPortAllocator();
    for (const e of this.#endpoints) for (const p of e.ports ?? []) { try { this.#ports.reserve(p.proto, p.hostPort, p.hostIp); } catch { /* idem */ } }
  }

  /** Daemon shutdown: the proxies and DNS servers stop (containers keep their namespaces). */
  async close(): Promise<void> {
    // Best effort at shutdown: the proxy logs its own close failures, and whatever stays open
    // goes with the daemon's process.
    await this.#proxy.closeAll().catch(() => {});
    await this.#dns.closeAll().catch(() => {});
  }

  // ------------------------------------------------------------------------------------ state

  async #save(): Promise<void> {
    for (const [id, n] of this.#networks) {
      n.pool = this.#pools.get(id)!.serialize();
      const p6 = this.#pools6.get(id);
      if (p6) n.pool6 = p6.serialize();
    }
    await writeJsonAtomic(this.#path, { networks: [...this.#networks.values()], endpoints: this.#endpoints, sandboxes: Object.fromEntries(this.#sandboxes) } satisfies State);
  }

  /** Serialised: IPAM, ports, the rules and the state file are shared by every operation. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    // The queue only orders the operations: each one's error reaches its own caller through p.
    this.#queue = p.catch(() => {});
    return p;
  }

  #subnets(except?: string): string[] {
    return [...this.#networks.values()].filter((n) => n.id !== except).map((n) => n.pool.subnet);
  }

  #subnets6(): string[] {
    return [...this.#networks.values()].flatMap((n) => (n.pool6 ? [n.pool6.subnet] : []));
  }

  /** berth's whole nftables table from the networks and endpoints, applied in one `nft -f`. */
  async #applyRules(): Promise<void> {
    const nets = [...this.#networks.values()];
    const state: RulesetState = {
      table: this.table,
      bridges: nets.filter((n) => n.driver !== 'overlay').map((n) => ({ name: n.bridge, subnet: n.pool.subnet, ...(n.pool6 ? { subnet6: n.pool6.subnet } : {}), internal: n.internal, icc: n.icc, masquerade: n.masquerade })),
      ports: this.#endpoints.flatMap((e) => (e.ports ?? []).flatMap((p) => forwards(e, p).map((f) => ({
        proto: p.proto, hostIp: f.hostIp, hostPort: p.hostPort, containerIp: f.targetIp, containerPort: p.containerPort, bridge: this.#networks.get(e.networkId)!.bridge,
      })))),
      localhostDnat: !this.#proxyOn,
      ipv6: existsSync('/proc/sys/net/ipv6'),
    };
    for (const sc of requiredSysctls(state)) {
      try { if (readFileSync(sc.path, 'utf8').trim() !== sc.value) writeFileSync(sc.path, sc.value); } catch { /* reported by the data path */ }
    }
    await applyRuleset(renderRuleset(state));
  }

  // -------------------------------------------------------------------------------- networks

  /** Bridge networks, the default one first. */
  list(): NetworkRecord[] {
    return [...this.#networks.values()].sort((a, b) => Number(b.predefined) - Number(a.predefined) || a.created.localeCompare(b.created));
  }

  /** A bridge network by full ID, exact name, or unique ID prefix; 404 otherwise. */
  get(ref: string): NetworkRecord { return findNetwork([...this.#networks.values()], ref); }

  tryGet(ref: string): NetworkRecord | undefined {
    try { return this.get(ref); } catch { return undefined; }
  }

  /** The running containers' endpoints on a network (inspect's Containers). */
  endpointsOf(networkId: string): readonly EndpointRecord[] {
    return this.#endpoints.filter((e) => e.networkId === networkId);
  }

  resolveName(ref: string): string {
    if (ref === 'host' || ref === 'none' || ref === 'bridge' || ref === 'default') return ref === 'default' ? 'bridge' : ref;
    return this.get(ref).name;
  }

  hostGatewayIp(): string | undefined { return this.defaultBridge?.pool.gateway; }

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.#locked(() => withHostLock(SUBNET_LOCK, () => this.#create(req)));
  }

  async #create(req: NetworkCreateRequest, extra: Partial<NetworkRecord> = {}): Promise<{ Id: string; Warning: string }> {
    {
      const name = req.Name ?? '';
      // Docker checks nothing else in a network's name (libnetwork NewNetwork): `test 01` is a name.
      if (!name.trim()) throw invalid('invalid name: name is empty');
      const driver = req.Driver || 'bridge';
      // dockerd's order: a predefined name (network.IsPredefined), a name in use, then the driver,
      // whose host and null kinds have their one network already.
      if (['bridge', 'host', 'none', 'default'].includes(name)) throw new EngineError('Forbidden', `operation is not permitted on predefined ${name} network `);
      if ([...this.#networks.values()].some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
      if (driver === 'host' || driver === 'null') throw new EngineError('Forbidden', `only one instance of "${driver}" network is allowed`);
      if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
      if (req.Scope && req.Scope !== 'local') throw invalid(`invalid scope ${req.Scope}: the bridge driver only supports scope local`);
      if (req.Ingress) throw new EngineError('Forbidden', 'ingress networks are swarm networks: berth has no swarm');
      if (req.ConfigOnly || req.ConfigFrom?.Network) throw notImplemented('config-only networks');
      if (req.EnableIPv4 === false) throw invalid('IPv4 cannot be disabled on a bridge network');
      const opts = { ...(req.Options ?? {}) };
      // EnableIPv6, or else the driver option (Docker's order); the field wins and the option goes.
      let enableIPv6 = false;
      if (req.EnableIPv6 !== undefined && req.EnableIPv6 !== null) {
        enableIPv6 = !!req.EnableIPv6;
        delete opts[IPV6_OPT];
      } else if (opts[IPV6_OPT] !== undefined) {
        const v = parseGoBool(opts[IPV6_OPT]);
        if (v === undefined) throw invalid(`driver-opt "${IPV6_OPT}" is not a valid bool`);
        enableIPv6 = v;
      }
      const ipamDriver = req.IPAM?.Driver || 'default';
      if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
      validateIpamConfigs(req.IPAM?.Config ?? [], enableIPv6);
      // IPv6 configs of a network without IPv6 are ignored, as Docker ignores them.
      const isV6Config = (c: IpamConfig) => (c.Subnet ?? '').includes(':');
      const configs = (req.IPAM?.Config ?? []).filter((c) => !isV6Config(c));
      const configs6 = enableIPv6 ? (req.IPAM?.Config ?? []).filter(isV6Config) : [];
      if (configs.length > 1) throw invalid('berth bridge networks take one IPv4 subnet');
      if (configs6.length > 1) throw invalid('berth bridge networks take one IPv6 subnet');
      for (const k of Object.keys(opts)) if (k.startsWith('com.docker.network.bridge.') && !KNOWN_BRIDGE_OPTS.has(k)) throw invalid(`unknown bridge option ${k}`);
      const boolOpt = (k: string): boolean => {
        const v = opts[k];
        if (v === undefined) return true;
        const b = parseGoBool(v);
        if (b === undefined) throw invalid(`failed to parse ${k} value: invalid syntax`);
        return b;
      };
      const id = randomBytes(32).toString('hex');
      const bridge = opts[BRIDGE_OPT] || `br-${id.slice(0, 12)}`;
      if (bridge.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(bridge)) throw invalid(`invalid bridge name ${bridge}`);
      if ([...this.#networks.values()].some((n) => n.bridge === bridge)) throw conflict(`bridge name ${bridge} is already used by another network`);
      const cfg = configs[0] ?? {};
      let subnet = cfg.Subnet;
      if (subnet) checkPoolOverlap(subnet, this.#subnets());
      else subnet = chooseSubnet(DEFAULT_ADDRESS_POOLS, this.#subnets(), await hostRoutes());
      const pool = new AddressPool({ subnet, ipRange: cfg.IPRange, gateway: cfg.Gateway, auxAddresses: Object.values(cfg.AuxiliaryAddresses ?? {}) });
      let pool6: AddressPool | undefined;
      const cfg6 = configs6[0] ?? {};
      if (enableIPv6) {
        let subnet6 = cfg6.Subnet;
        if (subnet6) checkPoolOverlap(subnet6, this.#subnets6());
        else subnet6 = chooseSubnet6(ulaBasePrefix(this.#o.engineId), this.#subnets6(), await hostRoutes6());
        pool6 = new AddressPool({ subnet: subnet6, ipRange: cfg6.IPRange, gateway: cfg6.Gateway, auxAddresses: Object.values(cfg6.AuxiliaryAddresses ?? {}) });
      }
      const ipamEntry = (p: AddressPool, c: IpamConfig): IpamConfig => ({
        Subnet: p.subnetText, ...(c.IPRange ? { IPRange: p.ipRangeText ?? c.IPRange } : {}), Gateway: p.gatewayText, ...(c.AuxiliaryAddresses ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}),
      });
      const rec: NetworkRecord = {
        name, id, created: new Date().toISOString(), predefined: false, bridge,
        internal: !!req.Internal, attachable: !!req.Attachable, icc: boolOpt(ICC_OPT), masquerade: boolOpt(MASQ_OPT),
        labels: req.Labels ?? {}, options: opts, ipamOptions: req.IPAM?.Options ?? null,
        ipamConfig: [ipamEntry(pool, cfg), ...(pool6 ? [ipamEntry(pool6, cfg6)] : [])],
        pool: pool.serialize(),
        ...(pool6 ? { enableIPv6: true, pool6: pool6.serialize() } : {}),
        staticSubnets: [cfg.Subnet ? pool.subnetText : '', pool6 && cfg6.Subnet ? pool6.subnetText : ''].filter(Boolean),
        ...extra,
      };
      this.#networks.set(id, rec);
      this.#pools.set(id, pool);
      if (pool6) this.#pools6.set(id, pool6);
      try {
        await this.#bringUp(rec);
        await this.#save();
        await this.#applyRules();
      } catch (e) {
        this.#networks.delete(id);
        this.#pools.delete(id);
        this.#pools6.delete(id);
        // Rollback: e is what the caller gets. DNS close only waits for sockets to close.
        await this.#dns.close(pool.gatewayText).catch(() => {});
        await deleteLink(bridge);
        await this.#save().catch((err) => this.#o.log?.(`network ${name}: create rolled back, but saving the network state failed (${(err as Error).message}): the state file may list the network until the next successful save`));
        await this.#applyRules().catch((err) => this.#o.log?.(`network ${name}: create rolled back, but applying the nftables rules failed (${(err as Error).message}): rules for bridge ${bridge} may stay until the next rule update`));
        throw e;
      }
      return { Id: id, Warning: '' };
    }
  }

  async remove(ref: string): Promise<void> {
    return this.#locked(async () => {
      const n = this.get(ref);
      if (n.predefined) throw new EngineError('Forbidden', `${n.name} is a pre-defined network and cannot be removed`);
      const eps = this.#endpoints.filter((e) => e.networkId === n.id);
      if (eps.length) {
        // libnetwork's ActiveEndpointsError is a Forbidden (403), not a Conflict.
        throw new EngineError('Forbidden', `error while removing network: network ${n.name} has active endpoints (${eps.map((e) => `name:${JSON.stringify(e.containerName)} id:${JSON.stringify(e.container.slice(0, 12))}`).join(', ')})`);
      }
      this.#networks.delete(n.id);
      this.#pools.delete(n.id);
      this.#pools6.delete(n.id);
      // Only waits for the DNS sockets to close; the bridge and its address go below.
      await this.#dns.close(n.pool.gateway).catch(() => {});
      await this.#save();
      await this.#applyRules();
      await deleteLink(n.bridge);
    });
  }

  /** Every bridge and the table go (tests' clean-up; `berthd` keeps them across restarts). */
  bridges(): string[] { return [...this.#networks.values()].map((n) => n.bridge); }

  // ------------------------------------------------------------------------------- endpoints

  prepare(hc: HostConfig, endpoints: Record<string, EndpointConfig>, o: { connect?: boolean } = {}): Record<string, EndpointConfig> {
    const mode = hc.NetworkMode || 'default';
    const out: Record<string, EndpointConfig> = {};
    // `host`, `none` and `container:` with other endpoints were refused at create
    // (engine/container/host-config.ts); what is checked here needs the live networks.
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return mode.startsWith('container:') ? {} : { [mode]: {} };
    const primary = mode === 'default' || mode === 'bridge' ? 'bridge' : this.get(mode).name;
    if (primary === 'bridge' && !this.defaultBridge) return { bridge: { ...(endpoints.bridge ?? endpoints.default ?? {}) } };
    for (const [ref, cfg] of Object.entries({ [primary]: endpoints[mode] ?? endpoints[primary] ?? {}, ...endpoints })) {
      const name = ref === 'default' ? 'bridge' : ref;
      // Named after the primary network as resolved (an ID prefix reads as its name), so here.
      if (name === 'host' || name === 'none') throw invalid(`Container cannot be connected to network endpoints: ${[primary, name].join(', ')}`);
      const n = name === 'bridge' ? this.defaultBridge : this.get(name);
      if (!n) throw notFound(`network ${name} not found`);
      if (out[n.name]) continue;
      // Create names the network as the client did (daemon validateNetworkingConfig); connect does not.
      this.#checkEndpointConfig(n, cfg ?? {}, o.connect ? '' : `invalid config for network ${ref}: `);
      out[n.name] = { ...(cfg ?? {}), NetworkID: n.id };
    }
    return out;
  }

  /**
   * Docker 27's validateEndpointSettings, its texts joined under `invalid endpoint settings:`:
   * addresses only on user networks and only in a subnet the user configured (an --ip6 on a
   * network without IPv6 has none), aliases only on user networks.
   */
  #checkEndpointConfig(n: NetworkRecord, cfg: EndpointConfig, prefix = ''): void {
    const errs: string[] = [];
    const v4 = cfg.IPAMConfig?.IPv4Address || '';
    const v6 = cfg.IPAMConfig?.IPv6Address || '';
    if (n.predefined) {
      if (v4 || v6) errs.push('user specified IP address is supported on user defined networks only');
      if (cfg.Aliases?.length) errs.push('network-scoped alias is supported only for containers in user defined networks');
    }
    const a4 = v4 ? parseAddr(v4) : undefined;
    const a6 = v6 ? parseAddr(v6) : undefined;
    if (v4 && (a4?.family !== 4 || a4.n === 0n)) errs.push(`invalid IPv4 address: ${v4}`);
    if (v6 && (a6?.family !== 6 || a6.n === 0n || a6.n >> 32n === 0xffffn)) errs.push(`invalid IPv6 address: ${v6}`);
    const inRange = (text: string, a: { family: 4 | 6; n: bigint } | undefined, subnets: string[]) => {
      if (!text || !a) return;
      const statics = subnets.filter((x) => !n.staticSubnets || n.staticSubnets.includes(x));
      if (!statics.length) errs.push('user specified IP address is supported only when connecting to networks with user configured subnets');
      else if (!statics.some((x) => prefixContains(parsePrefix(x), a.family, a.n))) errs.push(`no configured subnet or ip-range contain the IP address ${text}`);
    };
    if (!n.predefined) {
      inRange(v4, a4?.family === 4 ? a4 : undefined, [n.pool.subnet]);
      inRange(v6, a6?.family === 6 ? a6 : undefined, n.pool6 ? [n.pool6.subnet] : []);
    }
    if (errs.length) throw invalid(`${prefix}invalid endpoint settings:\n${errs.join('\n')}`);
    if (cfg.MacAddress) parseMacAddress(cfg.MacAddress);
    for (const l of cfg.Links ?? []) parseLink(l);
  }

  async setUp(t: NetworkTarget): Promise<NetworkSetup> {
    const mode = t.hostConfig.NetworkMode || 'default';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return {};
    return this.#locked(async () => {
      await this.#dropContainer(t.id);
      const ns = this.#nsName(t.id);
      await deleteNetns(ns); // debris of a crash between namespace and state
      if (isStandalone(t)) await this.#findClusterNetworks(t);
      const order = this.#order(t);
      // A standalone container's address on an attachable cluster network comes from the cluster
      // (a task's was allocated with the task and is in its endpoint config already).
      const standalone = isStandalone(t);
      for (const [i, [n, cfg]] of order.entries()) {
        if (n.driver !== 'overlay' || !standalone) continue;
        if (!this.#cluster) throw invalid(`network ${n.name} is a swarm network and this node has left the swarm`);
        const a = await this.#cluster.attach(n.id, t.id, t.name);
        order[i] = [n, { ...cfg, IPAMConfig: { ...(cfg.IPAMConfig ?? {}), IPv4Address: a.Addresses[0].split('/')[0] } }];
      }
      // No default bridge on this daemon: the runtime's own namespace, lo only. A container on no
      // network at all (disconnected from each) still gets one of berth's, to connect to later.
      if (!order.length && (!t.onlyListed || Object.keys(t.networks).length)) return {};
      if (t.makeNetns) await t.makeNetns(`${NETNS_DIR}/${ns}`);
      else await createNetns(ns);
      this.#sandboxes.set(t.id, ns);
      if (!order.length) await loopbackUp(ns).catch(async (err) => { await deleteNetns(ns); this.#sandboxes.delete(t.id); throw err; });
      const made: EndpointRecord[] = [];
      try {
        let routed = false;
        for (const [i, [n, cfg]] of order.entries()) {
          const primary = i === 0;
          const withRoute = !routed && !n.internal && n.driver !== 'overlay';
          if (withRoute) routed = true;
          made.push(await this.#attach(t, n, cfg, ns, `eth${i}`, { publish: primary, route: withRoute, macFromConfig: primary }));
        }
        await this.#save();
        if (made.some((e) => e.ports?.length)) await this.#applyRules();
        for (const e of made) await this.#startProxies(e);
      } catch (err) {
        await deleteNetns(ns);
        this.#sandboxes.delete(t.id);
        for (const e of made) { this.#releaseEndpoint(e); await this.#stopProxies(e); }
        for (const [n] of order) if (standalone && n.driver === 'overlay') await this.#cluster?.detach(t.id, n.id).catch(() => { /* logged by the cluster */ });
        // Rollback: err is what the caller gets; a failed save or rule update is logged, and the
        // next successful one (any network change, or the daemon's start) rewrites it from memory.
        await this.#save().catch((e) => this.#o.log?.(`container ${t.name}: network setup rolled back, but saving the network state failed (${(e as Error).message}): the state file may list its endpoints until the next successful save`));
        await this.#applyRules().catch((e) => this.#o.log?.(`container ${t.name}: network setup rolled back, but applying the nftables rules failed (${(e as Error).message}): its port forwards may stay until the next rule update`));
        throw err;
      }
      const user = made.find((e) => !this.#networks.get(e.networkId)!.predefined);
      if (made.some((e) => this.#networks.get(e.networkId)?.driver === 'overlay')) await this.#onFast(() => this.#syncVips(t.id));
      return {
        netnsPath: `${NETNS_DIR}/${ns}`,
        endpoints: made.map(view),
        nameservers: user ? [this.#pools.get(user.networkId)!.gatewayText] : undefined,
      };
    });
  }

  /**
   * The container's networks, the one of its network mode first (eth0: the default route and the
   * published ports); the default bridge only if it exists. With `onlyListed`, only the networks
   * listed: one it was disconnected from, its mode's included, stays off at the next start, as in
   * Docker; otherwise (a build step) the mode's network is implied.
   */
  #order(t: NetworkTarget): [NetworkRecord, EndpointConfig][] {
    const mode = t.hostConfig.NetworkMode || 'default';
    const primaryName = mode === 'default' || mode === 'bridge' ? 'bridge' : mode;
    const primary = primaryName === 'bridge' ? this.defaultBridge : this.tryGet(mode);
    const names = t.onlyListed ? Object.keys(t.networks) : [primaryName, ...Object.keys(t.networks).filter((k) => k !== primaryName && k !== mode)];
    const out: [NetworkRecord, EndpointConfig][] = [];
    for (const name of names) {
      const cfg = t.networks[name] ?? (name === primaryName ? t.networks[mode] : undefined) ?? {};
      const isBridge = name === 'bridge' || name === 'default';
      const n = isBridge ? this.defaultBridge : (cfg.NetworkID ? this.#networks.get(cfg.NetworkID) : undefined) ?? this.tryGet(name);
      if (!n) {
        if (isBridge) continue; // no default bridge on this daemon: lo only
        throw notFound(`network ${name} not found`);
      }
      if (!out.some(([x]) => x.id === n.id)) out.push([n, cfg]);
    }
    // On a cluster network the container's way out (and its ports, and its DNS) is docker_gwbridge,
    // first in line, as libnetwork gives such a sandbox its gateway endpoint.
    const gw = [...this.#networks.values()].find((n) => n.swarmGateway);
    if (gw && out.some(([n]) => n.driver === 'overlay' && !n.internal) && !out.some(([n]) => n.id === gw.id)) out.push([gw, {}]);
    const first = primary?.driver === 'overlay' && out.some(([n]) => n.id === gw?.id) ? gw : primary;
    return out.sort(([a], [b]) => Number(b.id === first?.id) - Number(a.id === first?.id));
  }

  /** One veth into the namespace, an address, and (first endpoint) the published ports. */
  async #attach(t: NetworkTarget, n: NetworkRecord, cfg: EndpointConfig, ns: string, nsIf: string,
    o: { publish: boolean; route: boolean; macFromConfig: boolean }): Promise<EndpointRecord> {
    const pool = this.#pools.get(n.id)!;
    const pool6 = this.#pools6.get(n.id);
    this.#checkEndpointConfig(n, cfg);
    const { ports, portMap } = o.publish && !n.internal && n.driver !== 'overlay' ? this.#publish(t, !!pool6) : { ports: [], portMap: o.publish ? networkSettingsPorts(Object.keys(t.config.ExposedPorts ?? {}), {}) : undefined };
    let ip: string;
    let ip6: string | undefined;
    try {
      ip = pool.allocate(cfg.IPAMConfig?.IPv4Address || undefined);
      try { ip6 = pool6?.allocate(cfg.IPAMConfig?.IPv6Address || undefined); } catch (e) { pool.release(ip); throw e; }
      // Without the proxy nothing binds the ports: a host process holding one would be shadowed
      // by the DNAT, so it is refused here, in the words of Docker 28's own bind.
      const held = this.#proxyOn ? undefined : ports.find((p) => p.proto !== 'sctp' && hostListens(p.hostPort, p.proto));
      if (held) {
        pool.release(ip);
        if (ip6) pool6!.release(ip6);
        throw new EngineError('System', `failed to set up container networking: failed to bind host port for ${held.hostIp || '0.0.0.0'}:${held.hostPort}:${ip}:${held.containerPort}/${held.proto}: address already in use`);
      }
    } catch (e) { for (const p of ports) this.#ports.release(p.proto, p.hostPort, p.hostIp); throw e; }
    const macCfg = cfg.MacAddress || (o.macFromConfig ? (t.config.MacAddress as string | undefined) : undefined);
    const mac = macCfg ? parseMacAddress(macCfg) : macFromIPv4(ip);
    const id12 = t.id.slice(0, 12);
    const aliases = [...new Set((cfg.Aliases ?? []).filter(Boolean))];
    const e: EndpointRecord = {
      network: n.name, networkId: n.id, endpointId: randomBytes(32).toString('hex'), ip, prefixLen: pool.prefixLen,
      gateway: n.internal ? '' : pool.gatewayText, mac, aliases,
      ...(ip6 ? { ip6, prefixLen6: pool6!.prefixLen, gateway6: n.internal ? '' : pool6!.gatewayText } : {}),
      dnsNames: n.predefined || n.swarmGateway || n.ingress ? [] : [...new Set([t.name, ...aliases, id12, ...(t.config.Hostname && t.config.Hostname !== id12 ? [t.config.Hostname] : [])])],
      portMap, container: t.id, containerName: t.name, netns: ns, nsIf, ports,
      upstreams: t.hostConfig.Dns?.length ? t.hostConfig.Dns : undefined,
      ...(o.route ? { routed: true } : {}),
      ...(!n.predefined && cfg.Links?.length ? { links: Object.fromEntries(cfg.Links.map((l) => parseLink(l).reverse())) } : {}),
    };
    this.#endpoints.push(e);
    if (n.driver === 'overlay') {
      e.gateway = '';
      delete e.routed;
      if (isStandalone(t)) e.standalone = true;
      try {
        const ov = await this.#overlayOf(n);
        await ov.attach(`${NETNS_DIR}/${ns}`, { ip, ifname: nsIf, mac });
      } catch (err) {
        this.#releaseEndpoint(e);
        throw err;
      }
      return e;
    }
    try {
      await attachVeth({
        ns, hostIf: this.#hostIf(t.id, n.id), nsIf, bridge: n.bridge, address: `${ip}/${pool.prefixLen}`, gateway: o.route ? pool.gatewayText : undefined, mac,
        ...(ip6 ? { address6: `${ip6}/${pool6!.prefixLen}`, gateway6: o.route ? pool6!.gatewayText : undefined } : {}),
      });
    } catch (err) {
      this.#releaseEndpoint(e);
      throw err;
    }
    return e;
  }

  #releaseEndpoint(e: EndpointRecord): void {
    this.#pools.get(e.networkId)?.release(e.ip);
    if (e.ip6) this.#pools6.get(e.networkId)?.release(e.ip6);
    for (const p of e.ports ?? []) this.#ports.release(p.proto, p.hostPort, p.hostIp);
    this.#endpoints = this.#endpoints.filter((x) => x !== e);
  }

  async #startProxies(e: EndpointRecord): Promise<void> {
    if (!this.#proxyOn) return;
    for (const p of e.ports ?? []) {
      if (p.proto === 'sctp') continue;
      for (const f of forwards(e, p)) {
        await this.#proxy.add({ proto: p.proto, hostIp: f.hostIp, hostPort: p.hostPort, targetIp: f.targetIp, targetPort: p.containerPort }).catch((err: Error) => {
          throw new EngineError('System', `failed to set up container networking: driver failed programming external connectivity on endpoint ${e.containerName} (${e.endpointId}): ${err.message}`);
        });
      }
    }
  }

  async #stopProxies(e: EndpointRecord): Promise<void> {
    for (const p of e.ports ?? []) {
      if (p.proto === 'sctp') continue;
      for (const f of forwards(e, p)) {
        // The proxy logs its own close failures; stopping the others goes on regardless.
        await this.#proxy.remove({ proto: p.proto, hostIp: f.hostIp, hostPort: p.hostPort, targetIp: f.targetIp, targetPort: p.containerPort }).catch(() => {});
      }
    }
  }

  /** Everything of a container goes (its namespace takes the veths along). */
  async #dropContainer(id: string): Promise<boolean> {
    const eps = this.#endpoints.filter((e) => e.container === id);
    const ns = this.#sandboxes.get(id) ?? eps[0]?.netns;
    if (!ns) return false;
    await deleteNetns(ns);
    this.#sandboxes.delete(id);
    this.#vips.delete(id); // its table went with the namespace
    for (const e of eps) { this.#releaseEndpoint(e); await this.#stopProxies(e); }
    for (const e of eps) {
      if (e.standalone) await this.#cluster?.detach(id, e.networkId).catch((err) => this.#o.log?.(`container ${e.containerName}: giving back its address on ${e.network}: ${(err as Error).message}`));
      await this.#overlayUnused(e.networkId);
    }
    return true;
  }

  /**
   * Host ports for -p/-P, resolved before anything is created: a conflict is an error before
   * the container starts (Docker's `Bind for 0.0.0.0:8080 failed: port is already allocated`).
   */
  #publish(t: NetworkTarget, dual: boolean): { ports: PublishedPort[]; portMap: PortMap } {
    let bindings = (t.hostConfig.PortBindings ?? {}) as Record<string, PortBinding[] | null>;
    const exposed = Object.keys(t.config.ExposedPorts ?? {});
    if (t.hostConfig.PublishAllPorts) bindings = publishAllBindings(exposed, bindings as Record<string, PortBinding[]>);
    const ports: PublishedPort[] = [];
    const bound: Record<string, PortBinding[]> = {};
    try {
      for (const [key, list] of Object.entries(bindings)) {
        const { port, proto } = splitProtoPort(key);
        for (const b of list ?? []) {
          const hostIp = canonicalAddr(b.HostIp ?? '');
          // At start, as Docker (libnetwork parses the address when it binds), not at create.
          if (hostIp && !parseAddr(hostIp)) throw invalid(`invalid host IP address ${JSON.stringify(b.HostIp)} for port ${key}`);
          const hostPort = this.#ports.allocateBinding(proto, { HostIp: hostIp, HostPort: b.HostPort ?? '' });
          ports.push({ proto, hostIp, hostPort, containerPort: port });
          // Every address: both families when the container has an IPv6 address (Docker lists both).
          const shown = hostIp ? [hostIp] : dual ? ['0.0.0.0', '::'] : ['0.0.0.0'];
          for (const h of shown) (bound[key] ??= []).push({ HostIp: h, HostPort: String(hostPort) });
        }
      }
    } catch (e) {
      for (const p of ports) this.#ports.release(p.proto, p.hostPort, p.hostIp);
      throw e;
    }
    return { ports, portMap: networkSettingsPorts(exposed, bound) };
  }

  async tearDown(t: NetworkTarget): Promise<void> {
    await this.#locked(async () => {
      const had = this.#endpoints.some((e) => e.container === t.id && e.ports?.length);
      if (!(await this.#dropContainer(t.id))) return;
      await this.#save();
      if (had) await this.#applyRules();
    });
  }

  async connect(t: NetworkTarget, network: string, cfg: EndpointConfig): Promise<EndpointState> {
    return this.#locked(async () => {
      const n = network === 'bridge' ? this.defaultBridge : this.get(network);
      if (!n) throw notFound(`network ${network} not found`);
      const mine = this.#endpoints.filter((e) => e.container === t.id);
      if (mine.some((e) => e.networkId === n.id)) throw new EngineError('Forbidden', `endpoint with name ${t.name} already exists in network ${n.name}`);
      const ns = this.#sandboxes.get(t.id) ?? mine[0]?.netns;
      if (!ns) throw invalid(`container ${t.name} has no network namespace of berth's to connect (network mode ${t.hostConfig.NetworkMode || 'default'})`);
      const used = new Set(mine.map((e) => e.nsIf));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const routed = mine.some((e) => e.gateway);
      // The container's ports are published on its first non-internal endpoint while none has
      // them (Docker's buildPortsRelatedCreateEndpointOptions): reconnected to a network after
      // leaving the one that published them, the container publishes them again.
      const publish = !n.internal && !mine.some((e) => e.ports?.length);
      if (n.driver === 'overlay' && isStandalone(t)) {
        if (!this.#cluster) throw invalid(`network ${n.name} is a swarm network and this node is not in a swarm`);
        const a = await this.#cluster.attach(n.id, t.id, t.name);
        cfg = { ...cfg, IPAMConfig: { ...(cfg.IPAMConfig ?? {}), IPv4Address: a.Addresses[0].split('/')[0] } };
      }
      const e = await this.#attach(t, n, cfg, ns, `eth${i}`, { publish, route: !routed && !n.internal, macFromConfig: false });
      if (publish) for (const o of mine) delete o.portMap;
      await this.#save();
      try {
        if (e.ports?.length) await this.#applyRules();
        await this.#startProxies(e);
      } catch (err) {
        await detachVeth(ns, e.nsIf);
        this.#releaseEndpoint(e);
        await this.#stopProxies(e);
        // Rollback, as in setUp: err is what the caller gets; the next successful save or rule
        // update rewrites what failed here.
        await this.#save().catch((x) => this.#o.log?.(`container ${t.name}: connect to network ${n.name} rolled back, but saving the network state failed (${(x as Error).message}): the state file may list the endpoint until the next successful save`));
        await this.#applyRules().catch((x) => this.#o.log?.(`container ${t.name}: connect to network ${n.name} rolled back, but applying the nftables rules failed (${(x as Error).message}): its port forwards may stay until the next rule update`));
        throw err;
      }
      return view(e);
    });
  }

  async disconnect(t: NetworkTarget, network: string): Promise<void> {
    await this.#locked(async () => {
      const n = network === 'bridge' ? this.defaultBridge : this.get(network);
      const e = this.#endpoints.find((x) => x.container === t.id && x.networkId === n?.id);
      if (!e) return;
      await detachVeth(e.netns, e.nsIf);
      this.#releaseEndpoint(e);
      await this.#stopProxies(e);
      if (e.standalone) await this.#cluster?.detach(t.id, e.networkId).catch((err) => this.#o.log?.(`container ${t.name}: giving back its address on ${e.network}: ${(err as Error).message}`));
      if (n?.driver === 'overlay') await this.#overlayUnused(e.networkId);
      // The default route went with the interface: the next endpoint with a way out takes it
      // (libnetwork's sandbox picks a new gateway endpoint when its own leaves).
      const next = e.routed ? this.#endpoints.find((x) => x.container === t.id && x.gateway) : undefined;
      if (next) {
        await setDefaultRoute(next.netns, next.gateway, next.nsIf);
        if (next.gateway6) await setDefaultRoute(next.netns, next.gateway6, next.nsIf);
        next.routed = true;
      }
      await this.#save();
      if (e.ports?.length) await this.#applyRules();
    });
  }

  containerEndpoints(id: string): EndpointState[] {
    return this.#endpoints.filter((e) => e.container === id).map(view);
  }

  async rename(t: NetworkTarget, oldName: string): Promise<EndpointState[]> {
    return this.#locked(async () => {
      const mine = this.#endpoints.filter((e) => e.container === t.id);
      for (const e of mine) {
        e.containerName = t.name;
        // The container's name is the first DNS name (an alias equal to the old name stays).
        if (e.dnsNames[0] === oldName && !e.aliases.includes(oldName)) e.dnsNames = [...new Set([t.name, ...e.dnsNames.slice(1)])];
        else if (e.dnsNames.length) e.dnsNames = [...new Set([t.name, ...e.dnsNames])];
      }
      if (mine.length) await this.#save();
      return mine.map(view);
    });
  }

  // ---------------------------------------------------------------- cluster networks (swarm)
  //
  // A node of a swarm learns the cluster networks it has a part in from its manager (views, see
  // src/swarm/netview/view.ts). Each is a network record here (driver overlay, scope swarm) so
  // containers can have endpoints on it; its data plane (a VXLAN namespace, OverlayNetwork) exists
  // only while a container of this node is on it. Task containers also sit on docker_gwbridge, a
  // bridge network of this node: their default route and the embedded DNS's address. The DNS
  // answers the views' names (services, `tasks.<service>`, task containers), each task container
  // balances the services' VIPs in its own namespace (VipTable), and the ingress sandbox (a
  // namespace on docker_gwbridge and ingress, holding the node's load-balancer address) serves
  // the routing mesh: the node's published ports are DNATed to it like a container's, and it
  // balances them over the tasks wherever they run.

  /** Swarm mode on (its calls) or off (undefined): standalone containers may join attachable cluster networks. */
  setClusterAttach(c: ClusterAttach | undefined): void {
    this.#cluster = c;
  }

  /**
   * Docker's findAndAttachNetwork at create: a network the container names that this node does not
   * have may be an attachable cluster network; the cluster is asked (with a probe attachment given
   * back at once) and its record kept here. The address itself is asked for at each start.
   */
  async resolveNetworks(hc: HostConfig, endpoints: Record<string, EndpointConfig>): Promise<void> {
    const c = this.#cluster;
    if (!c?.active()) return;
    const refs = new Set([hc.NetworkMode || 'default', ...Object.keys(endpoints)]);
    const probe = `probe-${randomBytes(16).toString('hex')}`;
    const found = await this.#attachMissing(c, [...refs].map((r) => [r, undefined]), probe, '');
    for (const a of found) await c.detach(probe, a.Network.ID).catch(() => { /* the cluster drops it with the container's next attach */ });
    if (found.length) await this.ensureClusterNetworks(found.map((a) => a.Network), '');
  }

  /**
   * Docker's findAndAttachNetwork again at each start (held under the lock): the record of a
   * cluster network found at create is forgotten when no view names it and no container here is
   * on it, as between a standalone container's create and its start, or across a restart. A name
   * this node no longer has is asked of the cluster; the attachment made is the container's own.
   */
  async #findClusterNetworks(t: NetworkTarget): Promise<void> {
    const c = this.#cluster;
    if (!c?.active()) return;
    const mode = t.hostConfig.NetworkMode || 'default';
    const refs = new Map<string, EndpointConfig | undefined>(t.onlyListed ? [] : [[mode, t.networks[mode]]]);
    for (const [k, cfg] of Object.entries(t.networks)) refs.set(k, cfg);
    const found = await this.#attachMissing(c, refs, t.id, t.name);
    if (found.length && await this.#register(found.map((a) => a.Network))) await this.#save();
  }

  /**
   * The cluster's attachments, for `containerId`, to each network `refs` names (by name, or by
   * its endpoint config's NetworkID) that this node does not have; one the cluster does not know
   * either is skipped: #order then says what Docker says ("network x not found").
   */
  async #attachMissing(c: ClusterAttach, refs: Iterable<[string, EndpointConfig | undefined]>, containerId: string, name: string): Promise<NetworkAttachment[]> {
    const out: NetworkAttachment[] = [];
    for (const [ref, cfg] of refs) {
      if (['default', 'bridge', 'host', 'none'].includes(ref) || ref.startsWith('container:')) continue;
      if ((cfg?.NetworkID && this.#networks.has(cfg.NetworkID)) || this.tryGet(ref)) continue;
      try {
        out.push(await c.attach(cfg?.NetworkID || ref, containerId, name));
      } catch (e) {
        if (e instanceof EngineError && e.kind === 'NotFound') continue;
        throw e;
      }
    }
    return out;
  }

  /** Registers cluster networks (and docker_gwbridge) before a task container is created on them. */
  async ensureClusterNetworks(nets: ClusterNetwork[], vtep: string): Promise<void> {
    if (vtep) this.#vtep = vtep;
    await this.#locked(async () => { if (await this.#register(nets)) await this.#save(); });
  }

  /** docker_gwbridge and the cluster networks' records (under the lock); whether any changed. */
  async #register(nets: ClusterNetwork[]): Promise<boolean> {
    let changed = await this.#ensureGwbridge();
    for (const n of nets) changed = this.#upsertCluster(n) || changed;
    return changed;
  }

  /**
   * The node's current views (all of them: a network left out is no longer this node's business).
   * Records, peers, VIPs and names follow; the ingress sandbox is made, changed or removed.
   */
  async applyClusterViews(views: NodeNetworkView[], vtep: string): Promise<void> {
    if (vtep) this.#vtep = vtep;
    await this.applyBackends(views);
    await this.#locked(async () => {
      if (views.length) await this.#ensureGwbridge();
      for (const v of views) this.#upsertCluster(v.network);
      for (const n of this.#networks.values()) {
        // (Only a network the cluster still has: a removed one's containers here are leaving.)
        if (n.driver === 'overlay' && this.#views.has(n.id) && !this.#overlays.has(n.id) && this.#endpoints.some((e) => e.networkId === n.id)) {
          await this.#overlayOf(n).catch((e) => this.#o.log?.(`overlay network ${n.name}: ${(e as Error).message}`));
        }
      }
      await this.#save();
    });
    await this.#syncIngress();
    await this.#fastApply();
    // A cluster network no view names and no container here uses is forgotten.
    await this.#locked(async () => {
      let gone = false;
      for (const n of [...this.#networks.values()]) {
        if (n.driver !== 'overlay' || this.#views.has(n.id) || this.#endpoints.some((e) => e.networkId === n.id)) continue;
        await this.#overlayUnused(n.id);
        this.#networks.delete(n.id);
        this.#pools.delete(n.id);
        gone = true;
      }
      if (gone) await this.#save();
    });
  }

  /**
   * The part of a view that must not wait (a task that goes must leave every balancer before its
   * container stops): peers, each container's VIP table and the routing mesh's backends, applied
   * at once on their own ordered chain. applyClusterViews does the rest (records, set-ups).
   */
  applyBackends(views: NodeNetworkView[]): Promise<void> {
    this.#views = new Map(views.map((v) => [v.network.ID, v]));
    return this.#fastApply();
  }

  #fastApply(): Promise<void> {
    return this.#onFast(async () => {
      for (const id of this.#overlays.keys()) await this.#syncPeers(id);
      for (const c of new Set(this.#endpoints.map((e) => e.container))) await this.#syncVips(c);
      const ns = this.#sandboxes.get(INGRESS_SBOX);
      const { rules, key } = this.#ingressWanted();
      // Only the backends here: a change of the published ports re-makes the sandbox (#syncIngress).
      if (ns && key && key === this.#ingressKey) {
        await applyIngressTable(`${NETNS_DIR}/${ns}`, 'berth-ingress', rules).catch((e) => this.#o.log?.(`the routing mesh (ingress sandbox): ${(e as Error).message}`));
      }
    });
  }

  #onFast<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#fast.then(fn, fn);
    this.#fast = p.catch(() => {});
    return p;
  }

  /** The record of a cluster network (new, or its allocation changed); true if anything changed. */
  #upsertCluster(c: ClusterNetwork): boolean {
    const cfg = c.IPAMOptions?.Configs?.[0];
    if (!cfg?.Subnet) return false;
    const old = this.#networks.get(c.ID);
    const vni = Number(c.DriverState?.Options?.[VXLANID_OPTION]);
    if (old && old.pool.subnet === new AddressPool({ subnet: cfg.Subnet }).subnetText && old.vni === vni && old.name === c.Spec.Name) return false;
    if (old && this.#endpoints.some((e) => e.networkId === c.ID)) return false; // in use: changes with its last endpoint
    const pool = new AddressPool({ subnet: cfg.Subnet, gateway: cfg.Gateway || undefined });
    const rec: NetworkRecord = {
      name: c.Spec.Name, id: c.ID, created: c.CreatedAt, predefined: false, bridge: '', internal: !!c.Spec.Internal,
      attachable: !!c.Spec.Attachable, icc: true, masquerade: false, labels: c.Spec.Labels ?? {}, options: { ...(c.DriverState?.Options ?? {}) },
      ipamOptions: null, ipamConfig: [{ Subnet: pool.subnetText, Gateway: pool.gatewayText }], pool: pool.serialize(),
      staticSubnets: [pool.subnetText], driver: 'overlay', vni, ...(c.Spec.Ingress ? { ingress: true } : {}),
    };
    this.#networks.set(c.ID, rec);
    this.#pools.set(c.ID, pool);
    return true;
  }

  /** docker_gwbridge, made the first time this node needs it (Docker's options: no ICC, masquerade). */
  async #ensureGwbridge(): Promise<boolean> {
    if ([...this.#networks.values()].some((n) => n.name === GWBRIDGE_NETWORK)) return false;
    await withHostLock(SUBNET_LOCK, () => this.#create({
      Name: GWBRIDGE_NETWORK, Driver: 'bridge',
      Options: { [ICC_OPT]: 'false', [MASQ_OPT]: 'true' },
    }, { swarmGateway: true }));
    return true;
  }

  /** The overlay's data plane on this node, made (or adopted) on first use, with its peers. */
  async #overlayOf(n: NetworkRecord): Promise<OverlayNetwork> {
    let ov = this.#overlays.get(n.id);
    if (ov) return ov;
    this.#vtep ||= this.#cluster?.vtep() ?? '';
    if (!this.#vtep) throw invalid(`network ${n.name}: this node has no swarm address to carry overlay traffic`);
    // The cluster gives no two networks the same VNI, but it may give a removed network's VNI to a
    // new one while containers here are still ending on the old one (a task in its stop grace
    // period): the old data plane holds the VNI on this node's VXLAN port, so it goes first. Its
    // containers are on their way out; their network no longer exists.
    for (const [id, old] of this.#overlays) {
      if (id === n.id || old.spec.vni !== n.vni) continue;
      this.#o.log?.(`overlay network ${n.name}: VXLAN id ${n.vni} is still held here by network ${id.slice(0, 12)}, which the cluster has removed; removing its data plane`);
      await this.#removeOverlay(id);
    }
    ov = await OverlayNetwork.create({ id: n.id, vni: n.vni!, subnet: n.pool.subnet, localVtep: this.#vtep, instance: this.#o.instance ?? '' });
    this.#overlays.set(n.id, ov);
    this.#peers.set(n.id, new Map());
    await this.#onFast(() => this.#syncPeers(n.id));
    return ov;
  }

  /** An overlay nobody here uses any more goes (the ingress sandbox counts as a user). */
  async #overlayUnused(networkId: string): Promise<void> {
    if (this.#endpoints.some((e) => e.networkId === networkId)) return;
    await this.#removeOverlay(networkId);
  }

  /** The overlay's data plane on this node goes, with its peers (its containers' ends with its namespace). */
  async #removeOverlay(networkId: string): Promise<void> {
    const ov = this.#overlays.get(networkId);
    if (!ov) return;
    this.#overlays.delete(networkId);
    this.#peers.delete(networkId);
    await ov.remove().catch((e) => this.#o.log?.(`overlay network ${networkId.slice(0, 12)}: removing its namespace: ${(e as Error).message}`));
  }

  /** The overlay's FDB/neighbour entries made equal to the view's endpoints on other nodes. */
  async #syncPeers(networkId: string): Promise<void> {
    const ov = this.#overlays.get(networkId);
    const have = this.#peers.get(networkId);
    if (!ov || !have) return;
    const want = new Map<string, string>();
    for (const e of this.#views.get(networkId)?.endpoints ?? []) if (e.vtep && e.vtep !== this.#vtep) want.set(e.ip, e.vtep);
    for (const [ip, vtep] of have) {
      if (want.get(ip) === vtep) continue;
      await ov.removePeer({ ip, vtep });
      have.delete(ip);
    }
    for (const [ip, vtep] of want) {
      if (have.get(ip) === vtep) continue;
      try {
        await ov.addPeer({ ip, vtep });
        have.set(ip, vtep);
      } catch (e) { this.#o.log?.(`overlay network ${networkId.slice(0, 12)}: peer ${ip} at ${vtep}: ${(e as Error).message}`); }
    }
  }

  /** A container's VIP table: every VIP-mode service on its (non-ingress) cluster networks. */
  async #syncVips(containerId: string): Promise<void> {
    const ns = this.#sandboxes.get(containerId);
    if (!ns) return;
    const services: VipService[] = [];
    const seen = new Set<string>();
    for (const e of this.#endpoints) {
      if (e.container !== containerId || this.#networks.get(e.networkId)?.driver !== 'overlay') continue;
      const v = this.#views.get(e.networkId);
      if (!v || v.network.Spec.Ingress) continue;
      for (const s of v.services) {
        if (s.mode !== 'vip' || !s.vip || seen.has(s.vip)) continue;
        seen.add(s.vip);
        services.push({ vip: s.vip, ports: 'all', backends: s.backends });
      }
    }
    const key = JSON.stringify(services);
    const cur = this.#vips.get(containerId);
    if (cur?.key === key || (!cur && !services.length)) return;
    try {
      const table = cur?.table ?? await VipTable.create(`${NETNS_DIR}/${ns}`, 'berth-vip');
      await table.setAll(services);
      this.#vips.set(containerId, { table, key });
    } catch (e) { this.#o.log?.(`service VIPs for container ${containerId.slice(0, 12)}: ${(e as Error).message}`); }
  }

  /** The ingress sandbox follows the ingress view: made, republished when the ports change, gone with it. */
  /** The routing mesh as the views want it: its rules, and the key of what the sandbox is made for. */
  #ingressWanted(): { v?: NodeNetworkView; rules: IngressRule[]; ports: string[]; key: string } {
    const v = [...this.#views.values()].find((x) => x.network.Spec.Ingress && x.lb);
    const rules: IngressRule[] = [];
    for (const s of v?.services ?? []) for (const p of s.ports) rules.push({ protocol: p.protocol, published: p.published, target: p.target, backends: s.backends });
    rules.sort((a, b) => a.published - b.published || a.protocol.localeCompare(b.protocol));
    const ports = rules.map((r) => `${r.published}/${r.protocol}`);
    return { v, rules, ports, key: v ? JSON.stringify([v.network.ID, v.lb, ports]) : '' };
  }

  async #syncIngress(): Promise<void> {
    const { v, rules, ports, key } = this.#ingressWanted();
    const target: NetworkTarget = {
      id: INGRESS_SBOX, name: INGRESS_SBOX, onlyListed: true,
      config: { ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])) },
      hostConfig: { NetworkMode: GWBRIDGE_NETWORK, PortBindings: Object.fromEntries(ports.map((p) => [p, [{ HostIp: '', HostPort: p.split('/')[0] }]])) },
      networks: v ? { [GWBRIDGE_NETWORK]: {}, [v.network.Spec.Name]: { NetworkID: v.network.ID, IPAMConfig: { IPv4Address: v.lb! } } } : {},
    };
    try {
      if (key !== this.#ingressKey) {
        this.#ingressKey = '';
        await this.tearDown(target);
        if (!v) return;
        await this.setUp(target);
        this.#ingressKey = key;
      }
      const ns = this.#sandboxes.get(INGRESS_SBOX);
      if (ns) {
        // The sandbox routes: in from docker_gwbridge, out on ingress (a new namespace does not forward).
        await run('nsenter', [`--net=${NETNS_DIR}/${ns}`, '--', 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
        await this.#onFast(() => applyIngressTable(`${NETNS_DIR}/${ns}`, 'berth-ingress', rules));
      }
    } catch (e) { this.#o.log?.(`the routing mesh (ingress sandbox): ${(e as Error).message}`); }
  }

  /** The cluster's names on network `networkId` (services, their aliases, `tasks.<service>`, task containers). */
  #clusterNames(networkId: string, name: string): string[] {
    const v = this.#views.get(networkId);
    if (!v || v.network.Spec.Ingress) return [];
    const is = (x: string) => x.toLowerCase() === name;
    for (const s of v.services) {
      if (is(s.name) || s.aliases.some(is)) return s.mode === 'vip' && s.vip ? [s.vip] : s.backends;
      if (is(`tasks.${s.name}`) || s.aliases.some((a) => is(`tasks.${a}`))) return s.backends;
    }
    return v.endpoints.filter((e) => e.names.some(is)).map((e) => e.ip);
  }

  // ------------------------------------------------------------------------------ names (DNS)

  #clientEndpoints(clientIp: string): EndpointRecord[] {
    const self = this.#endpoints.find((e) => e.ip === clientIp && !this.#networks.get(e.networkId)?.predefined);
    return self ? this.#endpoints.filter((e) => e.container === self.container) : [];
  }

  /** A records for a name as the asking container sees it: its user networks' members. */
  #lookup(clientIp: string, qname: string): string[] | undefined {
    const hits = this.#resolve(clientIp, qname);
    return hits && [...new Set(hits.map((e) => e.ip))];
  }

  /**
   * The endpoints a name stands for, for the container asking (libnetwork's Sandbox.ResolveName):
   * the whole name on each of its user networks, then `a.b` as `a` on network `b`, `a.b.c` as
   * `a.b` on `c` and `a` on `b.c`, and so on. At each step a link alias of the asking endpoint
   * comes first (EndpointSettings.Links `upstream:bar`: `bar` is `upstream` on that network, for
   * this container only), and a name that is one of its link aliases is not looked up as a name.
   * The first network with an answer gives it.
   */
  #resolve(clientIp: string, qname: string): EndpointRecord[] | undefined {
    const mine = this.#clientEndpoints(clientIp).filter((e) => !this.#networks.get(e.networkId)?.predefined);
    if (!mine.length) return undefined;
    const name = qname.toLowerCase().replace(/\.$/, '');
    const tries: [string, string | undefined][] = [[name, undefined]];
    for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) tries.push([name.slice(0, i), name.slice(i + 1)]);
    const named = (networkId: string, n: string) => this.#endpoints.filter((e) => e.networkId === networkId && e.dnsNames.some((d) => d.toLowerCase() === n));
    for (const [n, netName] of tries) {
      const own = mine.filter((e) => netName === undefined || this.#networks.get(e.networkId)!.name.toLowerCase() === netName);
      for (const e of own) {
        const target = linkTarget(e, n);
        const hits = target === undefined ? [] : named(e.networkId, target.toLowerCase());
        if (hits.length) return hits;
      }
      for (const e of own) {
        if (linkTarget(e, n) !== undefined) continue;
        const hits = named(e.networkId, n);
        if (hits.length) return hits;
        const cluster = this.#clusterNames(e.networkId, n);
        if (cluster.length) return cluster.map((ip) => ({ ip }) as EndpointRecord);
      }
    }
    return undefined;
  }

  #reverse(clientIp: string, ip: string): string[] | undefined {
    const mine = this.#clientEndpoints(clientIp);
    if (!mine.length) return undefined;
    const nets = new Set(mine.map((e) => e.networkId));
    const hit = this.#endpoints.find((e) => (e.ip === ip || e.ip6 === ip) && nets.has(e.networkId));
    return hit ? [`${hit.containerName}.${hit.network}`] : undefined;
  }
}

/** Go's strconv.ParseBool; undefined for anything else. */
function parseGoBool(v: string): boolean | undefined {
  if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
  return undefined;
}

/** The addresses a published port is forwarded from and to: a binding on every address ('')
 *  serves both families when the container has an IPv6 address; one on an IPv6 host address goes
 *  to the container's IPv6 address, or (through the userland proxy only) to its IPv4 one. */
function forwards(e: EndpointRecord, p: PublishedPort): { hostIp: string; targetIp: string }[] {
  if (p.hostIp === '') return [{ hostIp: '', targetIp: e.ip }, ...(e.ip6 ? [{ hostIp: '::', targetIp: e.ip6 }] : [])];
  if (p.hostIp.includes(':')) return [{ hostIp: p.hostIp, targetIp: e.ip6 ?? e.ip }];
  return [{ hostIp: p.hostIp, targetIp: e.ip }];
}

/** A standalone container (not a swarm task, not the ingress sandbox): its cluster addresses are asked for at start. */
function isStandalone(t: NetworkTarget): boolean {
  return t.id !== INGRESS_SBOX && !t.config.Labels?.['com.docker.swarm.task.id'];
}

/** The routing mesh's sandbox: a namespace on docker_gwbridge and ingress, owned by no container. */
export const INGRESS_SBOX = 'ingress-sbox';

/** The pre-defined networks' IDs (bridge, host, none): stable per daemon, with or without bridges. */
export function predefinedNetworkId(engineId: string, name: string): string {
  return createHash('sha256').update(`${engineId}/${name}`).digest('hex');
}

/** A network by full ID, exact name, or unique ID prefix (Docker's lookup order); 404 otherwise. */
export function findNetwork<T extends { id: string; name: string }>(all: readonly T[], ref: string): T {
  const hit = all.find((n) => n.id === ref) ?? all.find((n) => n.name === ref);
  if (hit) return hit;
  const byPrefix = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  throw notFound(`network ${ref} not found`);
}

/** The container a link alias of endpoint `e` names (aliases are matched as DNS names: any case). */
function linkTarget(e: EndpointRecord, alias: string): string | undefined {
  for (const [a, target] of Object.entries(e.links ?? {})) if (a.toLowerCase() === alias) return target;
  return undefined;
}

function view(e: EndpointRecord): EndpointState {
  return {
    network: e.network, networkId: e.networkId, endpointId: e.endpointId, ip: e.ip, prefixLen: e.prefixLen, gateway: e.gateway,
    ...(e.ip6 ? { ip6: e.ip6, prefixLen6: e.prefixLen6, gateway6: e.gateway6 } : {}),
    mac: e.mac, aliases: e.aliases, dnsNames: e.dnsNames, ...(e.portMap ? { portMap: e.portMap } : {}),
  };
}

function notImplemented(what: string): EngineError { return new EngineError('NotImplemented', `${what} are not supported by berth`); }

function sameBip(bip: string, s: AddressPoolState): boolean {
  const p = parseCidrParts(bip);
  return !!p && `${formatIPv4(p.base)}/${p.bits}` === s.subnet && formatIPv4(p.addr) === s.gateway;
}

/** Whether a host process listens on the port (tcp) or has it bound (udp). */
function hostListens(port: number, proto: Proto): boolean {
  if (proto === 'sctp') return false;
  for (const f of proto === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6']) {
    try { if (parseProcNetPorts(readFileSync(f, 'utf8'), proto).has(port)) return true; } catch { /* no such table */ }
  }
  return false;
}
