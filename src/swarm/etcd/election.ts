// Election: one leader among berthd managers (the swarm orchestrator), by etcd's standard election
// recipe (the one of etcd's client/v3/concurrency/election.go, worked through here over our
// JSON-gateway client):
// - each candidate grants a lease of a few seconds and keeps it alive, then puts
//   `<prefix>/<lease ID in hex>` = its node ID, attached to that lease, in a txn guarded by
//   create_revision == 0 (a retry after an unclear answer finds its own key instead of a second one);
// - the leader is the key under the prefix with the lowest create revision: candidates queue in
//   the order they arrived;
// - a candidate that does not lead watches only the key created just before its own for deletion
//   (no thundering herd), then lists again: when that predecessor is gone and nothing older is
//   left, it leads. A predecessor that is deleted between the list and the watch is not missed,
//   because the watch starts at the revision right after the list.
// - a leader whose lease goes (its berthd died, its etcd member was partitioned or killed, the
//   lease was revoked) loses its key with it; the next candidate takes over as soon as etcd deletes
//   the key, at most the TTL after the last renewal etcd saw.
// A deposed leader may not know yet (a partition: it learns only when its own renewals fail, up to
// the TTL later), so local state alone must never be trusted for writes: FENCING. Every leader
// write is a txn guarded by `create_revision(own key) == the revision it was created at`, which
// fails as soon as that key is gone, whatever the deposed leader believes (`fence()`, `leaderTxn()`).
import type { EtcdClient, Compare, TxnOp, TxnResult, WatchHandle } from './client.ts';
import { EngineError, unavailable } from '../../common/errors.ts';

/** The code of the error a write gets once this node no longer leads. */
export const NOT_LEADER = 'NotLeader';

export interface ElectionOptions {
  client: EtcdClient;
  /** Key prefix of this election, e.g. /berth/swarm/orchestrator-leader; candidates' keys go under `<prefix>/`. */
  prefix: string;
  /** This candidate's node ID: the value of its key, what leader()/observe() report. */
  nodeId: string;
  /** Lease TTL in seconds (default 5): how long a dead leader can block a takeover. */
  ttlSeconds?: number;
  /** What is elected, for errors (default 'orchestrator'). */
  role?: string;
  /**
   * Leadership (or the candidacy) is gone without resign(): the lease expired or was revoked, the
   * own key was deleted, or a fenced write failed. The election stops acting as leader before
   * calling this; campaign() may be called again (with a new lease).
   */
  onLost?: (err: Error) => void;
}

export interface LeaderObserver { cancel(): void }

export class Election {
  private readonly client: EtcdClient;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly role: string;
  private lease: string | undefined;
  private keeper: { stop(): void } | undefined;
  private ownWatch: WatchHandle | undefined;
  /** The own key and its create revision: kept after a loss so that fenced writes fail at etcd. */
  private ownKey: string | undefined;
  private ownRev = 0;
  private leading = false;
  private campaigning: Promise<void> | undefined;
  /** Ends the current wait for a predecessor's deletion with an error (loss, resign, close). */
  private abortWait: ((err: Error) => void) | undefined;
  /** Bumped by every loss/resign/close: a campaign that began in an older term must not lead. */
  private term = 0;
  private readonly observers = new Set<LeaderObserver>();

  constructor(private readonly opts: ElectionOptions) {
    this.client = opts.client;
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.ttl = opts.ttlSeconds ?? 5;
    this.role = opts.role ?? 'orchestrator';
  }

  /** True while this candidate leads, as far as it knows; writes must still go through leaderTxn. */
  get isLeader(): boolean { return this.leading; }
  /** The own key under the prefix, once campaign() put it. */
  get key(): string | undefined { return this.ownKey; }
  /** The lease the own key is attached to (decimal), while this candidate holds one. */
  get leaseId(): string | undefined { return this.lease; }
  /** The own key's create revision: the fencing token. */
  get revision(): number { return this.ownRev; }

  /** Resolves once this candidate leads; rejects if its lease is lost, or on resign()/close() first. */
  campaign(): Promise<void> {
    if (this.leading) return Promise.resolve();
    if (!this.campaigning) {
      this.campaigning = this.run().finally(() => { this.campaigning = undefined; });
    }
    return this.campaigning;
  }

  private async run(): Promise<void> {
    const term = this.term;
    try {
      await this.runTerm(term);
    } catch (e) {
      // An etcd error mid-campaign (not a loss, resign or close, which end the term themselves):
      // leave the queue rather than sit in it unattended, where the key would one day be the
      // oldest and name a leader that does not act. Best effort: if etcd cannot be reached, the
      // lease is no longer renewed and takes the key with it at expiry.
      if (term === this.term) await this.resign().catch(() => {});
      throw e;
    }
  }

