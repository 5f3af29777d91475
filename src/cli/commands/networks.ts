// Network verbs: network create, connect, disconnect, ls, inspect, rm, prune (docker CLI 28's
// flags, request bodies, output and exit codes). The pure parts (Go's CIDR/IP parsing, the IPAM
// pairing, the request bodies, prune's report) are exported for tests.
//
//   berth network create --subnet 10.9.0.0/24 --gateway 10.9.0.1 --label a=b net1   → prints the ID
//   berth network connect --alias db --ip 10.9.0.7 net1 ctr                         → prints nothing
//   berth network disconnect -f net1 ctr
//   berth network rm net1 nosuch              → `net1`, an error, `exit status 1`, exit 1
//   berth network prune -f --filter label=a
import type { OptionsOf, NETWORK_COMMANDS } from '../spec.ts';
import { ApiError, compareVersions } from '../../client/client.ts';
import { StatusError, usageError, type Ctx } from '../context.ts';
import { renderList, goRow } from '../format/formatter.ts';
import { TemplateError } from '../format/template.ts';
import { encodeFilters } from '../filters.ts';
import { goTimeString } from '../display.ts';
import { confirm } from '../prompt.ts';
import { networkInspect } from './inspect.ts';
import { parseDriverOpts, parseLabels } from './volumes.ts';


interface Network { Name: string; Id: string; Created?: string; Scope?: string; Driver?: string; EnableIPv4?: boolean; EnableIPv6?: boolean; Internal?: boolean; Ingress?: boolean; Labels?: Record<string, string> | null }

// ---------------------------------------------------------------------------------------------
// Go's net.ParseIP / net.ParseCIDR / (*IPNet).Contains, as docker's createIPAMConfig uses them.
// An IP is 4 or 16 bytes like Go's net.IP: parsed addresses are always 16 (IPv4 as ::ffff:a.b.c.d).

/** netip.ParseAddr's IPv4 form: four decimal fields, no leading zeros, each at most 255. */
function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** netip.ParseAddr's IPv6 form (a zone is refused: ParseIP and ParseCIDR reject zones). */
function parseV6(s: string): number[] | undefined {
  if (s.includes('%')) return undefined;
  let head = s;
  let v4: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > 0) {
    // An embedded IPv4 address (`::ffff:1.2.3.4`) stands for the last two groups.
    v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    head = s.slice(0, s[lastColon - 1] === ':' ? lastColon + 1 : lastColon);
  }
  const groupsWanted = v4 ? 6 : 8;
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    for (const g of t.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length >= groupsWanted) return undefined;
    groups = [...left, ...new Array<number>(groupsWanted - left.length - right.length).fill(0), ...right];
  } else {
    const g = parseGroups(head);
    if (!g || g.length !== groupsWanted) return undefined;
    groups = g;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (v4) bytes.push(...v4);
  return bytes;
}

const V4_IN_V6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** netip.ParseAddr, as 16 bytes plus whether it was an IPv4 address (Is4). */
function parseAddr(s: string): { ip: number[]; is4: boolean } | undefined {
  for (const c of s) {
    if (c === '.') { const v4 = parseV4(s); return v4 && { ip: [...V4_IN_V6, ...v4], is4: true }; }
    if (c === ':') { const v6 = parseV6(s); return v6 && { ip: v6, is4: false }; }
    if (c === '%') return undefined;
  }
  return undefined;
}

/** net.IP.To4. */
function to4(ip: number[] | undefined): number[] | undefined {
  if (!ip) return undefined;
  if (ip.length === 4) return ip;
  if (ip.length === 16 && V4_IN_V6.every((b, i) => ip[i] === b)) return ip.slice(12);
  return undefined;
}

/** net.ParseIP: 16 bytes, or undefined (Go's nil). */
export function parseIP(s: string): number[] | undefined {
  return parseAddr(s)?.ip;
}

export interface IPNet { ip: number[]; mask: number[] }

/** Go's *net.ParseError for a CIDR. */
export class CidrError extends Error {}

