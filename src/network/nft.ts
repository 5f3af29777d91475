// berth's nftables ruleset: two tables of its own (`table ip berth-<instance>` and, for IPv6
// networks, `table ip6 berth-<instance>`), rendered whole from the daemon's state and applied
// atomically with `nft -f -` (the file first makes sure each table exists, deletes it and defines
// it again, all in one transaction, so a re-apply replaces every stale rule, e.g. after a
// `kill -9` of berthd; the ip6 table is deleted the same way when no network has IPv6). Nothing
// here touches other tables.
//
// What the ruleset does (Docker's bridge driver model, on the kernel's data path):
// - nat/postrouting: masquerade each bridge subnet leaving through an interface that is not a
//   berth bridge (not for --internal networks or with masquerade disabled); masquerade loopback
//   sources DNATed onto a bridge (127.0.0.1:port → container) and hairpin traffic (a container
//   reaching a published port of its own bridge).
// - nat/prerouting and nat/output: DNAT of published ports for traffic to any local address
//   (`fib daddr type local`), from outside and from the host itself, 127.0.0.1 included unless
//   `localhostDnat` is false (then the userland proxy serves loopback, as Docker's default).
// - filter/forward: --internal bridges cut off from every other
//   interface; traffic between two different berth bridges dropped (isolation); with icc=false,
//   traffic between containers of the same bridge dropped (except --link exceptions); then
//   established/related accepted (after the drops, so no stale conntrack entry crosses them).
//   Then, for each other bridge, a connection coming in from another interface is let in only
//   when prerouting DNATed it (`ct status dnat`: it came to a published port) and dropped
//   otherwise: another host that routes a bridge subnet through this one reaches no unpublished
//   container port, nor a published container port directly (Docker 28's "DOCKER" filter chain,
//   `! -i br -o br -j DROP` after the ACCEPTs of published ports, and its raw-PREROUTING
//   `-d <container> ! -i br -j DROP` against direct routing). What stays open: containers of
//   one bridge to each other (in and out on the same bridge; icc=false has its own drop above),
//   containers out (masqueraded) and the answers back (established), and everything the host
//   itself sends, the userland proxy included (the output hook, not forward).
// - filter/prerouting at raw priority (before conntrack and DNAT, so on the addresses of the
//   wire): a port published on a loopback address drops packets for it that did not come in on
//   `lo`. The DNAT above runs before routing, so without this a packet for 127.0.0.1:PORT sent
//   to this host's MAC by another host on the link (moby#41872: a route or a forged frame is
//   enough, route_localnet is not needed) reached the container. Docker 28 adds the same rule
//   per loopback-published port (`-t raw -A PREROUTING -d 127.0.0.1 ! -i lo -p tcp --dport
//   PORT -j DROP`). Ports published on every address also answer 127.0.0.1 from outside, as in
//   Docker: they are public anyway. Only berth's own ports are matched, not 127.0.0.0/8 as a
//   whole: a drop here is final for the whole host (below), and other software's traffic is not
//   berth's business. The exception is packets arriving on berth's own bridges: loopback DNAT
//   sets route_localnet=1 on them, which would otherwise let a container (CAP_NET_RAW is enough)
//   reach every service of the host bound to 127.0.0.1 through its gateway. The answers of
//   loopback DNAT are not hit: on the wire they go to the masqueraded gateway address; conntrack
//   rewrites them to 127.0.0.1 only after this chain.
//
// IPv6 (the ip6 table, for networks with an IPv6 subnet) mirrors the same semantics: DNAT of ports
// published on IPv6 host addresses (or on every address) to the container's IPv6 address,
// masquerade of the IPv6 subnets, hairpin, and the same filter/forward chain (internal networks,
// isolation, icc=false, published ports only from outside). IPv6 has no route_localnet: ::1 cannot
// be DNATed to a bridge, so ports published on ::1 are the userland proxy's alone (as in Docker), the
// output hook leaves ::1 alone and there is nothing like the loopback drops of the raw chain (the
// kernel itself drops packets for ::1 that arrive on another interface).
//
// Kernel prerequisites the wiring sets (see requiredSysctls): net.ipv4.ip_forward=1;
// net.ipv4.conf.<bridge>.route_localnet=1 for loopback DNAT; net.ipv6.conf.all.forwarding=1 once
// a network has IPv6 (as Docker sets it); icc=false needs the br_netfilter module with
// net.bridge.bridge-nf-call-iptables=1 (-ip6tables for IPv6; bridged frames otherwise never reach
// the forward hook), and a container reaching its own published port needs hairpin mode on its
// bridge port. An accept here cannot override a DROP policy in another table (iptables-nft's
// FORWARD chain left DROP by docker): a drop in any base chain of a hook is final.
import { invalid, system } from '../common/errors.ts';
import { run } from '../sys/index.ts';
import { parseCidr, formatCidr, parseIPv4, cidrContains, parseIPv6, formatIPv6, parsePrefix, formatPrefix, prefixContains } from './ipam.ts';

