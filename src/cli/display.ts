// Small pure helpers that make list output read exactly like the docker CLI's formatter package:
// ID truncation, the quoted and shortened COMMAND column, the PORTS column, Go's time.String.
// Human sizes and durations come from src/common/units.ts (go-units ports).
//
//   truncateId('sha256:d07482f5af64…') → 'd07482f5af64'
//   ellipsis("sh -c 'echo hello; echo err'", 20) → "sh -c 'echo hello; …"
//   goQuote('a "b"') → '"a \\"b\\""'
//   displayablePorts([{ PrivatePort: 80, PublicPort: 8080, IP: '0.0.0.0', Type: 'tcp' }]) → '0.0.0.0:8080->80/tcp'
import { humanDuration } from '../common/units.ts';

/** stringid.TruncateID: drops an algorithm prefix, keeps 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const hex = i >= 0 ? id.slice(i + 1) : id;
  return hex.slice(0, 12);
}

/** East Asian wide and fullwidth characters take two cells (go-runewidth's common cases). */
function runeWidth(cp: number): number {
  if (cp < 0x1100) return 1;
  if (
    (cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

/** docker's formatter.Ellipsis: cut to a display width, ending in "…". */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (max === 1) return rs[0] ?? '';
  const widths = rs.map((r) => runeWidth(r.codePointAt(0)!));
  const total = widths.reduce((a, b) => a + b, 0);
  if (total <= max) return s;
  let w = 0;
  for (let i = 0; i < rs.length; i++) {
    if (w + widths[i] > max - 1) return rs.slice(0, i).join('') + '…';
    w += widths[i];
  }
  return s;
}

/** Go's strconv.Quote: printable runes kept, `"` and `\` escaped, controls as \n, \x01, \u2028. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** docker's DisplayablePorts: consecutive ports grouped into ranges, host mappings last. */
export function displayablePorts(portsIn: ApiPort[] | null | undefined): string {
  const ports = [...(portsIn ?? [])].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const p of ports) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        hostMappings.push(`${host}:${p.PublicPort ?? 0}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) { groups.set(key, { first: current, last: current }); continue; }
    if (current === g.last + 1) { g.last = current; continue; }
    result.push(formGroup(key, g.first, g.last));
    // Go replaces the map entry (keeping its original insertion slot in the key order).
    g.first = current;
    g.last = current;
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

function formGroup(key: string, first: number, last: number): string {
  const slash = key.lastIndexOf('/');
  const ip = slash >= 0 ? key.slice(0, slash) : '';
  const type = slash >= 0 ? key.slice(slash + 1) : key;
  let group = String(first);
  if (first !== last) group += `-${last}`;
  if (ip) group = `${ip}:${group}->${group}`;
  return `${group}/${type}`;
}

/** "2 minutes ago" from a Unix time in seconds (docker's RunningFor / CreatedSince). */
export function ago(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** Go's time.Time.String() for a Unix time in the local zone: "2026-11-22 21:30:08 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}`;
  const time = `${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
  const sign = off < 0 ? '-' : '+';
  const zone = `${sign}${p(Math.trunc(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  let abbr = 'UTC';
  if (off !== 0) {
    abbr = d.toLocaleTimeString('en-US', { timeZoneName: 'short' }).split(' ').pop() ?? zone;
  }
  return `${date} ${time} ${zone} ${abbr}`;
}

/** Container names without their leading '/'. */
export function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}