/** net.ParseCIDR: the address as written and the network (masked address, mask). */
export function parseCIDR(s: string): { ip: number[]; net: IPNet } {
  const bad = () => new CidrError(`invalid CIDR address: ${s}`);
  const slash = s.indexOf('/');
  if (slash < 0) throw bad();
  const addr = parseAddr(s.slice(0, slash));
  const maskText = s.slice(slash + 1);
  if (!addr || !/^\d+$/.test(maskText)) throw bad();
  const bits = addr.is4 ? 32 : 128;
  const ones = Number(maskText);
  if (ones > bits) throw bad();
  const mask = Array.from({ length: bits / 8 }, (_, i) => {
    const n = Math.min(8, Math.max(0, ones - i * 8));
    return (0xff00 >> n) & 0xff;
  });
  const base = addr.is4 ? addr.ip.slice(12) : addr.ip;
  return { ip: addr.ip, net: { ip: base.map((b, i) => b & mask[i]), mask } };
}

/** (*net.IPNet).Contains. */
export function netContains(n: IPNet, ip: number[] | undefined): boolean {
  const nn = to4(n.ip) ?? n.ip;
  let m = n.mask;
  if (m.length === 4 && nn.length !== 4) return false;
  if (m.length === 16 && nn.length === 4) m = m.slice(12);
  const x = to4(ip) ?? ip;
  if (!x || x.length !== nn.length) return false;
  return nn.every((b, i) => (b & m[i]) === (x[i] & m[i]));
}

/** docker's subnetMatches: is `data` (an address, or a CIDR's address) inside `subnet`? */
export function subnetMatches(subnet: string, data: string): boolean {
  let s: IPNet;
  try {
    s = parseCIDR(subnet).net;
  } catch (e) {
    throw new CidrError(`invalid subnet: ${(e as Error).message}`);
  }
  const ip = data.includes('/') ? parseCIDR(data).ip : parseIP(data);
  return netContains(s, ip);
}

// ---------------------------------------------------------------------------------------------
// create

export interface IpamConfig { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }
export interface Ipam { Driver: string; Options: Record<string, string>; Config: IpamConfig[] }

export interface IpamOptions {
  driver: string;
  subnets: string[];
  ipRanges: string[];
  gateways: string[];
  /** `--aux-address name=ip` in order (docker's MapOpts: the last one for a name wins). */
  auxAddresses: Array<[string, string]>;
  driverOpts: Record<string, string>;
}

/**
 * docker's createIPAMConfig: every --ip-range, --gateway and --aux-address goes to the one
 * --subnet that contains it; overlapping subnets, a second range or gateway for a subnet, or an
 * address in no subnet are errors (with docker's texts; exit 1). Config follows the --subnet
 * order (docker's comes out of a Go map, in no fixed order).
 */
export function createIpamConfig(o: IpamOptions): Ipam {
  if (o.subnets.length < o.ipRanges.length || o.subnets.length < o.gateways.length) {
    throw new StatusError('every ip-range or gateway must have a corresponding subnet', 1);
  }
  const fail = (e: unknown): never => {
    if (e instanceof CidrError) throw new StatusError(e.message, 1);
    throw e;
  };
  const data = new Map<string, IpamConfig & { AuxiliaryAddresses: Record<string, string> }>();
  try {
    for (const s of o.subnets) {
      for (const k of data.keys()) {
        if (subnetMatches(s, k) || subnetMatches(k, s)) throw new StatusError('multiple overlapping subnet configuration is not supported', 1);
      }
      data.set(s, { Subnet: s, AuxiliaryAddresses: {} });
    }
    for (const r of o.ipRanges) {
      let match = false;
      for (const s of o.subnets) {
        parseCIDR(r);
        if (!subnetMatches(s, r)) continue;
        const d = data.get(s)!;
        if (d.IPRange) throw new StatusError(`cannot configure multiple ranges (${r}, ${d.IPRange}) on the same subnet (${s})`, 1);
        d.IPRange = r;
        match = true;
      }
      if (!match) throw new StatusError(`no matching subnet for range ${r}`, 1);
    }
    for (const g of o.gateways) {
      let match = false;
      for (const s of o.subnets) {
        if (!subnetMatches(s, g)) continue;
        const d = data.get(s)!;
        if (d.Gateway) throw new StatusError(`cannot configure multiple gateways (${g}, ${d.Gateway}) for the same subnet (${s})`, 1);
        d.Gateway = g;
        match = true;
      }
      if (!match) throw new StatusError(`no matching subnet for gateway ${g}`, 1);
    }
    const aux = new Map(o.auxAddresses);
    for (const [key, aa] of aux) {
      let match = false;
      for (const s of o.subnets) {
        if (!subnetMatches(s, aa)) continue;
        data.get(s)!.AuxiliaryAddresses[key] = aa;
        match = true;
      }
      if (!match) throw new StatusError(`no matching subnet for aux-address ${aa}`, 1);
    }
  } catch (e) {
    fail(e);
  }
  // Go's JSON: omitempty drops empty strings and an empty AuxiliaryAddresses map.
  const config = [...data.values()].map((d) => {
    const c: IpamConfig = {};
    if (d.Subnet) c.Subnet = d.Subnet;
    if (d.IPRange) c.IPRange = d.IPRange;
    if (d.Gateway) c.Gateway = d.Gateway;
    if (Object.keys(d.AuxiliaryAddresses).length) c.AuxiliaryAddresses = goMap(d.AuxiliaryAddresses);
    return c;
  });
  return { Driver: o.driver, Options: goMap(o.driverOpts), Config: config };
}

