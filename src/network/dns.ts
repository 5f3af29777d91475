// The embedded DNS server of user-defined networks (Docker's resolver, libnetwork/resolver.go).
// A container on a user network asks it; names the network layer knows (container names,
// network aliases, short IDs) are answered here, everything else is forwarded to upstream
// resolvers (the container's --dns servers or the host's). Docker listens on 127.0.0.11 inside
// each container's namespace; berth's daemon stays in the host namespace and listens on each user
// network's gateway address (10.89.1.1:53, UDP and TCP), which the containers' resolv.conf names.
// Who asks is told by the packet's source address: the container's address on that network.
//
// Worked example (client 10.89.1.5, resolver knows `web` → 10.89.1.7 for it):
//   dns.listen('10.89.1.1')                  → binds udp+tcp 10.89.1.1:53, resolves to 53
//   A web.          from 10.89.1.5           → NOERROR, AA, `web. 600 IN A 10.89.1.7`
//   AAAA web.                                → resolver.lookup6(): `web`'s IPv6 addresses on the
//                                              networks with IPv6, or NOERROR without records
//                                              (musl/busybox ask A and AAAA together and would
//                                              otherwise wait on the AAAA)
//   PTR 7.1.89.10.in-addr.arpa.              → resolver.reverse() names, else forwarded (ip6.arpa too)
//   A example.com.                           → the raw query to upstreams(clientIp) in order, the
//                                              first usable answer's bytes relayed; SERVFAIL if none
//   A example.com. with mayForward() = false → SERVFAIL, never forwarded (Docker on --internal)
//   dns.close('10.89.1.1')                   → both sockets closed, pending forwards abandoned
//
// Forwarding follows Docker: UDP queries go out over UDP, TCP queries over TCP (a truncated UDP
// answer is relayed as is, so the client retries over TCP); at most 3 upstreams (glibc's MAXNS,
// Docker's maxExtDNS), each with its own timeout; SERVFAIL, REFUSED, other errors and
// non-authoritative NXDOMAIN move on to the next upstream (RFC 8020: only an authoritative
// NXDOMAIN is final), and when none answers well the last answer received is relayed. An upstream
// that is one of our own listening addresses is skipped (no loop). Nothing received is trusted:
// malformed queries are dropped (UDP) or end the connection (TCP), every failure is logged and
// swallowed, and resources are bounded (in-flight forwards, TCP connections, TCP idle time).
import dgram from 'node:dgram';
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { invalid, system } from '../common/errors.ts';
import { formatIPv6 } from './ipam.ts';

export interface DnsResolver {
  /** A records for `name` (lower-case, no trailing dot) as the client at `clientIp` sees them.
   *  undefined: not a local name (forward it); []: a local name without IPv4 (NOERROR, empty). */
  lookup(clientIp: string, name: string): string[] | undefined;
  /** AAAA records of a name `lookup` knows (its IPv6 addresses; [] for none). */
  lookup6?(clientIp: string, name: string): string[];
  /** PTR targets for `ip` (IPv4, or IPv6 in canonical text) as the client sees them; undefined (or no method): forward. */
  reverse?(clientIp: string, ip: string): string[] | undefined;
  /** Whether the client's other names may be forwarded; false (a container only on --internal
   *  networks) answers them SERVFAIL, as Docker does when its resolver does not proxy. */
  mayForward(clientIp: string): boolean;
}

