// Building services' images for `up`/`create` when they are missing (or --build, or
// `pull_policy: build`), with the engine's legacy builder, as compose's classic builder
// (build_classic.go) does it: the context directory as a tar (.dockerignore applied), POST
// /build tagged `<project>-<service>` (or the service's image:), the build output on stdout,
// `Service web  Building` / `Built` on the progress display; independent services in parallel,
// each after the services it depends on. The runtime calls `buildServices` through the
// ImageHooks of session.ts; `compose build`, `run --build` and `watch` call it with their flags.
//
//   const ids = await buildServices(session, { project, services: [project.services.web], w });
//   ids['shop-web'] → 'sha256:…'
//   await buildServices(session, r, { noCache: true, args: ['V=2'], memory: 256 << 20 });   compose build's flags
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { createContextTar, type ContextTarOptions } from '../archive/context-tar.ts';
import { contextExcludes, locateDockerignore, parseDockerignore } from '../build/context/dockerignore.ts';
import { jsonMessages, messageError } from '../client/streams.ts';
import { ComposeError } from './errors.ts';
import { extraHostsList, imageName, LABELS, type Project, type Service } from './model.ts';
import { COMPOSE_VERSION } from './version.ts';
import { inDependencyOrder } from './runtime/graph.ts';
import * as P from './runtime/progress.ts';
import type { BuildRequest, Session } from './runtime/session.ts';

export interface BuildOptions {
  /** X-Registry-Config for the FROM pulls (base64 JSON), the CLI's credentials. */
  registryConfig?: () => string;
  /** compose build's flags: --no-cache, --pull, --build-arg (`K=V`, or `K` from the environment), -m in bytes. */
  noCache?: boolean;
  pull?: boolean;
  args?: string[];
  memory?: number;
  signal?: AbortSignal;
}

/** A failed build: the builder's message, and its exit code (as compose's StatusError). */
export class BuildError extends ComposeError {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; /* absent or unreadable: none */ }
}

/** compose's resolveAndMergeBuildArgs: the service's args, --build-arg over them; one named without a value takes the project environment's (or is left out). */
export function buildArgs(project: Project, s: Service, extra: string[] = []): Record<string, string> {
  const merged: Record<string, string | null> = { ...(s.build?.args ?? {}) };
  for (const a of extra) {
    const i = a.indexOf('=');
    if (i < 0) merged[a] = null;
    else merged[a.slice(0, i)] = a.slice(i + 1);
  }
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) {
    const value = v ?? project.environment[k];
    if (value !== undefined) args[k] = value;
  }
  return args;
}

/** The POST /build query of a service (compose's imageBuildOptions, for the legacy builder). */
export function buildQuery(project: Project, s: Service, dockerfile: string, o: Pick<BuildOptions, 'noCache' | 'pull' | 'args' | 'memory'> = {}): Record<string, string | string[] | undefined> {
  const b = s.build!;
  const args = buildArgs(project, s, o.args);
  const labels: Record<string, string> = { ...(b.labels ?? {}), 'com.docker.compose.image.builder': 'classic' };
  labels[LABELS.version] = COMPOSE_VERSION;
  labels[LABELS.project] = project.name;
  labels[LABELS.service] = s.name;
  const tags = [imageName(project, s), ...(b.tags ?? [])];
  const ulimits = Object.entries(b.ulimits ?? {}).map(([Name, u]) => ({ Name, Soft: u.soft || u.single || 0, Hard: u.hard || u.single || 0 }));
  return {
    t: tags,
    dockerfile,
    buildargs: Object.keys(args).length ? JSON.stringify(args) : undefined,
    labels: JSON.stringify(labels),
    target: b.target || undefined,
    networkmode: b.network || undefined,
    nocache: b.noCache || o.noCache ? '1' : undefined,
    pull: b.pull || o.pull ? '1' : undefined,
    memory: o.memory ? String(o.memory) : undefined,
    rm: '1',
    extrahosts: b.extraHosts ? extraHostsList(b.extraHosts, ':') : undefined,
    isolation: b.isolation || undefined,
    shmsize: b.shmSize ? String(b.shmSize) : undefined,
    cachefrom: b.cacheFrom?.length ? JSON.stringify(b.cacheFrom) : undefined,
    ulimits: ulimits.length ? JSON.stringify(ulimits) : undefined,
    platform: b.platforms?.[0] || s.platform || undefined,
    version: '1',
  };
}