export interface NftBridge {
  /** Linux bridge interface name (berth0, br-<id12>). */
  name: string;
  /** IPv4 subnet of the network, e.g. 172.17.0.0/16. */
  subnet: string;
  /** IPv6 subnet of an IPv6 network (EnableIPv6), e.g. fd12:3456:789a:1::/64. */
  subnet6?: string;
  /** --internal: no route to or from anything but the bridge itself. */
  internal?: boolean;
  /** Inter-container communication on this bridge (com.docker.network.bridge.enable_icc); default true. */
  icc?: boolean;
  /** com.docker.network.bridge.enable_ip_masquerade; default true. */
  masquerade?: boolean;
}

export interface NftPort {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' (every local address), 0.0.0.0 or :: (every address of one family), or one address. */
  hostIp?: string;
  hostPort: number;
  /** The container's address on the bridge: IPv4 for the ip table, IPv6 for the ip6 table. A
   *  port on an IPv6 host address with an IPv4 target is the userland proxy's (not rendered). */
  containerIp: string;
  containerPort: number;
  /** Bridge the container is attached to. */
  bridge: string;
}

/** An icc=false exception (legacy --link): srcIp may reach dstIp:port on the bridge. */
export interface NftLink { bridge: string; srcIp: string; dstIp: string; proto: 'tcp' | 'udp' | 'sctp'; port: number }

export interface RulesetState {
  /** The table name, `berth-<instance>`: unique per daemon instance. */
  table: string;
  bridges: NftBridge[];
  ports: NftPort[];
  links?: NftLink[];
  /** DNAT traffic the host sends to 127.0.0.0/8 too (default true). false = userland proxy for loopback. */
  localhostDnat?: boolean;
  /** The kernel has IPv6 (default true): without it (ipv6.disable=1) there is no ip6 table to keep or remove. */
  ipv6?: boolean;
}

const TABLE_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export function checkTableName(name: string): string {
  if (!TABLE_RE.test(name)) throw invalid(`invalid nftables table name: ${JSON.stringify(name)}`);
  return name;
}

