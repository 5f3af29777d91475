// ClusterCache: an in-memory copy of everything under /berth/swarm/, kept current by one etcd watch.
// The dispatcher (assignments per node) and the leader's control loops read it; the API reads
// etcd directly, so a client always sees its own writes.
//
// Lifecycle: start() lists the prefix at revision R and watches from R + 1; every event batch
// updates the maps and calls the listeners once. If the watch's revision was compacted away
// (a long disconnection), it lists again and watches from there, so the copy is never missing a
// change for long. Listeners must only schedule work: they run inside the watch callback.
import type { EtcdClient, KeyValue, WatchHandle } from '../etcd/client.ts';
import type { ClusterNetwork, Node, Service, Swarm, Task } from '../../api/types/swarm.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';
import { KEYS, ROOT, decode, type StoredSecret } from './store.ts';
import type { LogRequest } from '../dispatcher/protocol.ts';

export class ClusterCache {
  cluster: Swarm | undefined;
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly networks = new Map<string, ClusterNetwork>();
  readonly attachments = new Map<string, StandaloneAttachment>();
  readonly alive = new Set<string>();
  readonly logRequests = new Map<string, LogRequest>();
  /** Secrets and configs as stored (sealed): the dispatcher opens what a node's tasks use. */
  readonly secrets = new Map<string, StoredSecret>();
  readonly configs = new Map<string, StoredSecret>();
  /** The store revision the copy reflects. */
  revision = 0;
  #watch: WatchHandle | undefined;
  #closed = false;
  readonly #listeners = new Set<() => void>();
  #ready: Promise<void> | undefined;

  constructor(private readonly client: EtcdClient, private readonly log: (level: string, msg: string) => void = () => {}) {}

  start(): Promise<void> {
    this.#ready ??= this.#relist();
    return this.#ready;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#watch?.cancel();
    this.#listeners.clear();
  }

  async #relist(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const { kvs, revision } = await this.client.getPrefix(ROOT);
        this.cluster = undefined;
        this.nodes.clear(); this.services.clear(); this.tasks.clear(); this.networks.clear(); this.attachments.clear(); this.alive.clear(); this.logRequests.clear();
        this.secrets.clear(); this.configs.clear();
        for (const kv of kvs) this.#apply('put', kv);
        this.revision = revision;
        this.#watch?.cancel();
        this.#watch = this.client.watch(ROOT, {
          fromRevision: revision + 1,
          onEvents: (events, rev) => {
            for (const e of events) this.#apply(e.type, e.kv);
            this.revision = rev;
            this.#notify();
          },
          onCompacted: () => { void this.#relist(); },
          onError: (e) => this.log('debug', `swarm cache watch: ${e.message}`),
        });
        this.#notify();
        return;
      } catch (e) {
        if (attempt >= 4 && this.#ready) this.log('warn', `swarm cache: listing the cluster: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  #apply(type: 'put' | 'delete', kv: KeyValue): void {
    const k = kv.key;
    const put = type === 'put';
    const into = <T>(prefix: string, map: Map<string, T>) => {
      const id = k.slice(prefix.length);
      if (put) map.set(id, decode<T>(kv)); else map.delete(id);
    };
    if (k === KEYS.cluster) this.cluster = put ? decode<Swarm>(kv) : undefined;
    else if (k.startsWith(KEYS.nodes)) into(KEYS.nodes, this.nodes);
    else if (k.startsWith(KEYS.services)) into(KEYS.services, this.services);
    else if (k.startsWith(KEYS.tasks)) into(KEYS.tasks, this.tasks);
    else if (k.startsWith(KEYS.networks)) into(KEYS.networks, this.networks);
    else if (k.startsWith(KEYS.attachments)) into(KEYS.attachments, this.attachments);
    else if (k.startsWith(KEYS.secrets)) into(KEYS.secrets, this.secrets);
    else if (k.startsWith(KEYS.configs)) into(KEYS.configs, this.configs);
    else if (k.startsWith(KEYS.logRequests)) {
      const id = k.slice(KEYS.logRequests.length);
      if (!put) this.logRequests.delete(id);
      else { try { this.logRequests.set(id, JSON.parse(kv.value) as LogRequest); } catch { /* not ours: ignored */ } }
    } else if (k.startsWith(KEYS.heartbeats)) {
      const id = k.slice(KEYS.heartbeats.length);
      if (put) this.alive.add(id); else this.alive.delete(id);
    }
  }

  #notify(): void {
    for (const l of [...this.#listeners]) {
      try { l(); } catch (e) { this.log('warn', `swarm cache listener: ${(e as Error).message}`); }
    }
  }
}
