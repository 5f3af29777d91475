// The dispatcher: a manager's HTTPS listener on the swarm port (protocol.ts walks through the
// exchange). It authenticates every call but /ca and /join by the client certificate the cluster
// CA issued (the node ID and role come from it, never from the request), keeps each node's
// liveness lease in etcd alive on its heartbeats, pushes each node its task assignments from the
// cluster cache, with the plaintext of the secrets and configs those tasks use (and no others:
// secrets/refs.ts's deliveryFor), and applies task status reports forward only (task-state.ts's
// advance), to the reporting node's own tasks only.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { EngineError, isEngineError } from '../../common/errors.ts';
import type { ClusterNetwork, NetworkAttachment, Node, SecretKind, Task } from '../../api/types/swarm.ts';
import { newTaskId } from '../leader/pass.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';
import { verifyNodeCertificate, type NodeIdentity } from '../ca/ca.ts';
import { ClusterStore, KEYS, type StoredSecret } from '../cluster/store.ts';
import { deliveryFor } from '../secrets/refs.ts';
import type { ClusterCache } from '../cluster/cache.ts';
import { advance } from '../orchestrator/task-state.ts';
import { networkViews } from '../netview/view.ts';
import { DEFAULT_HEARTBEAT_NS, type JoinRequest, type JoinResponse, type ManagerAddr, type AttachRequest, type DetachRequest, type RenewRequest, type SessionMessage, type StatusUpdate, type WireAssignment, type WireSecret } from './protocol.ts';

export interface DispatcherOptions {
  store: ClusterStore;
  cache: ClusterCache;
  caCertPem: string;
  certPem: string;
  keyPem: string;
  /** Where to listen (the swarm listen address). */
  host: string;
  port: number;
  /** Admits a node presenting a join token (the swarm controller's business: tokens, certificates, etcd membership). */
  join: (req: JoinRequest, remoteAddr: string) => Promise<JoinResponse>;
  /** Issues an authenticated node a certificate for its current role (and a manager's etcd credentials). */
  renew: (nodeId: string, req: RenewRequest) => Promise<JoinResponse>;
  /** A stored secret's or config's plaintext (the manager's data key); absent → none are sent. */
  open?: (kind: SecretKind, o: StoredSecret) => Buffer;
  log?: (level: string, msg: string) => void;
}

const MAX_BODY = 1 << 20;

function heartbeatMs(cache: ClusterCache): number {
  const ns = cache.cluster?.Spec.Dispatcher?.HeartbeatPeriod || DEFAULT_HEARTBEAT_NS;
  return Math.max(500, Math.round(ns / 1e6));
}