function ifname(name: string): string {
  if (!IFNAME_RE.test(name)) throw invalid(`invalid interface name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function ipv4(s: string, what: string): string {
  const n = parseIPv4(s);
  if (n === undefined) throw invalid(`invalid ${what}: ${s}`);
  return s;
}

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(`invalid ${what}: ${n}`);
  return n;
}

function ifSet(names: string[]): string {
  return names.length === 1 ? ifname(names[0]) : `{ ${names.map(ifname).join(', ')} }`;
}

function isV6(ip: string | undefined): boolean { return !!ip && ip.includes(':'); }

function ipv6(s: string, what: string): string {
  const n = parseIPv6(s);
  if (n === undefined) throw invalid(`invalid ${what}: ${s}`);
  return formatIPv6(n);
}

/** Renders the whole ruleset file for `nft -f`. Pure; throws on values that are not safe to render. */
export function renderRuleset(state: RulesetState): string {
  const t = checkTableName(state.table);
  const localhostDnat = state.localhostDnat !== false;
  const bridges = state.bridges.map((b) => ({
    ...b,
    subnet: formatCidr(parseCidr(b.subnet)),
    q: ifname(b.name),
    internal: !!b.internal,
    icc: b.icc !== false,
    masquerade: b.masquerade !== false,
  }));
  const byName = new Map(bridges.map((b) => [b.name, b]));
  if (byName.size !== bridges.length) throw invalid('duplicate bridge name in ruleset state');
  const allNames = bridges.map((b) => b.name);

  const L: string[] = [];
  L.push(`# berth ruleset for table ip ${t}: generated, applied atomically with nft -f`);
  L.push(`table ip ${t}`);
  L.push(`delete table ip ${t}`);
  L.push(`table ip ${t} {`);

  // --- DNAT of published ports
  const dnat: string[] = [];
  const loopbackDrops: string[] = [];
  for (const p of state.ports) {
    if (isV6(p.hostIp) || isV6(p.containerIp)) continue; // the ip6 table's, or the proxy's
    const b = byName.get(p.bridge);
    if (!b) throw invalid(`published port on unknown bridge ${p.bridge}`);
    if (b.internal) continue; // Docker publishes nothing from an internal network
    const cip = ipv4(p.containerIp, 'container address');
    if (!cidrContains(parseCidr(b.subnet), parseIPv4(cip)!)) throw invalid(`container address ${cip} is not in ${b.subnet}`);
    if (!['tcp', 'udp', 'sctp'].includes(p.proto)) throw invalid(`invalid proto: ${p.proto}`);
    const hp = port(p.hostPort, 'hostPort');
    const cp = port(p.containerPort, 'containerPort');
    const host = p.hostIp && p.hostIp !== '0.0.0.0' ? `ip daddr ${ipv4(p.hostIp, 'host address')} ` : '';
    dnat.push(`\t\t${host}${p.proto} dport ${hp} dnat to ${cip}:${cp}`);
    if (host && parseIPv4(p.hostIp!)! >>> 24 === 127) {
      loopbackDrops.push(`\t\tiifname != "lo" ip daddr ${p.hostIp} ${p.proto} dport ${hp} drop comment "published on loopback"`);
    }
  }
  L.push('\tchain publish {');
  L.push(...dnat);
  L.push('\t}');
  L.push('');
  L.push('\tchain prerouting {');
  L.push('\t\ttype nat hook prerouting priority dstnat; policy accept;');
  L.push('\t\tfib daddr type local jump publish');
  L.push('\t}');
  L.push('');
  L.push('\tchain output {');
  L.push('\t\ttype nat hook output priority -100; policy accept;');
  if (localhostDnat) {
    L.push('\t\t# Includes 127.0.0.1: a DNATed packet keeps its loopback source, which the kernel only');
    L.push('\t\t# routes out of a bridge with net.ipv4.conf.<bridge>.route_localnet=1; postrouting');
    L.push('\t\t# masquerades it so the container answers the bridge gateway, not its own loopback.');
    L.push('\t\tfib daddr type local jump publish');
  } else {
    L.push('\t\t# Loopback (127.0.0.0/8) is served by the userland proxy.');
    L.push('\t\tip daddr != 127.0.0.0/8 fib daddr type local jump publish');
  }
  L.push('\t}');
  L.push('');

  // --- source NAT
  L.push('\tchain postrouting {');
  L.push('\t\ttype nat hook postrouting priority srcnat; policy accept;');
  for (const b of bridges) {
    if (b.internal) continue;
    if (b.masquerade) L.push(`\t\tip saddr ${b.subnet} oifname != ${ifSet(allNames)} masquerade`);
    if (localhostDnat) {
      L.push(`\t\toifname ${b.q} ip saddr 127.0.0.0/8 masquerade comment "loopback DNAT; needs net.ipv4.conf.${b.name}.route_localnet=1"`);
    }
    L.push(`\t\tiifname ${b.q} oifname ${b.q} ct status dnat masquerade comment "hairpin to a published port"`);
  }
  L.push('\t}');
  L.push('');

  // --- loopback: published on 127.0.0.0/8 means from this host only
  L.push('\tchain prerouting-raw {');
  L.push('\t\ttype filter hook prerouting priority raw; policy accept;');
  L.push(...loopbackDrops);
  if (bridges.length) L.push(`\t\tiifname ${ifSet(allNames)} ip daddr 127.0.0.0/8 drop comment "the host's loopback is not the containers'"`);
  L.push('\t}');
  L.push('');

  // --- filter
  L.push('\tchain forward {');
  L.push('\t\ttype filter hook forward priority filter; policy accept;');
  // The drops come before `established`: a conntrack entry left by an earlier network on the
  // same subnet (or from before icc was turned off) must not carry traffic across.
  for (const b of bridges) {
    if (!b.internal) continue;
    L.push(`\t\tiifname ${b.q} oifname != ${b.q} drop comment "internal network"`);
    L.push(`\t\toifname ${b.q} iifname != ${b.q} drop comment "internal network"`);
  }
  for (const b of bridges) {
    const others = allNames.filter((n) => n !== b.name);
    if (others.length) L.push(`\t\tiifname ${b.q} oifname ${ifSet(others)} drop comment "isolation between berth networks"`);
  }
  for (const l of state.links ?? []) {
    const b = byName.get(l.bridge);
    if (!b) throw invalid(`link on unknown bridge ${l.bridge}`);
    if (b.icc) continue;
    const src = ipv4(l.srcIp, 'link source');
    const dst = ipv4(l.dstIp, 'link destination');
    const p = port(l.port, 'link port');
    L.push(`\t\tiifname ${b.q} oifname ${b.q} ip saddr ${src} ip daddr ${dst} ${l.proto} dport ${p} accept`);
    L.push(`\t\tiifname ${b.q} oifname ${b.q} ip saddr ${dst} ip daddr ${src} ${l.proto} sport ${p} ct state established,related accept`);
  }
  for (const b of bridges) {
    if (!b.icc) L.push(`\t\tiifname ${b.q} oifname ${b.q} drop comment "icc=false"`);
  }
  L.push('\t\tct state established,related accept');
  for (const b of bridges) {
    if (b.internal) continue; // cut off above
    L.push(`\t\toifname ${b.q} iifname != ${b.q} ct status dnat accept comment "published port"`);
    L.push(`\t\toifname ${b.q} iifname != ${b.q} drop comment "unpublished port"`);
  }
  L.push('\t}');
  L.push('}');
  if (state.ipv6 !== false) L.push(...renderIPv6(t, state));
  else if (state.bridges.some((b) => b.subnet6)) throw invalid('an IPv6 network on a host without IPv6');
  return L.join('\n') + '\n';
}

/** The ip6 table: the IPv6 networks' share of the semantics above (see the header). */
function renderIPv6(t: string, state: RulesetState): string[] {
  const L: string[] = [`table ip6 ${t}`, `delete table ip6 ${t}`];
  const bridges = state.bridges.filter((b) => b.subnet6).map((b) => ({
    ...b,
    subnet6: formatPrefix(parsePrefix(b.subnet6!)),
    q: ifname(b.name),
    internal: !!b.internal,
    icc: b.icc !== false,
    masquerade: b.masquerade !== false,
  }));
  if (!bridges.length) return L;
  const byName = new Map(bridges.map((b) => [b.name, b]));
  const allNames = state.bridges.map((b) => b.name);
  const dnat: string[] = [];
  for (const p of state.ports) {
    if (!isV6(p.containerIp) || (p.hostIp && !isV6(p.hostIp))) continue;
    const b = byName.get(p.bridge);
    if (!b) throw invalid(`published IPv6 port on bridge ${p.bridge} without IPv6`);
    if (b.internal) continue;
    const cip = ipv6(p.containerIp, 'container address');
    const sub = parsePrefix(b.subnet6);
    if (!prefixContains(sub, 6, parseIPv6(cip)!)) throw invalid(`container address ${cip} is not in ${b.subnet6}`);
    if (!['tcp', 'udp', 'sctp'].includes(p.proto)) throw invalid(`invalid proto: ${p.proto}`);
    const host = p.hostIp && p.hostIp !== '::' ? ipv6(p.hostIp, 'host address') : '';
    if (host === '::1') continue; // no IPv6 route_localnet: the userland proxy's
    dnat.push(`\t\t${host ? `ip6 daddr ${host} ` : ''}${p.proto} dport ${port(p.hostPort, 'hostPort')} dnat to [${cip}]:${port(p.containerPort, 'containerPort')}`);
  }
  L.push(`table ip6 ${t} {`);
  L.push('\tchain publish {', ...dnat, '\t}', '');
  L.push('\tchain prerouting {');
  L.push('\t\ttype nat hook prerouting priority dstnat; policy accept;');
  L.push('\t\tfib daddr type local jump publish');
  L.push('\t}', '');
  L.push('\tchain output {');
  L.push('\t\ttype nat hook output priority -100; policy accept;');
  L.push('\t\t# ::1 cannot be DNATed onto a bridge (no route_localnet in IPv6): the userland proxy serves it.');
  L.push('\t\tip6 daddr != ::1 fib daddr type local jump publish');
  L.push('\t}', '');
  L.push('\tchain postrouting {');
  L.push('\t\ttype nat hook postrouting priority srcnat; policy accept;');
  for (const b of bridges) {
    if (b.internal) continue;
    if (b.masquerade) L.push(`\t\tip6 saddr ${b.subnet6} oifname != ${ifSet(allNames)} masquerade`);
    L.push(`\t\tiifname ${b.q} oifname ${b.q} ct status dnat masquerade comment "hairpin to a published port"`);
  }
  L.push('\t}', '');
  L.push('\tchain forward {');
  L.push('\t\ttype filter hook forward priority filter; policy accept;');
  for (const b of bridges) {
    if (!b.internal) continue;
    L.push(`\t\tiifname ${b.q} oifname != ${b.q} drop comment "internal network"`);
    L.push(`\t\toifname ${b.q} iifname != ${b.q} drop comment "internal network"`);
  }
  for (const b of bridges) {
    const others = allNames.filter((n) => n !== b.name);
    if (others.length) L.push(`\t\tiifname ${b.q} oifname ${ifSet(others)} drop comment "isolation between berth networks"`);
  }
  for (const b of bridges) {
    if (!b.icc) L.push(`\t\tiifname ${b.q} oifname ${b.q} drop comment "icc=false"`);
  }
  L.push('\t\tct state established,related accept');
  for (const b of bridges) {
    if (b.internal) continue;
    L.push(`\t\toifname ${b.q} iifname != ${b.q} ct status dnat accept comment "published port"`);
    L.push(`\t\toifname ${b.q} iifname != ${b.q} drop comment "unpublished port"`);
  }
  L.push('\t}');
  L.push('}');
  return L;
}

/** Kernel settings the ruleset relies on, as /proc/sys paths and values. */
export function requiredSysctls(state: RulesetState): Array<{ path: string; value: string }> {
  const out = [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }];
  if (state.localhostDnat !== false) {
    for (const b of state.bridges) {
      if (b.internal) continue;
      out.push({ path: `/proc/sys/net/ipv4/conf/${b.name}/route_localnet`, value: '1' });
    }
  }
  if (state.bridges.some((b) => b.icc === false)) {
    out.push({ path: '/proc/sys/net/bridge/bridge-nf-call-iptables', value: '1' });
  }
  if (state.bridges.some((b) => b.subnet6)) {
    out.push({ path: '/proc/sys/net/ipv6/conf/all/forwarding', value: '1' });
    if (state.bridges.some((b) => b.subnet6 && b.icc === false)) out.push({ path: '/proc/sys/net/bridge/bridge-nf-call-ip6tables', value: '1' });
  }
  return out;
}

