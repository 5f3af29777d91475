// A small etcd v3 client over etcd 3.4's JSON gRPC gateway: plain HTTP/1.1 POSTs of JSON to
// /v3/<service>/<method>, so berth needs no gRPC/protobuf stack for the few calls swarm makes.
//
// The gateway's JSON, as checked against Debian's etcd 3.4.23 (not guessed):
// - keys and values are base64 (`"key":"YQ=="`); range_end too. A prefix's range_end is the
//   prefix with its last byte incremented (trailing 0xff bytes dropped); "\0" means "to the end".
// - every int64/uint64 is a JSON *string*: revisions, counts, TTLs, lease IDs, member IDs. Lease
//   and member IDs are random 64-bit numbers past 2^53, so they stay strings here; revisions and
//   counts become numbers (an etcd revision never nears 2^53).
// - fields at their zero value are left out: a txn whose compare failed has no `succeeded`, a
//   range with no match has no `kvs` and no `count`, a PUT event has no `type` (only DELETE is
//   named), a deleted key's kv in an event has only key and mod_revision.
// - errors come back with a non-200 status (404 for a missing lease, 400 for a bad request, ...)
//   and a body `{"error","message","code"}` where code is the gRPC status code.
// - streams (/v3/watch, /v3/lease/keepalive) answer newline-delimited JSON, each message
//   wrapped as `{"result":{...}}` (or `{"error":{...}}`). A POST body is one request; the
//   gateway closes the request side, so keepalive answers once and ends, while a watch stays
//   open. A watch from a compacted revision answers `created` and then `canceled` with
//   `compact_revision`; the caller must re-list.
// - a keepalive of an unknown lease is not an error: its result simply has no TTL (0).
import http from 'node:http';
import https from 'node:https';
import { EngineError, unavailable, notFound } from '../../common/errors.ts';

export interface EtcdTls { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer }

export interface EtcdClientOptions {
  /** Client URLs, e.g. https://10.0.0.2:2379. Tried in order; the next on a connection failure. */
  endpoints: string[];
  tls?: EtcdTls;
  /** Bound on each unary request (default 5 s). */
  timeoutMs?: number;
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID as a decimal string, or undefined when the key has no lease. */
  lease?: string;
}

export interface WatchEvent { type: 'put' | 'delete'; kv: KeyValue; prevKv?: KeyValue }

export type CompareTarget = 'create' | 'mod' | 'version' | 'value' | 'lease';
export interface Compare {
  key: string;
  target: CompareTarget;
  result: '=' | '!=' | '<' | '>';
  /** A revision/version number for create/mod/version, a string for value, a lease ID for lease. */
  value: number | string;
  /** Compare every key under `key` as a prefix (each must hold). */
  prefix?: boolean;
}

export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { get: { key: string; prefix?: boolean } }
  | { delete: { key: string; prefix?: boolean } };

export interface TxnOpResult { kvs?: KeyValue[]; deleted?: number; put?: true }
export interface TxnResult { succeeded: boolean; revision: number; responses: TxnOpResult[] }

export interface Member { id: string; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }

export interface WatchOptions {
  /** First revision to report (inclusive); default: changes after now. */
  fromRevision?: number;
  /** Events of one response, and the revision they bring the watcher to. */
  onEvents: (events: WatchEvent[], revision: number) => void;
  /**
   * The revision asked for was compacted away: the watch has stopped, the caller must re-list
   * (get the prefix, then watch again from the list's revision + 1).
   */
  onCompacted?: (compactRevision: number) => void;
  /** A stream broke; the watch reconnects by itself from the next unseen revision. */
  onError?: (err: Error) => void;
}

export interface WatchHandle { cancel(): void }

/** An etcd error, with the gRPC code the gateway reported (5 = not found, 14 = unavailable, ...). */
export class EtcdError extends EngineError {
  readonly grpcCode: number;
  readonly httpStatus: number;
  constructor(message: string, grpcCode: number, httpStatus: number) {
    super(grpcCode === 5 ? 'NotFound' : grpcCode === 14 || grpcCode === 4 ? 'Unavailable' : 'System', `etcd: ${message}`);
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus;
  }
}

// Errors where the request never reached a server: the next endpoint may answer. Anything after
// a response began is that server's answer and is not retried elsewhere.
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const num = (s: string | number | undefined) => (s === undefined ? 0 : Number(s));

/** The range_end that makes [key, end) cover every key starting with `prefix`. */
export function prefixEnd(prefix: string | Buffer): string {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]++;
      return end.toString('base64');
    }
  }
  return 'AA=='; // "\0": no upper bound
}

