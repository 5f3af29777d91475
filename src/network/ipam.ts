// IPv4 address management for berth's bridge networks, modelled on Docker's default local IPAM
// (libnetwork ipams/defaultipam): default address pools, subnet choice that avoids existing
// networks and the host's routed subnets, per-network sequential allocation with wrap-around,
// and Docker's error texts. Pure logic: the caller reads `ip -j route` and persists `serialize()`.
import { EngineError, invalid } from '../common/errors.ts';

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

export interface IpamConfig { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }

function isIPv6Text(s: string): boolean { return s.includes(':'); }

/**
 * The daemon's check of `IPAM.Config` on `POST /networks/create` (moby's ValidateIPAM): all
 * problems are collected and reported as `invalid network config:\n<one per line>`. IPv6 configs
 * are skipped unless `enableIPv6` (berth refuses IPv6 networks elsewhere).
 */
export function validateIpamConfigs(configs: readonly IpamConfig[], enableIPv6 = false): void {
  const errs: string[] = [];
  for (const cfg of configs) {
    const subnetText = cfg.Subnet ?? '';
    if (isIPv6Text(subnetText)) {
      if (!enableIPv6) continue;
      errs.push(`invalid subnet ${subnetText}: IPv6 is not supported by berth`);
      continue;
    }
    const sp = parseCidrParts(subnetText);
    if (!sp) { errs.push(`invalid subnet ${subnetText}: invalid CIDR block notation`); continue; }
    const subnet: Cidr = { base: sp.base, bits: sp.bits };
    if (sp.addr !== sp.base) errs.push(`invalid subnet ${formatIPv4(sp.addr)}/${sp.bits}: it should be ${formatCidr(subnet)}`);
    if (cfg.IPRange) {
      const r = cfg.IPRange;
      const rp = parseCidrParts(r);
      if (isIPv6Text(r)) errs.push(`invalid ip-range ${r}: parent subnet is an IPv4 block`);
      else if (!rp) errs.push(`invalid ip-range ${r}: invalid CIDR block notation`);
      else {
        const range: Cidr = { base: rp.base, bits: rp.bits };
        if (rp.bits < subnet.bits) errs.push(`invalid ip-range ${r}: CIDR block is bigger than its parent subnet ${formatCidr(subnet)}`);
        if (rp.addr !== rp.base) errs.push(`invalid ip-range ${formatIPv4(rp.addr)}/${rp.bits}: it should be ${formatCidr(range)}`);
        if (!cidrsOverlap(subnet, range)) errs.push(`invalid ip-range ${r}: parent subnet ${formatCidr(subnet)} doesn't contain ip-range`);
      }
    }
    const addrErr = (a: string): string | undefined => {
      if (isIPv6Text(a) && /^[0-9a-fA-F:.]+$/.test(a)) return 'parent subnet is an IPv4 block';
      const ip = parseIPv4(a);
      if (ip === undefined) return 'invalid address';
      if (!cidrContains(subnet, ip)) return `parent subnet ${formatCidr(subnet)} doesn't contain this address`;
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
  const c = parseCidr(subnet);
  if (inUse.some((u) => cidrsOverlap(parseCidr(u), c))) throw new EngineError('Forbidden', ERR_POOL_OVERLAP);
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
 * One network's IPv4 addresses. The network and broadcast addresses (for prefixes shorter than
 * /31) and the gateway are never handed out. Allocation without a preference is sequential from
 * the last address given, within the ip-range if any, and wraps around (Docker's serial mode:
 * a just-released address is not reused at once).
 */
export class AddressPool {
  readonly subnet: Cidr;
  readonly range: Cidr;
  readonly gateway: number;
  private readonly used = new Set<number>();
  private readonly reserved = new Set<number>();
  private last: number | undefined;

  constructor(o: AddressPoolOptions) {
    validateIpamConfigs([{ Subnet: o.subnet, IPRange: o.ipRange, Gateway: o.gateway }]);
    this.subnet = parseCidr(o.subnet);
    this.range = o.ipRange ? parseCidr(o.ipRange) : this.subnet;
    if (this.subnet.bits > 30) throw invalid(`invalid subnet ${o.subnet}: too small for a bridge network`);
    this.gateway = o.gateway ? parseIPv4(o.gateway)! : this.subnet.base + 1;
    for (const a of o.auxAddresses ?? []) {
      const ip = parseIPv4(a);
      if (ip === undefined || !cidrContains(this.subnet, ip)) throw invalid(`invalid auxiliary address ${a}: parent subnet ${formatCidr(this.subnet)} doesn't contain this address`);
      this.reserved.add(ip);
    }
  }

  get subnetText(): string { return formatCidr(this.subnet); }
  get gatewayText(): string { return formatIPv4(this.gateway); }
  get ipRangeText(): string | undefined { return this.range === this.subnet ? undefined : formatCidr(this.range); }
  /** Prefix length, for `172.18.0.2/16`-style addresses and `IPPrefixLen`. */
  get prefixLen(): number { return this.subnet.bits; }

  private isSystemReserved(ip: number): boolean {
    return ip === this.subnet.base || ip === cidrLast(this.subnet) || ip === this.gateway || this.reserved.has(ip);
  }

  /** True when `ip` is handed out (or is the gateway / network / broadcast / an aux address). */
  isAllocated(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && (this.used.has(n) || (cidrContains(this.subnet, n) && this.isSystemReserved(n)));
  }

  get allocatedCount(): number { return this.used.size; }

  /**
   * Hands out an address. A `preferred` address (`--ip`) may be anywhere in the subnet (Docker
   * allows addresses outside the ip-range when asked for); outside the subnet it is refused with
   * Docker's `Invalid address …` text, and an address in use with `Address already in use`.
   */
  allocate(preferred?: string): string {
    if (preferred !== undefined && preferred !== '') {
      const ip = parseIPv4(preferred);
      if (ip === undefined || !cidrContains(this.subnet, ip)) {
        throw invalid(`Invalid address ${preferred}: It does not belong to any of this network's subnets`);
      }
      if (this.used.has(ip) || this.isSystemReserved(ip)) throw new EngineError('Forbidden', ERR_ADDRESS_IN_USE);
      this.used.add(ip);
      return formatIPv4(ip);
    }
    const first = this.range.base;
    const end = cidrLast(this.range);
    const size = end - first + 1;
    const start = this.last !== undefined && cidrContains(this.range, this.last) ? this.last + 1 : first;
    for (let i = 0; i < size; i++) {
      let ip = start + i;
      if (ip > end) ip -= size;
      if (this.used.has(ip) || this.isSystemReserved(ip)) continue;
      this.used.add(ip);
      this.last = ip;
      return formatIPv4(ip);
    }
    throw new EngineError('Unavailable', ERR_NO_AVAILABLE_IPS);
  }

  /** Gives an address back; unknown addresses are ignored (release is idempotent). */
  release(ip: string): void {
    const n = parseIPv4(ip);
    if (n !== undefined) this.used.delete(n);
  }

  serialize(): AddressPoolState {
    const s: AddressPoolState = {
      subnet: this.subnetText,
      gateway: this.gatewayText,
      allocated: [...this.used].sort((a, b) => a - b).map(formatIPv4),
    };
    if (this.ipRangeText) s.ipRange = this.ipRangeText;
    if (this.reserved.size) s.reserved = [...this.reserved].sort((a, b) => a - b).map(formatIPv4);
    if (this.last !== undefined) s.last = formatIPv4(this.last);
    return s;
  }

  static restore(s: AddressPoolState): AddressPool {
    const p = new AddressPool({ subnet: s.subnet, ipRange: s.ipRange, gateway: s.gateway, auxAddresses: s.reserved });
    for (const a of s.allocated) {
      const n = parseIPv4(a);
      if (n !== undefined && cidrContains(p.subnet, n)) p.used.add(n);
    }
    if (s.last !== undefined) p.last = parseIPv4(s.last);
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
