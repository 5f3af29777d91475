// Starting a project's containers in dependency order, waiting for `depends_on` conditions
// first (compose's start.go and waitDependencies): a service starts once what it depends on is
// started (service_started), healthy (service_healthy) or exited 0
// (service_completed_successfully). Secrets and configs that are not files are written into
// each container before it starts.
//
//   await startProject(s, project, { w });                         // Container shop-db-1  Started …
//   await startProject(s, project, { w, wait: true, waitTimeout: 60_000 });   // up --wait
//
// Failures read as compose's: `dependency failed to start: container shop-db-1 is unhealthy`,
// `service "init" didn't complete successfully: exit 1`, `application not healthy after 1m0s`.
import { ComposeError } from '../errors.ts';
import { goDuration } from '../render.ts';
import { LABELS, serviceScale, type Dependency, type FileReference, type Project, type Service } from '../model.ts';
import { tarOfFiles } from '../../archive/context-tar.ts';
import type { ContainerSummary } from './api.ts';
import { isNotOneOff, isService, progressName, projectFilter } from './containers.ts';
import { fileTarget } from './create-config.ts';
import { inDependencyOrder } from './graph.ts';
import * as P from './progress.ts';
import { runHook, type HookOutput } from './hooks.ts';
import type { Session } from './session.ts';

/** compose's condition for `up --wait` on a service nothing waits for in another way. */
export const RUNNING_OR_HEALTHY = 'running_or_healthy';

export interface StartOptions {
  w: P.ProgressWriter;
  /** Where post_start hooks' output goes (attached up); detached hooks are waited for silently. */
  hookOutput?: HookOutput;
  /** Services whose containers are started (default all of the project). */
  services?: string[];
  wait?: boolean;
  /** ms; 0 or undefined: no limit. */
  waitTimeout?: number;
}

class Timeout extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new Timeout()); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', on); resolve(); }, ms);
    const on = () => { clearTimeout(t); reject(new Timeout()); };
    signal?.addEventListener('abort', on, { once: true });
  });
}

