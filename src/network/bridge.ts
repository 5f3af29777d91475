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

export interface Endpoint { ip: string; prefixLen: number; gateway: string; mac: string; netns: string }

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

  constructor(o: BridgeOptions) {
    this.#o = o;
    this.#path = join(o.stateDir, 'bridge.json');
  }

  /** Namespace names: `berth<inst>-<id12>` (host-global, so unique per daemon instance). */
  #nsName(id: string): string { return `berth${this.#o.instance ? `-${this.#o.instance}` : ''}-${id.slice(0, 12)}`; }
  #hostIf(id: string): string { return `vb${id.slice(0, 12)}`; }

  get gateway(): string { return this.#pool.gatewayText; }
  get subnet(): string { return this.#pool.subnetText; }

  /** Loads the state and makes sure the bridge exists with its gateway address. */
  async init(): Promise<void> {
    const saved = await readJson<State>(this.#path);
    if (saved && (!this.#o.bip || sameBip(this.#o.bip, saved.pool))) {
      this.#pool = AddressPool.restore(saved.pool);
      for (const [id, e] of Object.entries(saved.endpoints)) this.#endpoints.set(id, e);
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
  }

  /** After the containers are known: endpoints and namespaces of containers not running go. */
  async reconcile(isRunning: (id: string) => boolean): Promise<void> {
    await this.#locked(() => this.#reconcile(isRunning));
  }

  async #reconcile(isRunning: (id: string) => boolean): Promise<void> {
    for (const [id, e] of [...this.#endpoints]) {
      if (isRunning(id)) continue;
      await deleteNetns(e.netns);
      this.#pool.release(e.ip);
      this.#endpoints.delete(id);
    }
    const mine = new Set([...this.#endpoints.keys()].map((id) => this.#nsName(id)));
    const prefix = `berth${this.#o.instance ? `-${this.#o.instance}` : ''}-`;
    for (const ns of await listNetns(prefix)) if (!mine.has(ns) && /-[0-9a-f]{12}$/.test(ns)) await deleteNetns(ns);
    await this.#save();
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

  async setUp(t: NetworkTarget): Promise<NetworkSetup> {
    const mode = t.hostConfig.NetworkMode || 'default';
    if (mode !== 'default' && mode !== 'bridge') return {};
    return this.#locked(async () => {
      const old = this.#endpoints.get(t.id);
      if (old) { await deleteNetns(old.netns); this.#pool.release(old.ip); this.#endpoints.delete(t.id); }
      const ns = this.#nsName(t.id);
      await deleteNetns(ns); // debris of a crash between namespace and state
      const ip = this.#pool.allocate();
      const mac = (t.config.MacAddress as string | undefined) || macFromIPv4(ip);
      const e: Endpoint = { ip, prefixLen: this.#pool.prefixLen, gateway: this.#pool.gatewayText, mac, netns: ns };
      try {
        await createNetns(ns);
        await attachVeth({ ns, hostIf: this.#hostIf(t.id), bridge: this.#o.bridge, address: `${ip}/${e.prefixLen}`, gateway: e.gateway, mac });
        this.#endpoints.set(t.id, e);
        await this.#save();
      } catch (err) {
        await deleteNetns(ns);
        this.#pool.release(ip);
        this.#endpoints.delete(t.id);
        throw err;
      }
      return { netnsPath: `${NETNS_DIR}/${ns}`, endpoint: { network: 'bridge', ...e } };
    });
  }

  async tearDown(t: NetworkTarget): Promise<void> {
    await this.#locked(async () => {
      const e = this.#endpoints.get(t.id);
      if (!e) return;
      await deleteNetns(e.netns);
      this.#pool.release(e.ip);
      this.#endpoints.delete(t.id);
      await this.#save();
    });
  }
}

function sameBip(bip: string, s: AddressPoolState): boolean {
  const p = parseCidrParts(bip);
  return !!p && `${formatIPv4(p.base)}/${p.bits}` === s.subnet && formatIPv4(p.addr) === s.gateway;
}
