// Published ports: Docker's `-p` spec parsing (go-connections nat.ParsePortSpec), the ephemeral
// host-port allocator, and the ways docker prints ports (`NetworkSettings.Ports`, the `Ports`
// list of `/containers/json`, the `PORTS` column of `ps`, and `docker port`). Pure logic.
import { EngineError, invalid } from '../common/errors.ts';
import { parseIPv4 } from './ipam.ts';

export type Proto = 'tcp' | 'udp' | 'sctp';
export interface PortBinding { HostIp: string; HostPort: string }
/** `HostConfig.PortBindings` / `NetworkSettings.Ports` shape: `"80/tcp" → bindings` (null = exposed only). */
export type PortMap = Record<string, PortBinding[] | null>;
export type PortSet = Record<string, Record<string, never>>;

export interface PortMapping { port: string; binding: PortBinding }

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parses `80` or `8000-8010` into [start, end]; undefined when invalid. */
export function parsePortRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) return undefined;
  return [a, b];
}

/** A loose IPv6 syntax check (hex groups, at most one `::`, optional trailing dotted quad). */
export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  let groups = s.split(':').filter((g) => g !== '');
  let count = groups.length;
  const lastG = groups[groups.length - 1];
  if (lastG !== undefined && lastG.includes('.')) {
    if (parseIPv4(lastG) === undefined) return false;
    groups = groups.slice(0, -1);
    count += 1;
  }
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  if (dbl.length === 2) return count <= 7;
  return count === 8 && !s.startsWith(':') && !s.endsWith(':');
}

export function isIP(s: string): boolean { return parseIPv4(s) !== undefined || isIPv6(s); }

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]];
  if (n === 2) return ['', parts[0], parts[1]];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], parts[n - 1]];
}

/**
 * Parses one `-p` spec: `[ip:][hostPort:]containerPort[/proto]`, ranges on both sides, IPv6
 * host addresses in brackets. Error texts are the docker CLI's (go-connections nat).
 * `-p 80` gives an empty HostPort (the daemon picks an ephemeral port); a single container
 * port with a host range keeps the range as HostPort (`8000-8010`): the daemon picks in it.
 */