interface RawKv { key?: string; value?: string; create_revision?: string; mod_revision?: string; version?: string; lease?: string }
function kvOf(r: RawKv): KeyValue {
  const kv: KeyValue = { key: unb64(r.key), value: unb64(r.value), createRevision: num(r.create_revision), modRevision: num(r.mod_revision), version: num(r.version) };
  if (r.lease && r.lease !== '0') kv.lease = r.lease;
  return kv;
}

const TARGETS: Record<CompareTarget, [string, string]> = {
  create: ['CREATE', 'create_revision'], mod: ['MOD', 'mod_revision'], version: ['VERSION', 'version'], value: ['VALUE', 'value'], lease: ['LEASE', 'lease'],
};
const RESULTS = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;

function rangeReq(key: string, prefix?: boolean): Record<string, unknown> {
  return prefix ? { key: b64(key), range_end: prefixEnd(key) } : { key: b64(key) };
}

export class EtcdClient {
  private readonly endpoints: URL[];
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  /** Index of the endpoint that answered last: requests start there. */
  private current = 0;

  constructor(private readonly opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd client: no endpoints');
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    const secure = this.endpoints.some((u) => u.protocol === 'https:');
    this.agent = secure
      ? new https.Agent({ keepAlive: true, ca: opts.tls?.ca, cert: opts.tls?.cert, key: opts.tls?.key })
      : new http.Agent({ keepAlive: true });
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Closes idle connections; open watches are the caller's to cancel. */
  close(): void { this.agent.destroy(); }

  // --- KV ---

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.call<{ kvs?: RawKv[] }>('/v3/kv/range', { key: b64(key) });
    return r.kvs?.[0] ? kvOf(r.kvs[0]) : undefined;
  }

