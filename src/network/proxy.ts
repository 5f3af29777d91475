// The userland proxy for published ports (Docker's docker-proxy, in the daemon's process): with
// `userland-proxy` on (Docker's default) berthd listens on each published hostIp:hostPort and
// forwards to the container. It serves what the nftables DNAT leaves alone (the host's own
// traffic to 127.0.0.0/8), and it holds the port, so no host process can take it meanwhile.
//
// TCP: one socket to the container per accepted connection, piped both ways with half-close
// kept (a client that ends its side still gets the reply). UDP: one connected socket per client
// address, relaying replies back; idle flows close after `udpIdleMs`, and at most MAX_UDP_FLOWS
// exist (the oldest goes). Nothing a peer does can throw out of here.
import dgram from 'node:dgram';
import net from 'node:net';

export interface ProxySpec { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; targetIp: string; targetPort: number }

export const MAX_UDP_FLOWS = 1024;

interface Entry {
  spec: ProxySpec;
  close: () => Promise<void>;
}

const keyOf = (s: ProxySpec) => `${s.proto}/${s.hostIp || '0.0.0.0'}:${s.hostPort}>${s.targetIp}:${s.targetPort}`;

/** docker-proxy's words for a port it cannot take (Go's net.Listen error text). */
function bindError(s: ProxySpec, e: NodeJS.ErrnoException): Error {
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : e.message;
  return new Error(`Error starting userland proxy: listen ${s.proto}4 ${s.hostIp || '0.0.0.0'}:${s.hostPort}: bind: ${why}`);
}

export class UserlandProxy {
  #entries = new Map<string, Entry>();
  #udpIdleMs: number;
  #log: (m: string) => void;

  constructor(o: { udpIdleMs?: number; log?: (m: string) => void } = {}) {
    this.#udpIdleMs = o.udpIdleMs ?? 90_000;
    this.#log = o.log ?? (() => {});
  }

  list(): ProxySpec[] { return [...this.#entries.values()].map((e) => e.spec); }

  /** Starts forwarding; rejects with docker-proxy's text when the port cannot be bound. Idempotent. */
  async add(spec: ProxySpec): Promise<void> {
    const k = keyOf(spec);
    if (this.#entries.has(k)) return;
    const entry = spec.proto === 'tcp' ? await this.#tcp(spec) : await this.#udp(spec);
    this.#entries.set(k, entry);
  }

  async remove(spec: ProxySpec): Promise<void> {
    const k = keyOf(spec);
    const e = this.#entries.get(k);
    if (!e) return;
    this.#entries.delete(k);
    await e.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => e.close().catch(() => {})));
  }

  #tcp(spec: ProxySpec): Promise<Entry> {
    const live = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: spec.targetIp, port: spec.targetPort, allowHalfOpen: true });
      live.add(client);
      live.add(upstream);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const done = () => { client.destroy(); upstream.destroy(); live.delete(client); live.delete(upstream); };
      client.on('error', done);
      upstream.on('error', done);
      client.on('close', () => { if (upstream.writableEnded || upstream.destroyed) done(); else upstream.end(); });
      upstream.on('close', () => { if (client.writableEnded || client.destroyed) done(); else client.end(); });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(bindError(spec, e as NodeJS.ErrnoException)));
      server.listen({ host: spec.hostIp || '0.0.0.0', port: spec.hostPort, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.#log(`userland proxy ${keyOf(spec)}: ${e.message}`));
        resolve({
          spec,
          close: () => new Promise<void>((r) => { for (const s of live) s.destroy(); live.clear(); server.close(() => r()); }),
        });
      });
    });
  }

  #udp(spec: ProxySpec): Promise<Entry> {
    const sock = dgram.createSocket({ type: 'udp4' });
    const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
    const drop = (k: string) => {
      const f = flows.get(k);
      if (!f) return;
      flows.delete(k);
      clearTimeout(f.timer);
      try { f.up.close(); } catch { /* closed */ }
    };
    sock.on('message', (msg, rinfo) => {
      const k = `${rinfo.address}:${rinfo.port}`;
      let f = flows.get(k);
      if (!f) {
        if (flows.size >= MAX_UDP_FLOWS) drop(flows.keys().next().value!);
        const up = dgram.createSocket({ type: 'udp4' });
        up.on('error', () => drop(k));
        up.on('message', (reply) => {
          const g = flows.get(k);
          if (g) g.timer.refresh();
          sock.send(reply, rinfo.port, rinfo.address, () => {});
        });
        f = { up, timer: setTimeout(() => drop(k), this.#udpIdleMs).unref() };
        flows.set(k, f);
        up.connect(spec.targetPort, spec.targetIp, () => up.send(msg, () => {}));
        return;
      }
      f.timer.refresh();
      try { f.up.send(msg, () => {}); } catch { /* not connected yet: the datagram is lost, as UDP may */ }
    });
    return new Promise((resolve, reject) => {
      sock.once('error', (e) => { try { sock.close(); } catch { /* */ } reject(bindError(spec, e as NodeJS.ErrnoException)); });
      sock.bind({ address: spec.hostIp || '0.0.0.0', port: spec.hostPort, exclusive: true }, () => {
        sock.removeAllListeners('error');
        sock.on('error', (e) => this.#log(`userland proxy ${keyOf(spec)}: ${e.message}`));
        resolve({
          spec,
          close: () => new Promise<void>((r) => { for (const k of [...flows.keys()]) drop(k); sock.close(() => r()); }),
        });
      });
    });
  }
}