export function managersOf(nodes: Iterable<Node>): ManagerAddr[] {
  const out: ManagerAddr[] = [];
  for (const n of nodes) if (n.Spec.Role === 'manager' && n.ManagerStatus?.Addr) out.push({ NodeID: n.ID, Addr: n.ManagerStatus.Addr });
  return out.sort((a, b) => a.NodeID.localeCompare(b.NodeID));
}

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #server: https.Server;
  readonly #sessions = new Map<ServerResponse, { nodeId: string; last: string; sentLogs: Set<string> }>();
  /** Log uploads this manager waits for, by request ID. */
  readonly #logWaiters = new Map<string, { nodeId: string; resolve: (r: IncomingMessage) => void }>();
  /** Per node: the lease its heartbeat key is bound to. */
  readonly #leases = new Map<string, string>();
  readonly #log: (level: string, msg: string) => void;
  #unsubscribe: (() => void) | undefined;
  #pushTimer: NodeJS.Timeout | undefined;

  constructor(o: DispatcherOptions) {
    this.#o = o;
    this.#log = o.log ?? (() => {});
    this.#server = https.createServer({
      cert: o.certPem, key: o.keyPem, ca: [o.caCertPem],
      // /ca and /join come from nodes without a certificate yet; every other route checks it.
      requestCert: true, rejectUnauthorized: false,
    }, (req, res) => { void this.#handle(req, res); });
    this.#server.keepAliveTimeout = 60_000;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => { this.#server.off('error', reject); resolve(); });
    });
    this.#unsubscribe = this.#o.cache.onChange(() => this.#schedulePush());
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#pushTimer) clearTimeout(this.#pushTimer);
    for (const res of this.#sessions.keys()) res.destroy();
    this.#sessions.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #identity(req: IncomingMessage): NodeIdentity {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate?.();
    if (!sock.authorized || !peer?.raw) throw new EngineError('Forbidden', 'a node certificate issued by this swarm is required');
    const pem = `-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    return verifyNodeCertificate(this.#o.caCertPem, pem);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'https://dispatcher');
      if (req.method === 'GET' && url.pathname === '/ca') return send(res, 200, this.#o.caCertPem, 'application/x-pem-file');
      if (req.method === 'POST' && url.pathname === '/join') {
        const body = await readJson<JoinRequest>(req);
        return send(res, 200, JSON.stringify(await this.#o.join(body, req.socket.remoteAddress ?? '')));
      }
      const who = this.#identity(req);
      if (req.method === 'POST' && url.pathname === '/session') return await this.#session(who, req, res);
      if (req.method === 'POST' && url.pathname === '/heartbeat') {
        await this.#heartbeat(who.nodeId);
        return send(res, 200, JSON.stringify({ heartbeatPeriodMs: heartbeatMs(this.#o.cache) }));
      }
      if (req.method === 'POST' && url.pathname === '/status') {
        const updates = await readJson<StatusUpdate[]>(req);
        if (!Array.isArray(updates)) throw new EngineError('InvalidParameter', 'status: a list of updates is required');
        for (const u of updates) await this.#status(who.nodeId, u);
        return send(res, 200, '{}');
      }
      const upload = /^\/logs\/([0-9a-z]{25})$/.exec(url.pathname);
      if (req.method === 'POST' && upload) {
        const w = this.#logWaiters.get(upload[1]!);
        if (!w) throw new EngineError('NotFound', 'no such log request');
        if (w.nodeId !== who.nodeId) throw new EngineError('Forbidden', 'the log request is for another node');
        this.#logWaiters.delete(upload[1]!);
        res.on('close', () => req.destroy());
        req.on('end', () => { if (!res.headersSent) send(res, 200, '{}'); });
        w.resolve(req);
        return;
      }
      if (req.method === 'POST' && url.pathname === '/renew') {
        const body = await readJson<RenewRequest>(req);
        return send(res, 200, JSON.stringify(await this.#o.renew(who.nodeId, body)));
      }
      if (req.method === 'POST' && url.pathname === '/attach') {
        return send(res, 200, JSON.stringify(await this.#attach(who.nodeId, await readJson<AttachRequest>(req))));
      }
      if (req.method === 'POST' && url.pathname === '/detach') {
        await this.#detach(who.nodeId, await readJson<DetachRequest>(req));
        return send(res, 200, '{}');
      }
      if (req.method === 'POST' && url.pathname === '/leave') {
        await this.#leave(who.nodeId);
        return send(res, 200, '{}');
      }
      send(res, 404, JSON.stringify({ message: 'page not found' }));
    } catch (e) {
      const status = isEngineError(e) ? ({ NotFound: 404, InvalidParameter: 400, Forbidden: 403, Conflict: 409, Unavailable: 503 } as Record<string, number>)[e.kind] ?? 500 : 500;
      if (!res.headersSent) send(res, status, JSON.stringify({ message: (e as Error).message }));
      else res.destroy();
    }
  }

  /** Renews (or re-creates) the node's liveness lease: TTL one heartbeat period, renewed three times a period. */
  async #heartbeat(nodeId: string): Promise<void> {
    const c = this.#o.store.client;
    const lease = this.#leases.get(nodeId);
    if (lease) {
      try { await c.leaseKeepAlive(lease); return; } catch (e) {
        if (!isEngineError(e, 'NotFound')) throw e;
        this.#leases.delete(nodeId);
      }
    }
    if (!this.#o.cache.nodes.has(nodeId) && !(await this.#o.store.get('nodes', nodeId))) {
      throw new EngineError('NotFound', `node ${nodeId} is not part of this swarm`);
    }
    // The lease lapses one heartbeat period after the last renewal that reached etcd; the node
    // renews every third of it, so two heartbeats can go astray before it is marked down.
    const ttl = Math.max(2, Math.ceil(heartbeatMs(this.#o.cache) / 1000));
    const { id } = await c.leaseGrant(ttl);
    await c.put(KEYS.heartbeats + nodeId, String(Date.now()), { lease: id });
    this.#leases.set(nodeId, id);
  }

  async #leave(nodeId: string): Promise<void> {
    const lease = this.#leases.get(nodeId);
    this.#leases.delete(nodeId);
    if (lease) await this.#o.store.client.leaseRevoke(lease).catch(() => { /* expired already: the key is gone either way */ });
    await this.#o.store.client.delete(KEYS.heartbeats + nodeId);
    await this.#o.store.modify('nodes', nodeId, (n) => ({ ...n, Status: { ...n.Status, State: 'down', Message: 'node left the swarm' } }));
  }

  /**
   * swarmkit's resourceapi AttachNetwork: the network must be attachable; the attachment record is
   * written without an address and the leader's allocator gives it one (its pass holds every
   * address of the cluster, so two allocators never hand out the same one); this waits for it,
   * bounded. A container asking again gets its existing attachment.
   */
  async #attach(nodeId: string, r: AttachRequest): Promise<NetworkAttachment> {
    if (!r || typeof r.network !== 'string' || !r.network || typeof r.containerId !== 'string' || !r.containerId) {
      throw new EngineError('InvalidParameter', 'attach: network and containerId are required');
    }
    const cache = this.#o.cache;
    const find = (nets: ClusterNetwork[]) => nets.find((n) => n.ID === r.network) ?? nets.find((n) => n.Spec.Name === r.network)
      ?? (nets.filter((n) => n.ID.startsWith(r.network)).length === 1 ? nets.find((n) => n.ID.startsWith(r.network)) : undefined);
    // A network created a moment ago may not have reached the watched cache yet: the store has it.
    const net = find([...cache.networks.values()]) ?? find(await this.#o.store.list('networks'));
    if (!net) throw new EngineError('NotFound', `rpc error: code = NotFound desc = network ${r.network} not found`);
    if (!net.Spec.Attachable) throw new EngineError('Forbidden', `rpc error: code = PermissionDenied desc = network ${r.network} not manually attachable`);
    const mine = (a: StandaloneAttachment) => a.NodeID === nodeId && a.ContainerID === r.containerId && a.NetworkID === net.ID;
    let id = [...cache.attachments.values()].find(mine)?.ID;
    if (!id) {
      id = newTaskId();
      const rec: StandaloneAttachment = { ID: id, NodeID: nodeId, ContainerID: r.containerId, ...(typeof r.name === 'string' && r.name ? { ContainerName: r.name } : {}), NetworkID: net.ID, CreatedAt: new Date().toISOString() };
      await this.#o.store.create('attachments', rec);
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const a = cache.attachments.get(id) ?? await this.#o.store.get('attachments', id);
      if (!a) throw new EngineError('Unavailable', `attachment ${id} of container ${r.containerId} was removed`);
      if (a.Addresses?.length) return { Network: cache.networks.get(net.ID) ?? net, Addresses: a.Addresses };
      if (Date.now() > deadline) throw new EngineError('Unavailable', `no address on network ${net.Spec.Name} yet for container ${r.containerId}: is the swarm leader up?`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  async #detach(nodeId: string, r: DetachRequest): Promise<void> {
    if (!r || typeof r.networkId !== 'string' || typeof r.containerId !== 'string') throw new EngineError('InvalidParameter', 'detach: networkId and containerId are required');
    for (const a of await this.#o.store.list('attachments')) {
      if (a.NodeID === nodeId && a.ContainerID === r.containerId && a.NetworkID === r.networkId) await this.#o.store.remove('attachments', a.ID);
    }
  }

  async #status(nodeId: string, u: StatusUpdate): Promise<void> {
    if (!u || typeof u.taskId !== 'string' || !u.status || typeof u.status.State !== 'string') throw new EngineError('InvalidParameter', 'status: taskId and status are required');
    await this.#o.store.modify('tasks', u.taskId, (t) => {
      if (t.NodeID !== nodeId) throw new EngineError('Forbidden', `task ${u.taskId} is not assigned to node ${nodeId}`);
      const r = advance(t, u.status.State, u.status.Message ?? '', {
        now: new Date(), err: u.status.Err || undefined, containerStatus: u.status.ContainerStatus,
      });
      if (!r.changed) return undefined;
      const extra = u.status.PortStatus === undefined ? {} : { PortStatus: u.status.PortStatus };
      return { ...r.task, Status: { ...r.task.Status, ...extra } };
    });
  }

  async #session(who: NodeIdentity, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson<{ description?: Node['Description'] }>(req);
    if (body?.description) {
      await this.#o.store.modify('nodes', who.nodeId, (n) => (JSON.stringify(n.Description) === JSON.stringify(body.description) ? undefined : { ...n, Description: body.description, UpdatedAt: new Date().toISOString() }));
    }
    await this.#heartbeat(who.nodeId);
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    // Point of no return: from here on, the session ends by closing the stream.
    const s = { nodeId: who.nodeId, last: '', sentLogs: new Set<string>() };
    this.#sessions.set(res, s);
    res.on('close', () => this.#sessions.delete(res));
    this.#push(res, s);
  }

  #schedulePush(): void {
    if (this.#pushTimer) return;
    this.#pushTimer = setTimeout(() => {
      this.#pushTimer = undefined;
      for (const [res, s] of this.#sessions) this.#push(res, s);
    }, 20);
  }

  /**
   * Waits (bounded) for node `nodeId` to upload the logs of request `id`; the caller writes the
   * request to the store after calling this, so the upload cannot come first.
   */
  awaitLogs(id: string, nodeId: string, timeoutMs = 15_000): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#logWaiters.delete(id);
        reject(new EngineError('Unavailable', `node ${nodeId} did not send its task logs (is it connected to a manager?)`));
      }, timeoutMs);
      this.#logWaiters.set(id, { nodeId, resolve: (r) => { clearTimeout(timer); resolve(r); } });
    });
  }

  #push(res: ServerResponse, s: { nodeId: string; last: string; sentLogs: Set<string> }): void {
    const cache = this.#o.cache;
    const logRequests = [...cache.logRequests.values()].filter((r) => r.nodeId === s.nodeId && !s.sentLogs.has(r.id));
    if (logRequests.length) {
      for (const r of logRequests) s.sentLogs.add(r.id);
      res.write(JSON.stringify({ logRequests } satisfies SessionMessage) + '\n');
    }
    for (const id of s.sentLogs) if (!cache.logRequests.has(id)) s.sentLogs.delete(id);
    const assignments: WireAssignment[] = [];
    for (const t of cache.tasks.values()) {
      if (t.NodeID !== s.nodeId) continue;
      assignments.push({ task: t, serviceName: serviceNameOf(cache.services.get(t.ServiceID), t) });
    }
    assignments.sort((a, b) => a.task.ID.localeCompare(b.task.ID));
    const role = cache.nodes.get(s.nodeId)?.Spec.Role;
    const networks = networkViews({ nodes: cache.nodes.values(), services: cache.services.values(), tasks: cache.tasks.values(), attachments: cache.attachments.values(), networks: cache.networks }, s.nodeId);
    const { secrets, configs } = this.#material(s.nodeId);
    const msg: SessionMessage = { assignments, networks, secrets, configs, managers: managersOf(cache.nodes.values()), heartbeatPeriodMs: heartbeatMs(cache), ...(role ? { role } : {}) };
    const line = JSON.stringify(msg);
    if (line === s.last) return;
    s.last = line;
    res.write(line + '\n');
  }

  /** The secrets and configs node `nodeId`'s live tasks reference, opened; one that fails to open is left out (logged). */
  #material(nodeId: string): { secrets: WireSecret[]; configs: WireSecret[] } {
    const cache = this.#o.cache;
    const want = deliveryFor(nodeId, cache.tasks.values());
    const out = { secrets: [] as WireSecret[], configs: [] as WireSecret[] };
    const open = this.#o.open;
    if (!open) return out;
    for (const [kind, map, list] of [['secret', cache.secrets, out.secrets], ['config', cache.configs, out.configs]] as const) {
      for (const id of [...want[kind]].sort()) {
        const o = map.get(id);
        if (!o) continue;
        try {
          list.push({ ID: id, Name: o.Spec.Name ?? '', Data: open(kind, o).toString('base64') });
        } catch (e) {
          this.#log('error', `dispatcher: ${kind} ${id} for node ${nodeId}: ${(e as Error).message}`);
        }
      }
    }
    return out;
  }
}

/** A task's service name; a task outliving its service keeps the one in its container's name. */
function serviceNameOf(svc: { Spec: { Name?: string } } | undefined, t: Task): string {
  return svc?.Spec.Name ?? (typeof t.ServiceName === 'string' ? t.ServiceName : t.ServiceID);
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new EngineError('InvalidParameter', 'request body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {} as T;
  try { return JSON.parse(text) as T; } catch { throw new EngineError('InvalidParameter', 'invalid JSON body'); }
}
