// The node side of the dispatcher protocol (protocol.ts): fetching and checking the CA and joining,
// then the session every node's agent keeps with one manager at a time: its assignments arrive on
// a long response, heartbeats go out every third of the period, status reports on demand. When the
// manager stops answering, the session moves to the next manager of the last list it was sent.
//
// Trust: after the join, a dispatcher is trusted when its certificate chains to the cluster CA and
// carries the manager role (OU swarm-manager), whatever name it was dialled by, as swarmkit does: a
// worker's certificate, from the same CA, cannot pose as a manager.
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { EngineError } from '../../common/errors.ts';
import type { NetworkAttachment, NodeDescription, TaskStatus } from '../../api/types/swarm.ts';
import { MANAGER_ROLE } from '../ca/ca.ts';
import type { AttachRequest, DetachRequest, JoinRequest, JoinResponse, RenewRequest, SessionMessage, StatusUpdate } from './protocol.ts';

export interface NodeTls { caCertPem: string; certPem: string; keyPem: string }

function managerIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const ou = cert.subject?.OU;
  const roles = Array.isArray(ou) ? ou : [ou];
  return roles.includes(MANAGER_ROLE) ? undefined : new Error('the dispatcher certificate does not carry the manager role');
}

interface CallOptions {
  method?: string;
  body?: unknown;
  tls?: Partial<NodeTls>;
  /** Without a CA: the first contact of a join, checked by the token's digest instead. */
  insecure?: boolean;
  timeoutMs?: number;
  /** A keep-alive agent (the session's): status reports and heartbeats reuse one TLS connection. */
  agent?: https.Agent;
}

function hostPort(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new EngineError('InvalidParameter', `invalid address ${JSON.stringify(addr)}: host:port expected`);
  return { host: m[1]!, port: Number(m[2]) };
}

function call(addr: string, path: string, o: CallOptions = {}): Promise<string> {
  const { host, port } = hostPort(addr);
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host, port, path, method: o.method ?? (body === undefined ? 'GET' : 'POST'),
      ...(o.insecure ? { rejectUnauthorized: false } : { ca: o.tls?.caCertPem, checkServerIdentity: managerIdentity }),
      cert: o.tls?.certPem, key: o.tls?.keyPem, agent: o.agent ?? false,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      timeout: o.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) < 300) return resolve(text);
        let msg = text;
        try { msg = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON: the text is the message */ }
        const kind = res.statusCode === 404 ? 'NotFound' : res.statusCode === 400 ? 'InvalidParameter' : res.statusCode === 403 ? 'Forbidden' : res.statusCode === 409 ? 'Conflict' : 'Unavailable';
        reject(new EngineError(kind, msg));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new EngineError('Unavailable', `timeout connecting to ${addr}`)));
    req.on('error', (e) => reject(e instanceof EngineError ? e : new EngineError('Unavailable', `error while connecting to ${addr}: ${e.message}`)));
    req.end(body);
  });
}

/** The CA certificate a manager presents (unverified: check it against the join token). */
export function fetchCA(addr: string): Promise<string> {
  return call(addr, '/ca', { insecure: true, timeoutMs: 10_000 });
}

export async function requestJoin(addr: string, caCertPem: string, req: JoinRequest): Promise<JoinResponse> {
  return JSON.parse(await call(addr, '/join', { body: req, tls: { caCertPem }, timeoutMs: 60_000 })) as JoinResponse;
}

/**
 * Streams a node's task logs to the manager that asked (POST /logs/<id>, chunked), until the body
 * ends or the manager closes the upload (its client went away); `onClose` then stops the reading.
 */
export function uploadLogs(addr: string, id: string, tls: NodeTls, body: Readable, onClose: () => void): void {
  const { host, port } = hostPort(addr);
  const req = https.request({
    host, port, path: `/logs/${id}`, method: 'POST', agent: false,
    ca: tls.caCertPem, cert: tls.certPem, key: tls.keyPem, checkServerIdentity: managerIdentity,
    headers: { 'Content-Type': 'application/vnd.docker.multiplexed-stream' },
  }, (res) => { res.resume(); res.on('close', onClose); });
  req.on('error', () => { onClose(); body.destroy(); });
  req.on('close', onClose);
  body.on('error', () => req.destroy());
  body.pipe(req);
}

export interface SessionOptions {
  /** Managers' dispatcher addresses (host:port), tried in order. */
  managers: string[];
  tls: NodeTls;
  description: () => NodeDescription;
  onMessage: (m: SessionMessage) => void;
  log?: (level: string, msg: string) => void;
}

export class DispatcherSession {
  readonly #o: SessionOptions;
  #managers: string[];
  #index = 0;
  #closed = false;
  #req: import('node:http').ClientRequest | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #periodMs = 5000;
  #connected: string | undefined;
  #loop: Promise<void> | undefined;
  /**
   * Connections to the managers for reports and heartbeats, kept alive: a TLS handshake per
   * report (five per task start) cost more CPU than the reports themselves.
   */
  readonly #http: https.Agent;

