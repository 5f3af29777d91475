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
// Builds and pulls are the runtime's own (src/compose/build.ts, pull.ts: what `up` uses), with
// the flags of these commands; progress goes through the runtime's writer (--progress).
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { normalizeTagged } from '../../common/reference.ts';
import { jsonMessages, messageError, StreamError } from '../../client/streams.ts';
import { parseBytes } from '../../common/units.ts';
import { buildServices } from '../../compose/build.ts';
import { ComposeError } from '../../compose/errors.ts';
import { withSelectedServices } from '../../compose/index.ts';
import { type Project } from '../../compose/model.ts';
import { dependencyOrder } from '../../compose/project.ts';
import { isNotFound } from '../../compose/runtime/api.ts';
import { eachLimited } from '../../compose/runtime/graph.ts';
import * as P from '../../compose/runtime/progress.ts';
import type { Session } from '../../compose/runtime/session.ts';
import { StatusError, type Ctx } from '../context.ts';
import { authHeaderFor } from '../credentials.ts';
import { registryConfig, runCommand, session, withWriter } from './compose-common.ts';
import { project as loadProject } from './compose.ts';


export async function build(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.build>): Promise<number> {
  if (o.ssh) throw new ComposeError('the classic builder doesn\'t support SSH keys, set DOCKER_BUILDKIT=1 to use BuildKit');
  const { s, ui } = session(ctx);
  const p = loadProject(ctx, { allResources: true });
  let memory: number | undefined;
  if (o.memory) {
    try { memory = parseBytes(String(o.memory)); } catch (e) { throw new StatusError(`invalid argument "${o.memory}" for "-m, --memory" flag: ${(e as Error).message}`, 125); }
  }
  let names = args.length ? args : Object.keys(p.services);
  for (const n of names) if (!p.services[n]) throw new ComposeError(`no such service: ${n}`);
  if (o.withDependencies) names = dependencyOrder(p, names);
  const services = names.map((n) => p.services[n]).filter((x) => x.build);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    await runCommand(() => withWriter(s, ui, 'Building', async (w) => {
      if (services.length === 0) return;
      await buildServices(s, { project: p, services, w: o.quiet ? new P.QuietWriter() : w, quiet: Boolean(o.quiet) }, {
        registryConfig, noCache: o.cache === false, pull: Boolean(o.pull), args: o.buildArg ?? [], memory, signal: ac.signal,
      });
    }));
  } finally {
    process.removeListener('SIGINT', stop);
  }
  if (o.push) return push(ctx, args, {});
  return 0;
}

// ---------------------------------------------------------------------------------------- pull

/** compose's imageAlreadyPresent: a `:latest` (or untagged) image is pulled again all the same. */
function alreadyPresent(image: string, present: Set<string>): boolean {
  if (!present.has(image)) return false;
  try {
    const ref = normalizeTagged(image);
    return !(ref.tag === 'latest' && !ref.digest && /:latest$/.test(image));
  } catch { return true; }
}

interface PullServicesOptions {
  quiet: boolean;
  ignoreFailures: boolean;
  ignoreBuildable: boolean;
}

