// Resolving what a user typed (`4e1f`, `web`, a full ID) to one container or image ID, in docker's
// order: an exact full ID, then an exact name, then a unique ID prefix. An ambiguous prefix is an
// error, never a guess.
//
//   const ids = new PrefixIndex();
//   ids.add('4e1f0c…'); ids.add('4e9a77…'); ids.add('b3c2d1…');
//   ids.resolve('b3')   → 'b3c2d1…'
//   ids.resolve('4e')   → throws "multiple IDs found with provided prefix: 4e"
//   ids.resolve('ff')   → undefined (the caller says "No such container: ff")
import { invalid } from './errors.ts';

/**
 * A set of IDs kept sorted, so that a prefix lookup is a binary search: the IDs sharing a prefix
 * are adjacent, and checking the first two tells unique from ambiguous.
 */
export class PrefixIndex {
  #ids: string[] = [];

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  get size(): number {
    return this.#ids.length;
  }

  has(id: string): boolean {
    const i = this.#lowerBound(id);
    return this.#ids[i] === id;
  }

  /** Adds an ID (adding one twice is harmless). An empty ID would match every lookup: refused. */
  add(id: string): void {
    if (id === '') throw invalid('prefix index: empty ID');
    const i = this.#lowerBound(id);
    if (this.#ids[i] !== id) this.#ids.splice(i, 0, id);
  }

  /** Removes an ID; returns whether it was there. */
  delete(id: string): boolean {
    const i = this.#lowerBound(id);
    if (this.#ids[i] !== id) return false;
    this.#ids.splice(i, 1);
    return true;
  }

  /** The IDs in sorted order. */
  ids(): string[] {
    return [...this.#ids];
  }

  /**
   * The ID equal to `prefix`, else the only ID starting with it, else undefined (also for "").
   * Throws InvalidParameter `multiple IDs found with provided prefix: <prefix>` (moby's text and
   * kind, HTTP 400) when several IDs start with it.
   */
  resolve(prefix: string): string | undefined {
    if (prefix === '') return undefined;
    const i = this.#lowerBound(prefix);
    const first = this.#ids[i];
    if (first === undefined || !first.startsWith(prefix)) return undefined;
    if (first === prefix) return first;
    const second = this.#ids[i + 1];
    if (second !== undefined && second.startsWith(prefix)) {
      throw invalid(`multiple IDs found with provided prefix: ${prefix}`);
    }
    return first;
  }

  /** Index of the first ID ≥ s (UTF-16 code unit order, same as the sort). */
  #lowerBound(s: string): number {
    let lo = 0;
    let hi = this.#ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ids[mid] < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Docker's full lookup (daemon.GetContainer): exact ID, then exact name via `byName`, then a
 * unique prefix. Returns undefined when nothing matches; throws on an ambiguous prefix.
 *
 *   resolveIdentifier('web', index, (n) => names.get(n.startsWith('/') ? n : `/${n}`))
 */
export function resolveIdentifier(
  ref: string,
  index: PrefixIndex,
  byName: (name: string) => string | undefined,
): string | undefined {
  if (ref === '') return undefined;
  if (index.has(ref)) return ref;
  const named = byName(ref);
  if (named !== undefined) return named;
  return index.resolve(ref);
}