/** A map as Go's encoding/json writes it: keys in byte order (so the daemon stores what it
 *  would have got from docker's client). */
export function goMap(m: Record<string, string>): Record<string, string> {
  const keys = Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(keys.map((k) => [k, m[k]]));
}

/** Go's strconv.Quote for the usual (printable) text: pflag's %q in flag errors. */
const goQuote = (s: string) => JSON.stringify(s);

/** pflag's message for a flag value its Set refused. */
function badFlag(ctx: Ctx, flag: string, value: string, reason: string): StatusError {
  return usageError(ctx, `invalid argument ${goQuote(value)} for "${flag}" flag: ${reason}`);
}

/**
 * pflag's StringSlice values: each occurrence read as one line of CSV (encoding/csv: commas
 * split, a field may be double-quoted with `""` for a quote), all occurrences appended.
 */
export function csvSlice(items: string[] | undefined): { values: string[] } | { bad: string; reason: string } {
  const values: string[] = [];
  for (const it of items ?? []) {
    if (it === '') continue;
    const line = it.replace(/\r?\n[\s\S]*$/, '');
    let cur = '';
    let i = 0;
    for (;;) {
      if (line[i] === '"') {
        // A quoted field: runs to the closing quote, which must end the field.
        i++;
        for (;;) {
          if (i >= line.length) return { bad: it, reason: `parse error on line 1, column ${line.length + 1}: extraneous or missing " in quoted-field` };
          if (line[i] === '"') {
            if (line[i + 1] === '"') { cur += '"'; i += 2; continue; }
            i++;
            break;
          }
          cur += line[i++];
        }
        // (Go names the column of the closing quote.)
        if (i < line.length && line[i] !== ',') return { bad: it, reason: `parse error on line 1, column ${i}: extraneous or missing " in quoted-field` };
      } else {
        while (i < line.length && line[i] !== ',') {
          if (line[i] === '"') return { bad: it, reason: `parse error on line 1, column ${i + 1}: bare " in non-quoted-field` };
          cur += line[i++];
        }
      }
      values.push(cur);
      cur = '';
      if (i >= line.length) break;
      i++; // the comma
      if (i >= line.length) { values.push(''); break; }
    }
  }
  return { values };
}

/** `--aux-address`, `--ipam-opt`, `-o`: docker's MapOpts, as ordered pairs (key=value; no `=` is key → ""). */
function mapPairs(items: string[] | undefined): Array<[string, string]> {
  return (items ?? []).map((it) => {
    const eq = it.indexOf('=');
    return eq < 0 ? [it, ''] : [it.slice(0, eq), it.slice(eq + 1)];
  });
}

export interface CreateOptions {
  driver?: string;
  opt?: string[];
  label?: string[];
  internal?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  scope?: string;
  configOnly?: boolean;
  configFrom?: string;
  ipamDriver?: string;
  subnet?: string[];
  ipRange?: string[];
  gateway?: string[];
  auxAddress?: string[];
  ipamOpt?: string[];
}

/**
 * The POST /networks/create body as docker's client sends it (network.CreateRequest, Go's field
 * order): EnableIPv4/EnableIPv6 only when the flag was given (`create` adds CheckDuplicate for
 * daemons older than API 1.44, as docker's client does). Flag-value errors name the flag
 * (exit 125), IPAM pairing errors are docker's texts (exit 1).
 */