export interface EmbeddedDnsOptions {
  resolver: DnsResolver;
  /** Upstream resolvers for a client, in order: 'ip', 'ip:port' or '[ipv6]:port' (port 53 when
   *  absent). Asked on every forwarded query, so a changed host resolv.conf takes effect at once. */
  upstreams: (clientIp: string) => string[];
  /** Per upstream (default 2000 ms): libc clients wait 5 s for the whole query. */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

/** Docker's TTL for the embedded DNS server's own records (libnetwork respTTL). */
export const LOCAL_TTL = 600;
export const MAX_UPSTREAMS = 3;
export const MAX_INFLIGHT = 1024;
export const MAX_TCP_CONNECTIONS = 256;
export const TCP_IDLE_MS = 10_000;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** The payload size we advertise in our own OPT record (the DNS flag day 2020 value). */
const EDNS_SIZE = 1232;

type Transport = 'udp' | 'tcp';
type Question = dnsPacket.Question;
type Answer = dnsPacket.Answer;

interface Listener {
  key: string;
  udp: dgram.Socket;
  tcp: net.Server;
  conns: Set<net.Socket>;
  /** Aborted on close: forwards still pending for this address give up. */
  abort: AbortController;
}

interface Upstream { host: string; port: number; family: 4 | 6 }

export class EmbeddedDns {
  #o: Required<Omit<EmbeddedDnsOptions, 'log'>> & Pick<EmbeddedDnsOptions, 'log'>;
  #listeners = new Map<string, Listener>(); // by `ip:port` (addrKey)
  #starting = new Map<string, Promise<number>>();
  #inflight = 0;
  #tcpConns = 0;
  #lastOverflowLog = 0;

  constructor(o: EmbeddedDnsOptions) {
    this.#o = { timeoutMs: 2000, ...o };
  }

