// The default bridge network (Docker's `bridge`): a Linux bridge with the gateway address, and
// per container a named network namespace holding `lo` and `eth0`, one end of a veth pair whose
// other end is on the bridge, with an address from the bridge's IPAM, Docker's MAC for it and a
// default route via the gateway. Implements the engine's ContainerNetworking extension point.
//
// State: the IPAM pool and the endpoints (container → address) in one JSON document written
// atomically; at start, namespaces of containers that no longer run are removed and their
// addresses released (a kill -9 of berthd leaves nothing stale).
//
// Not here yet (the networking issue): user-defined networks, published ports (nft.ts),
// embedded DNS, links, `network` API.
import { join } from 'node:path';
import { invalid } from '../common/errors.ts';
import { readJson, writeJsonAtomic } from '../store/metadata/atomic.ts';
import type { ContainerNetworking, NetworkSetup, NetworkTarget } from '../engine/networking.ts';
import { AddressPool, chooseSubnet, DEFAULT_ADDRESS_POOLS, macFromIPv4, parseCidrParts, formatIPv4, type AddressPoolState } from './ipam.ts';
import { attachVeth, createNetns, deleteNetns, ensureBridge, hostRoutes, listNetns, NETNS_DIR } from './link.ts';
import { networkSettingsPorts, parseProcNetPorts, PortAllocator, publishAllBindings, splitProtoPort, type PortBinding, type PortMap, type Proto } from './ports.ts';
import { applyRuleset, renderRuleset, requiredSysctls, type RulesetState } from './nft.ts';
import { readFileSync, writeFileSync } from 'node:fs';

export interface PublishedPort { proto: Proto; hostIp: string; hostPort: number; containerPort: number }

export interface Endpoint {
  ip: string; prefixLen: number; gateway: string; mac: string; netns: string;
  ports?: PublishedPort[];
  /** NetworkSettings.Ports as inspect shows it (exposed-only ports map to null). */
  portMap?: PortMap;
}

interface State { pool: AddressPoolState; endpoints: Record<string, Endpoint> }

export interface BridgeOptions {
  /** Linux bridge name (`-b`). */
  bridge: string;
  /** `--bip`: gateway address with prefix; chosen from Docker's pools when absent. */
  bip?: string;
  /** Suffix that makes namespace names unique per daemon instance. */
  instance: string;
  /** Where the state document lives. */
  stateDir: string;
}

export class BridgeNetworking implements ContainerNetworking {
  #o: BridgeOptions;
  #pool!: AddressPool;
  #endpoints = new Map<string, Endpoint>();
  #path: string;
  #queue: Promise<unknown> = Promise.resolve();
  /** Host ports handed out; a port the host already listens on is never given (it would be shadowed). */
  #ports = new PortAllocator({ inUse: (port, proto) => hostListens(port, proto) });

  constructor(o: BridgeOptions) {
    this.#o = o;
    this.#path = join(o.stateDir, 'bridge.json');
  }

  /** Namespace names: `berth<inst>-<id12>` (host-global, so unique per daemon instance). */
  #nsName(id: string): string { return `berth${this.#o.instance ? `-${this.#o.instance}` : ''}-${id.slice(0, 12)}`; }
  #hostIf(id: string): string { return `vb${id.slice(0, 12)}`; }

