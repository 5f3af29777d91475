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
// State: networks and endpoints in one JSON document written atomically after every change. At
// start the bridges and rules are made again from it; endpoints of containers that no longer
// run and namespaces nobody owns are removed (a kill -9 of berthd leaves nothing stale).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, EngineError, invalid, notFound } from '../common/errors.ts';
import { readJson, writeJsonAtomic } from '../store/metadata/atomic.ts';
import type { ContainerNetworking, EndpointConfig, EndpointState, NetworkSetup, NetworkTarget } from '../engine/networking.ts';
import type { HostConfig } from '../engine/types.ts';
import {
  AddressPool, checkPoolOverlap, chooseSubnet, DEFAULT_ADDRESS_POOLS, formatIPv4, macFromIPv4, parseCidrParts, parseMacAddress,
  validateIpamConfigs, type AddressPoolState, type IpamConfig,
} from './ipam.ts';
import { attachVeth, createNetns, deleteLink, deleteNetns, detachVeth, ensureBridge, hostRoutes, listNetns, NETNS_DIR } from './link.ts';
import { networkSettingsPorts, parseProcNetPorts, PortAllocator, publishAllBindings, splitProtoPort, type PortBinding, type PortMap, type Proto } from './ports.ts';
import { applyRuleset, renderRuleset, requiredSysctls, type RulesetState } from './nft.ts';
import { EmbeddedDns, parseResolvConfNameservers } from './dns.ts';
import { UserlandProxy } from './proxy.ts';

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
  /** IPAM.Config as inspect shows it (the subnet and gateway in effect). */
  ipamConfig: IpamConfig[];
  pool: AddressPoolState;
}

export interface EndpointRecord extends EndpointState {
  container: string;
  containerName: string;
  netns: string;
  nsIf: string;
  ports?: PublishedPort[];
  /** The container's --dns servers: the embedded DNS forwards its queries there. */
  upstreams?: string[];
}

interface State { networks: NetworkRecord[]; endpoints: EndpointRecord[] }