  /** Start answering on ip:port, UDP and TCP; resolves to the port bound. Idempotent per address;
   *  port 0 takes a free port (the same for both protocols), for tests. The address must already
   *  exist on an interface (the bridge holds the gateway address before this is called). */
  async listen(ip: string, port = 53): Promise<number> {
    const key = addrKey(ip, port);
    if (port !== 0) {
      if (this.#listeners.has(key)) return port;
      const starting = this.#starting.get(key);
      if (starting) return starting;
    }
    const p = this.#start(ip, port);
    if (port !== 0) this.#starting.set(key, p);
    try { return await p; } finally { if (port !== 0) this.#starting.delete(key); }
  }

  /** Stop answering on ip:port (a no-op if not listening); open TCP connections are cut. */
  async close(ip: string, port = 53): Promise<void> {
    const key = addrKey(ip, port);
    // Only waits for a listen in progress: its failure goes to listen()'s caller.
    await this.#starting.get(key)?.catch(() => {});
    const l = this.#listeners.get(key);
    if (!l) return;
    this.#listeners.delete(key);
    l.abort.abort();
    for (const c of l.conns) c.destroy();
    await Promise.all([
      new Promise<void>((res) => { try { l.udp.close(() => res()); } catch { res(); /* already closed: no callback comes */ } }),
      new Promise<void>((res) => l.tcp.close(() => res())),
    ]);
  }

  async closeAll(): Promise<void> {
    // As in close(): a failed listen is reported to listen()'s caller.
    await Promise.all([...this.#starting.values()].map((p) => p.catch(() => {})));
    await Promise.all([...this.#listeners.keys()].map((k) => {
      const { ip, port } = splitKey(k);
      return this.close(ip, port);
    }));
  }

  /** `ip:port` of every address answered on. */
  addresses(): string[] { return [...this.#listeners.keys()]; }

  // ------------------------------------------------------------------------------ sockets

  async #start(ip: string, port: number): Promise<number> {
    const family = net.isIP(ip);
    if (!family) throw invalid(`embedded DNS: not an IP address: ${ip}`);
    const fail = (e: unknown) => system(`embedded DNS on ${addrKey(ip, port)}: ${(e as Error).message}`, e);
    // With port 0 the kernel picks the UDP port; TCP then needs the same one, which another
    // process may hold: try again a few times.
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((res, rej) => {
          udp.once('error', rej);
          udp.bind({ address: ip, port, exclusive: true }, () => { udp.off('error', rej); res(); });
        });
      } catch (e) {
        try { udp.close(); } catch { /* never bound */ }
        throw fail(e);
      }
      const bound = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((res, rej) => {
          tcp.once('error', rej);
          tcp.listen({ host: ip, port: bound, exclusive: true }, () => { tcp.off('error', rej); res(); });
        });
      } catch (e) {
        udp.close();
        if (port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
        throw fail(e);
      }
      const l: Listener = { key: addrKey(ip, bound), udp, tcp, conns: new Set(), abort: new AbortController() };
      // Every pending forward listens on it: up to MAX_INFLIGHT, not a leak.
      setMaxListeners(MAX_INFLIGHT + 1, l.abort.signal);
      udp.on('error', (e) => this.#log(`udp ${l.key}: ${e.message}`));
      tcp.on('error', (e) => this.#log(`tcp ${l.key}: ${e.message}`));
      udp.on('message', (msg, rinfo) => this.#onDatagram(l, msg, rinfo));
      tcp.on('connection', (sock) => this.#onConnection(l, sock));
      this.#listeners.set(l.key, l);
      return bound;
    }
  }

  #onDatagram(l: Listener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.#answer(msg, rinfo.address, 'udp', l).then((resp) => {
      if (!resp || l.abort.signal.aborted) return;
      l.udp.send(resp, rinfo.port, rinfo.address, (err) => { if (err) this.#log(`udp reply to ${rinfo.address}: ${err.message}`); });
    }).catch((e) => this.#log(`udp query from ${rinfo.address}: ${(e as Error).message}`));
  }

  /** DNS over TCP: 2-byte length-prefixed messages, possibly several (pipelined) per connection;
   *  answers may go out of order (RFC 7766), each carries its query's ID. */
  #onConnection(l: Listener, sock: net.Socket): void {
    if (this.#tcpConns >= MAX_TCP_CONNECTIONS || l.abort.signal.aborted) { sock.destroy(); return; }
    this.#tcpConns++;
    l.conns.add(sock);
    const client = sock.remoteAddress ?? '';
    sock.on('close', () => { this.#tcpConns--; l.conns.delete(sock); });
    sock.on('error', () => { /* reset by the client: 'close' follows */ });
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      // At most one incomplete message is ever held (≤ 64 KiB + 2).
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.#answer(msg, client, 'tcp', l).then((resp) => {
          if (!resp) { sock.destroy(); return; }
          if (sock.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(resp.length);
          sock.write(Buffer.concat([prefix, resp]));
        }).catch((e) => { this.#log(`tcp query from ${client}: ${(e as Error).message}`); sock.destroy(); });
      }
    });
  }

  // ------------------------------------------------------------------------------ answering

  /** The reply to one query message, or undefined to drop it (malformed, or not a query). */
  async #answer(raw: Buffer, clientIp: string, transport: Transport, l: Listener): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try { query = dnsPacket.decode(raw); } catch { return undefined; }
    // Responses are never answered: that could make two servers echo each other forever.
    if (query.type !== 'query' || !query.questions?.length) return undefined;
    if ((raw[2] >> 3) & 0x0f) return reply(query, RCODE.NOTIMP); // opcode other than QUERY
    const q = query.questions[0]; // as most servers: only the first question counts
    const { resolver } = this.#o;
    try {
      const local = localAnswers(resolver, clientIp, q);
      if (local) return reply(query, RCODE.NOERROR, local, transport);
      if (!resolver.mayForward(clientIp)) return reply(query, RCODE.SERVFAIL);
      return (await this.#forward(raw, clientIp, transport, l.abort.signal)) ?? reply(query, RCODE.SERVFAIL);
    } catch (e) {
      this.#log(`${q.type} ${q.name} from ${clientIp}: ${(e as Error).message}`);
      return reply(query, RCODE.SERVFAIL);
    }
  }

  /** The first good upstream answer (else the last one received), undefined when none came. */
  async #forward(raw: Buffer, clientIp: string, transport: Transport, signal: AbortSignal): Promise<Buffer | undefined> {
    if (this.#inflight >= MAX_INFLIGHT) {
      const now = Date.now();
      if (now - this.#lastOverflowLog > 60_000) {
        this.#lastOverflowLog = now;
        this.#log(`more than ${MAX_INFLIGHT} concurrent forwarded queries; answering SERVFAIL`);
      }
      return undefined;
    }
    this.#inflight++;
    try {
      let last: Buffer | undefined;
      for (const up of this.#targets(clientIp)) {
        if (signal.aborted) return undefined;
        let resp: Buffer;
        try {
          resp = await (transport === 'udp' ? udpExchange : tcpExchange)(up, raw, this.#o.timeoutMs, signal);
        } catch (e) {
          this.#log(`forward to ${up.host}:${up.port}/${transport}: ${(e as Error).message}`);
          continue;
        }
        last = resp;
        const rcode = resp[3] & 0x0f;
        const authoritative = (resp[2] & 0x04) !== 0;
        if (rcode === RCODE.NOERROR || (rcode === RCODE.NXDOMAIN && authoritative)) return resp;
      }
      return last;
    } finally {
      this.#inflight--;
    }
  }

  /** The client's upstreams, parsed, without our own addresses, at most MAX_UPSTREAMS. */
  #targets(clientIp: string): Upstream[] {
    const out: Upstream[] = [];
    for (const s of this.#o.upstreams(clientIp)) {
      const up = parseUpstream(s);
      if (!up) { this.#log(`ignoring upstream ${JSON.stringify(s)}: not ip or ip:port`); continue; }
      if (this.#listeners.has(addrKey(up.host, up.port))) continue;
      out.push(up);
      if (out.length === MAX_UPSTREAMS) break;
    }
    return out;
  }

  #log(msg: string): void {
    try { this.#o.log?.(`embedded DNS: ${msg}`); } catch { /* a logger never takes the server down */ }
  }
}

/** Records for a local name, or undefined when the name is not ours (forward it). */
function localAnswers(resolver: DnsResolver, clientIp: string, q: Question): Answer[] | undefined {
  if (q.class !== undefined && q.class !== 'IN' && q.class !== 'ANY') return undefined;
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const ptrIp = inAddrArpa(name) ?? ip6Arpa(name);
  if (ptrIp !== undefined) {
    const names = resolver.reverse?.(clientIp, ptrIp);
    if (!names) return undefined;
    return q.type === 'PTR' || q.type === ('ANY' as string)
      ? names.map((data) => ({ type: 'PTR', class: 'IN', name: q.name, ttl: LOCAL_TTL, data }))
      : [];
  }
  const ips = resolver.lookup(clientIp, name);
  if (!ips) return undefined;
  // Every other type of a local name (and AAAA of one without IPv6): NOERROR without records,
  // not forwarded (the upstream would say NXDOMAIN and a client could take that for the whole name).
  const any = q.type === ('ANY' as string);
  const out: Answer[] = [];
  if (q.type === 'A' || any) out.push(...ips.map((data) => ({ type: 'A' as const, class: 'IN' as const, name: q.name, ttl: LOCAL_TTL, data })));
  if (q.type === 'AAAA' || any) out.push(...(resolver.lookup6?.(clientIp, name) ?? []).map((data) => ({ type: 'AAAA' as const, class: 'IN' as const, name: q.name, ttl: LOCAL_TTL, data })));
  return out;
}

/** `d.c.b.a.in-addr.arpa` → `a.b.c.d`; undefined for anything else. */
function inAddrArpa(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number).reverse();
  return octets.every((o) => o <= 255) ? octets.join('.') : undefined;
}

/** `<32 nibbles, last first>.ip6.arpa` → the IPv6 address in canonical text; undefined for anything else. */
function ip6Arpa(name: string): string | undefined {
  const m = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(name);
  if (!m) return undefined;
  const hex = m[1].split('.').filter(Boolean).reverse().join('');
  return formatIPv6(BigInt(`0x${hex}`));
}

/** A response to `query`: its ID, first question, RD bit and (when it sent one) an OPT record.
 *  Over UDP, answers that do not fit the client's size (512, or its EDNS size) are cut and TC set. */
function reply(query: dnsPacket.DecodedPacket, rcode: number, answers: Answer[] = [], transport: Transport = 'tcp'): Buffer {
  const rd = query.flags! & dnsPacket.RECURSION_DESIRED;
  const opt = query.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const packet: dnsPacket.Packet = {
    type: 'response',
    id: query.id,
    flags: rd | dnsPacket.RECURSION_AVAILABLE | (rcode === RCODE.NOERROR ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode,
    questions: [query.questions![0]],
    answers: [...answers],
    additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_SIZE, flags: 0 } as dnsPacket.OptAnswer] : [],
  };
  const limit = transport === 'udp' ? Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 65_535)) : 65_535;
  while (packet.answers!.length && dnsPacket.encodingLength(packet) > limit) {
    packet.answers!.pop();
    if (transport === 'udp') packet.flags! |= dnsPacket.TRUNCATED_RESPONSE;
  }
  return dnsPacket.encode(packet);
}

// ------------------------------------------------------------------------------ upstreams

/** One query over UDP from a fresh socket (a random source port), connected to the upstream so
 *  only its datagrams arrive; a datagram with another ID or not a response is ignored. */
function udpExchange(up: Upstream, query: Buffer, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(up.family === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const finish = exchangeFinisher(timeoutMs, signal, () => { try { sock.close(); } catch { /* closed */ } }, resolve, reject);
    sock.on('error', (e) => finish(e)); // ICMP port unreachable → ECONNREFUSED: next upstream at once
    sock.on('message', (m) => { if (m.length >= 12 && m.readUInt16BE(0) === id && m[2] & 0x80) finish(undefined, m); });
    sock.connect(up.port, up.host, () => sock.send(query, (e) => { if (e) finish(e); }));
  });
}

/** One query over a new TCP connection (length-prefixed), closed after the answer. */
function tcpExchange(up: Upstream, query: Buffer, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: up.host, port: up.port });
    const id = query.readUInt16BE(0);
    const finish = exchangeFinisher(timeoutMs, signal, () => sock.destroy(), resolve, reject);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length);
    sock.on('connect', () => sock.write(Buffer.concat([prefix, query])));
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('connection closed before an answer')));
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        if (m.length >= 12 && m.readUInt16BE(0) === id && m[2] & 0x80) { finish(undefined, Buffer.from(m)); return; }
      }
    });
  });
}

