// IPv4 arithmetic for the cluster IPAM: addresses as unsigned 32-bit numbers, subnets as
// { base, bits }. Pure; swarm may not import src/network (layering), so this is its own small copy
// of what a cluster allocator needs: parse, format, contain, overlap.
//
//   parseCidr('10.0.1.0/24') → { base: 167772416, bits: 24 }
//   cidrString({ base: 167772416, bits: 24 }) → '10.0.1.0/24'
//   hostAt(parseCidr('10.0.1.0/24'), 1) → '10.0.1.1'

export interface Cidr { base: number; bits: number }

/** A dotted quad → number; undefined when it is not one. */
export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function ipString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** 'a.b.c.d/n' → its network (host bits cleared, as Go's net.ParseCIDR); undefined when invalid. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const ip = parseIp(m[1]!);
  const bits = Number(m[2]);
  if (ip === undefined || bits > 32) return undefined;
  return { base: (ip & mask(bits)) >>> 0, bits };
}

export const mask = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
export const size = (c: Cidr): number => 2 ** (32 - c.bits);
export const cidrString = (c: Cidr): string => `${ipString(c.base)}/${c.bits}`;
export const contains = (c: Cidr, ip: number): boolean => ip >= c.base && ip < c.base + size(c);
export const overlaps = (a: Cidr, b: Cidr): boolean => a.base < b.base + size(b) && b.base < a.base + size(a);
export const hostAt = (c: Cidr, i: number): string => ipString(c.base + i);