/** compose's pull: each service's image once (skipping what the policy or a build says), in parallel. */
export async function pullServices(s: Session, project: Project, o: PullServicesOptions, w: P.ProgressWriter): Promise<void> {
  const names = Object.keys(project.services).sort();
  const present = new Set<string>();
  await Promise.all(names.map((n) => project.services[n].image).filter((x): x is string => !!x).map(async (image) => {
    try { await s.api.inspectImage(image); present.add(image); } catch (e) { if (!isNotFound(e)) throw e; }
  }));
  const mustBuild: string[] = [];
  const errors: string[] = [];
  const being = new Map<string, string>();
  const toPull: string[] = [];
  for (const name of names) {
    const x = project.services[name];
    const skip = (why: string) => w.event({ id: name, status: 'done', text: why });
    if (!x.image) { skip('Skipped - No image to be pulled'); continue; }
    const policy = x.pullPolicy ?? '';
    if (policy === 'never' || policy === 'build') { skip('Skipped'); continue; }
    if ((policy === 'missing' || policy === 'if_not_present') && alreadyPresent(x.image, present)) { skip('Skipped - Image is already present locally'); continue; }
    if (x.build && o.ignoreBuildable) { skip('Skipped - Image can be built'); continue; }
    if (being.has(x.image)) { skip(`Skipped - Image is already being pulled by ${being.get(x.image)}`); continue; }
    being.set(x.image, name);
    toPull.push(name);
  }
  await eachLimited(toPull, s.parallel, async (name) => {
    const x = project.services[name];
    try {
      // The runtime's pull (what up does): its events, Error or Warning (buildable) on failure.
      await s.hooks.pull(s, { project, service: x, quiet: o.quiet, w });
    } catch (e) {
      if (x.build) mustBuild.push(name);
      else if (!o.ignoreFailures) throw e;
      errors.push((e as Error).message);
    }
  });
  if (mustBuild.length) w.tail(`WARNING: Some service image(s) must be built from source by running:\n    docker compose build ${mustBuild.join(' ')}`);
  if (!o.ignoreFailures && errors.length) throw new ComposeError(errors.join('\n'));
}

/** The project of pull and push: the named services, with their dependencies on --include-deps. */
function selected(ctx: Ctx, args: string[], includeDeps: boolean): Project {
  const p = loadProject(ctx, { services: args });
  return !includeDeps && args.length ? withSelectedServices(p, args, { ignoreDependencies: true }) : p;
}

export async function pull(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.pull>): Promise<number> {
  const { s, ui } = session(ctx);
  const p = selected(ctx, args, Boolean(o.includeDeps));
  if (o.policy) {
    if (!['missing', 'always'].includes(o.policy)) throw new ComposeError(`invalid pull policy ${JSON.stringify(o.policy)}`);
    for (const x of Object.values(p.services)) if (x.image) x.pullPolicy = o.policy;
  }
  return runCommand(() => withWriter(s, { ...ui, mode: o.quiet ? 'quiet' : ui.mode }, 'Pulling', async (w) => {
    // -q hides the events, not compose's closing warning.
    const tailing: P.ProgressWriter = o.quiet ? { event: () => {}, events: () => {}, stop: () => {}, tail: (m) => { s.stderr.write(`${m}\n`); } } : w;
    await pullServices(s, p, { quiet: Boolean(o.quiet), ignoreFailures: Boolean(o.ignorePullFailures), ignoreBuildable: Boolean(o.ignoreBuildable) }, tailing);
  }));
}

// ---------------------------------------------------------------------------------------- push

export async function pushImage(s: Session, tag: string, quiet: boolean, w: P.ProgressWriter): Promise<void> {
  const ref = normalizeTagged(tag);
  const res = await s.api.client.images.push(ref.familiarName(), { tag: ref.tag }, { headers: authHeaderFor(ref.familiarName()) });
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err !== undefined) throw new StreamError(err);
    if (quiet || !m.id) continue;
    const done = ['pushed', 'layer already exists'].includes((m.status ?? '').toLowerCase());
    w.event({ id: `Pushing ${tag}: ${m.id}`, status: done ? 'done' : 'working', text: m.status, statusText: typeof m.progress === 'string' ? m.progress : '' });
  }
}

export async function push(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.push>): Promise<number> {
  const { s, ui } = session(ctx);
  const p = selected(ctx, args, Boolean(o.includeDeps));
  return runCommand(() => withWriter(s, { ...ui, mode: o.quiet ? 'quiet' : ui.mode }, 'Pushing', async (w) => {
    const jobs: Array<{ name: string; tag: string }> = [];
    for (const name of Object.keys(p.services).sort()) {
      const x = p.services[name];
      if (!x.build || !x.image) { w.event({ id: name, status: 'done', text: 'Skipped' }); continue; }
      for (const tag of [x.image, ...(x.build.tags ?? [])]) jobs.push({ name, tag });
    }
    await eachLimited(jobs, s.parallel, async ({ name, tag }) => {
      try { await pushImage(s, tag, Boolean(o.quiet), w); } catch (e) {
        if (!o.ignorePushFailures) throw e;
        w.tail(`Pushing ${name}: ${(e as Error).message}`);
      }
    });
  }));
}