/** compose's isServiceHealthy: true when all are healthy (or running, for running_or_healthy). */
async function isServiceHealthy(s: Session, cs: ContainerSummary[], fallbackRunning: boolean): Promise<boolean> {
  for (const c of cs) {
    const x = await s.api.inspectContainer(c.Id);
    const name = x.Name.replace(/^\//, '');
    if (x.State.Status === 'exited') throw new ComposeError(`container ${name} exited (${x.State.ExitCode})`);
    if (!x.Config.Healthcheck && fallbackRunning) return x.State.Status === 'running';
    if (!x.State.Health) throw new ComposeError(`container ${name} has no healthcheck configured`);
    switch (x.State.Health.Status) {
      case 'healthy': break;
      case 'unhealthy': throw new ComposeError(`container ${name} is unhealthy`);
      case 'starting': return false;
      default: throw new ComposeError(`container ${name} had unexpected health status ${JSON.stringify(x.State.Health.Status)}`);
    }
  }
  return true;
}

/** compose's isServiceCompleted: the first exited container and its code. */
async function isServiceCompleted(s: Session, cs: ContainerSummary[]): Promise<{ exited: boolean; code: number }> {
  for (const c of cs) {
    const x = await s.api.inspectContainer(c.Id);
    if (x.State.Status === 'exited') return { exited: true, code: x.State.ExitCode };
  }
  return { exited: false, code: 0 };
}

type Deps = Record<string, Pick<Dependency, 'required'> & { condition: string }>;

function shouldWait(dep: string, cfg: Deps[string], project: Project): boolean {
  if (cfg.condition === 'service_started') return false;
  const svc = project.services[dep];
  if (!svc) {
    if (project.disabledServices[dep]) return false;
    throw new ComposeError(`no such service: ${dep}`);
  }
  return serviceScale(svc) !== 0;
}

/** compose's waitDependencies: polls until each condition holds or fails. */
export async function waitDependencies(s: Session, project: Project, dependant: string, deps: Deps, containers: ContainerSummary[], timeoutMs: number, w: P.ProgressWriter): Promise<void> {
  const ac = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => ac.abort(), timeoutMs) : undefined;
  const waits: Array<Promise<void>> = [];
  try {
    for (const dep of Object.keys(deps).sort()) {
      const cfg = deps[dep];
      if (!shouldWait(dep, cfg, project)) continue;
      const waitingFor = containers.filter(isService(dep)).filter(isNotOneOff);
      w.events(waitingFor.map((c) => P.waiting(progressName(c))));
      if (waitingFor.length === 0) {
        if (cfg.required) throw new ComposeError(`${dependant} is missing dependency ${dep}`);
        s.warn(`${dependant} is missing dependency ${dep}`);
        continue;
      }
      const each = (f: (id: string) => P.ProgressEvent) => w.events(waitingFor.map((c) => f(progressName(c))));
      waits.push((async () => {
        // compose looks every 500 ms; looking every 50 ms for the first 2 s changes nothing but
        // how soon a dependant starts after its dependency becomes healthy.
        for (let round = 0; ; round++) {
          await sleep(round < 40 ? 50 : 500, ac.signal);
          switch (cfg.condition) {
            case RUNNING_OR_HEALTHY:
            case 'service_healthy': {
              const fallback = cfg.condition === RUNNING_OR_HEALTHY;
              let ok: boolean;
              try {
                ok = await isServiceHealthy(s, waitingFor, fallback);
              } catch (e) {
                if (e instanceof Timeout) throw e;
                const what = fallback ? 'is not running or is unhealthy' : 'failed to start';
                if (!cfg.required) {
                  each((id) => P.skipped(id, `optional dependency ${JSON.stringify(dep)} ${what}`));
                  s.warn(`optional dependency ${JSON.stringify(dep)} ${what}: ${(e as Error).message}`);
                  return;
                }
                if (fallback) throw e;
                each(P.errorEvent);
                throw new ComposeError(`dependency failed to start: ${(e as Error).message}`);
              }
              if (ok) { each(P.healthy); return; }
              break;
            }
            case 'service_completed_successfully': {
              const r = await isServiceCompleted(s, waitingFor);
              if (!r.exited) break;
              if (r.code === 0) { each(P.exited); return; }
              const suffix = `${JSON.stringify(dep)} didn't complete successfully: exit ${r.code}`;
              if (!cfg.required) {
                each((id) => P.skipped(id, `optional dependency ${suffix}`));
                s.warn(`optional dependency ${suffix}`);
                return;
              }
              const msg = `service ${suffix}`;
              each((id) => P.errorMessage(id, msg));
              throw new ComposeError(msg);
            }
            default:
              s.warn(`unsupported depends_on condition: ${cfg.condition}`);
              return;
          }
        }
      })());
    }
    const results = await Promise.allSettled(waits);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      if (failed.reason instanceof Timeout) throw new ComposeError('timeout waiting for dependencies');
      throw failed.reason;
    }
  } finally {
    if (timer) clearTimeout(timer);
    ac.abort();
  }
}

// -- secrets and configs with content -----------------------------------------------------------

/**
 * compose's injectSecrets/injectConfigs: a secret from `environment`, or a config from
 * `content`/`environment`, is copied into the created container (mode 0444 unless set) before
 * it starts; file sources are bind mounts (create-config.ts).
 */
export function contentFiles(project: Project, service: Service, kind: 'secret' | 'config'): Array<{ ref: FileReference; target: string; content: string }> {
  const refs = (kind === 'secret' ? service.secrets : service.configs) ?? [];
  const defs = kind === 'secret' ? project.secrets : project.configs;
  const out: Array<{ ref: FileReference; target: string; content: string }> = [];
  for (const ref of refs) {
    const def = defs[ref.source];
    if (!def) continue;
    let content = '';
    if (def.content) content = def.content;
    else if (def.environment) {
      const v = project.environment[def.environment];
      if (v === undefined) throw new ComposeError(`environment variable ${JSON.stringify(def.environment)} required by ${kind} ${JSON.stringify(def.name)} is not set`);
      content = v;
    }
    if (content === '') continue;
    if (service.readOnly) throw new ComposeError(`cannot create ${kind} ${JSON.stringify(def.name)} in read-only service ${service.name}: \`file\` is the sole supported option`);
    out.push({ ref, target: fileTarget(ref, kind), content });
  }
  return out;
}