  constructor(o: SessionOptions) {
    this.#o = o;
    this.#managers = [...o.managers];
    this.#http = new https.Agent({ keepAlive: true, maxSockets: 4, ca: o.tls.caCertPem, cert: o.tls.certPem, key: o.tls.keyPem, checkServerIdentity: managerIdentity });
  }

  /** The manager this session talks to now, if any. */
  get manager(): string | undefined { return this.#connected; }
  get managers(): string[] { return [...this.#managers]; }

  start(): void {
    this.#loop ??= this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#req?.destroy();
    this.#http.destroy();
    await this.#loop;
  }

  /** Sends task status reports to the current manager (the agent's reporter); throws when none answers. */
  async report(taskId: string, status: TaskStatus): Promise<void> {
    await this.#callAny('/status', [{ taskId, status } satisfies StatusUpdate]);
  }

  /** A certificate for the role the cluster now gives this node (promote/demote). */
  async renew(req: RenewRequest): Promise<JoinResponse> {
    return JSON.parse(await this.#callAny('/renew', req)) as JoinResponse;
  }

  /**
   * An address for a standalone container on an attachable cluster network (name or ID), as the
   * leader allocated it; the same one again for the same container. Refused for a network that is
   * not attachable (swarmkit's PermissionDenied text).
   */
  async attach(network: string, containerId: string, name = ''): Promise<NetworkAttachment> {
    return JSON.parse(await this.#callAny('/attach', { network, containerId, name } satisfies AttachRequest)) as NetworkAttachment;
  }

  /** Gives a standalone container's address on a cluster network back. */
  async detach(networkId: string, containerId: string): Promise<void> {
    await this.#callAny('/detach', { networkId, containerId } satisfies DetachRequest);
  }

  /** Tells a manager this node leaves (its heartbeat lease is revoked at once, the node marked down). */
  async leave(): Promise<void> {
    await this.#callAny('/leave', {});
  }

  async #callAny(path: string, body: unknown): Promise<string> {
    const order = this.#connected ? [this.#connected, ...this.#managers.filter((m) => m !== this.#connected)] : this.#managers;
    let last: unknown;
    for (const m of order) {
      try {
        return await call(m, path, { body, tls: this.#o.tls, timeoutMs: 10_000, agent: this.#http });
      } catch (e) {
        last = e;
        if (!(e instanceof EngineError) || e.kind !== 'Unavailable') throw e;
      }
    }
    throw last ?? new EngineError('Unavailable', 'no swarm manager is reachable');
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      const addr = this.#managers[this.#index % Math.max(1, this.#managers.length)];
      if (!addr) { await sleep(1000); continue; }
      const ok = await this.#session(addr);
      this.#connected = undefined;
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      if (this.#closed) return;
      failures = ok ? 0 : failures + 1;
      this.#index++;
      // A full round of managers failed: back off (bounded) before the next round.
      if (failures >= this.#managers.length) await sleep(Math.min(2000, 200 * failures));
    }
  }

  /** One session with one manager; resolves when it ends; true if it ever got a message. */
  #session(addr: string): Promise<boolean> {
    const { host, port } = hostPort(addr);
    const body = JSON.stringify({ description: this.#o.description() });
    let got = false;
    return new Promise((resolve) => {
      const done = () => resolve(got);
      const req = https.request({
        host, port, path: '/session', method: 'POST', agent: false,
        ca: this.#o.tls.caCertPem, cert: this.#o.tls.certPem, key: this.#o.tls.keyPem, checkServerIdentity: managerIdentity,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        if (res.statusCode !== 200) {
          this.#o.log?.('warn', `swarm: the dispatcher at ${addr} refused the session (${res.statusCode})`);
          res.resume();
          res.on('end', done);
          return;
        }
        this.#connected = addr;
        this.#startHeartbeat(addr, req);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (!line.trim()) continue;
            let msg: SessionMessage;
            try { msg = JSON.parse(line) as SessionMessage; } catch { continue; }
            got = true;
            if (msg.managers?.length) this.#managers = msg.managers.map((m) => m.Addr);
            if (msg.heartbeatPeriodMs && msg.heartbeatPeriodMs !== this.#periodMs) {
              this.#periodMs = msg.heartbeatPeriodMs;
              this.#startHeartbeat(addr, req);
            }
            try { this.#o.onMessage(msg); } catch (e) { this.#o.log?.('warn', `swarm: handling an assignment: ${(e as Error).message}`); }
          }
        });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      });
      this.#req = req;
      req.on('error', (e) => {
        if (!this.#closed) this.#o.log?.('debug', `swarm: session with ${addr}: ${e.message}`);
        done();
      });
      req.end(body);
    });
  }

  #startHeartbeat(addr: string, session: import('node:http').ClientRequest): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    let misses = 0;
    this.#heartbeat = setInterval(() => {
      call(addr, '/heartbeat', { body: {}, tls: this.#o.tls, timeoutMs: this.#periodMs, agent: this.#http }).then(() => { misses = 0; }, (e: Error) => {
        // Two misses in a row: this manager is gone for us; end the session and move on.
        if (++misses >= 2) {
          this.#o.log?.('warn', `swarm: heartbeat to ${addr} failed: ${e.message}`);
          session.destroy();
        }
      });
    }, Math.max(200, Math.floor(this.#periodMs / 3)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
