// Address management for berth's bridge networks, modelled on Docker's default local IPAM
// (libnetwork ipams/defaultipam): default address pools, subnet choice that avoids existing
// networks and the host's routed subnets, per-network sequential allocation with wrap-around,
// and Docker's error texts. IPv4 first; IPv6 subnets (EnableIPv6 networks) alongside, their
// addresses as bigints, with Docker 27's default pool: /64s of a ULA /48 derived from the
// daemon's ID. Pure logic: the caller reads `ip -j route` and persists `serialize()`.
import { createHash } from 'node:crypto';
import { EngineError, invalid } from '../common/errors.ts';
import type { IpamConfig } from '../api/types/network.ts';

// ---------------------------------------------------------------------------------------------
// Addresses and CIDRs

/** An IPv4 prefix: `base` is the masked network address as an unsigned 32-bit number. */
export interface Cidr { base: number; bits: number }

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address (no leading zeros, as Go's netip); undefined if invalid. */
export function parseIPv4(s: string): number | undefined {
  const m = IPV4_RE.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i];
    if (part.length > 1 && part[0] === '0') return undefined;
    const v = Number(part);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIPv4(s: string): boolean { return parseIPv4(s) !== undefined; }

function maskOf(bits: number): number { return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0; }

/**
 * Parses `a.b.c.d/n`. `addr` keeps the address as written; `base` is masked. Returns undefined
 * for anything that is not a valid IPv4 CIDR.
 */
export function parseCidrParts(s: string): { addr: number; base: number; bits: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIPv4(s.slice(0, slash));
  const b = s.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9]\d?)$/.test(b)) return undefined;
  const bits = Number(b);
  if (bits > 32) return undefined;
  return { addr, base: (addr & maskOf(bits)) >>> 0, bits };
}

/** Parses a CIDR, masking host bits (as net.ParseCIDR's IPNet). Throws `invalid CIDR address: s`. */
export function parseCidr(s: string): Cidr {
  const p = parseCidrParts(s);
  if (!p) throw invalid(`invalid CIDR address: ${s}`);
  return { base: p.base, bits: p.bits };
}

export function formatCidr(c: Cidr): string { return `${formatIPv4(c.base)}/${c.bits}`; }

/** Number of addresses in the prefix. */
export function cidrSize(c: Cidr): number { return 2 ** (32 - c.bits); }
export function cidrLast(c: Cidr): number { return c.base + cidrSize(c) - 1; }
export function cidrContains(c: Cidr, ip: number): boolean { return ip >= c.base && ip <= cidrLast(c); }
export function cidrsOverlap(a: Cidr, b: Cidr): boolean { return a.base <= cidrLast(b) && b.base <= cidrLast(a); }

/** `subnet` as a string with its prefix length, masked: `172.17.0.1/16` → `172.17.0.0/16`. */
export function normalizeCidr(s: string): string { return formatCidr(parseCidr(s)); }

// ---------------------------------------------------------------------------------------------
// Either family: IPv6 alongside IPv4, addresses as bigints

