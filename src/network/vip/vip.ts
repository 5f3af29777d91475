// Service VIPs of swarm mode (issue 18): one virtual IPv4 address per service per network that
// load-balances new connections over the service's healthy running tasks, with nftables inside
// one network namespace (docs/swarm-vip.md says why nftables and not IPVS: this kernel has no
// IPVS, and nft is what berth already drives). The table is berth's own (`table ip <name>`) in
// the namespace given; nothing else in that namespace is touched.
//
// What the table does:
// - nat output (connections the namespace itself opens: a container's netns) and nat prerouting
//   (connections routed through it: a load-balancer or ingress namespace) jump to `services`, which matches a VIP
//   (and its ports, or everything) and jumps to the VIP's chain: `dnat to numgen inc mod N map
//   { 0 : b0, 1 : b1, ... }`, round robin like Docker's IPVS default scheduler. NAT chains see only
//   a connection's first packet; conntrack keeps every later packet on the backend chosen then.
//   The port is kept (VIP:80 → task:80), as Docker's VIP does (the task's TargetPort).
// - with `masquerade` (a load-balancer namespace that clients' connections are routed through, as
//   Docker's per-network `lb-<network>` sandbox which owns the VIP as an address): nat postrouting
//   masquerades balanced connections, so the backend answers this namespace, which undoes the DNAT.
//   In a client's own namespace (output hook) it is not needed: the answer comes back to the client.
// - filter output, input and forward reject whatever still goes to a VIP after NAT: a service with
//   no backends, or a port the service does not expose. TCP gets a reset and the rest an ICMP port
//   unreachable, so a client sees "connection refused" at once instead of waiting on an address
//   that nobody owns (no ARP answer: a hang until the connect times out).
//
// Every update renders the whole table and applies it with one `nft -f -` in the namespace (the
// file makes the table exist, deletes it and defines it again: one transaction, no window without
// rules, no stale rule after a crash). Connections already established keep their backend: a
// removed backend's connections go on while it lives and fail when it goes away (docs/swarm-vip.md).
//
// Worked lifecycle (the lead decides which namespace holds the table; docs/swarm-vip.md weighs both):
//   const t = await VipTable.create('/run/netns/berth-lb-1a2b', 'berth-vip', { masquerade: true }); // empty table
//   await t.setService('10.0.1.2', [{ protocol: 'tcp', port: 80 }], ['10.0.1.5', '10.0.1.6']);
//   await t.setService('10.0.1.2', [{ protocol: 'tcp', port: 80 }], ['10.0.1.6']);  // task unhealthy
//   await t.setService('10.0.1.2', 'all', []);     // no task running: connections refused
//   await t.removeService('10.0.1.2');            // service removed from the network
//   await t.destroy();                            // network gone from this namespace: no table left
// setService/removeService of the same state twice applies the same rules again (harmless); calls are serialized, and a
// failed apply leaves both the kernel and the object's state as they were.
import { conflict, invalid, system } from '../../common/errors.ts';
import { run } from '../../sys/index.ts';
import { parseIPv4 } from '../ipam.ts';
import { checkTableName } from '../nft.ts';

export type VipProtocol = 'tcp' | 'udp' | 'sctp';
export interface VipPort { protocol: VipProtocol; port: number }

export interface VipService {
  /** The virtual IP (IPv4). */
  vip: string;
  /** The ports that are balanced, or 'all' (every protocol and port sent to the VIP). */
  ports: VipPort[] | 'all';
  /** The backends' addresses (IPv4), the healthy running tasks; empty = refused. */
  backends: string[];
}

export interface VipState {
  table: string;
  services: VipService[];
  /** Masquerade balanced connections (source = this namespace's address toward the backend). For
   *  a table in a load-balancer namespace that connections are routed through: without it a
   *  backend would answer the client directly, around the conntrack entry that undoes the DNAT. */
  masquerade?: boolean;
}

const PROTOCOLS = new Set<string>(['tcp', 'udp', 'sctp']);

