// `berth compose build | pull | push`: a project's images, as compose v2 does them with the
// engine's legacy builder (pkg/compose/build.go, build_classic.go, pull.go, push.go).
//
//   berth compose build                  every service with a `build:` section, independent
//                                        services in parallel, each after the services it depends
//                                        on; tagged `<project>-<service>` unless `image:` names it
//   berth compose build --no-cache --pull --build-arg V=2 web
//   berth compose pull --ignore-pull-failures
//   berth compose push                   services that have both `build:` and `image:`
//
// The context is sent as `berth build` sends it (its .dockerignore, a Dockerfile from outside the
// context or `dockerfile_inline` added under a generated name); the image gets the build's labels
// and compose's (project, service, version, `com.docker.compose.image.builder=classic`). Build
// output goes to stdout, `Service web  Building` / `Built` events to stderr. The classic builder
// refuses what it cannot do, with compose's messages (several platforms, privileged, additional
// contexts, ssh, secrets). buildServices is what `run --build` and `watch` use too.
import { Readable, type Writable } from 'node:stream';
import { ApiError, type ApiClient } from '../../client/client.ts';
import { jsonMessages, messageError, StreamError } from '../../client/streams.ts';
import { normalizeTagged } from '../../common/reference.ts';
import { parseBytes } from '../../common/units.ts';
import { ComposeError } from '../../compose/errors.ts';
import { COMPOSE_VERSION } from '../../compose/version.ts';
import { imageName, LABELS, extraHostsList, type Project, type Service } from '../../compose/model.ts';
import { dependencyOrder } from '../../compose/project.ts';
import type { Progress } from '../../compose/progress-lite.ts';
import { StatusError, type Ctx } from '../context.ts';
import { allAuths, authHeaderFor, encodeRegistryConfig } from '../credentials.ts';
import { localContext } from './build.ts';
import { parallelLimit, progressFor } from './compose-common.ts';
import { project as loadProject } from './compose.ts';

type Opts = Record<string, any>;

export const BUILDER_LABEL = 'com.docker.compose.image.builder';

export interface BuildServicesOptions {
  /** Services named on the command line (all when empty). */
  services?: string[];
  /** Also build what they depend on (--with-dependencies). */
  deps?: boolean;
  noCache?: boolean;
  pull?: boolean;
  /** --build-arg items: `K=V`, or `K` (its value from the project environment). */
  args?: string[];
  /** Bytes (-m). */
  memory?: number;
  /** Where the builder's output goes (compose: stdout; -q: nowhere). */
  out: Writable | { write(s: string): unknown };
  progress: Progress;
  parallel: number;
  signal?: AbortSignal;
}

/** compose's resolveAndMergeBuildArgs: the service's args, --build-arg over them, unset ones from the environment. */
export function buildArgs(project: Project, s: Service, extra: string[] = []): Record<string, string | null> {
  const merged: Record<string, string | null> = { ...(s.build?.args ?? {}) };
  for (const a of extra) {
    const i = a.indexOf('=');
    if (i < 0) merged[a] = null;
    else merged[a.slice(0, i)] = a.slice(i + 1);
  }
  for (const [k, v] of Object.entries(merged)) {
    if (v === null && Object.hasOwn(project.environment, k)) merged[k] = project.environment[k];
  }
  return merged;
}

/** The labels of a built image: the build's own, then compose's. */
export function imageLabels(project: Project, s: Service): Record<string, string> {
  return {
    ...(s.build?.labels ?? {}),
    [LABELS.version]: COMPOSE_VERSION, [LABELS.project]: project.name, [LABELS.service]: s.name, [BUILDER_LABEL]: 'classic',
  };
}

/** The classic builder's refusals, in compose's words. */
export function checkClassicBuild(s: Service): void {
  const b = s.build!;
  const needKit = (what: string) => new ComposeError(`the classic builder doesn't support ${what}, set DOCKER_BUILDKIT=1 to use BuildKit`);
  if ((b.platforms?.length ?? 0) > 1) throw needKit('multi-arch build');
  if (b.privileged) throw needKit('privileged mode');
  if (b.additionalContexts && Object.keys(b.additionalContexts).length) throw needKit('additional contexts');
  if (b.ssh && Object.keys(b.ssh).length) throw needKit('SSH keys');
  if (b.secrets?.length) throw needKit('secrets');
}