  private async runTerm(term: number): Promise<void> {
    if (!this.lease) {
      const l = await this.client.leaseGrant(this.ttl);
      if (term !== this.term) { await this.client.leaseRevoke(l.id).catch(() => {}); throw this.notLeader('campaign ended'); }
      this.lease = l.id;
      this.keeper = this.client.keepAlive(l.id, l.ttl || this.ttl, (e) => this.lose(new EngineError('Unavailable', `${this.role} election: lease lost: ${e.message}`, { cause: e })));
    }
    const lease = this.lease;
    const key = `${this.prefix}/${BigInt(lease).toString(16)}`;
    const r = await this.client.txn([{ key, target: 'create', result: '=', value: 0 }],
      [{ put: { key, value: this.opts.nodeId, lease } }], [{ get: { key } }]);
    let rev = r.revision;
    if (!r.succeeded) {
      // Our own key from an earlier attempt on this lease (the lease ID makes it ours).
      const kv = r.responses[0]?.kvs?.[0];
      if (!kv) throw this.notLeader('own key vanished while campaigning');
      rev = kv.createRevision;
      if (kv.value !== this.opts.nodeId) {
        const p = await this.client.txn([{ key, target: 'create', result: '=', value: rev }], [{ put: { key, value: this.opts.nodeId, lease } }]);
        if (!p.succeeded) throw this.notLeader('own key vanished while campaigning');
      }
    }
    if (term !== this.term) throw this.notLeader('campaign ended');
    this.ownKey = key;
    this.ownRev = rev;
    this.watchOwnKey(key, r.revision + 1, term);
    await this.waitForPredecessors(key, rev, term);
    if (term !== this.term) throw this.notLeader('campaign ended');
    this.leading = true;
  }

  /** A deletion of the own key not done by resign() means the lease is gone: leadership with it. */
  private watchOwnKey(key: string, from: number, term: number): void {
    this.ownWatch?.cancel();
    this.ownWatch = this.client.watch(key, {
      fromRevision: from,
      onEvents: (events) => {
        if (term !== this.term) return;
        if (events.some((e) => e.type === 'delete' && e.kv.key === key)) this.lose(unavailable(`${this.role} election: own key ${key} was deleted (lease expired or revoked)`));
      },
      // The key's history was compacted: look at it directly instead.
      onCompacted: () => {
        void this.client.get(key).then((kv) => {
          if (term !== this.term) return;
          if (!kv || kv.createRevision !== this.ownRev) this.lose(unavailable(`${this.role} election: own key ${key} is gone`));
          else this.watchOwnKey(key, 0, term);
        }, () => {});
      },
    });
  }

  /** etcd's waitDeletes: until no key under the prefix is older than ours. */
  private async waitForPredecessors(key: string, rev: number, term: number): Promise<void> {
    for (;;) {
      if (term !== this.term) throw this.notLeader('campaign ended');
      const { kvs, revision } = await this.client.getPrefix(`${this.prefix}/`);
      if (!kvs.some((k) => k.key === key && k.createRevision === rev)) throw this.lose(unavailable(`${this.role} election: own key ${key} is gone`));
      let pred: { key: string; createRevision: number } | undefined;
      for (const k of kvs) if (k.createRevision < rev && (!pred || k.createRevision > pred.createRevision)) pred = k;
      if (!pred) return;
      await this.waitDeleted(pred.key, revision + 1);
    }
  }