/** An IPv4 address in its canonical dotted form; throws a Docker-like error otherwise. */
function ipv4(s: string, what: string): string {
  const n = typeof s === 'string' ? parseIPv4(s) : undefined;
  if (n === undefined) throw invalid(`invalid ${what}: ${JSON.stringify(s)}`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Ports sorted and deduplicated, or 'all'; throws on a bad protocol or port. */
export function normalizePorts(ports: VipPort[] | 'all'): VipPort[] | 'all' {
  if (ports === 'all') return 'all';
  if (!Array.isArray(ports)) throw invalid('invalid VIP ports: want a list or "all"');
  const seen = new Map<string, VipPort>();
  for (const p of ports) {
    if (!p || !PROTOCOLS.has(p.protocol)) throw invalid(`invalid VIP protocol: ${JSON.stringify(p?.protocol)}`);
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw invalid(`invalid VIP port: ${JSON.stringify(p.port)}`);
    seen.set(`${p.protocol}/${p.port}`, { protocol: p.protocol, port: p.port });
  }
  return [...seen.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

/** A service checked and in canonical form (addresses normalized, backends deduplicated and sorted). */
export function normalizeService(s: VipService): VipService {
  const vip = ipv4(s.vip, 'VIP');
  const ports = normalizePorts(s.ports);
  if (!Array.isArray(s.backends)) throw invalid('invalid VIP backends: want a list of addresses');
  const backends = [...new Set(s.backends.map((b) => ipv4(b, 'VIP backend')))].sort((a, b) => parseIPv4(a)! - parseIPv4(b)!);
  if (backends.includes(vip)) throw invalid(`VIP ${vip} cannot be its own backend`);
  return { vip, ports, backends };
}

function chainOf(vip: string): string { return `vip-${vip.replaceAll('.', '-')}`; }

function match(s: VipService): string {
  if (s.ports === 'all') return `ip daddr ${s.vip}`;
  if (!s.ports.length) throw invalid(`VIP ${s.vip} has no ports`);
  return `ip daddr ${s.vip} meta l4proto . th dport { ${s.ports.map((p) => `${p.protocol} . ${p.port}`).join(', ')} }`;
}

/** Renders the whole table for `nft -f`. Pure; throws on values that are not safe to render. */
export function renderVipTable(state: VipState): string {
  const t = checkTableName(state.table);
  const services = state.services.map(normalizeService).sort((a, b) => parseIPv4(a.vip)! - parseIPv4(b.vip)!);
  for (let i = 1; i < services.length; i++) {
    if (services[i].vip === services[i - 1].vip) throw invalid(`duplicate VIP ${services[i].vip}`);
  }
  const vips = new Set(services.map((s) => s.vip));
  for (const s of services) {
    for (const b of s.backends) if (vips.has(b)) throw invalid(`VIP backend ${b} is itself a VIP`);
  }
  const L: string[] = [];
  L.push(`# berth service VIPs, table ip ${t}: generated, applied atomically with nft -f`);
  L.push(`table ip ${t}`);
  L.push(`delete table ip ${t}`);
  L.push(`table ip ${t} {`);
  L.push('\tset vips {', '\t\ttype ipv4_addr');
  if (services.length) L.push(`\t\telements = { ${services.map((s) => s.vip).join(', ')} }`);
  L.push('\t}', '');
  L.push('\tchain services {');
  for (const s of services) {
    if (s.backends.length) L.push(`\t\t${match(s)} jump ${chainOf(s.vip)}`);
  }
  L.push('\t}', '');
  for (const s of services) {
    if (!s.backends.length) continue;
    L.push(`\tchain ${chainOf(s.vip)} {`);
    if (s.backends.length === 1) L.push(`\t\tdnat to ${s.backends[0]}`);
    else L.push(`\t\tdnat to numgen inc mod ${s.backends.length} map { ${s.backends.map((b, i) => `${i} : ${b}`).join(', ')} }`);
    L.push('\t}', '');
  }
  L.push('\tchain nat-output {');
  L.push('\t\ttype nat hook output priority -100; policy accept;');
  L.push('\t\tjump services');
  L.push('\t}', '');
  L.push('\tchain nat-prerouting {');
  L.push('\t\ttype nat hook prerouting priority dstnat; policy accept;');
  L.push('\t\tjump services');
  L.push('\t}', '');
  if (state.masquerade) {
    L.push('\tchain nat-postrouting {');
    L.push('\t\ttype nat hook postrouting priority srcnat; policy accept;');
    L.push('\t\tct original ip daddr @vips ct status dnat masquerade comment "answers come back through this namespace"');
    L.push('\t}', '');
  }
  L.push('\t# After NAT a balanced connection no longer goes to its VIP: what still does has no backend');
  L.push('\t# (or is for a port the service does not expose) and is refused rather than left to hang.');
  L.push('\tchain refuse {');
  L.push('\t\tip daddr @vips meta l4proto tcp reject with tcp reset');
  L.push('\t\tip daddr @vips reject');
  L.push('\t}', '');
  for (const hook of ['output', 'input', 'forward']) {
    L.push(`\tchain filter-${hook} {`);
    L.push(`\t\ttype filter hook ${hook} priority filter; policy accept;`);
    L.push('\t\tjump refuse');
    L.push('\t}');
  }
  L.push('}');
  return L.join('\n') + '\n';
}

/** The file that removes the table (`table` first, so a missing table is not an error). */
export function renderVipDelete(table: string): string {
  const t = checkTableName(table);
  return `table ip ${t}\ndelete table ip ${t}\n`;
}

function checkNetnsPath(p: string): string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) throw invalid(`invalid network namespace path: ${JSON.stringify(p)}`);
  return p;
}

export interface VipTableOptions {
  /** See VipState.masquerade: true for a load-balancer namespace traffic is routed through. */
  masquerade?: boolean;
  nft?: string;
  nsenter?: string;
}

/** berth's VIP table in one network namespace. See the worked lifecycle at the top of this file. */
export class VipTable {
  private services = new Map<string, VipService>();
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;

  private constructor(readonly netnsPath: string, readonly name: string, private readonly opts: VipTableOptions) {}

  /** Creates the table (empty: every VIP unknown) in the namespace at `netnsPath`, replacing any table of that name left by an earlier run. */
  static async create(netnsPath: string, name: string, opts: VipTableOptions = {}): Promise<VipTable> {
    const t = new VipTable(checkNetnsPath(netnsPath), checkTableName(name), opts);
    await t.apply(t.render([]));
    return t;
  }

  /** The services as last applied (canonical form). */
  list(): VipService[] { return [...this.services.values()].map((s) => ({ ...s, ports: s.ports === 'all' ? 'all' : [...s.ports], backends: [...s.backends] })); }

  /** Adds or replaces the VIP's service: its ports (or 'all') and its backends (empty = refused). */
  setService(vip: string, ports: VipPort[] | 'all', backends: string[]): Promise<void> {
    const s = normalizeService({ vip, ports, backends });
    return this.update((m) => { m.set(s.vip, s); });
  }

  /** Replaces every service at once (one apply): the node's view of the cluster changed. */
  setAll(services: VipService[]): Promise<void> {
    const list = services.map(normalizeService);
    return this.update((m) => { m.clear(); for (const s of list) m.set(s.vip, s); });
  }

  /** Removes the VIP's service; traffic to the VIP is then not this table's business. Removing an unknown VIP is a no-op. */
  removeService(vip: string): Promise<void> {
    const v = ipv4(vip, 'VIP');
    return this.update((m) => { m.delete(v); });
  }

  /** Deletes the table from the namespace (a table already gone, or a namespace already gone, is not an error). */
  destroy(): Promise<void> {
    return this.serial(async () => {
      this.destroyed = true;
      this.services.clear();
      const r = await this.nft(renderVipDelete(this.name), true);
      if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) {
        throw system(`deleting VIP table ${this.name}: ${r.stderr.trim()}`);
      }
    });
  }

  private update(change: (m: Map<string, VipService>) => void): Promise<void> {
    return this.serial(async () => {
      if (this.destroyed) throw conflict(`VIP table ${this.name} was destroyed`);
      const next = new Map(this.services);
      change(next);
      await this.apply(this.render([...next.values()]));
      this.services = next;
    });
  }

  private render(services: VipService[]): string {
    return renderVipTable({ table: this.name, services, masquerade: !!this.opts.masquerade });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  private async apply(text: string): Promise<void> {
    await this.nft(text, false);
  }

  private nft(text: string, allowFail: boolean) {
    // nsenter switches only the network namespace (not the mount namespace, unlike `ip netns exec`).
    return run(this.opts.nsenter ?? 'nsenter', [`--net=${this.netnsPath}`, '--', this.opts.nft ?? 'nft', '-f', '-'], { input: text, allowFail });
  }
}

/** One published port of the routing mesh, as the ingress sandbox balances it. */
export interface IngressRule { protocol: VipProtocol; published: number; target: number; backends: string[] }

/**
 * The ingress sandbox's table (the routing mesh): a connection the node's published port sent here
 * (host DNAT to this namespace's docker_gwbridge address, port kept) is balanced round robin over
 * the service's tasks' ingress addresses at their target port, and masqueraded to this
 * namespace's ingress address so the task answers through here, wherever it runs. A published
 * port without a running task is refused (TCP reset), as Docker's IPVS does with no real server.
 *   renderIngressTable('berth-ingress', [{ protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.5', '10.0.0.6'] }])
 *   → ... tcp dport 8080 dnat to numgen inc mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 } : 80 ...
 */
export function renderIngressTable(table: string, rules: IngressRule[]): string {
  const t = checkTableName(table);
  const L: string[] = [`table ip ${t}`, `delete table ip ${t}`, `table ip ${t} {`];
  L.push('\tchain nat-prerouting {', '\t\ttype nat hook prerouting priority dstnat; policy accept;');
  const refused: string[] = [];
  for (const r of rules) {
    if (!PROTOCOLS.has(r.protocol)) throw invalid(`invalid ingress protocol: ${JSON.stringify(r.protocol)}`);
    for (const port of [r.published, r.target]) if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid ingress port: ${JSON.stringify(port)}`);
    const backends = [...new Set(r.backends.map((b) => ipv4(b, 'ingress backend')))];
    if (!backends.length) { refused.push(`${r.protocol} dport ${r.published}`); continue; }
    const to = backends.length === 1 ? backends[0] : `numgen inc mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${b}`).join(', ')} }`;
    L.push(`\t\t${r.protocol} dport ${r.published} dnat to ${to} : ${r.target}`);
  }
  L.push('\t}', '');
  L.push('\tchain nat-postrouting {', '\t\ttype nat hook postrouting priority srcnat; policy accept;');
  L.push('\t\tct status dnat masquerade');
  L.push('\t}', '');
  // The overlay's MTU is smaller than the node's: SYNs forwarded into it carry an MSS that fits.
  L.push('\tchain mangle-forward {', '\t\ttype filter hook forward priority mangle; policy accept;');
  L.push('\t\ttcp flags syn tcp option maxseg size set rt mtu');
  L.push('\t}', '');
  L.push('\tchain filter-input {', '\t\ttype filter hook input priority filter; policy accept;');
  for (const m of refused) L.push(`\t\t${m} ${m.startsWith('tcp') ? 'reject with tcp reset' : 'reject'}`);
  L.push('\t}', '}');
  return L.join('\n') + '\n';
}

/** Applies the ingress table in the namespace at `netnsPath` (replacing it whole). */
export async function applyIngressTable(netnsPath: string, table: string, rules: IngressRule[]): Promise<void> {
  await run('nsenter', [`--net=${checkNetnsPath(netnsPath)}`, '--', 'nft', '-f', '-'], { input: renderIngressTable(table, rules) });
}