/** The context tar and the Dockerfile's name in it (docker's GetContextFromLocalDir rules). */
export function buildContext(s: Service): { tar: Readable; dockerfile: string } {
  const b = s.build!;
  if (/^(https?|git):\/\//.test(b.context) || b.context.startsWith('git@')) {
    throw new ComposeError(`unable to prepare context: remote build contexts are not supported (service ${s.name}: ${b.context})`);
  }
  let dir: string;
  try {
    dir = realpathSync(b.context);
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new ComposeError(`unable to prepare context: path ${JSON.stringify(b.context)} not found`);
  }
  const opts: ContextTarOptions & { dockerfilePath?: string } = { owner: { uid: 0, gid: 0 } };
  let dockerfile: string;
  if (b.dockerfileInline !== undefined) {
    dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
    opts.dockerfile = { name: dockerfile, content: Buffer.from(b.dockerfileInline) };
  } else {
    const path = isAbsolute(b.dockerfile ?? 'Dockerfile') ? b.dockerfile! : join(dir, b.dockerfile ?? 'Dockerfile');
    let real: string;
    try { real = realpathSync(path); } catch { throw new ComposeError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${path}: no such file or directory`); }
    const rel = relative(dir, real).split(sep).join('/');
    if (rel.startsWith('../')) {
      // A Dockerfile outside the context travels inside the tar under a generated name.
      dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
      opts.dockerfile = { name: dockerfile, content: readFileSync(real) };
    } else {
      dockerfile = rel;
      opts.dockerfilePath = rel;
    }
  }
  const ignore = locateDockerignore(readText, opts.dockerfilePath ? join(dir, opts.dockerfilePath) : undefined, dir);
  const excludes = parseDockerignore(ignore?.text ?? '');
  try {
    const { dockerfilePath, ...tarOpts } = opts;
    return { tar: createContextTar(dir, { ...tarOpts, exclude: contextExcludes(excludes, dockerfilePath) }), dockerfile };
  } catch (e) {
    throw new ComposeError(`checking context: ${(e as Error).message}`);
  }
}

/** Builds one service's image; resolves to its image ID. */
export async function buildService(s: Session, project: Project, service: Service, quiet: boolean, o: BuildOptions = {}): Promise<string> {
  const b = service.build!;
  if ((b.platforms?.length ?? 0) > 1) throw new ComposeError("the classic builder doesn't support multi-arch build, set DOCKER_BUILDKIT=1 to use BuildKit");
  if (b.privileged) throw new ComposeError("the classic builder doesn't support privileged mode, set DOCKER_BUILDKIT=1 to use BuildKit");
  if (b.additionalContexts && Object.keys(b.additionalContexts).length) throw new ComposeError("the classic builder doesn't support additional contexts, set DOCKER_BUILDKIT=1 to use BuildKit");
  if (b.ssh && Object.keys(b.ssh).length) throw new ComposeError("the classic builder doesn't support SSH keys, set DOCKER_BUILDKIT=1 to use BuildKit");
  if (b.secrets?.length) throw new ComposeError("the classic builder doesn't support secrets, set DOCKER_BUILDKIT=1 to use BuildKit");
  const ctx = buildContext(service);
  const query = buildQuery(project, service, ctx.dockerfile, o);
  const headers: Record<string, string> = { 'X-Registry-Config': o.registryConfig?.() ?? 'e30=' };
  const res = await s.api.client.build.build(query, ctx.tar, { headers, signal: o.signal });
  let id = '';
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err !== undefined) throw new BuildError(err, m.errorDetail?.code || 1);
    if (m.aux !== undefined) {
      const x = (m.aux as { ID?: unknown } | null)?.ID;
      if (typeof x === 'string') id = x;
      continue;
    }
    if (quiet) continue;
    if (typeof m.stream === 'string') s.stdout.write(m.stream);
    else if (m.status && !(m.progressDetail && (m.progressDetail.current || m.progressDetail.total))) s.stdout.write(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
  }
  if (!id) id = (await s.api.inspectImage(imageName(project, service))).Id;
  return id;
}

/**
 * The ImageHooks.build of session.ts, and compose build: each service after the services it
 * depends on (built or not), independent ones at once up to --parallel, `Service web  Building`
 * … `Built`. Resolves to image name → ID.
 */
export async function buildServices(s: Session, r: BuildRequest, o: BuildOptions = {}): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const toBuild = new Map(r.services.map((x) => [x.name, x]));
  await inDependencyOrder({ ...r.project.services, ...Object.fromEntries(toBuild) }, async (name) => {
    const service = toBuild.get(name)!;
    const event = `Service ${name}`;
    r.w.event(P.building(event));
    try {
      ids[imageName(r.project, service)] = await buildService(s, r.project, service, Boolean(r.quiet), o);
    } catch (e) {
      r.w.event(P.errorEvent(event));
      throw e;
    }
    r.w.event(P.built(event));
  }, { only: [...toBuild.keys()], limit: s.parallel });
  return ids;
}