/** POST /build's query for a service (compose's imageBuildOptions, plus cache_from and shm_size). */
export function buildQuery(project: Project, s: Service, o: Pick<BuildServicesOptions, 'noCache' | 'pull' | 'args' | 'memory'>, dockerfile: string): Record<string, string | string[] | undefined> {
  const b = s.build!;
  const tags = [imageName(project, s), ...(b.tags ?? [])];
  return {
    t: tags,
    dockerfile,
    buildargs: JSON.stringify(buildArgs(project, s, o.args)),
    labels: JSON.stringify(imageLabels(project, s)),
    nocache: b.noCache || o.noCache ? '1' : undefined,
    pull: b.pull || o.pull ? '1' : undefined,
    rm: '1',
    forcerm: '1',
    networkmode: b.network,
    extrahosts: b.extraHosts ? extraHostsList(b.extraHosts).join(',') : undefined,
    target: b.target,
    isolation: b.isolation,
    cachefrom: b.cacheFrom?.length ? JSON.stringify(b.cacheFrom) : undefined,
    shmsize: b.shmSize ? String(b.shmSize) : undefined,
    memory: o.memory ? String(o.memory) : undefined,
    platform: b.platforms?.[0] ?? s.platform,
  };
}

/** Builds one service's image; resolves to its image ID. */
export async function buildService(client: ApiClient, project: Project, s: Service, o: BuildServicesOptions): Promise<string> {
  checkClassicBuild(s);
  const b = s.build!;
  const cwd = project.workingDir;
  // dockerfile_inline travels as a Dockerfile from outside the context, as from stdin.
  const prepared = b.dockerfileInline !== undefined
    ? await localContext(b.context, '-', { stdin: Readable.from([Buffer.from(b.dockerfileInline)]), cwd })
    : await localContext(b.context, b.dockerfile ? (b.dockerfile.startsWith('/') ? b.dockerfile : `${b.context}/${b.dockerfile}`) : undefined, { stdin: process.stdin, cwd });
  let registryConfig = 'e30=';
  try { registryConfig = encodeRegistryConfig(allAuths()); } catch { /* an unreadable config: none */ }
  const res = await client.request('POST', '/build', {
    query: buildQuery(project, s, o, prepared.dockerfile ?? 'Dockerfile'),
    raw: Readable.from(prepared.body), contentType: 'application/x-tar', signal: o.signal,
    headers: { 'X-Registry-Config': registryConfig },
  });
  let id = '';
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err !== undefined) throw new StatusError(err, m.errorDetail?.code || 1);
    if (m.aux !== undefined) {
      const x = (m.aux as { ID?: unknown } | null)?.ID;
      if (typeof x === 'string') id = x;
      continue;
    }
    if (typeof m.stream === 'string') { o.out.write(m.stream); continue; }
    if (m.progressDetail && (m.progressDetail.current || m.progressDetail.total)) continue;
    const line = `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}`;
    if (line) o.out.write(`${line}\n`);
  }
  return id;
}

/**
 * compose's build: the services to build (named ones, or all; with their dependencies on
 * --with-dependencies), each after the services it depends on, independent ones in parallel.
 * Resolves to image name → ID.
 */
export async function buildServices(client: ApiClient, project: Project, o: BuildServicesOptions): Promise<Record<string, string>> {
  let names = o.services?.length ? o.services : Object.keys(project.services);
  for (const n of names) if (!project.services[n]) throw new ComposeError(`no such service: ${n}`);
  if (o.deps) names = dependencyOrder(project, names);
  const toBuild = new Set(names.filter((n) => project.services[n].build));
  const ids: Record<string, string> = {};
  if (toBuild.size === 0) return ids;
  const done = new Map<string, Promise<void>>();
  let running = 0;
  const waiters: (() => void)[] = [];
  const slot = async () => {
    while (running >= o.parallel) await new Promise<void>((r) => waiters.push(r));
    running++;
  };
  const release = () => { running--; waiters.shift()?.(); };
  const visit = (n: string): Promise<void> => {
    let p = done.get(n);
    if (p) return p;
    p = (async () => {
      // After what it depends on (compose's InDependencyOrder), whether that is built or not.
      await Promise.all(Object.keys(project.services[n]?.dependsOn ?? {}).filter((d) => project.services[d]).map(visit));
      if (!toBuild.has(n)) return;
      const s = project.services[n];
      const id = `Service ${n}`;
      await slot();
      try {
        o.progress.event({ id, status: 'working', text: 'Building' });
        ids[imageName(project, s)] = await buildService(client, project, s, o);
        o.progress.event({ id, status: 'done', text: 'Built' });
      } catch (e) {
        o.progress.event({ id, status: 'error', text: 'Error' });
        throw e;
      } finally {
        release();
      }
    })();
    done.set(n, p);
    return p;
  };
  const results = await Promise.allSettled([...toBuild].map(visit));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  for (const n of names) if (toBuild.has(n)) o.progress.event({ id: n, status: 'done', text: 'Built' });
  return ids;
}

