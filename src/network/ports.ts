// Published ports on the daemon side: port ranges and `80/tcp` keys, `-P`, the ephemeral
// host-port allocator, and `NetworkSettings.Ports`. Pure logic. (The `-p` spec parser is in
// common/port-spec.ts, shared by the CLI and compose; how ports are printed is the CLI's.)
import { EngineError, invalid } from '../common/errors.ts';
import { parsePortRange } from '../common/port-spec.ts';

export type Proto = 'tcp' | 'udp' | 'sctp';
export interface PortBinding { HostIp: string; HostPort: string }
/** `HostConfig.PortBindings` / `NetworkSettings.Ports` shape: `"80/tcp" → bindings` (null = exposed only). */
export type PortMap = Record<string, PortBinding[] | null>;
export type PortSet = Record<string, Record<string, never>>;

// ---------------------------------------------------------------------------------------------
// Parsing

export { parsePortRange };

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

const familyOf = (ip: string) => (ip.includes(':') ? 6 : 4);

/**
 * Whether bindings on two host addresses hold the same port: equal addresses; '' (every address
 * of both families) with anything; an unspecified address (0.0.0.0, ::) with its own family
 * only, as the kernel sees it (IPv6 sockets bind v6-only, as docker-proxy's do).
 */
function addressesClash(a: string, b: string): boolean {
  if (a === b || a === '' || b === '') return true;
  if (familyOf(a) !== familyOf(b)) return false;
  return a === '0.0.0.0' || a === '::' || b === '0.0.0.0' || b === '::';
}

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
 * Host ports handed to containers, per protocol. '' conflicts with every address on the same
 * port, an unspecified address (0.0.0.0, ::) with every address of its family; two specific
 * addresses conflict only if equal.
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
      for (const t of ips) if (addressesClash(t, hostIp)) return false;
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
// What inspect shows

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