/** `POST /networks/create`'s body (the fields berth acts on). */
export interface NetworkCreateRequest {
  Name?: string;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv6?: boolean;
  EnableIPv4?: boolean;
  IPAM?: { Driver?: string; Config?: IpamConfig[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

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

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const BRIDGE_OPT = 'com.docker.network.bridge.name';
const ICC_OPT = 'com.docker.network.bridge.enable_icc';
const MASQ_OPT = 'com.docker.network.bridge.enable_ip_masquerade';
const KNOWN_BRIDGE_OPTS = new Set([BRIDGE_OPT, ICC_OPT, MASQ_OPT, 'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.driver.mtu',
  'com.docker.network.bridge.default_bridge', 'com.docker.network.bridge.inhibit_ipv4', 'com.docker.network.container_iface_prefix',
  'com.docker.network.bridge.gateway_mode_ipv4', 'com.docker.network.enable_ipv4', 'com.docker.network.enable_ipv6']);

export class NetworkService implements ContainerNetworking {
  #o: NetworkServiceOptions;
  #path: string;
  #networks = new Map<string, NetworkRecord>(); // by id
  #pools = new Map<string, AddressPool>(); // by network id
  #endpoints: EndpointRecord[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #ports = this.#newPortAllocator();
  #dns: EmbeddedDns;
  #proxy = new UserlandProxy();
  #hostUpstreams: string[] = [];

  constructor(o: NetworkServiceOptions) {
    this.#o = o;
    this.#path = join(o.stateDir, 'networks.json');
    this.#dns = new EmbeddedDns({
      resolver: {
        lookup: (client, name) => this.#lookup(client, name),
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
    try { this.#hostUpstreams = parseResolvConfNameservers(readFileSync('/etc/resolv.conf', 'utf8')); } catch { /* none */ }
    const saved = await readJson<State>(this.#path);
    for (const n of saved?.networks ?? []) {
      if (n.predefined) continue;
      this.#networks.set(n.id, n);
      this.#pools.set(n.id, AddressPool.restore(n.pool));
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
    for (const e of saved?.endpoints ?? []) {
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
    const pool = this.#pools.get(n.id)!;
    await ensureBridge(n.bridge, `${pool.gatewayText}/${pool.prefixLen}`);
    if (!n.predefined) {
      try { await this.#dns.listen(pool.gatewayText); } catch (e) { this.#o.log?.(`embedded DNS on ${pool.gatewayText}:53 for network ${n.name}: ${(e as Error).message}`); }
    }
  }

  async reconcile(isRunning: (id: string) => boolean): Promise<void> {
    await this.#locked(async () => {
      const gone = this.#endpoints.filter((e) => !isRunning(e.container));
      for (const e of gone) await deleteNetns(e.netns);
      this.#endpoints = this.#endpoints.filter((e) => isRunning(e.container));
      this.#restoreCounts();
      const mine = new Set(this.#endpoints.map((e) => e.netns));
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
    }
    this.#ports = this.#newPortAllocator();
    for (const e of this.#endpoints) for (const p of e.ports ?? []) { try { this.#ports.reserve(p.proto, p.hostPort, p.hostIp); } catch { /* idem */ } }
  }

  /** Daemon shutdown: the proxies and DNS servers stop (containers keep their namespaces). */
  async close(): Promise<void> {
    await this.#proxy.closeAll().catch(() => {});
    await this.#dns.closeAll().catch(() => {});
  }

  // ------------------------------------------------------------------------------------ state

  async #save(): Promise<void> {
    for (const [id, n] of this.#networks) n.pool = this.#pools.get(id)!.serialize();
    await writeJsonAtomic(this.#path, { networks: [...this.#networks.values()], endpoints: this.#endpoints } satisfies State);
  }

  /** Serialised: IPAM, ports, the rules and the state file are shared by every operation. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  #subnets(except?: string): string[] {
    return [...this.#networks.values()].filter((n) => n.id !== except).map((n) => n.pool.subnet);
  }

  /** berth's whole nftables table from the networks and endpoints, applied in one `nft -f`. */
  async #applyRules(): Promise<void> {
    const nets = [...this.#networks.values()];
    const state: RulesetState = {
      table: this.table,
      bridges: nets.map((n) => ({ name: n.bridge, subnet: n.pool.subnet, internal: n.internal, icc: n.icc, masquerade: n.masquerade })),
      ports: this.#endpoints.flatMap((e) => (e.ports ?? []).map((p) => ({
        proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: e.ip, containerPort: p.containerPort, bridge: this.#networks.get(e.networkId)!.bridge,
      }))),
      localhostDnat: !this.#proxyOn,
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
    return this.#locked(async () => {
      const name = req.Name ?? '';
      if (!name) throw invalid('invalid name: name is empty');
      if (!NAME_RE.test(name)) throw invalid(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const driver = req.Driver || 'bridge';
      if (['bridge', 'host', 'none', 'default'].includes(name) || driver === 'host' || driver === 'null') {
        if (['host', 'none'].includes(name) || driver !== 'bridge') throw new EngineError('Forbidden', `operation is not permitted on predefined ${name} network `);
      }
      if (this.#o.bridge !== 'none' && name === 'bridge') throw conflict(`network with name ${name} already exists`);
      if ([...this.#networks.values()].some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
      if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
      if (req.Scope && req.Scope !== 'local') throw invalid(`invalid scope ${req.Scope}: the bridge driver only supports scope local`);
      if (req.Ingress) throw new EngineError('Forbidden', 'ingress networks are swarm networks: berth has no swarm');
      if (req.ConfigOnly || req.ConfigFrom?.Network) throw notImplemented('config-only networks');
      if (req.EnableIPv6) throw invalid('IPv6 networks are not supported by berth (IPv4 only): drop --ipv6');
      if (req.EnableIPv4 === false) throw invalid('IPv4 cannot be disabled on a bridge network');
      const ipamDriver = req.IPAM?.Driver || 'default';
      if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
      const configs = (req.IPAM?.Config ?? []).filter((c) => !(c.Subnet ?? '').includes(':'));
      validateIpamConfigs(req.IPAM?.Config ?? [], false);
      if (configs.length > 1) throw invalid('berth bridge networks take one IPv4 subnet');
      const opts = req.Options ?? {};
      for (const k of Object.keys(opts)) if (k.startsWith('com.docker.network.bridge.') && !KNOWN_BRIDGE_OPTS.has(k)) throw invalid(`unknown bridge option ${k}`);
      const boolOpt = (k: string): boolean => {
        const v = opts[k];
        if (v === undefined) return true;
        if (!/^(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.test(v)) throw invalid(`failed to parse ${k} value: invalid syntax`);
        return /^(true|1|t|TRUE|True)$/.test(v);
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
      const rec: NetworkRecord = {
        name, id, created: new Date().toISOString(), predefined: false, bridge,
        internal: !!req.Internal, attachable: !!req.Attachable, icc: boolOpt(ICC_OPT), masquerade: boolOpt(MASQ_OPT),
        labels: req.Labels ?? {}, options: opts, ipamOptions: req.IPAM?.Options ?? null,
        ipamConfig: [{ Subnet: pool.subnetText, ...(cfg.IPRange ? { IPRange: cfg.IPRange } : {}), Gateway: pool.gatewayText, ...(cfg.AuxiliaryAddresses ? { AuxiliaryAddresses: cfg.AuxiliaryAddresses } : {}) }],
        pool: pool.serialize(),
      };
      this.#networks.set(id, rec);
      this.#pools.set(id, pool);
      try {
        await this.#bringUp(rec);
        await this.#save();
        await this.#applyRules();
      } catch (e) {
        this.#networks.delete(id);
        this.#pools.delete(id);
        await this.#dns.close(pool.gatewayText).catch(() => {});
        await deleteLink(bridge);
        await this.#save().catch(() => {});
        await this.#applyRules().catch(() => {});
        throw e;
      }
      return { Id: id, Warning: '' };
    });
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
      await this.#dns.close(n.pool.gateway).catch(() => {});
      await this.#save();
      await this.#applyRules();
      await deleteLink(n.bridge);
    });
  }

  /** Every bridge and the table go (tests' clean-up; `berthd` keeps them across restarts). */
  bridges(): string[] { return [...this.#networks.values()].map((n) => n.bridge); }

  // ------------------------------------------------------------------------------- endpoints

  prepare(hc: HostConfig, endpoints: Record<string, EndpointConfig>): Record<string, EndpointConfig> {
    const mode = hc.NetworkMode || 'default';
    const out: Record<string, EndpointConfig> = {};
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      const extra = Object.keys(endpoints).filter((k) => k !== mode);
      if (extra.length) {
        if (mode.startsWith('container:')) throw invalid('conflicting options: container type network can\'t be used with other networks');
        throw invalid(`Container cannot be connected to network endpoints: ${[mode, ...extra].join(', ')}`);
      }
      return mode.startsWith('container:') ? {} : { [mode]: {} };
    }
    const primary = mode === 'default' || mode === 'bridge' ? 'bridge' : this.get(mode).name;
    if (primary === 'bridge' && !this.defaultBridge) return { bridge: { ...(endpoints.bridge ?? endpoints.default ?? {}) } };
    for (const [ref, cfg] of Object.entries({ [primary]: endpoints[mode] ?? endpoints[primary] ?? {}, ...endpoints })) {
      const name = ref === 'default' ? 'bridge' : ref;
      if (name === 'host' || name === 'none') throw invalid(`Container cannot be connected to network endpoints: ${[primary, name].join(', ')}`);
      const n = name === 'bridge' ? this.defaultBridge : this.get(name);
      if (!n) throw notFound(`network ${name} not found`);
      if (out[n.name]) continue;
      this.#checkEndpointConfig(n, cfg ?? {});
      out[n.name] = { ...(cfg ?? {}), NetworkID: n.id };
    }
    return out;
  }

  #checkEndpointConfig(n: NetworkRecord, cfg: EndpointConfig): void {
    const ip = cfg.IPAMConfig?.IPv4Address;
    if (ip) {
      if (n.predefined) throw invalid('user specified IP address is supported on user defined networks only');
      if (!this.#pools.get(n.id)!.subnet || !cidrHas(n.pool.subnet, ip)) throw invalid(`Invalid address ${ip}: It does not belong to any of this network's subnets`);
    }
    if (cfg.IPAMConfig?.IPv6Address) throw invalid('IPv6 addresses are not supported by berth');
    if (cfg.Aliases?.length && n.predefined) throw invalid('network-scoped alias is supported only for containers in user defined networks');
    if (cfg.MacAddress) parseMacAddress(cfg.MacAddress);
  }

  async setUp(t: NetworkTarget): Promise<NetworkSetup> {
    const mode = t.hostConfig.NetworkMode || 'default';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return {};
    return this.#locked(async () => {
      await this.#dropContainer(t.id);
      const ns = this.#nsName(t.id);
      await deleteNetns(ns); // debris of a crash between namespace and state
      const order = this.#order(t);
      if (!order.length) return {};
      if (t.makeNetns) await t.makeNetns(`${NETNS_DIR}/${ns}`);
      else await createNetns(ns);
      const made: EndpointRecord[] = [];
      try {
        let routed = false;
        for (const [i, [n, cfg]] of order.entries()) {
          const primary = i === 0;
          const withRoute = !routed && !n.internal;
          if (withRoute) routed = true;
          made.push(await this.#attach(t, n, cfg, ns, `eth${i}`, { publish: primary, route: withRoute, macFromConfig: primary }));
        }
        await this.#save();
        if (made.some((e) => e.ports?.length)) await this.#applyRules();
        for (const e of made) await this.#startProxies(e);
      } catch (err) {
        await deleteNetns(ns);
        for (const e of made) { this.#releaseEndpoint(e); await this.#stopProxies(e); }
        await this.#save().catch(() => {});
        await this.#applyRules().catch(() => {});
        throw err;
      }
      const user = made.find((e) => !this.#networks.get(e.networkId)!.predefined);
      return {
        netnsPath: `${NETNS_DIR}/${ns}`,
        endpoints: made.map(view),
        nameservers: user ? [this.#pools.get(user.networkId)!.gatewayText] : undefined,
      };
    });
  }

  /** The container's networks, primary first; the default bridge only if it exists. */
  #order(t: NetworkTarget): [NetworkRecord, EndpointConfig][] {
    const out: [NetworkRecord, EndpointConfig][] = [];
    const mode = t.hostConfig.NetworkMode || 'default';
    const primaryName = mode === 'default' || mode === 'bridge' ? 'bridge' : mode;
    const names = [primaryName, ...Object.keys(t.networks).filter((k) => k !== primaryName && k !== mode)];
    for (const name of names) {
      const cfg = t.networks[name] ?? (name === primaryName ? t.networks[mode] : undefined) ?? {};
      const n = name === 'bridge' ? this.defaultBridge : (cfg.NetworkID ? this.#networks.get(cfg.NetworkID) : undefined) ?? this.tryGet(name);
      if (!n) {
        if (name === 'bridge') continue; // no default bridge on this daemon: lo only
        throw notFound(`network ${name} not found`);
      }
      if (!out.some(([x]) => x.id === n.id)) out.push([n, cfg]);
    }
    return out;
  }

  /** One veth into the namespace, an address, and (first endpoint) the published ports. */
  async #attach(t: NetworkTarget, n: NetworkRecord, cfg: EndpointConfig, ns: string, nsIf: string,
    o: { publish: boolean; route: boolean; macFromConfig: boolean }): Promise<EndpointRecord> {
    const pool = this.#pools.get(n.id)!;
    this.#checkEndpointConfig(n, cfg);
    const { ports, portMap } = o.publish && !n.internal ? this.#publish(t) : { ports: [], portMap: o.publish ? networkSettingsPorts(Object.keys(t.config.ExposedPorts ?? {}), {}) : undefined };
    let ip: string;
    try {
      ip = pool.allocate(cfg.IPAMConfig?.IPv4Address || undefined);
      // Without the proxy nothing binds the ports: a host process holding one would be shadowed
      // by the DNAT, so it is refused here, in the words of Docker 28's own bind.
      const held = this.#proxyOn ? undefined : ports.find((p) => p.proto !== 'sctp' && hostListens(p.hostPort, p.proto));
      if (held) {
        pool.release(ip);
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
      dnsNames: n.predefined ? [] : [...new Set([t.name, ...aliases, id12, ...(t.config.Hostname && t.config.Hostname !== id12 ? [t.config.Hostname] : [])])],
      portMap, container: t.id, containerName: t.name, netns: ns, nsIf, ports,
      upstreams: t.hostConfig.Dns?.length ? t.hostConfig.Dns : undefined,
    };
    this.#endpoints.push(e);
    try {
      await attachVeth({ ns, hostIf: this.#hostIf(t.id, n.id), nsIf, bridge: n.bridge, address: `${ip}/${pool.prefixLen}`, gateway: o.route ? pool.gatewayText : undefined, mac });
    } catch (err) {
      this.#releaseEndpoint(e);
      throw err;
    }
    return e;
  }

  #releaseEndpoint(e: EndpointRecord): void {
    this.#pools.get(e.networkId)?.release(e.ip);
    for (const p of e.ports ?? []) this.#ports.release(p.proto, p.hostPort, p.hostIp);
    this.#endpoints = this.#endpoints.filter((x) => x !== e);
  }

  async #startProxies(e: EndpointRecord): Promise<void> {
    if (!this.#proxyOn) return;
    for (const p of e.ports ?? []) {
      if (p.proto === 'sctp') continue;
      await this.#proxy.add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, targetIp: e.ip, targetPort: p.containerPort }).catch((err: Error) => {
        throw new EngineError('System', `failed to set up container networking: driver failed programming external connectivity on endpoint ${e.containerName} (${e.endpointId}): ${err.message}`);
      });
    }
  }

  async #stopProxies(e: EndpointRecord): Promise<void> {
    for (const p of e.ports ?? []) {
      if (p.proto === 'sctp') continue;
      await this.#proxy.remove({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, targetIp: e.ip, targetPort: p.containerPort }).catch(() => {});
    }
  }

  /** Everything of a container goes (its namespace takes the veths along). */
  async #dropContainer(id: string): Promise<boolean> {
    const eps = this.#endpoints.filter((e) => e.container === id);
    if (!eps.length) return false;
    await deleteNetns(eps[0].netns);
    for (const e of eps) { this.#releaseEndpoint(e); await this.#stopProxies(e); }
    return true;
  }

  /**
   * Host ports for -p/-P, resolved before anything is created: a conflict is an error before
   * the container starts (Docker's `Bind for 0.0.0.0:8080 failed: port is already allocated`).
   */
  #publish(t: NetworkTarget): { ports: PublishedPort[]; portMap: PortMap } {
    let bindings = (t.hostConfig.PortBindings ?? {}) as Record<string, PortBinding[] | null>;
    const exposed = Object.keys(t.config.ExposedPorts ?? {});
    if (t.hostConfig.PublishAllPorts) bindings = publishAllBindings(exposed, bindings as Record<string, PortBinding[]>);
    const ports: PublishedPort[] = [];
    const bound: Record<string, PortBinding[]> = {};
    try {
      for (const [key, list] of Object.entries(bindings)) {
        const { port, proto } = splitProtoPort(key);
        for (const b of list ?? []) {
          const hostIp = b.HostIp ?? '';
          if (hostIp.includes(':')) continue; // IPv6 bindings: berth's table is IPv4 only
          const hostPort = this.#ports.allocateBinding(proto, { HostIp: hostIp, HostPort: b.HostPort ?? '' });
          ports.push({ proto, hostIp, hostPort, containerPort: port });

          (bound[key] ??= []).push({ HostIp: hostIp || '0.0.0.0', HostPort: String(hostPort) });
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
      const ns = mine[0]?.netns;
      if (!ns) throw invalid(`container ${t.name} has no network namespace of berth's to connect (network mode ${t.hostConfig.NetworkMode || 'default'})`);
      const used = new Set(mine.map((e) => e.nsIf));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const routed = mine.some((e) => e.gateway);
      const e = await this.#attach(t, n, cfg, ns, `eth${i}`, { publish: false, route: !routed && !n.internal, macFromConfig: false });
      await this.#save();
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
      await this.#save();
      if (e.ports?.length) await this.#applyRules();
    });
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

  // ------------------------------------------------------------------------------ names (DNS)

  #clientEndpoints(clientIp: string): EndpointRecord[] {
    const self = this.#endpoints.find((e) => e.ip === clientIp && !this.#networks.get(e.networkId)?.predefined);
    return self ? this.#endpoints.filter((e) => e.container === self.container) : [];
  }

  /** A records for a name as the asking container sees it: its user networks' members. */
  #lookup(clientIp: string, qname: string): string[] | undefined {
    const mine = this.#clientEndpoints(clientIp).filter((e) => !this.#networks.get(e.networkId)?.predefined);
    if (!mine.length) return undefined;
    const name = qname.toLowerCase().replace(/\.$/, '');
    const ips: string[] = [];
    for (const own of mine) {
      const net = this.#networks.get(own.networkId)!;
      // `<name>.<network>` too, as Docker answers.
      const suffix = `.${net.name.toLowerCase()}`;
      const bare = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
      for (const e of this.#endpoints) {
        if (e.networkId !== own.networkId) continue;
        if (e.dnsNames.some((d) => d.toLowerCase() === name || d.toLowerCase() === bare)) ips.push(e.ip);
      }
    }
    return ips.length ? [...new Set(ips)] : undefined;
  }

  #reverse(clientIp: string, ip: string): string[] | undefined {
    const mine = this.#clientEndpoints(clientIp);
    if (!mine.length) return undefined;
    const nets = new Set(mine.map((e) => e.networkId));
    const hit = this.#endpoints.find((e) => e.ip === ip && nets.has(e.networkId));
    return hit ? [`${hit.containerName}.${hit.network}`] : undefined;
  }
}

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

function view(e: EndpointRecord): EndpointState {
  return {
    network: e.network, networkId: e.networkId, endpointId: e.endpointId, ip: e.ip, prefixLen: e.prefixLen, gateway: e.gateway,
    mac: e.mac, aliases: e.aliases, dnsNames: e.dnsNames, ...(e.portMap ? { portMap: e.portMap } : {}),
  };
}

function notImplemented(what: string): EngineError { return new EngineError('NotImplemented', `${what} are not supported by berth`); }

function cidrHas(subnet: string, ip: string): boolean {
  const s = parseCidrParts(subnet);
  const a = parseCidrParts(`${ip}/32`);
  return !!s && !!a && a.addr >= s.base && a.addr < s.base + 2 ** (32 - s.bits);
}

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
