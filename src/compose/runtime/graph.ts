// Walking the services in dependency order, in parallel (compose's InDependencyOrder and
// InReverseDependencyOrder): a service is visited as soon as everything it depends on has been
// (up), or everything that depends on it has been (down). Independent services run at the same
// time — the reason `up` of six services costs about what one costs.
//
//   await inDependencyOrder(project.services, async (name) => start(name));       // db, cache, then web
//   await inReverseDependencyOrder(project.services, async (name) => stop(name)); // web, then db, cache
//
// The first failure stops the walk: nothing new starts, what runs finishes, the error is thrown.
// Dependencies on services outside the map are ignored (the loader already refused missing
// required ones).
import type { Service } from '../model.ts';

type Services = Record<string, Pick<Service, 'dependsOn'>>;

export interface WalkOptions {
  /** Visit only these and (down) what depends on them, transitively; others are passed through. */
  only?: string[];
  /** At most this many visits at once (compose's --parallel); <= 0 is unlimited. */
  limit?: number;
}

function edges(services: Services): { deps: Map<string, string[]>; dependents: Map<string, string[]> } {
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const name of Object.keys(services)) { deps.set(name, []); dependents.set(name, []); }
  for (const [name, s] of Object.entries(services)) {
    for (const d of Object.keys(s.dependsOn ?? {})) {
      if (!services[d]) continue;
      deps.get(name)!.push(d);
      dependents.get(d)!.push(name);
    }
  }
  return { deps, dependents };
}

async function walk(
  names: string[],
  waitFor: Map<string, string[]>,
  next: Map<string, string[]>,
  fn: (name: string) => Promise<void>,
  skip: Set<string>,
  limit: number,
): Promise<void> {
  const done = new Set<string>();
  const started = new Set<string>();
  let failure: { e: unknown } | undefined;
  let running = 0;
  const queue: string[] = [];
  return new Promise<void>((resolve, reject) => {
    const finish = () => {
      if (running > 0) return;
      if (failure) reject(failure.e);
      else if (done.size === names.length || queue.length === 0) resolve();
    };
    const pump = () => {
      while (!failure && queue.length && (limit <= 0 || running < limit)) {
        const name = queue.shift()!;
        running++;
        const run = skip.has(name) ? Promise.resolve() : Promise.resolve().then(() => fn(name));
        run.then(() => {
          running--;
          done.add(name);
          for (const n of next.get(name) ?? []) consider(n);
          pump();
          finish();
        }, (e) => {
          running--;
          failure ??= { e };
          finish();
        });
      }
    };
    const consider = (name: string) => {
      if (started.has(name)) return;
      if ((waitFor.get(name) ?? []).some((d) => !done.has(d))) return;
      started.add(name);
      queue.push(name);
    };
    for (const n of names) consider(n);
    pump();
    finish();
  });
}

/** Visits services after what they depend on. */
export function inDependencyOrder(services: Services, fn: (name: string) => Promise<void>, o: WalkOptions = {}): Promise<void> {
  const { deps, dependents } = edges(services);
  const names = Object.keys(services).sort();
  const skip = new Set<string>();
  if (o.only) for (const n of names) if (!o.only.includes(n)) skip.add(n);
  return walk(names, deps, dependents, fn, skip, o.limit ?? 0);
}

/** Visits services after what depends on them (stop, remove). */
export function inReverseDependencyOrder(services: Services, fn: (name: string) => Promise<void>, o: WalkOptions = {}): Promise<void> {
  const { deps, dependents } = edges(services);
  const names = Object.keys(services).sort();
  const skip = new Set<string>();
  if (o.only && o.only.length) {
    // compose's WithRootNodesAndDown: the named services and everything depending on them.
    const want = new Set<string>();
    const add = (n: string) => {
      if (want.has(n)) return;
      want.add(n);
      for (const p of dependents.get(n) ?? []) add(p);
    };
    for (const n of o.only) if (services[n]) add(n);
    for (const n of names) if (!want.has(n)) skip.add(n);
  }
  return walk(names, dependents, deps, fn, skip, o.limit ?? 0);
}

/**
 * Runs `fn` over independent items, at most `limit` at once (compose's --parallel; <= 0 is
 * unlimited). Every item is tried; the first error is thrown once all have settled.
 */
export async function eachLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let first: { e: unknown } | undefined;
  const worker = async () => {
    while (i < items.length) {
      const x = items[i++];
      try { await fn(x); } catch (e) { first ??= { e }; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, limit > 0 ? limit : items.length) }, worker));
  if (first) throw first.e;
}
