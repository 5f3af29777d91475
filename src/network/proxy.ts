// The userland proxy for published ports (Docker's docker-proxy, in the daemon's own process).
// With `userland-proxy` on (Docker's default) berthd listens on each published hostIp:hostPort
// and forwards to containerIp:containerPort. It serves what the nftables DNAT leaves alone (the
// host's own traffic to 127.0.0.0/8) and it holds the port, so no host process can take it
// meanwhile; a port a host process already holds fails the container's start.
//
// Interface:
//   new UserlandProxy({ udpIdleMs?, udpMaxFlows?, log? })
//   add(spec)     listens; idempotent for an identical spec (concurrent calls share one bind);
//                 rejects with a ProxyBindError when the bind fails, worded as Docker 28's daemon
//                 (which binds the port itself since 28.0 and hands the socket to docker-proxy):
//                   failed to bind host port for 0.0.0.0:8080:172.17.0.2:80/tcp: address already in use
//                 (libnetwork bindTCPOrUDP; the endpoint text around it is the caller's: "driver
//                 failed programming external connectivity on endpoint <name> (<id>): …").
//   remove(spec)  stops listening and destroys the spec's live connections and flows; idempotent.
//   list()        the specs served (copies; hostIp as given).
//   closeAll()    remove() of everything.
// A spec is identified by proto, host address ('' and '0.0.0.0' alike), host port and target. Another spec on the same host address and port fails like any host process would.
//
// TCP: one connection to the target per accepted client, piped both ways by streams (no per-chunk
// JS), Nagle off, half-close kept (a client that ends its side still gets the reply; the target's
// end is passed on the same way). An error on either side destroys both; a target that refuses
// or cannot be reached closes the client. UDP: one connected socket to the target per client
// address, relaying replies back from the listening socket; a flow closes after `udpIdleMs`
// without traffic either way (90 s, docker-proxy's UDP conntrack timeout) and at most
// `udpMaxFlows` exist (1024, the least recently used goes). Datagrams a client sends while its
// flow is still connecting are queued (a few); more are dropped, as UDP may.
// Limits: a UDP proxy bound to 0.0.0.0 answers from the address the kernel picks for the route
// (docker-proxy uses IP_PKTINFO to answer from the address the client sent to; node cannot).
// IPv6 host addresses listen v6-only (as docker), so `::` and `0.0.0.0` can both be held.
// Nothing a peer does can throw out of here: every socket has an error handler.
import dgram from 'node:dgram';
import net from 'node:net';

export interface ProxySpec {
  proto: 'tcp' | 'udp';
  /** '' or '0.0.0.0': every IPv4 address; an IPv6 address (e.g. '::') listens v6-only. */
  hostIp: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

export interface UserlandProxyOptions {
  /** Idle time after which a UDP flow (client address → target) is closed; default 90 000 ms. */
  udpIdleMs?: number;
  /** Most UDP flows per published port; the least recently used is evicted. Default 1024. */
  udpMaxFlows?: number;
  log?: (m: string) => void;
}

export const UDP_IDLE_MS = 90_000;
export const MAX_UDP_FLOWS = 1024;
/** Datagrams kept per UDP flow while its upstream socket connects. */
const UDP_PENDING_MAX = 64;

/** The port could not be taken; `code` is the errno name (EADDRINUSE, EACCES, …). */
export class ProxyBindError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'ProxyBindError';
  }
}

const isV6 = (ip: string) => ip.includes(':');
const hostOf = (s: ProxySpec) => s.hostIp || '0.0.0.0';
const bracket = (ip: string) => (isV6(ip) ? `[${ip}]` : ip);
/** libnetwork's PortBinding.String(): `HostIP:HostPort:IP:Port/proto`, IPv6 in brackets. */
export function bindingText(s: ProxySpec): string {
  return `${bracket(hostOf(s))}:${s.hostPort}:${bracket(s.targetIp)}:${s.targetPort}/${s.proto}`;
}
const keyOf = bindingText;

/** Go's syscall.Errno texts for what bind(2) may say. */
const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EINVAL: 'invalid argument',
  EAFNOSUPPORT: 'address family not supported by protocol',
  EPERM: 'operation not permitted',
};

function bindError(s: ProxySpec, e: NodeJS.ErrnoException): ProxyBindError {
  const why = (e.code && ERRNO_TEXT[e.code]) ?? e.message;
  return new ProxyBindError(`failed to bind host port for ${bindingText(s)}: ${why}`, e.code);
}

interface Served {
  spec: ProxySpec;
  close(): Promise<void>;
}

interface Entry {
  spec: ProxySpec;
  /** Settles once listening (or failed: the entry is then gone). */
  ready: Promise<Served>;
}

export class UserlandProxy {
  #entries = new Map<string, Entry>();
  #udpIdleMs: number;
  #udpMaxFlows: number;
  #log: (m: string) => void;

  constructor(o: UserlandProxyOptions = {}) {
    this.#udpIdleMs = Math.max(1, o.udpIdleMs ?? UDP_IDLE_MS);
    this.#udpMaxFlows = Math.max(1, o.udpMaxFlows ?? MAX_UDP_FLOWS);
    this.#log = o.log ?? (() => {});
  }