/** Settles an exchange once: on an answer, an error, the timeout or the abort; then cleans up. */
function exchangeFinisher(
  timeoutMs: number, signal: AbortSignal, cleanup: () => void,
  resolve: (b: Buffer) => void, reject: (e: Error) => void,
): (err?: Error, resp?: Buffer) => void {
  let done = false;
  const finish = (err?: Error, resp?: Buffer) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    cleanup();
    if (resp) resolve(resp); else reject(err ?? new Error('no answer'));
  };
  const onAbort = () => finish(new Error('listener closed'));
  const timer = setTimeout(() => finish(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  if (signal.aborted) queueMicrotask(onAbort); else signal.addEventListener('abort', onAbort, { once: true });
  return finish;
}

/** 'ip', 'ip:port', '[ipv6]' or '[ipv6]:port'; a bare IPv6 address has no port. */
function parseUpstream(s: string): Upstream | undefined {
  let host = s.trim();
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (host.split(':').length === 2) {
    const [h, p] = host.split(':');
    if (!/^\d+$/.test(p)) return undefined;
    host = h;
    port = Number(p);
  }
  const family = net.isIP(host);
  if (!family || !(port > 0 && port < 65_536)) return undefined;
  return { host, port, family: family as 4 | 6 };
}

/** Map key of a listening address: `ip:port` (IPv6 bracketed, lower-case). */
function addrKey(ip: string, port: number): string {
  const h = ip.toLowerCase();
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}
function splitKey(key: string): { ip: string; port: number } {
  const i = key.lastIndexOf(':');
  return { ip: key.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(key.slice(i + 1)) };
}

/** The nameserver addresses of a resolv.conf text (the host's /etc/resolv.conf), in order.
 *  Loopback ones are kept: the daemon runs in the host namespace and reaches them (systemd-
 *  resolved's 127.0.0.53), unlike Docker's resolver that forwards from inside the container. */
export function parseResolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [kw, addr] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (kw === 'nameserver' && addr && net.isIP(addr)) out.push(addr);
  }
  return out;
}
