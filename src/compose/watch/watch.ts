// `compose watch`'s loop (pkg/compose/watch.go): the watch rules' paths watched, changes batched
// (batcher.ts), and each batch turned into actions, in compose's order: rebuilds first, then the
// syncs, then the restarts, then the sync+exec commands. Messages go to the log printer under
// compose's watch logger (`⦿ Syncing service "web" after 2 changes were detected`).
//
//   const w = await startWatch({ client, project, rules, log, rebuild: (svcs) => ... });
//   … files change, containers follow …
//   await w.stop();                       // "Watch disabled"
//
// `rebuild` is the caller's: build the services' images and recreate their containers (the
// runtime's recreate).
import type { ApiClient } from '../../client/client.ts';
import type { Project } from '../model.ts';
import { ComposeApi } from '../runtime/api.ts';
import { getContainers } from '../runtime/containers.ts';
import { WATCH_LOGGER, type LogPrinter } from '../log-printer.ts';
import { Batcher } from './batcher.ts';
import { TreeWatcher } from './notify.ts';
import { planBatch, type WatchRule } from './rules.ts';
import { execIn, syncFiles } from './sync.ts';

export interface WatchOptions {
  client: ApiClient;
  project: Project;
  rules: WatchRule[];
  log: LogPrinter;
  rebuild: (services: string[]) => Promise<void>;
  /** Batching (tests shorten it). */
  quietMs?: number;
  maxWaitMs?: number;
  /** Called after each batch, whatever came of it (tests wait on it). */
  onBatch?: (paths: string[], error?: Error) => void;
}

/** Go's %q of a []string: `["a" "b"]`. */
const quoteList = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

export interface RunningWatch {
  stop(): Promise<void>;
  /** Resolves when the watch ends with an error of the watcher itself. */
  failed: Promise<Error>;
}

export async function startWatch(o: WatchOptions): Promise<RunningWatch> {
  const { client, project, rules, log } = o;
  if (rules.length === 0) throw new Error('none of the selected services is configured for watch, consider setting a \'develop\' section');
  const handle = async (paths: string[]) => {
    const plan = planBatch(rules, paths);
    if (plan.rebuild.length) {
      log.log(WATCH_LOGGER, `Rebuilding service(s) ${quoteList(plan.rebuild)} after changes were detected...`);
      await o.rebuild(plan.rebuild);
    }
    for (const [service, mappings] of Object.entries(plan.sync)) {
      log.log(WATCH_LOGGER, `Syncing service ${JSON.stringify(service)} after ${mappings.length} changes were detected`);
      await syncFiles(client, project.name, service, mappings);
    }
    if (plan.restart.length) {
      for (const service of plan.restart) {
        const cs = await getContainers(new ComposeApi(client), project.name, 'exclude', true, [service]);
        const t = project.services[service]?.stopGracePeriod;
        await Promise.all(cs.map((c) => client.containers.restart(c.Id, { t: t !== undefined ? Math.floor(t / 1e9) : undefined })));
      }
      log.log(WATCH_LOGGER, `service(s) ${quoteList(plan.restart)} restarted`);
    }
    for (const [service, idx] of Object.entries(plan.exec)) {
      const cs = await getContainers(new ComposeApi(client), project.name, 'exclude', false, [service]);
      for (const i of [...idx].sort((a, b) => a - b)) {
        const x = rules[i].exec!;
        await Promise.all(cs.map((c) => execIn(client, c.Id, x.command ?? [])));
      }
    }
  };
  const batcher = new Batcher(async (paths) => {
    try {
      await handle(paths);
      o.onBatch?.(paths);
    } catch (e) {
      // compose logs it and keeps watching.
      process.stderr.write(`WARN[0000] Error handling changed files: ${(e as Error).message}\n`);
      o.onBatch?.(paths, e as Error);
    }
  }, { quietMs: o.quietMs, maxWaitMs: o.maxWaitMs });
  // A directory every rule of it ignores is not watched at all.
  const skipDir = (d: string) => {
    const mine = rules.filter((r) => d === r.path || d.startsWith(`${r.path}/`));
    return mine.length > 0 && mine.every((r) => r.ignore.some((m) => m.matches(d)));
  };
  let fail!: (e: Error) => void;
  const failed = new Promise<Error>((r) => { fail = r; });
  const watcher = new TreeWatcher([...new Set(rules.map((r) => r.path))], (p) => batcher.push(p), { skipDir, onError: (e) => fail(e) });
  await watcher.start();
  log.log(WATCH_LOGGER, 'Watch enabled');
  return {
    failed,
    stop: async () => {
      watcher.close();
      await batcher.close();
      log.log(WATCH_LOGGER, 'Watch disabled');
    },
  };
}

/** compose's initialSync: files newer than the service's image go in before the watch starts. */
export async function initialSync(client: ApiClient, project: Project, rule: WatchRule): Promise<void> {
  const { readdirSync, lstatSync } = await import('node:fs');
  const { join, relative, posix } = await import('node:path');
  const cs = await getContainers(new ComposeApi(client), project.name, 'include', true, [rule.service]);
  if (cs.length === 0) throw new Error("could not get created time for service's image");
  const img = await client.images.inspect<{ Created: string }>(cs[0].ImageID ?? cs[0].Image ?? '');
  const since = Date.parse(img.Created);
  const out: { hostPath: string; containerPath: string }[] = [];
  const walk = (p: string) => {
    if (rule.ignore.some((m) => m.matches(p))) return;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) { for (const n of readdirSync(p)) walk(join(p, n)); return; }
    if (st.mtimeMs < since) return;
    out.push({ hostPath: p, containerPath: posix.join(rule.target ?? '', relative(rule.path, p).split('\\').join('/')) });
  };
  walk(rule.path);
  if (out.length) await syncFiles(client, project.name, rule.service, out);
}