  get gateway(): string { return this.#pool.gatewayText; }
  get bridgeName(): string { return this.#o.bridge; }
  get subnet(): string { return this.#pool.subnetText; }

  /** Loads the state and makes sure the bridge exists with its gateway address. */
  async init(): Promise<void> {
    const saved = await readJson<State>(this.#path);
    if (saved && (!this.#o.bip || sameBip(this.#o.bip, saved.pool))) {
      this.#pool = AddressPool.restore(saved.pool);
      for (const [id, e] of Object.entries(saved.endpoints)) {
        this.#endpoints.set(id, e);
        for (const p of e.ports ?? []) this.#ports.reserve(p.proto, p.hostPort, p.hostIp);
      }
    } else {
      let subnet: string;
      let gateway: string;
      if (this.#o.bip) {
        const p = parseCidrParts(this.#o.bip);
        if (!p) throw invalid(`invalid --bip ${JSON.stringify(this.#o.bip)}: expected an address with a prefix, such as 172.17.0.1/16`);
        subnet = `${formatIPv4(p.base)}/${p.bits}`;
        gateway = formatIPv4(p.addr);
      } else {
        subnet = chooseSubnet(DEFAULT_ADDRESS_POOLS, [], await hostRoutes());
        gateway = formatIPv4(parseCidrParts(subnet)!.base + 1);
      }
      this.#pool = new AddressPool({ subnet, gateway });
    }
    await ensureBridge(this.#o.bridge, `${this.#pool.gatewayText}/${this.#pool.prefixLen}`);
    await this.#save();
    await this.#applyRules();
  }

  get table(): string { return `berth${this.#o.instance ? `-${this.#o.instance}` : ''}`; }

  /**
   * berth's whole nftables table, rendered from the endpoints and replaced in one `nft -f`
   * (the kernel keeps forwarding published ports while berthd is down or restarting).
   */
  async #applyRules(): Promise<void> {
    const state: RulesetState = {
      table: this.table,
      bridges: [{ name: this.#o.bridge, subnet: this.#pool.subnetText }],
      ports: [...this.#endpoints.values()].flatMap((e) => (e.ports ?? []).map((p) => ({
        proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: e.ip, containerPort: p.containerPort, bridge: this.#o.bridge,
      }))),
    };
    for (const sc of requiredSysctls(state)) {
      try { if (readFileSync(sc.path, 'utf8').trim() !== sc.value) writeFileSync(sc.path, sc.value); } catch { /* reported by the data path */ }
    }
    await applyRuleset(renderRuleset(state));
  }

  /** After the containers are known: endpoints and namespaces of containers not running go. */
  async reconcile(isRunning: (id: string) => boolean): Promise<void> {
    await this.#locked(() => this.#reconcile(isRunning));
  }

  async #reconcile(isRunning: (id: string) => boolean): Promise<void> {
    for (const [id, e] of [...this.#endpoints]) {
      if (isRunning(id)) continue;
      await deleteNetns(e.netns);
      this.#release(e);
      this.#endpoints.delete(id);
    }
    const mine = new Set([...this.#endpoints.keys()].map((id) => this.#nsName(id)));
    const prefix = `berth${this.#o.instance ? `-${this.#o.instance}` : ''}-`;
    for (const ns of await listNetns(prefix)) if (!mine.has(ns) && /-[0-9a-f]{12}$/.test(ns)) await deleteNetns(ns);
    await this.#save();
    await this.#applyRules();
  }

  async #save(): Promise<void> {
    await writeJsonAtomic(this.#path, { pool: this.#pool.serialize(), endpoints: Object.fromEntries(this.#endpoints) } satisfies State);
  }

  /** Serialised: IPAM and the state file are shared by every container start. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  endpoint(id: string): Endpoint | undefined { return this.#endpoints.get(id); }

  #release(e: Endpoint): void {
    this.#pool.release(e.ip);
    for (const p of e.ports ?? []) this.#ports.release(p.proto, p.hostPort, p.hostIp);
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
          if (hostIp.includes(':')) continue; // IPv6 bindings: not supported by the ip table yet
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

  async setUp(t: NetworkTarget): Promise<NetworkSetup> {
    const mode = t.hostConfig.NetworkMode || 'default';
    if (mode !== 'default' && mode !== 'bridge') return {};
    return this.#locked(async () => {
      const old = this.#endpoints.get(t.id);
      if (old) { await deleteNetns(old.netns); this.#release(old); this.#endpoints.delete(t.id); }
      const ns = this.#nsName(t.id);
      await deleteNetns(ns); // debris of a crash between namespace and state
      const { ports, portMap } = this.#publish(t);
      let ip: string;
      try { ip = this.#pool.allocate(); } catch (err) { for (const p of ports) this.#ports.release(p.proto, p.hostPort, p.hostIp); throw err; }
      const mac = (t.config.MacAddress as string | undefined) || macFromIPv4(ip);
      const e: Endpoint = { ip, prefixLen: this.#pool.prefixLen, gateway: this.#pool.gatewayText, mac, netns: ns, ports, portMap };
      try {
        await createNetns(ns);
        await attachVeth({ ns, hostIf: this.#hostIf(t.id), bridge: this.#o.bridge, address: `${ip}/${e.prefixLen}`, gateway: e.gateway, mac });
        this.#endpoints.set(t.id, e);
        await this.#save();
        if (ports.length) await this.#applyRules();
      } catch (err) {
        await deleteNetns(ns);
        this.#release(e);
        this.#endpoints.delete(t.id);
        if (ports.length) await this.#applyRules().catch(() => {});
        throw err;
      }
      return { netnsPath: `${NETNS_DIR}/${ns}`, endpoint: { network: 'bridge', ip, prefixLen: e.prefixLen, gateway: e.gateway, mac, portMap } };
    });
  }

  async tearDown(t: NetworkTarget): Promise<void> {
    await this.#locked(async () => {
      const e = this.#endpoints.get(t.id);
      if (!e) return;
      await deleteNetns(e.netns);
      this.#release(e);
      this.#endpoints.delete(t.id);
      await this.#save();
      if (e.ports?.length) await this.#applyRules();
    });
  }
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