export type Family = 4 | 6;
/** A prefix of either family: `base` is the masked network address. */
export interface Prefix { family: Family; base: bigint; bits: number }

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses an IPv6 address as Go's netip does (`::` once, a dotted IPv4 tail; no zone); undefined if invalid. */
export function parseIPv6(s: string): bigint | undefined {
  if (!s.includes(':') || s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, g] of parts.entries()) {
      if (i === parts.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return undefined;
  const all = [...head, ...Array(8 - n).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952 text (Go's netip): lower case, the longest run of two or more zero groups as `::`. */
export function formatIPv6(n: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function isIPv6(s: string): boolean { return parseIPv6(s) !== undefined; }

/** An address of either family, or undefined. */
export function parseAddr(s: string): { family: Family; n: bigint } | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { family: 4, n: BigInt(v4) };
  const v6 = parseIPv6(s);
  return v6 === undefined ? undefined : { family: 6, n: v6 };
}

export function formatAddr(family: Family, n: bigint): string { return family === 4 ? formatIPv4(Number(n)) : formatIPv6(n); }

/** The canonical text of an address of either family (`FD00:0::1` → `fd00::1`); the input if invalid. */
export function canonicalAddr(s: string): string {
  const a = parseAddr(s);
  return a ? formatAddr(a.family, a.n) : s;
}

const widthOf = (f: Family) => (f === 4 ? 32 : 128);

/** `addr/bits` of either family; `addr` as written, `base` masked. Undefined if invalid. */
export function parsePrefixParts(s: string): { family: Family; addr: bigint; base: bigint; bits: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const a = parseAddr(s.slice(0, slash));
  const b = s.slice(slash + 1);
  if (!a || !/^(0|[1-9]\d{0,2})$/.test(b)) return undefined;
  const bits = Number(b);
  const w = widthOf(a.family);
  if (bits > w) return undefined;
  const hostBits = BigInt(w - bits);
  return { family: a.family, addr: a.n, base: (a.n >> hostBits) << hostBits, bits };
}

/** A prefix of either family, masked; throws `invalid CIDR address: s`. */
export function parsePrefix(s: string): Prefix {
  const p = parsePrefixParts(s);
  if (!p) throw invalid(`invalid CIDR address: ${s}`);
  return { family: p.family, base: p.base, bits: p.bits };
}

export function formatPrefix(p: Prefix): string { return `${formatAddr(p.family, p.base)}/${p.bits}`; }
export function prefixLast(p: Prefix): bigint { return p.base + (1n << BigInt(widthOf(p.family) - p.bits)) - 1n; }
export function prefixContains(p: Prefix, family: Family, n: bigint): boolean { return p.family === family && n >= p.base && n <= prefixLast(p); }
export function prefixesOverlap(a: Prefix, b: Prefix): boolean { return a.family === b.family && a.base <= prefixLast(b) && b.base <= prefixLast(a); }

// ---------------------------------------------------------------------------------------------
// Default pools and subnet choice

export interface PoolSpec { base: string; size: number }

/** Docker's default local address pools (`default-address-pools` in daemon.json has this shape). */
export const DEFAULT_ADDRESS_POOLS: readonly PoolSpec[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

/** Expands pool specs into the ordered list of candidate subnets (`192.168.0.0/16` size 20 → 16 /20s). */
export function expandPools(pools: readonly PoolSpec[] = DEFAULT_ADDRESS_POOLS): string[] {
  const out: string[] = [];
  for (const p of pools) {
    const base = parseCidr(p.base);
    if (!Number.isInteger(p.size) || p.size < base.bits || p.size > 32) {
      throw invalid(`invalid pools configuration: size ${p.size} is invalid for base pool ${p.base}`);
    }
    const step = 2 ** (32 - p.size);
    for (let a = base.base; a <= cidrLast(base); a += step) out.push(formatCidr({ base: a, bits: p.size }));
  }
  return out;
}

/** Docker's message when every default pool is taken or routed. */
export const NO_AVAILABLE_POOL =
  'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network';

/**
 * The first candidate subnet that overlaps neither an existing network (`inUse`) nor a subnet
 * routed on the host (`hostRoutes`, e.g. from `parseHostRoutes`). `pools` is either pool specs
 * or already expanded CIDR strings. Throws Docker's error when none is free.
 */
export function chooseSubnet(pools: readonly (PoolSpec | string)[], inUse: readonly string[], hostRoutes: readonly string[]): string {
  const taken = [...inUse, ...hostRoutes].map((s) => parseCidr(s.includes('/') ? s : `${s}/32`));
  for (const p of pools) {
    const candidates = typeof p === 'string' ? [normalizeCidr(p)] : expandPools([p]);
    for (const c of candidates) {
      const cidr = parseCidr(c);
      if (!taken.some((t) => cidrsOverlap(t, cidr))) return c;
    }
  }
  throw new EngineError('Unavailable', NO_AVAILABLE_POOL);
}

/**
 * Docker 27's default IPv6 pool when none is configured (daemon deriveULABaseNetwork): a ULA
 * /48 whose 40-bit global ID comes from the daemon's ID (the first 8 bytes of its SHA-256,
 * RFC 4193 style), split into /64s. Stable for a daemon, different between daemons.
 */
export function ulaBasePrefix(daemonId: string): string {
  const gid = createHash('sha256').update(daemonId).digest().readBigUInt64BE(0) & ((1n << 40n) - 1n);
  return formatPrefix({ family: 6, base: (0xfdn << 120n) | (gid << 80n), bits: 48 });
}

/** Docker's text when every default IPv6 subnet is taken (ipamapi.ErrNoMoreSubnets). */
export const NO_MORE_SUBNETS = 'all predefined address pools have been fully subnetted';

/** The first /64 of `base` that overlaps no subnet in use or routed on the host. */
export function chooseSubnet6(base: string, inUse: readonly string[], hostRoutes: readonly string[] = []): string {
  const pool = parsePrefix(base);
  const taken = [...inUse, ...hostRoutes].map((s) => parsePrefixParts(s.includes('/') ? s : `${s}/128`)).filter((p) => p?.family === 6)
    .map((p) => ({ family: 6 as const, base: p!.base, bits: p!.bits }));
  const step = 1n << 64n;
  for (let a = pool.base; a <= prefixLast(pool); a += step) {
    const c: Prefix = { family: 6, base: a, bits: 64 };
    if (!taken.some((t) => prefixesOverlap(t, c))) return formatPrefix(c);
  }
  throw new EngineError('Unavailable', NO_MORE_SUBNETS);
}

/**
 * IPv4 destinations routed on the host, from the JSON text of `ip -j route` (or `ip -j -4 route
 * show table all`). `default` routes, IPv6 and non-unicast-looking entries without a prefix are
 * handled: a bare address is a /32. Unparseable entries are skipped.
 */
export function parseHostRoutes(json: string): string[] {
  const text = json.trim();
  if (text === '') return [];
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) return [];
  const out = new Set<string>();
  for (const r of data) {
    if (!r || typeof r !== 'object') continue;
    const dst = (r as { dst?: unknown }).dst;
    const type = (r as { type?: unknown }).type;
    if (typeof dst !== 'string' || dst === 'default') continue;
    // `local`/`broadcast` entries of the local table describe the host's own addresses; the
    // loopback /8 is never a candidate anyway. Only unicast routes say "this subnet is in use".
    if (type !== undefined && type !== 'unicast') continue;
    const c = dst.includes('/') ? parseCidrParts(dst) : parseCidrParts(`${dst}/32`);
    if (!c) continue;
    out.add(formatCidr(c));
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// Docker's texts for `network create` validation and allocation

export const ERR_POOL_OVERLAP = 'Pool overlaps with other one on this address space';
export const ERR_ADDRESS_IN_USE = 'Address already in use';
export const ERR_NO_AVAILABLE_IPS = 'no available addresses on this pool';
export const ERR_IP_OUT_OF_RANGE = 'requested address is out of range';

/** One `IPAM.Config` entry: a wire type, with the API's (a leaf layer). */
export type { IpamConfig };

/**
 * The daemon's check of `IPAM.Config` on `POST /networks/create` (moby's ValidateIPAM): all
 * problems are collected and reported as `invalid network config:\n<one per line>`. IPv6 configs
 * are skipped unless `enableIPv6` (Docker ignores them on a network without IPv6).
 */
export function validateIpamConfigs(configs: readonly IpamConfig[], enableIPv6 = false): void {
  const errs: string[] = [];
  for (const cfg of configs) {
    const subnetText = cfg.Subnet ?? '';
    const sp = parsePrefixParts(subnetText);
    if (!sp) {
      if (subnetText.includes(':') && !enableIPv6) continue;
      errs.push(`invalid subnet ${subnetText}: invalid CIDR block notation`);
      continue;
    }
    if (sp.family === 6 && !enableIPv6) continue;
    const fam = `IPv${sp.family}`;
    const subnet: Prefix = { family: sp.family, base: sp.base, bits: sp.bits };
    if (sp.addr !== sp.base) errs.push(`invalid subnet ${formatAddr(sp.family, sp.addr)}/${sp.bits}: it should be ${formatPrefix(subnet)}`);
    if (cfg.IPRange) {
      const r = cfg.IPRange;
      const rp = parsePrefixParts(r);
      if (!rp) errs.push(`invalid ip-range ${r}: invalid CIDR block notation`);
      else if (rp.family !== sp.family) errs.push(`invalid ip-range ${r}: parent subnet is an ${fam} block`);
      else {
        const range: Prefix = { family: rp.family, base: rp.base, bits: rp.bits };
        if (rp.bits < subnet.bits) errs.push(`invalid ip-range ${r}: CIDR block is bigger than its parent subnet ${formatPrefix(subnet)}`);
        if (rp.addr !== rp.base) errs.push(`invalid ip-range ${formatAddr(rp.family, rp.addr)}/${rp.bits}: it should be ${formatPrefix(range)}`);
        if (!prefixesOverlap(subnet, range)) errs.push(`invalid ip-range ${r}: parent subnet ${formatPrefix(subnet)} doesn't contain ip-range`);
      }
    }
    const addrErr = (text: string): string | undefined => {
      const a = parseAddr(text);
      if (!a) return 'invalid address';
      if (a.family !== sp.family) return `parent subnet is an ${fam} block`;
      if (!prefixContains(subnet, a.family, a.n)) return `parent subnet ${formatPrefix(subnet)} doesn't contain this address`;
      return undefined;
    };
    if (cfg.Gateway) {
      const e = addrErr(cfg.Gateway);
      if (e) errs.push(`invalid gateway ${cfg.Gateway}: ${e}`);
    }
    for (const [name, a] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      const e = addrErr(a);
      if (e) errs.push(`invalid auxiliary address ${name}: ${e}`);
    }
  }
  if (errs.length) throw invalid(`invalid network config:\n${errs.join('\n')}`);
}

/** Docker's 403 when a requested subnet overlaps one already used by another network. */
export function checkPoolOverlap(subnet: string, inUse: readonly string[]): void {
  const c = parsePrefix(subnet);
  if (inUse.some((u) => prefixesOverlap(parsePrefix(u), c))) throw new EngineError('Forbidden', ERR_POOL_OVERLAP);
}

// ---------------------------------------------------------------------------------------------
// Per-network address pool

export interface AddressPoolState {
  subnet: string;
  ipRange?: string;
  gateway: string;
  /** Addresses handed out (excluding the reserved network, broadcast and gateway addresses). */
  allocated: string[];
  /** Auxiliary addresses reserved at creation (`--aux-address`). */
  reserved?: string[];
  /** The last address given: sequential allocation resumes after it. */
  last?: string;
}

export interface AddressPoolOptions { subnet: string; ipRange?: string; gateway?: string; auxAddresses?: string[] }

/**
 * One network's addresses of one family. The network address, the IPv4 broadcast address and
 * the gateway are never handed out (IPv6 has no broadcast: its last address is a host's). Allocation
 * without a preference is sequential from the last address given, within the ip-range if any,
 * and wraps around (Docker's serial mode: a just-released address is not reused at once).
 */
export class AddressPool {
  readonly family: Family;
  readonly subnet: Prefix;
  readonly range: Prefix;
  readonly gateway: bigint;
  private readonly used = new Set<bigint>();
  private readonly reserved = new Set<bigint>();
  private last: bigint | undefined;

  constructor(o: AddressPoolOptions) {
    const family: Family = o.subnet.includes(':') ? 6 : 4;
    validateIpamConfigs([{ Subnet: o.subnet, IPRange: o.ipRange, Gateway: o.gateway }], family === 6);
    this.family = family;
    this.subnet = parsePrefix(o.subnet);
    this.range = o.ipRange ? parsePrefix(o.ipRange) : this.subnet;
    if (this.subnet.bits > widthOf(family) - 2) throw invalid(`invalid subnet ${o.subnet}: too small for a bridge network`);
    this.gateway = o.gateway ? parseAddr(o.gateway)!.n : this.subnet.base + 1n;
    for (const a of o.auxAddresses ?? []) {
      const ip = parseAddr(a);
      if (!ip || !prefixContains(this.subnet, ip.family, ip.n)) throw invalid(`invalid auxiliary address ${a}: parent subnet ${formatPrefix(this.subnet)} doesn't contain this address`);
      this.reserved.add(ip.n);
    }
  }

  get subnetText(): string { return formatPrefix(this.subnet); }
  get gatewayText(): string { return formatAddr(this.family, this.gateway); }
  get ipRangeText(): string | undefined { return this.range === this.subnet ? undefined : formatPrefix(this.range); }
  /** Prefix length, for `172.18.0.2/16`-style addresses and `IPPrefixLen`. */
  get prefixLen(): number { return this.subnet.bits; }

  private isSystemReserved(ip: bigint): boolean {
    return ip === this.subnet.base || (this.family === 4 && ip === prefixLast(this.subnet)) || ip === this.gateway || this.reserved.has(ip);
  }

  /** The address as a number of this pool's family, undefined if it is not one. */
  private parse(s: string): bigint | undefined {
    const a = parseAddr(s);
    return a && a.family === this.family ? a.n : undefined;
  }

  /** True when `ip` is handed out (or is the gateway / network / broadcast / an aux address). */
  isAllocated(ip: string): boolean {
    const n = this.parse(ip);
    return n !== undefined && (this.used.has(n) || (prefixContains(this.subnet, this.family, n) && this.isSystemReserved(n)));
  }

  get allocatedCount(): number { return this.used.size; }

  /**
   * Hands out an address. A `preferred` address (`--ip`, `--ip6`) may be anywhere in the subnet
   * (Docker allows addresses outside the ip-range when asked for); outside the subnet it is
   * refused with Docker's `Invalid address …` text, and an address in use with `Address already in use`.
   */
  allocate(preferred?: string): string {
    if (preferred !== undefined && preferred !== '') {
      const ip = this.parse(preferred);
      if (ip === undefined || !prefixContains(this.subnet, this.family, ip)) {
        throw invalid(`Invalid address ${preferred}: It does not belong to any of this network's subnets`);
      }
      if (this.used.has(ip) || this.isSystemReserved(ip)) throw new EngineError('Forbidden', ERR_ADDRESS_IN_USE);
      this.used.add(ip);
      return formatAddr(this.family, ip);
    }
    const first = this.range.base;
    const end = prefixLast(this.range);
    const size = end - first + 1n;
    const start = this.last !== undefined && prefixContains(this.range, this.family, this.last) ? this.last + 1n : first;
    // Every address tried either is free or is one of the few taken ones: an IPv6 /64 is never walked.
    const tries = size < BigInt(this.used.size + this.reserved.size + 4) ? size : BigInt(this.used.size + this.reserved.size + 4);
    for (let i = 0n; i < tries; i++) {
      let ip = start + i;
      if (ip > end) ip -= size;
      if (this.used.has(ip) || this.isSystemReserved(ip)) continue;
      this.used.add(ip);
      this.last = ip;
      return formatAddr(this.family, ip);
    }
    throw new EngineError('Unavailable', ERR_NO_AVAILABLE_IPS);
  }

  /** Gives an address back; unknown addresses are ignored (release is idempotent). */
  release(ip: string): void {
    const n = this.parse(ip);
    if (n !== undefined) this.used.delete(n);
  }

  serialize(): AddressPoolState {
    const sorted = (xs: Iterable<bigint>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((n) => formatAddr(this.family, n));
    const s: AddressPoolState = { subnet: this.subnetText, gateway: this.gatewayText, allocated: sorted(this.used) };
    if (this.ipRangeText) s.ipRange = this.ipRangeText;
    if (this.reserved.size) s.reserved = sorted(this.reserved);
    if (this.last !== undefined) s.last = formatAddr(this.family, this.last);
    return s;
  }

  static restore(s: AddressPoolState): AddressPool {
    const p = new AddressPool({ subnet: s.subnet, ipRange: s.ipRange, gateway: s.gateway, auxAddresses: s.reserved });
    for (const a of s.allocated) {
      const n = p.parse(a);
      if (n !== undefined && prefixContains(p.subnet, p.family, n)) p.used.add(n);
    }
    if (s.last !== undefined) p.last = p.parse(s.last);
    return p;
  }
}

// ---------------------------------------------------------------------------------------------
// MAC address

/** Docker's MAC for an IPv4 address: 02:42 followed by the four address bytes. */
export function macFromIPv4(ip: string): string {
  const n = parseIPv4(ip);
  if (n === undefined) throw invalid(`invalid IP address: ${ip}`);
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Validates `--mac-address` (Docker's text) and lower-cases it. */
export function parseMacAddress(s: string): string {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) throw invalid(`${s} is not a valid mac address`);
  return s.toLowerCase().replace(/-/g, ':');
}