export function createBody(ctx: Ctx, name: string, o: CreateOptions): Record<string, unknown> {
  const slice = (flag: string, v: string[] | undefined): string[] => {
    const r = csvSlice(v);
    if ('bad' in r) throw badFlag(ctx, flag, r.bad, r.reason);
    return r.values;
  };
  const subnets = slice('--subnet', o.subnet);
  const ipRanges = slice('--ip-range', o.ipRange);
  const gateways = slice('--gateway', o.gateway);
  const l = parseLabels(o.label);
  if ('bad' in l) throw badFlag(ctx, '--label', l.bad, l.reason);
  const ipam = createIpamConfig({
    driver: o.ipamDriver ?? 'default', subnets, ipRanges, gateways,
    auxAddresses: mapPairs(o.auxAddress), driverOpts: parseDriverOpts(o.ipamOpt),
  });
  const body: Record<string, unknown> = { Driver: o.driver ?? 'bridge', Scope: o.scope ?? '' };
  if (o.ipv4 !== undefined) body.EnableIPv4 = o.ipv4;
  if (o.ipv6 !== undefined) body.EnableIPv6 = o.ipv6;
  Object.assign(body, {
    IPAM: ipam,
    Internal: Boolean(o.internal),
    Attachable: Boolean(o.attachable),
    Ingress: Boolean(o.ingress),
    ConfigOnly: Boolean(o.configOnly),
    ConfigFrom: o.configFrom ? { Network: o.configFrom } : null,
    Options: goMap(parseDriverOpts(o.opt)),
    Labels: goMap(l.labels),
    Name: name,
  });
  return body;
}