  private waitDeleted(key: string, from: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let w: WatchHandle | undefined;
      const done = (err?: Error) => {
        if (this.abortWait === abort) this.abortWait = undefined;
        w?.cancel();
        if (err) reject(err); else resolve();
      };
      const abort = (err: Error) => done(err);
      this.abortWait = abort;
      w = this.client.watch(key, {
        fromRevision: from,
        // A prefix watch: `<prefix>/ab` also covers `<prefix>/abc`, so match the key exactly.
        onEvents: (events) => { if (events.some((e) => e.type === 'delete' && e.kv.key === key)) done(); },
        // History gone: list again, which sees whether the predecessor still exists.
        onCompacted: () => done(),
      });
    });
  }

  /**
   * Stops acting as leader (or candidate) and tells onLost. Returns the error so callers can throw
   * it. Idempotent within a term.
   */
  private lose(err: Error): Error {
    if (!this.lease && !this.leading && !this.campaigning) return err;
    this.endTerm();
    this.abortWait?.(err);
    this.opts.onLost?.(err);
    return err;
  }

  /** Forgets the lease and the role locally (ownKey/ownRev stay for fencing). */
  private endTerm(): void {
    this.term++;
    this.leading = false;
    this.keeper?.stop();
    this.keeper = undefined;
    this.ownWatch?.cancel();
    this.ownWatch = undefined;
    this.lease = undefined;
  }

  private notLeader(why?: string): EngineError {
    return new EngineError('Unavailable', `not the ${this.role} leader any more${why ? ` (${why})` : ''}`, { code: NOT_LEADER });
  }

  /**
   * Gives up leadership (or the candidacy): deletes the own key, fenced on its create revision
   * so an old key never removes a newer one, and revokes the lease. The next candidate leads.
   */
  async resign(): Promise<void> {
    const key = this.ownKey;
    const rev = this.ownRev;
    const lease = this.lease;
    this.endTerm();
    this.abortWait?.(this.notLeader('resigned'));
    this.ownKey = undefined;
    this.ownRev = 0;
    if (key) await this.client.txn([{ key, target: 'create', result: '=', value: rev }], [{ delete: { key } }]);
    if (lease) await this.client.leaseRevoke(lease).catch((e: EngineError) => { if (e.kind !== 'NotFound') throw e; });
  }

  /**
   * Stops everything locally without touching etcd, as a crash would: the lease is no longer
   * renewed and expires after its TTL, which deletes the key. For shutting down without resigning.
   */
  close(): void {
    this.endTerm();
    this.abortWait?.(this.notLeader('election closed'));
    for (const o of [...this.observers]) o.cancel();
  }

  /**
   * The compare that guards every leader write: the own key still exists with the create revision
   * it was elected with. Throws when this candidate never held a key (or resigned).
   */
  fence(): Compare {
    if (!this.ownKey) throw this.notLeader();
    return { key: this.ownKey, target: 'create', result: '=', value: this.ownRev };
  }

  /**
   * Applies `ops` atomically if and only if this candidate still leads at etcd (the fence holds),
   * whatever it believes locally; otherwise throws "not the <role> leader any more" and stops
   * acting as leader. `compare` adds the caller's own conditions: when one of those fails the txn
   * comes back with succeeded false rather than throwing.
   */
  async leaderTxn(ops: TxnOp[], compare: Compare[] = []): Promise<TxnResult> {
    const fence = this.fence();
    const key = fence.key;
    // On failure, read the own key back: it tells a lost fence from a failed caller compare.
    const r = await this.client.txn([fence, ...compare], ops, compare.length ? [{ get: { key } }] : []);
    if (r.succeeded) return r;
    const own = compare.length ? r.responses[0]?.kvs?.[0] : undefined;
    if (compare.length && own && own.createRevision === fence.value) return r;
    const err = this.notLeader();
    this.lose(err);
    throw err;
  }

  /** The current leader's node ID, or undefined when nobody campaigns. */
  async leader(): Promise<string | undefined> {
    const { kvs } = await this.client.getPrefix(`${this.prefix}/`);
    return oldest(kvs)?.value;
  }

  /**
   * Calls `cb` with the current leader's node ID (undefined when there is none) at once and then
   * on every change of leader, in order, until cancel(). Follows the whole prefix, so a takeover is
   * reported once, as the new leader. On a compacted history it lists again and carries on.
   */
  observe(cb: (leader: string | undefined) => void, onError?: (err: Error) => void): LeaderObserver {
    const keys = new Map<string, { key: string; createRevision: number; value: string }>();
    let lastKey: string | null = null; // null: nothing reported yet
    let canceled = false;
    let w: WatchHandle | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;
    const report = () => {
      const cur = oldest([...keys.values()]);
      const k = cur?.key ?? '';
      if (k === lastKey) return;
      lastKey = k;
      cb(cur?.value);
    };
    const start = async () => {
      if (canceled) return;
      try {
        const { kvs, revision } = await this.client.getPrefix(`${this.prefix}/`);
        if (canceled) return;
        failures = 0;
        keys.clear();
        for (const kv of kvs) keys.set(kv.key, kv);
        report();
        w = this.client.watch(`${this.prefix}/`, {
          fromRevision: revision + 1,
          onEvents: (events) => {
            for (const e of events) {
              if (e.type === 'delete') keys.delete(e.kv.key);
              else keys.set(e.kv.key, e.kv);
            }
            if (!canceled) report();
          },
          onCompacted: () => { void start(); },
          onError,
        });
      } catch (e) {
        onError?.(e as Error);
        // Bounded backoff: 200 ms doubling up to 5 s.
        if (!canceled) timer = setTimeout(() => void start(), Math.min(5000, 200 * 2 ** Math.min(failures++, 5)));
      }
    };
    const handle: LeaderObserver = {
      cancel: () => {
        canceled = true;
        if (timer) clearTimeout(timer);
        w?.cancel();
        this.observers.delete(handle);
      },
    };
    this.observers.add(handle);
    void start();
    return handle;
  }
}

function oldest<T extends { createRevision: number }>(kvs: T[]): T | undefined {
  let best: T | undefined;
  for (const kv of kvs) if (!best || kv.createRevision < best.createRevision) best = kv;
  return best;
}

/** Whether an error says this node no longer leads (kind Unavailable, code NotLeader). */
export const isNotLeader = (e: unknown): boolean => e instanceof EngineError && e.code === NOT_LEADER;