export async function build(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  if (o.ssh) throw new ComposeError('the classic builder doesn\'t support SSH keys, set DOCKER_BUILDKIT=1 to use BuildKit');
  const p = loadProject(ctx, { allResources: true });
  let memory: number | undefined;
  if (o.memory) {
    try { memory = parseBytes(String(o.memory)); } catch (e) { throw new StatusError(`invalid argument "${o.memory}" for "-m, --memory" flag: ${(e as Error).message}`, 125); }
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    await buildServices(ctx.client, p, {
      services: args, deps: Boolean(o.withDependencies), noCache: o.cache === false, pull: Boolean(o.pull), args: o.buildArg ?? [], memory,
      out: o.quiet ? { write: () => true } : process.stdout, progress: o.quiet ? { event: () => {}, tail: () => {} } : progressFor(ctx),
      parallel: parallelLimit(ctx), signal: ac.signal,
    });
  } finally {
    process.removeListener('SIGINT', stop);
  }
  if (o.push) return push(ctx, args, {});
  return 0;
}

// ---------------------------------------------------------------------------------------- pull

interface PullServicesOptions {
  quiet: boolean;
  ignoreFailures: boolean;
  ignoreBuildable: boolean;
  progress: Progress;
  parallel: number;
}

/** Local images of the project's services, by the service's image reference. */
async function localImages(client: ApiClient, refs: string[]): Promise<Set<string>> {
  const present = new Set<string>();
  await Promise.all(refs.map(async (r) => {
    try { await client.json('GET', `/images/${encodeURIComponent(r)}/json`); present.add(r); } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }));
  return present;
}

/** compose's imageAlreadyPresent: a `:latest` (or untagged) image is pulled again all the same. */
function alreadyPresent(image: string, present: Set<string>): boolean {
  if (!present.has(image)) return false;
  try {
    const ref = normalizeTagged(image);
    return !(ref.tag === 'latest' && !ref.digest && /:latest$/.test(image));
  } catch { return true; }
}

/** Pulls one image with compose's events; resolves to its image ID. */
export async function pullImage(client: ApiClient, service: string, image: string, quiet: boolean, progress: Progress, platform?: string): Promise<string> {
  progress.event({ id: service, status: 'working', text: 'Pulling' });
  const ref = normalizeTagged(image);
  const fromImage = ref.digest ? `${ref.name}@${ref.digest}` : ref.name;
  const res = await client.request('POST', '/images/create', {
    query: { fromImage, tag: ref.digest ? undefined : ref.tag, platform }, headers: authHeaderFor(ref.familiarName()),
  });
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err !== undefined) throw new StreamError(err);
    if (!quiet && m.id && m.status) progress.event({ id: `${service} ${m.id}`, status: /complete|exists/i.test(m.status) ? 'done' : 'working', text: m.status });
  }
  progress.event({ id: service, status: 'done', text: 'Pulled' });
  const i = await client.json<{ Id: string }>('GET', `/images/${encodeURIComponent(image)}/json`);
  return i.Id;
}