export interface NftOptions { nft?: string }

/** Applies a ruleset file atomically (`nft -f -`, or `nft -c -f -` to check only). */
export async function applyRuleset(text: string, opts: NftOptions & { check?: boolean } = {}): Promise<void> {
  const args = opts.check ? ['-c', '-f', '-'] : ['-f', '-'];
  await run(opts.nft ?? 'nft', args, { input: text });
}

/** Deletes berth's table `ip <name>` (`ip6` with family 'ip6'); a missing table is not an error unless `ignoreMissing` is false. */
export async function deleteTable(name: string, opts: NftOptions & { ignoreMissing?: boolean; family?: 'ip' | 'ip6' } = {}): Promise<void> {
  const t = checkTableName(name);
  const file = opts.nft ?? 'nft';
  const args = ['delete', 'table', opts.family ?? 'ip', t];
  const r = await run(file, args, { allowFail: true });
  if (r.code === 0) return;
  if (opts.ignoreMissing !== false && /No such file or directory/.test(r.stderr)) return;
  throw system(`${file} ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
}

/** `nft list table ip <name>` (or `ip6`) output (for tests and `berthd` diagnostics). */
export async function listTable(name: string, opts: NftOptions & { family?: 'ip' | 'ip6' } = {}): Promise<string> {
  const r = await run(opts.nft ?? 'nft', ['list', 'table', opts.family ?? 'ip', checkTableName(name)]);
  return r.stdout;
}