  list(): ProxySpec[] { return [...this.#entries.values()].map((e) => ({ ...e.spec })); }

  /** Starts forwarding; rejects with Docker's text when the port cannot be bound. Idempotent. */
  async add(spec: ProxySpec): Promise<void> {
    const k = keyOf(spec);
    const have = this.#entries.get(k);
    if (have) { await have.ready; return; }
    const s = { ...spec };
    const ready = s.proto === 'tcp' ? this.#tcp(s) : this.#udp(s);
    const entry: Entry = { spec: s, ready };
    this.#entries.set(k, entry);
    try {
      await ready;
    } catch (e) {
      if (this.#entries.get(k) === entry) this.#entries.delete(k);
      throw e;
    }
  }

  /** Stops listening and closes the spec's connections and flows. Idempotent. */
  async remove(spec: ProxySpec): Promise<void> {
    const k = keyOf(spec);
    const e = this.#entries.get(k);
    if (!e) return;
    this.#entries.delete(k);
    await this.#close(e);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => this.#close(e)));
  }

  async #close(e: Entry): Promise<void> {
    let served: Served;
    try { served = await e.ready; } catch { return; } // never listened
    await served.close().catch((err: Error) => this.#log(`userland proxy ${keyOf(e.spec)}: close: ${err.message}`));
  }

  // -------------------------------------------------------------------------------------------
  // TCP

  #tcp(spec: ProxySpec): Promise<Served> {
    const live = new Set<net.Socket>();
    const host = hostOf(spec);
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: spec.targetIp, port: spec.targetPort, allowHalfOpen: true });
      live.add(client);
      live.add(upstream);
      let connected = false;
      const kill = () => { client.destroy(); upstream.destroy(); };
      client.on('error', kill);
      upstream.on('error', (err) => {
        if (!connected) this.#log(`userland proxy ${keyOf(spec)}: can't forward traffic to backend tcp/${bracket(spec.targetIp)}:${spec.targetPort}: ${err.message}`);
        kill();
      });
      client.on('close', () => { live.delete(client); if (!upstream.destroyed && (client.errored || !client.readableEnded)) upstream.destroy(); });
      upstream.on('close', () => { live.delete(upstream); if (!client.destroyed && (upstream.errored || !upstream.readableEnded)) client.destroy(); });
      upstream.once('connect', () => { connected = true; upstream.setNoDelay(true); });
      try { client.setNoDelay(true); } catch { /* gone */ }
      // pipe() ends the other side's writable on 'end' (a FIN passed on) and keeps the reverse
      // direction open, both sockets being allowHalfOpen.
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => { server.close(() => {}); reject(bindError(spec, e as NodeJS.ErrnoException)); };
      server.once('error', failed);
      server.listen({ host, port: spec.hostPort, ipv6Only: isV6(host) }, () => {
        server.off('error', failed);
        server.on('error', (e) => this.#log(`userland proxy ${keyOf(spec)}: ${e.message}`));
        resolve({
          spec,
          close: () => new Promise<void>((r) => {
            server.close(() => r());
            for (const s of live) s.destroy();
            live.clear();
          }),
        });
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // UDP

  #udp(spec: ProxySpec): Promise<Served> {
    const host = hostOf(spec);
    const type = isV6(host) ? 'udp6' : 'udp4';
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    interface Flow { up: dgram.Socket; timer: NodeJS.Timeout; pending: Buffer[] | null }
    const flows = new Map<string, Flow>(); // insertion order = least recently used first
    let closed = false;
    const drop = (k: string) => {
      const f = flows.get(k);
      if (!f) return;
      flows.delete(k);
      clearTimeout(f.timer);
      f.pending = null;
      try { f.up.close(); } catch { /* already closed */ }
    };
    const open = (k: string, address: string, port: number): Flow => {
      while (flows.size >= this.#udpMaxFlows) drop(flows.keys().next().value as string);
      const up = dgram.createSocket({ type: isV6(spec.targetIp) ? 'udp6' : 'udp4' });
      const f: Flow = { up, timer: setTimeout(() => drop(k), this.#udpIdleMs), pending: [] };
      f.timer.unref();
      flows.set(k, f);
      up.on('error', () => drop(k)); // ICMP unreachable on the connected socket, or a failed connect
      up.on('message', (reply) => {
        if (closed || flows.get(k) !== f) return;
        f.timer.refresh();
        try { sock.send(reply, port, address, () => { /* a client gone away: UDP */ }); } catch { /* closing */ }
      });
      try {
        up.connect(spec.targetPort, spec.targetIp, () => {
          if (flows.get(k) !== f || !f.pending) return;
          const queued = f.pending;
          f.pending = null;
          for (const m of queued) { try { up.send(m, () => {}); } catch { drop(k); return; } }
        });
      } catch { drop(k); }
      return f;
    };
    sock.on('message', (msg, rinfo) => {
      if (closed) return;
      const k = `${rinfo.address}/${rinfo.port}`;
      let f = flows.get(k);
      if (f) { flows.delete(k); flows.set(k, f); f.timer.refresh(); } else f = open(k, rinfo.address, rinfo.port);
      if (f.pending) { if (f.pending.length < UDP_PENDING_MAX) f.pending.push(msg); return; }
      try { f.up.send(msg, () => {}); } catch { drop(k); }
    });
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => { closed = true; try { sock.close(); } catch { /* not bound */ } reject(bindError(spec, e as NodeJS.ErrnoException)); };
      sock.once('error', failed);
      sock.bind({ address: host, port: spec.hostPort, exclusive: true }, () => {
        sock.off('error', failed);
        sock.on('error', (e) => this.#log(`userland proxy ${keyOf(spec)}: ${e.message}`));
        resolve({
          spec,
          close: () => new Promise<void>((r) => {
            closed = true;
            for (const k of [...flows.keys()]) drop(k);
            try { sock.close(() => r()); } catch { r(); }
          }),
        });
      });
    });
  }
}