  /** Every key under a prefix, sorted by key, and the store revision the list was read at. */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call<{ kvs?: RawKv[]; header?: { revision?: string } }>('/v3/kv/range', rangeReq(prefix, true));
    return { kvs: (r.kvs ?? []).map(kvOf), revision: num(r.header?.revision) };
  }

  /** Puts a key; returns the new store revision. */
  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const body: Record<string, unknown> = { key: b64(key), value: b64(value) };
    if (opts.lease) body.lease = opts.lease;
    const r = await this.call<{ header?: { revision?: string } }>('/v3/kv/put', body);
    return num(r.header?.revision);
  }

  /** Deletes a key (or every key under it with prefix); returns how many were deleted. */
  async delete(key: string, opts: { prefix?: boolean } = {}): Promise<number> {
    const r = await this.call<{ deleted?: string }>('/v3/kv/deleterange', rangeReq(key, opts.prefix));
    return num(r.deleted);
  }

  /** If every compare holds, runs `success`, otherwise `failure`; atomically. */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const cmp = compare.map((c) => {
      const [target, field] = TARGETS[c.target];
      const value = c.target === 'value' ? b64(String(c.value)) : String(c.value);
      return { key: b64(c.key), ...(c.prefix ? { range_end: prefixEnd(c.key) } : {}), target, result: RESULTS[c.result], [field]: value };
    });
    const op = (o: TxnOp) => {
      if ('put' in o) return { request_put: { key: b64(o.put.key), value: b64(o.put.value), ...(o.put.lease ? { lease: o.put.lease } : {}) } };
      if ('get' in o) return { request_range: rangeReq(o.get.key, o.get.prefix) };
      return { request_delete_range: rangeReq(o.delete.key, o.delete.prefix) };
    };
    type RawResp = { response_range?: { kvs?: RawKv[] }; response_put?: object; response_delete_range?: { deleted?: string } };
    const r = await this.call<{ succeeded?: boolean; header?: { revision?: string }; responses?: RawResp[] }>(
      '/v3/kv/txn', { compare: cmp, success: success.map(op), failure: failure.map(op) });
    return {
      succeeded: r.succeeded === true,
      revision: num(r.header?.revision),
      responses: (r.responses ?? []).map((x): TxnOpResult => {
        if (x.response_range) return { kvs: (x.response_range.kvs ?? []).map(kvOf) };
        if (x.response_delete_range) return { deleted: num(x.response_delete_range.deleted) };
        return { put: true };
      }),
    };
  }

  // --- leases ---

  /** Grants a lease of `ttlSeconds`; returns its ID (a decimal string) and the TTL granted. */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const r = await this.call<{ ID?: string; TTL?: string; error?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) });
    if (!r.ID) throw new EtcdError(r.error || 'lease grant returned no ID', 2, 200);
    return { id: r.ID, ttl: num(r.TTL) };
  }

  /** Renews a lease once; returns its TTL. A lease that expired or was revoked is NotFound. */
  async leaseKeepAlive(id: string): Promise<number> {
    const msgs = await this.stream<{ TTL?: string }>('/v3/lease/keepalive', { ID: id });
    const ttl = num(msgs[0]?.TTL);
    if (ttl <= 0) throw notFound(`etcd: lease ${id} not found`);
    return ttl;
  }

  /**
   * Keeps a lease alive: renews it every third of its TTL until stop(); onLost when it is gone
   * (expired or revoked) or could not be renewed before it ran out. Transient failures retry.
   */
  keepAlive(id: string, ttlSeconds: number, onLost: (err: Error) => void): { stop(): void } {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastOk = Date.now();
    const period = Math.max(200, (ttlSeconds * 1000) / 3);
    const tick = async () => {
      if (stopped) return;
      try {
        await this.leaseKeepAlive(id);
        lastOk = Date.now();
      } catch (e) {
        if (stopped) return;
        if ((e as EngineError).kind === 'NotFound' || Date.now() - lastOk >= ttlSeconds * 1000) {
          stopped = true;
          onLost(e as Error);
          return;
        }
      }
      if (!stopped) timer = setTimeout(tick, period);
    };
    timer = setTimeout(tick, period);
    return { stop() { stopped = true; if (timer) clearTimeout(timer); } };
  }

  /** Revokes a lease, deleting the keys attached to it. */
  async leaseRevoke(id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id });
  }

  // --- cluster membership ---

  /** Adds a member by its peer URLs (before it starts with initial-cluster-state=existing). */
  async memberAdd(peerUrls: string[]): Promise<{ member: Member; members: Member[] }> {
    type R = { member?: RawMember; members?: RawMember[] };
    const r = await this.call<R>('/v3/cluster/member/add', { peerURLs: peerUrls });
    if (!r.member) throw new EtcdError('member add returned no member', 2, 200);
    return { member: memberOf(r.member), members: (r.members ?? []).map(memberOf) };
  }

  /**
   * Removes a member. etcd (strict reconfig check) answers "unhealthy cluster" (Unavailable) while
   * removing it could lose quorum, e.g. for a member connected less than 5 s: retry later.
   */
  async memberRemove(id: string): Promise<Member[]> {
    const r = await this.call<{ members?: RawMember[] }>('/v3/cluster/member/remove', { ID: id });
    return (r.members ?? []).map(memberOf);
  }

  async memberList(): Promise<Member[]> {
    const r = await this.call<{ members?: RawMember[] }>('/v3/cluster/member/list', {});
    return (r.members ?? []).map(memberOf);
  }

  /** etcd's /health: true when the member answers and the cluster has a leader. */
  async health(timeoutMs = this.timeoutMs): Promise<boolean> {
    try {
      const { status, body } = await this.request('GET', '/health', undefined, timeoutMs);
      return status === 200 && (JSON.parse(body) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }

  // --- watch ---

  /**
   * Watches every key under `prefix`. Events arrive in revision order; when a stream breaks the
   * watch reconnects (to the next endpoint) from the revision after the last one seen, so no
   * event is lost or repeated. When that revision was compacted, onCompacted is called and the
   * watch ends.
   */
  watch(prefix: string, opts: WatchOptions): WatchHandle {
    let next = opts.fromRevision ?? 0; // 0: from now
    let canceled = false;
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;

    const connect = () => {
      if (canceled) return;
      const body: Record<string, unknown> = { ...rangeReq(prefix, true), prev_kv: true };
      if (next > 0) body.start_revision = String(next);
      const { req: r, endpoint } = this.open('POST', '/v3/watch', JSON.stringify({ create_request: body }));
      req = r;
      let buf = '';
      let done = false;
      const retry = (err: Error) => {
        if (done || canceled) return;
        done = true;
        r.destroy();
        this.current = (endpoint + 1) % this.endpoints.length;
        opts.onError?.(err);
        // Bounded backoff: 100 ms doubling up to 5 s; a stream that delivered resets it.
        const delay = Math.min(5000, 100 * 2 ** Math.min(failures++, 6));
        timer = setTimeout(connect, delay);
      };
      r.on('error', retry);
      r.on('response', (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => { text += d; });
          res.on('end', () => retry(gatewayError(res.statusCode ?? 0, text)));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0 && !done && !canceled) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let msg: { result?: RawWatch; error?: { message?: string; code?: number } };
            try { msg = JSON.parse(line); } catch { retry(new Error(`etcd watch: bad message: ${line.slice(0, 200)}`)); return; }
            if (msg.error) { retry(new EtcdError(msg.error.message ?? 'watch error', msg.error.code ?? 2, 200)); return; }
            const w = msg.result ?? {};
            if (w.compact_revision && w.compact_revision !== '0') {
              done = true;
              canceled = true;
              r.destroy();
              opts.onCompacted?.(num(w.compact_revision));
              return;
            }
            if (w.canceled) { retry(new Error(`etcd watch canceled: ${w.cancel_reason ?? 'no reason given'}`)); return; }
            const rev = num(w.header?.revision);
            if (w.created) {
              failures = 0;
              // From "now": later reconnects resume after the revision the watch began at.
              if (next === 0) next = rev + 1;
              continue;
            }
            if (w.events?.length) {
              const events = w.events.map((e): WatchEvent => {
                const ev: WatchEvent = { type: e.type === 'DELETE' ? 'delete' : 'put', kv: kvOf(e.kv ?? {}) };
                if (e.prev_kv) ev.prevKv = kvOf(e.prev_kv);
                return ev;
              });
              const last = events[events.length - 1].kv.modRevision;
              next = Math.max(next, last + 1);
              opts.onEvents(events, last);
            }
          }
        });
        res.on('end', () => retry(new Error('etcd watch stream ended')));
        res.on('error', retry);
      });
    };
    connect();
    return {
      cancel() {
        canceled = true;
        if (timer) clearTimeout(timer);
        req?.destroy();
      },
    };
  }

  // --- transport ---

  /** One unary call: POST JSON, parse JSON; a non-200 answer becomes an EtcdError. */
  private async call<T>(path: string, body: unknown): Promise<T> {
    const { status, body: text } = await this.request('POST', path, JSON.stringify(body), this.timeoutMs);
    if (status !== 200) throw gatewayError(status, text);
    return JSON.parse(text) as T;
  }

  /** A streaming call that ends by itself (keepalive): its messages' results. */
  private async stream<T>(path: string, body: unknown): Promise<T[]> {
    const { status, body: text } = await this.request('POST', path, JSON.stringify(body), this.timeoutMs);
    if (status !== 200) throw gatewayError(status, text);
    const out: T[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as { result?: T; error?: { message?: string; code?: number } };
      if (m.error) throw new EtcdError(m.error.message ?? 'stream error', m.error.code ?? 2, status);
      if (m.result) out.push(m.result);
    }
    return out;
  }

  private open(method: string, path: string, body?: string, endpoint = this.current): { req: http.ClientRequest; endpoint: number } {
    const u = this.endpoints[endpoint];
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request({
      protocol: u.protocol, hostname: u.hostname, port: u.port, method, path, agent: this.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.end(body);
    return { req, endpoint };
  }

  /** Tries each endpoint once, starting at the last good one, moving on only on connection failure. */
  private async request(method: string, path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
    let last: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      try {
        const r = await this.once(method, path, body, timeoutMs, idx);
        this.current = idx;
        return r;
      } catch (e) {
        last = e;
        if (e instanceof EtcdError) throw e;
        // A TLS refusal or a protocol error is this server's answer, not a reason to try another.
        if (!CONNECT_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) {
          throw new EngineError('Unavailable', `etcd: ${this.endpoints[idx].origin}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    const msg = last instanceof Error ? last.message : String(last);
    throw unavailable(`etcd: no endpoint answered (${this.opts.endpoints.join(', ')}): ${msg}`);
  }

  private once(method: string, path: string, body: string | undefined, timeoutMs: number, idx: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const { req } = this.open(method, path, body, idx);
      const timer = setTimeout(() => {
        const e = new Error(`etcd: ${path} timed out after ${timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        req.destroy(e);
      }, timeoutMs);
      req.on('error', (e) => { clearTimeout(timer); reject(e); });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (e) => { clearTimeout(timer); reject(e); });
        res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      });
    });
  }
}

interface RawMember { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }
function memberOf(m: RawMember): Member {
  return { id: m.ID ?? '0', name: m.name ?? '', peerUrls: m.peerURLs ?? [], clientUrls: m.clientURLs ?? [], isLearner: m.isLearner === true };
}

interface RawWatch {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: string; kv?: RawKv; prev_kv?: RawKv }[];
}

function gatewayError(status: number, text: string): EtcdError {
  try {
    const e = JSON.parse(text) as { message?: string; error?: string; code?: number };
    return new EtcdError(e.message ?? e.error ?? text, e.code ?? 2, status);
  } catch {
    return new EtcdError(`HTTP ${status}: ${text.slice(0, 200)}`, 2, status);
  }
}
