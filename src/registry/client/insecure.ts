// Which registries may be spoken to without verified TLS (dockerd's `insecure-registries`):
// loopback (127.0.0.0/8, ::1, the name `localhost`) always, as Docker does, plus each entry of the
// list: a CIDR (`10.0.0.0/8`) matched against an IP-literal host, or a `host[:port]` matched exactly.
// An insecure registry is still tried over TLS first (without verifying the certificate), then
// over plain HTTP.
import { isIP } from 'node:net';

function v4ToInt(a: string): number {
  return a.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

function v6ToBig(a: string): bigint {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = v4ToInt(v4[1]);
    s = s.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** Whether an IP address lies in a CIDR block (mixed families never match). */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsS] = cidr.split('/');
  const fam = isIP(net);
  if (!fam || fam !== isIP(ip)) return false;
  const bits = Number(bitsS ?? (fam === 4 ? 32 : 128));
  if (!Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) return false;
  if (fam === 4) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((v4ToInt(ip) & mask) >>> 0) === ((v4ToInt(net) & mask) >>> 0);
  }
  const shift = BigInt(128 - bits);
  return (v6ToBig(ip) >> shift) === (v6ToBig(net) >> shift);
}

/** Splits `host:port`, `[v6]:port`, `host` into the bare host and the port (if any). */
export function splitHostPort(hp: string): { host: string; port?: string } {
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(hp);
  if (b) return { host: b[1], port: b[2] };
  const i = hp.lastIndexOf(':');
  if (i > 0 && hp.indexOf(':') === i) return { host: hp.slice(0, i), port: hp.slice(i + 1) };
  return { host: hp };
}

/** A daemon.json `insecure-registries` entry is valid: a CIDR or a host[:port] (no scheme, no path). */
export function validateInsecureEntry(e: string): string {
  if (/^[a-z]+:\/\//i.test(e)) throw new Error(`insecure registry ${e} should not contain '://'`);
  if (e.includes('/')) {
    const [net, bits] = e.split('/');
    if (!isIP(net) || !/^\d+$/.test(bits ?? '')) throw new Error(`insecure registry ${e} is not valid: not a CIDR or a host[:port]`);
    return e;
  }
  if (!e) throw new Error('insecure registry must not be empty');
  return e;
}

export function isLoopbackRegistry(host: string): boolean {
  const h = splitHostPort(host).host.toLowerCase();
  return h === 'localhost' || (isIP(h) === 4 && h.startsWith('127.')) || (isIP(h) === 6 && v6ToBig(h) === 1n);
}

/** Whether `hostPort` (as in a reference's domain) is an insecure registry. */
export function isInsecureRegistry(hostPort: string, list: readonly string[]): boolean {
  if (isLoopbackRegistry(hostPort)) return true;
  const { host } = splitHostPort(hostPort);
  for (const e of list) {
    if (e.includes('/')) { if (isIP(host) && inCidr(host, e)) return true; continue; }
    if (e.toLowerCase() === hostPort.toLowerCase()) return true;
  }
  return false;
}