export async function injectFiles(s: Session, project: Project, service: Service, id: string): Promise<void> {
  for (const kind of ['secret', 'config'] as const) {
    for (const f of contentFiles(project, service, kind)) {
      const num = (v: string | undefined, what: string) => {
        if (v === undefined || v === '') return 0;
        if (!/^[+-]?\d+$/.test(v)) throw new ComposeError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax (${what})`);
        return Number(v);
      };
      // The entry's name is relative: the archive is extracted at `/`.
      const tar = tarOfFiles([{ name: f.target.replace(/^\/+/, ''), content: Buffer.from(f.content), mode: f.ref.mode ?? 0o444, uid: num(f.ref.uid, 'uid'), gid: num(f.ref.gid, 'gid') }]);
      await s.api.putArchive(id, '/', tar, Boolean(f.ref.uid || f.ref.gid));
    }
  }
}

// -- start --------------------------------------------------------------------------------------

/** compose's startService: dependencies first, then each container that is not running. */
async function startService(s: Session, project: Project, service: Service, containers: ContainerSummary[], timeoutMs: number, w: P.ProgressWriter, hookOutput?: HookOutput): Promise<void> {
  if (service.deploy?.replicas === 0) return;
  await waitDependencies(s, project, service.name, service.dependsOn ?? {}, containers, timeoutMs, w);
  if (containers.length === 0) {
    if (serviceScale(service) === 0) return;
    throw new ComposeError(`service ${JSON.stringify(service.name)} has no container to start`);
  }
  for (const c of containers.filter(isService(service.name))) {
    if (c.State === 'running') continue;
    await injectFiles(s, project, service, c.Id);
    const event = progressName(c);
    w.event(P.starting(event));
    await s.api.startContainer(c.Id);
    for (const hook of service.postStart ?? []) await runHook(s, c, service, hook, hookOutput);
    w.event(P.started(event));
  }
}

/** With `--wait`: every service running or healthy (or exited 0, when something waits for that). */
export function waitConditions(project: Project): Deps {
  const deps: Deps = {};
  for (const name of Object.keys(project.services)) {
    const completed = Object.values(project.services).some((x) => x.dependsOn?.[name]?.condition === 'service_completed_successfully');
    deps[name] = { condition: completed ? 'service_completed_successfully' : RUNNING_OR_HEALTHY, required: true };
  }
  return deps;
}

/**
 * A head start for what others wait on. Services visited together start in parallel, and on a
 * small machine each start slows the others; a dependency's start (then its healthcheck) is the
 * critical path of `up`, so the services nothing depends on begin their starts once the
 * dependencies visited at the same time have started. Only with no --parallel limit: a waiting
 * service must not hold one of a limited number of slots.
 *
 *   db (healthcheck) ← api; web1, web2, cache: db starts alone, then web1, web2, cache start
 *   while db's first probe is pending, and api after db is healthy.
 */
export function headStart(project: Project, limit: number): { before(name: string): Promise<void>; after(name: string): void } {
  const needed = new Set(Object.values(project.services).flatMap((x) => Object.keys(x.dependsOn ?? {})));
  const leader = (name: string) => needed.has(name) && Object.keys(project.services[name]?.dependsOn ?? {}).length === 0;
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  if (limit > 0 || needed.size === 0) return { before: async () => {}, after: () => {} };
  return {
    async before(name) {
      if (leader(name)) { inFlight++; return; }
      if (needed.has(name)) return;
      // The walk calls every service of a round before any awaits: look once they all have.
      await new Promise<void>((r) => setImmediate(() => { if (inFlight === 0) r(); else waiters.push(r); }));
    },
    after(name) {
      if (!leader(name) || --inFlight > 0) return;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    },
  };
}

export async function startProject(s: Session, project: Project, o: StartOptions): Promise<void> {
  const containers = await s.api.listContainers({ label: [projectFilter(project.name), `${LABELS.oneoff}=False`] }, true);
  const only = o.services?.length ? o.services : undefined;
  const head = headStart(project, s.parallel);
  await inDependencyOrder(project.services, async (name) => {
    await head.before(name);
    try {
      await startService(s, project, project.services[name], containers, o.waitTimeout ?? 0, o.w, o.hookOutput);
    } finally { head.after(name); }
  }, { only, limit: s.parallel });
  if (!o.wait) return;
  try {
    await waitDependencies(s, project, project.name, waitConditions(project), containers, o.waitTimeout ?? 0, o.w);
  } catch (e) {
    if (e instanceof ComposeError && e.message === 'timeout waiting for dependencies' && o.waitTimeout) {
      throw new ComposeError(`application not healthy after ${goDuration(o.waitTimeout * 1e6)}`);
    }
    throw e;
  }
}