export async function pullServices(client: ApiClient, project: Project, o: PullServicesOptions): Promise<void> {
  const names = Object.keys(project.services).sort();
  const present = await localImages(client, names.map((n) => project.services[n].image).filter((x): x is string => !!x));
  const mustBuild: string[] = [];
  const errors: string[] = [];
  const being = new Map<string, string>();
  const jobs: (() => Promise<void>)[] = [];
  for (const name of names) {
    const s = project.services[name];
    if (!s.image) { o.progress.event({ id: name, status: 'done', text: 'Skipped - No image to be pulled' }); continue; }
    const policy = s.pullPolicy ?? '';
    if (policy === 'never' || policy === 'build') { o.progress.event({ id: name, status: 'done', text: 'Skipped' }); continue; }
    if ((policy === 'missing' || policy === 'if_not_present') && alreadyPresent(s.image, present)) {
      o.progress.event({ id: name, status: 'done', text: 'Skipped - Image is already present locally' });
      continue;
    }
    if (s.build && o.ignoreBuildable) { o.progress.event({ id: name, status: 'done', text: 'Skipped - Image can be built' }); continue; }
    if (being.has(s.image)) { o.progress.event({ id: name, status: 'done', text: `Skipped - Image is already being pulled by ${being.get(s.image)}` }); continue; }
    being.set(s.image, name);
    jobs.push(async () => {
      try {
        await pullImage(client, name, s.image!, o.quiet, o.progress, s.platform ?? project.environment.DOCKER_DEFAULT_PLATFORM);
      } catch (e) {
        const msg = (e as Error).message;
        o.progress.event({ id: name, status: s.build ? 'warning' : 'error', text: s.build ? 'Warning' : 'Error', statusText: msg });
        if (s.build) mustBuild.push(name);
        else if (!o.ignoreFailures) throw e;
        errors.push(msg);
      }
    });
  }
  let firstError: unknown;
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(jobs.length, o.parallel) }, async () => {
    while (i < jobs.length) {
      const job = jobs[i++];
      try { await job(); } catch (e) { firstError ??= e; }
    }
  }));
  if (mustBuild.length) o.progress.tail(`WARNING: Some service image(s) must be built from source by running:\n    docker compose build ${mustBuild.join(' ')}`);
  if (firstError) throw firstError;
  if (!o.ignoreFailures && errors.length) throw new ComposeError(errors.join('\n'));
}

export async function pull(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  let p = loadProject(ctx, { services: args });
  if (!o.includeDeps && args.length) {
    const { withSelectedServices } = await import('../../compose/index.ts');
    p = withSelectedServices(p, args, { ignoreDependencies: true });
  }
  if (o.policy) {
    if (!['missing', 'always'].includes(o.policy)) throw new ComposeError(`invalid pull policy ${JSON.stringify(o.policy)}`);
    for (const s of Object.values(p.services)) if (s.image) s.pullPolicy = o.policy;
  }
  await pullServices(ctx.client, p, {
    quiet: Boolean(o.quiet), ignoreFailures: Boolean(o.ignorePullFailures), ignoreBuildable: Boolean(o.ignoreBuildable),
    progress: o.quiet ? { event: () => {}, tail: (m) => process.stderr.write(`${m}\n`) } : progressFor(ctx), parallel: parallelLimit(ctx),
  });
  return 0;
}

// ---------------------------------------------------------------------------------------- push

export async function pushImage(client: ApiClient, tag: string, quiet: boolean, progress: Progress): Promise<void> {
  const ref = normalizeTagged(tag);
  const res = await client.request('POST', `/images/${encodeURIComponent(ref.familiarName())}/push`, {
    query: { tag: ref.tag }, headers: authHeaderFor(ref.familiarName()),
  });
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err !== undefined) throw new StreamError(err);
    if (quiet || !m.id) continue;
    const done = ['pushed', 'layer already exists'].includes((m.status ?? '').toLowerCase());
    progress.event({ id: `Pushing ${tag}: ${m.id}`, status: done ? 'done' : 'working', text: m.status, statusText: typeof m.progress === 'string' ? m.progress : '' });
  }
}

export async function push(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  let p = loadProject(ctx, { services: args });
  if (!o.includeDeps && args.length) {
    const { withSelectedServices } = await import('../../compose/index.ts');
    p = withSelectedServices(p, args, { ignoreDependencies: true });
  }
  const progress = o.quiet ? { event: () => {}, tail: () => {} } : progressFor(ctx);
  const jobs: (() => Promise<void>)[] = [];
  for (const name of Object.keys(p.services).sort()) {
    const s = p.services[name];
    if (!s.build || !s.image) { progress.event({ id: name, status: 'done', text: 'Skipped' }); continue; }
    for (const tag of [s.image, ...(s.build.tags ?? [])]) {
      jobs.push(async () => {
        try { await pushImage(ctx.client, tag, Boolean(o.quiet), progress); } catch (e) {
          if (!o.ignorePushFailures) throw e;
          progress.tail(`Pushing ${name}: ${(e as Error).message}`);
        }
      });
    }
  }
  const limit = parallelLimit(ctx);
  let i = 0;
  let first: unknown;
  await Promise.all(Array.from({ length: Math.min(jobs.length, limit) }, async () => {
    while (i < jobs.length) {
      const job = jobs[i++];
      try { await job(); } catch (e) { first ??= e; }
    }
  }));
  if (first) throw first;
  return 0;
}