export function parsePortSpec(raw: string): PortMapping[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1) || 'tcp';
    containerPort = containerPort.slice(0, slash);
  }
  if (containerPort === '') throw invalid(`no port specified: ${raw}<empty>`);
  proto = proto.toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalid(`invalid proto: ${proto}`);
  if (ip !== '' && ip[0] === '[') {
    const m = /^\[([^\]]*)\]$/.exec(ip);
    if (!m) throw invalid(`invalid IP address ${ip}: address ${ip}: missing ']' in address`);
    ip = m[1];
  }
  if (ip !== '' && !isIP(ip)) throw invalid(`invalid IP address: ${ip}`);
  const cr = parsePortRange(containerPort);
  if (!cr) throw invalid(`invalid containerPort: ${containerPort}`);
  let hr: [number, number] = [0, 0];
  if (hostPort !== '') {
    const r = parsePortRange(hostPort);
    if (!r) throw invalid(`invalid hostPort: ${hostPort}`);
    hr = r;
    // Lengths must match, unless the container side is one port (then the host range is where
    // the daemon picks a free port).
    if (cr[1] - cr[0] !== hr[1] - hr[0] && cr[1] !== cr[0]) {
      throw invalid(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const count = cr[1] - cr[0] + 1;
  const out: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    let hp = '';
    if (hostPort !== '') {
      hp = String(hr[0] + i);
      if (count === 1 && hr[0] !== hr[1]) hp += `-${hr[1]}`;
    }
    out.push({ port: `${cr[0] + i}/${proto}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** Parses all `-p` specs into Docker's `ExposedPorts` and `PortBindings` (nat.ParsePortSpecs). */
export function parsePortSpecs(specs: readonly string[]): { exposedPorts: PortSet; portBindings: Record<string, PortBinding[]> } {
  const exposedPorts: PortSet = {};
  const portBindings: Record<string, PortBinding[]> = {};
  for (const s of specs) {
    for (const m of parsePortSpec(s)) {
      exposedPorts[m.port] = {};
      (portBindings[m.port] ??= []).push(m.binding);
    }
  }
  return { exposedPorts, portBindings };
}

/** Splits `80/tcp` (proto defaults to tcp). */
export function splitProtoPort(key: string): { port: number; proto: Proto } {
  const [p, pr] = key.split('/');
  const proto = (pr || 'tcp').toLowerCase();
  const port = Number(p);
  if (!/^\d+$/.test(p) || port > 65535) throw invalid(`invalid containerPort: ${p}`);
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalid(`invalid proto: ${proto}`);
  return { port, proto };
}

/**
 * `-P`: every exposed port gets a binding with an empty host port (ephemeral), unless it is
 * already bound explicitly.
 */
export function publishAllBindings(exposed: PortSet | readonly string[], bindings: Record<string, PortBinding[]> = {}): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = { ...bindings };
  const keys = Array.isArray(exposed) ? exposed : Object.keys(exposed);
  for (const k of keys) if (!out[k] || out[k].length === 0) out[k] = [{ HostIp: '', HostPort: '' }];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ephemeral host ports

export const DEFAULT_EPHEMERAL_START = 49153;
export const DEFAULT_EPHEMERAL_END = 60999;

function isUnspecified(ip: string): boolean { return ip === '' || ip === '0.0.0.0' || ip === '::'; }

/** Docker's text when a host port is taken. */
export function portAllocatedMessage(hostIp: string, port: number): string {
  const ip = hostIp === '' ? '0.0.0.0' : hostIp;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `Bind for ${host}:${port} failed: port is already allocated`;
}

export interface PortAllocatorOptions {
  start?: number;
  end?: number;
  /** Ports never picked for ephemeral/range bindings, e.g. those the host listens on (see parseProcNetPorts). */
  inUse?: (port: number, proto: Proto, hostIp: string) => boolean;
}

/**
 * Host ports handed to containers, per protocol. An unspecified host address (0.0.0.0, ::, '')
 * conflicts with every address on the same port; two specific addresses conflict only if equal.
 * Ephemeral allocation is sequential from the last port given and wraps in the range.
 */
export class PortAllocator {
  readonly start: number;
  readonly end: number;
  private readonly inUse?: PortAllocatorOptions['inUse'];
  private readonly taken = new Map<string, Set<string>>(); // `${proto}/${port}` → host IPs
  private readonly last = new Map<string, number>();

  constructor(o: PortAllocatorOptions = {}) {
    this.start = o.start ?? DEFAULT_EPHEMERAL_START;
    this.end = o.end ?? DEFAULT_EPHEMERAL_END;
    if (!(this.start >= 1 && this.end <= 65535 && this.start <= this.end)) {
      throw invalid(`invalid port range: ${this.start}-${this.end}`);
    }
    this.inUse = o.inUse;
  }

  /** Not given to another container on a conflicting address. */
  isFree(proto: Proto, port: number, hostIp = ''): boolean {
    const ips = this.taken.get(`${proto}/${port}`);
    if (ips) {
      for (const t of ips) if (t === hostIp || isUnspecified(t) || isUnspecified(hostIp)) return false;
    }
    return true;
  }

  /**
   * Claims a specific port; throws Docker's `port is already allocated` when a container has it.
   * (A host process holding it is found when the port is bound, as Docker finds it.)
   */
  reserve(proto: Proto, port: number, hostIp = ''): number {
    if (!this.isFree(proto, port, hostIp)) throw new EngineError('Conflict', portAllocatedMessage(hostIp, port));
    const k = `${proto}/${port}`;
    if (!this.taken.has(k)) this.taken.set(k, new Set());
    this.taken.get(k)!.add(hostIp);
    return port;
  }

  /**
   * Picks a free port in [start, end] (default: the ephemeral range), sequentially after the
   * last one given for this protocol. Throws Docker's texts when none is free.
   */
  allocate(proto: Proto, hostIp = '', range?: [number, number]): number {
    const [lo, hi] = range ?? [this.start, this.end];
    const size = hi - lo + 1;
    const lastKey = range ? `${proto}/${lo}-${hi}` : proto;
    const prev = this.last.get(lastKey);
    const from = prev !== undefined && prev >= lo && prev < hi ? prev + 1 : lo;
    for (let i = 0; i < size; i++) {
      let p = from + i;
      if (p > hi) p -= size;
      if (!this.isFree(proto, p, hostIp) || this.inUse?.(p, proto, hostIp)) continue;
      this.reserve(proto, p, hostIp);
      this.last.set(lastKey, p);
      return p;
    }
    if (range) throw new EngineError('Conflict', portAllocatedMessage(hostIp, lo));
    throw new EngineError('Unavailable', 'all ports are allocated');
  }

  /**
   * Resolves one binding's HostPort: '' → ephemeral, `8000-8010` → first free in the range,
   * `8080` → exactly that port.
   */
  allocateBinding(proto: Proto, b: PortBinding): number {
    const hp = b.HostPort ?? '';
    if (hp === '' || hp === '0') return this.allocate(proto, b.HostIp ?? '');
    const r = parsePortRange(hp);
    if (!r) throw invalid(`invalid hostPort: ${hp}`);
    if (r[0] === r[1]) return this.reserve(proto, r[0], b.HostIp ?? '');
    return this.allocate(proto, b.HostIp ?? '', r);
  }

  release(proto: Proto, port: number, hostIp = ''): void {
    const k = `${proto}/${port}`;
    const s = this.taken.get(k);
    if (!s) return;
    s.delete(hostIp);
    if (s.size === 0) this.taken.delete(k);
  }
}

/**
 * Local ports in use from `/proc/net/{tcp,tcp6,udp,udp6}` text: listening TCP sockets (state 0A)
 * and bound UDP sockets (state 07). For the allocator's `inUse` check.
 */
export function parseProcNetPorts(text: string, proto: 'tcp' | 'udp'): Set<number> {
  const out = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[1];
    const state = f[3];
    if (proto === 'tcp' && state !== '0A') continue;
    if (proto === 'udp' && state !== '07') continue;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isFinite(port) && port > 0) out.add(port);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Display

/** One entry of `/containers/json` `Ports`. */
export interface PortSummary { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/**
 * `NetworkSettings.Ports` from the exposed ports and the actual bindings (host ports resolved):
 * exposed-only ports map to null. Keys sorted by port then protocol.
 */
export function networkSettingsPorts(exposed: PortSet | readonly string[], bound: Record<string, PortBinding[]>): PortMap {
  const keys = new Set<string>([...(Array.isArray(exposed) ? exposed : Object.keys(exposed)), ...Object.keys(bound)]);
  const sorted = [...keys].sort((a, b) => {
    const pa = splitProtoPort(a);
    const pb = splitProtoPort(b);
    return pa.port - pb.port || (pa.proto < pb.proto ? -1 : pa.proto > pb.proto ? 1 : 0);
  });
  const out: PortMap = {};
  for (const k of sorted) {
    const b = bound[k];
    out[k] = b && b.length ? b.map((x) => ({ HostIp: x.HostIp, HostPort: x.HostPort })) : null;
  }
  return out;
}

/** `/containers/json` `Ports` from `NetworkSettings.Ports`. */
export function portSummaries(ports: PortMap): PortSummary[] {
  const out: PortSummary[] = [];
  for (const [k, bindings] of Object.entries(ports)) {
    const { port, proto } = splitProtoPort(k);
    if (!bindings || bindings.length === 0) { out.push({ PrivatePort: port, Type: proto }); continue; }
    for (const b of bindings) {
      const pub = Number(b.HostPort);
      const s: PortSummary = { PrivatePort: port, Type: proto };
      if (b.HostIp !== '') s.IP = b.HostIp;
      if (b.HostPort !== '' && Number.isInteger(pub)) s.PublicPort = pub;
      out.push(s);
    }
  }
  return out;
}

/** Bytes of an address for ordering as Go's netip.Addr.Less: no address < IPv4 < IPv6. */
function ipOrderKey(ip: string | undefined): [number, number[]] {
  if (!ip) return [0, []];
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return [1, [v4]];
  return [2, expandIPv6(ip)];
}

function expandIPv6(ip: string): number[] {
  let s = ip;
  let tail: number[] = [];
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const n = parseIPv4(m[2]) ?? 0;
    tail = [n >>> 16, n & 0xffff];
    s = m[1].endsWith('::') ? m[1] : m[1].slice(0, -1);
  }
  const parse = (x: string): number[] => (x === '' ? [] : x.split(':').map((g) => parseInt(g, 16)));
  if (!s.includes('::')) return [...parse(s), ...tail];
  const [h, r] = s.split('::');
  const hh = parse(h);
  const rr = parse(r);
  return [...hh, ...Array(Math.max(0, 8 - tail.length - hh.length - rr.length)).fill(0), ...rr, ...tail];
}

/** Natural order (digit runs compared as numbers), as docker's sortorder.NaturalLess. */
export function naturalCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

function compareIp(a: string | undefined, b: string | undefined): number {
  const [fa, ba] = ipOrderKey(a);
  const [fb, bb] = ipOrderKey(b);
  if (fa !== fb) return fa - fb;
  for (let i = 0; i < Math.max(ba.length, bb.length); i++) {
    const d = (ba[i] ?? 0) - (bb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

export interface DisplayOptions {
  /**
   * Bracket IPv6 host addresses (`[::]:8080->80/tcp`), as docker CLI 23 and later print them.
   * false gives the docker 20.10 form (`:::8080->80/tcp`).
   */
  bracketIPv6?: boolean;
}

function joinHostPort(ip: string, port: string, o: DisplayOptions): string {
  return ip.includes(':') && o.bracketIPv6 !== false ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The `PORTS` column of `ps` (docker CLI DisplayablePorts): sorted by private port, address,
 * public port and protocol; runs of consecutive ports published one-to-one on the same address
 * (or exposed only) collapse into ranges; other mappings follow. `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp`.
 */
export function displayablePorts(ports: readonly PortSummary[], o: DisplayOptions = {}): string {
  const sorted = [...ports].sort((a, b) =>
    a.PrivatePort - b.PrivatePort || compareIp(a.IP, b.IP) || (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || (a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0));
  const groups = new Map<string, { first: number; last: number; ip: string; type: string }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const form = (g: { first: number; last: number; ip: string; type: string }): string => {
    let s = String(g.first);
    if (g.first !== g.last) s += `-${g.last}`;
    if (g.ip !== '') s = `${joinHostPort(g.ip, s, o)}->${s}`;
    return `${s}/${g.type}`;
  };
  for (const p of sorted) {
    const cur = p.PrivatePort;
    let key = p.Type;
    const ip = p.IP ?? '';
    if (ip !== '') {
      if ((p.PublicPort ?? 0) !== cur) {
        hostMappings.push(`${joinHostPort(ip, String(p.PublicPort ?? 0), o)}->${cur}/${p.Type}`);
        continue;
      }
      key = `${ip}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) { groups.set(key, { first: cur, last: cur, ip, type: p.Type }); continue; }
    if (cur === g.last + 1) { g.last = cur; continue; }
    result.push(form(g));
    // Docker replaces the group (its key keeps its first-seen position for the final flush).
    groups.set(key, { first: cur, last: cur, ip, type: p.Type });
  }
  for (const g of groups.values()) result.push(form(g));
  return [...result, ...hostMappings].join(', ');
}

/**
 * `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` lines. With a filter: only the host addresses
 * (`0.0.0.0:8080`); without: `80/tcp -> 0.0.0.0:8080` for every binding, sorted as docker does.
 * Throws Docker's `No public port '80/tcp' published for NAME` when a filter matches nothing.
 */
export function formatPortCommand(ports: PortMap, filter?: string, containerName = '', o: DisplayOptions = {}): string[] {
  if (filter !== undefined) {
    const key = filter.includes('/') ? filter.toLowerCase() : `${filter}/tcp`;
    const { port, proto } = splitProtoPort(key);
    const b = ports[`${port}/${proto}`];
    if (!b || b.length === 0) throw new EngineError('NotFound', `No public port '${port}/${proto}' published for ${containerName}`);
    return b.map((x) => joinHostPort(x.HostIp === '' ? '0.0.0.0' : x.HostIp, x.HostPort, o));
  }
  const lines: string[] = [];
  for (const [k, b] of Object.entries(ports)) {
    for (const x of b ?? []) lines.push(`${k} -> ${joinHostPort(x.HostIp === '' ? '0.0.0.0' : x.HostIp, x.HostPort, o)}`);
  }
  return lines.sort(naturalCompare);
}
