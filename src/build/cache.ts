// The build cache: one JSON record per step result (key → image state), written atomically.
// Layers and blobs the records name are kept by the engine's mark-and-sweep GC; pruning a
// record and sweeping frees them. The key is a digest, so a record is never ambiguous.
import { join } from 'node:path';
import { JsonDocStore } from '../store/metadata/atomic.ts';
import type { CacheRecord } from './build.ts';

export class BuildCache {
  #docs: JsonDocStore<CacheRecord>;
  #recs = new Map<string, CacheRecord>();
  #dirty = new Set<string>();
  #flushTimer?: NodeJS.Timeout;

  constructor(root: string) { this.#docs = new JsonDocStore(join(root, 'buildcache')); }

  async init(): Promise<void> {
    await this.#docs.init();
    for (const [k, r] of await this.#docs.loadAll()) if (r && r.key === k) this.#recs.set(k, r);
  }

  all(): CacheRecord[] { return [...this.#recs.values()]; }

  get(key: string): CacheRecord | undefined { return this.#recs.get(key); }

  async put(rec: CacheRecord): Promise<void> {
    await this.#docs.put(rec.key, rec);
    this.#recs.set(rec.key, rec);
  }

  /**
   * Marks a hit: last-used time and count. Written a moment later, in one batch, off the build's
   * path (a lost update only ages the entry; a cached rebuild should not pay a sync per step).
   */
  touch(key: string): void {
    const r = this.#recs.get(key);
    if (!r) return;
    r.lastUsed = new Date().toISOString();
    r.usageCount++;
    this.#dirty.add(key);
    if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => { void this.flush(); }, 500);
      this.#flushTimer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.#flushTimer) { clearTimeout(this.#flushTimer); this.#flushTimer = undefined; }
    const keys = [...this.#dirty];
    this.#dirty.clear();
    for (const k of keys) {
      const r = this.#recs.get(k);
      // Only the usage fields changed: a lost write ages the entry on disk (see touch), memory has it.
      if (r) await this.#docs.put(k, r).catch(() => {});
    }
  }

  async remove(keys: string[]): Promise<void> {
    for (const k of keys) {
      this.#recs.delete(k);
      this.#dirty.delete(k);
      await this.#docs.delete(k);
    }
  }
}