export async function create(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.create>): Promise<number> {
  // Flag values and the IPAM pairing are checked before anything is sent.
  const body = createBody(ctx, args[0], o);
  if (compareVersions(await ctx.client.version(), '1.44') < 0) body.CheckDuplicate = true;
  const r = await ctx.client.networks.create(body);
  process.stdout.write(`${r?.Id ?? ''}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// connect, disconnect

/** docker's convertDriverOpt: `k=v` with k trimmed and not empty, v trimmed. */
export function convertDriverOpts(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    const k = (eq < 0 ? it : it.slice(0, eq)).trim();
    if (eq < 0 || k === '') throw new StatusError('invalid key/value pair format in driver options', 1);
    out[k] = it.slice(eq + 1).trim();
  }
  return out;
}

/** opts.ValidateLink: `name` or `name:alias`; the reason when it is neither. */
export function linkProblem(v: string): string | undefined {
  if (v === '') return 'empty string specified for links';
  if (v.split(':').length > 2) return `bad format for links: ${v}`;
  return undefined;
}

export interface ConnectOptions { alias?: string[]; ip?: string; ip6?: string; link?: string[]; linkLocalIp?: string[]; driverOpt?: string[]; gwPriority?: number }

/** The POST /networks/{id}/connect body: network.ConnectOptions with the whole EndpointSettings,
 *  zero operational fields included, as Go marshals it. */
export function connectBody(ctx: Ctx, container: string, o: ConnectOptions): Record<string, unknown> {
  const slice = (flag: string, v: string[] | undefined): string[] => {
    const r = csvSlice(v);
    if ('bad' in r) throw badFlag(ctx, flag, r.bad, r.reason);
    return r.values;
  };
  for (const l of o.link ?? []) {
    const why = linkProblem(l);
    if (why) throw badFlag(ctx, '--link', l, why);
  }
  const aliases = slice('--alias', o.alias);
  const linkLocal = slice('--link-local-ip', o.linkLocalIp);
  const driverOpts = convertDriverOpts(slice('--driver-opt', o.driverOpt));
  const ipamConfig: Record<string, unknown> = {};
  if (o.ip) ipamConfig.IPv4Address = o.ip;
  if (o.ip6) ipamConfig.IPv6Address = o.ip6;
  if (linkLocal.length) ipamConfig.LinkLocalIPs = linkLocal;
  return {
    Container: container,
    EndpointConfig: {
      IPAMConfig: ipamConfig, Links: o.link?.length ? o.link : null, Aliases: aliases, MacAddress: '', DriverOpts: goMap(driverOpts),
      GwPriority: o.gwPriority ?? 0, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '',
      GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    },
  };
}

/** The client's trimID: names are sent trimmed; an empty one is refused before any request. */
function trimId(kind: 'network' | 'container', id: string): string {
  const t = id.trim();
  if (!t) throw new StatusError(`invalid ${kind} name or ID: value is empty`, 1);
  return t;
}

export async function connect(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.connect>): Promise<number> {
  const endpoint = connectBody(ctx, args[1], o);
  const net = trimId('network', args[0]);
  const body = { ...endpoint, Container: trimId('container', args[1]) };
  await ctx.client.networks.connect(net, body);
  return 0;
}

export async function disconnect(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.disconnect>): Promise<number> {
  const net = trimId('network', args[0]);
  const container = trimId('container', args[1]);
  await ctx.client.networks.disconnect(net, { Container: container, Force: Boolean(o.force) });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// ls, inspect

/** Go's time.Time.String() of an RFC 3339 time: `2026-11-23 01:34:10.92 +0000 UTC`. */
function goTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const base = goTimeString(Math.floor(ms / 1000));
  const frac = /\.(\d+)/.exec(iso)?.[1]?.replace(/0+$/, '') ?? '';
  return frac ? base.replace(/^(\S+ \S+)/, `$1.${frac}`) : base;
}

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

/** A row shaped like docker's networkContext. */
export function networkRow(n: Network, noTrunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  return goRow({
    CreatedAt: n.Created ? goTime(n.Created) : '',
    Driver: n.Driver ?? '',
    ID: noTrunc ? n.Id : n.Id.slice(0, 12),
    IPv4: String(!!n.EnableIPv4),
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Name: n.Name,
    Scope: n.Scope ?? '',
  }, { Label: (k: string) => labels[k] ?? '' });
}

export function renderNetworks(list: Network[], format: string | undefined, quiet: boolean, noTrunc: boolean): string {
  const rows = [...list].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)).map((n) => networkRow(n, noTrunc));
  const f = quiet && (!format || format === 'table') ? '{{.ID}}' : format;
  return renderList(f, DEFAULT_TABLE, rows, HEADERS, '*formatter.networkContext');
}

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.ls>): Promise<number> {
  const filters = (o.filter as string[] | undefined)?.filter((f) => f !== '');
  const list = await ctx.client.networks.list<Network>({ filters: encodeFilters(filters, ctx) });
  try {
    process.stdout.write(renderNetworks(list ?? [], o.format, Boolean(o.quiet), o.trunc === false)); // --no-trunc sets trunc=false
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
  return 0;
}

export async function inspect(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.inspect>): Promise<number> {
  return networkInspect(ctx, args, o);
}

// ---------------------------------------------------------------------------------------------
// rm

export const INGRESS_WARNING = 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?';

/**
 * Each network removed in turn and its name echoed as given; each failure printed, and then
 * docker's `exit status 1` line and exit 1. `-f` skips networks that do not exist.
 */
export async function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.rm>): Promise<number> {
  let failed = false;
  for (const name of args) {
    const id = name.trim();
    // docker inspects first: removing the swarm ingress network asks for confirmation.
    if (id) {
      let n: Network | undefined;
      try {
        n = await ctx.client.networks.inspect<Network>(id);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
      if (n?.Ingress && !(await confirm(INGRESS_WARNING))) continue;
    }
    try {
      if (!id) throw new StatusError('invalid network name or ID: value is empty', 1);
      await ctx.client.networks.remove(id);
    } catch (e) {
      if (e instanceof ApiError) {
        if (o.force && e.status === 404) continue;
        process.stderr.write(`Error response from daemon: ${e.message}\n`);
      } else if (e instanceof StatusError) {
        process.stderr.write(`${e.message}\n`);
      } else throw e;
      failed = true;
      continue;
    }
    process.stdout.write(`${name}\n`);
  }
  if (failed) throw new StatusError('exit status 1', 1);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// prune

export const PRUNE_WARNING = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

/** docker's report: nothing when nothing was deleted, else the names and a blank line. */
export function pruneOutput(r: { NetworksDeleted?: string[] | null } | undefined): string {
  const deleted = r?.NetworksDeleted ?? [];
  if (!deleted.length) return '';
  return `Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`;
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.prune>): Promise<number> {
  // A malformed --filter fails while docker parses flags: before the prompt.
  const filters = encodeFilters((o.filter as string[] | undefined)?.filter((f) => f !== ''), ctx, '--filter');
  // A declined prompt is docker's "cancelled" error: nothing more printed, exit 0.
  if (!o.force && !(await confirm(PRUNE_WARNING))) return 0;
  const r = await ctx.client.networks.prune({ filters });
  process.stdout.write(pruneOutput(r));
  return 0;
}
