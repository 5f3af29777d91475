// `berth compose` commands that run a project on an engine: up, create, start, stop, restart,
// down, rm, kill, pause, unpause, scale. Flags, their checks and messages are compose v2's
// (cmd/compose/*.go); the work is src/compose/runtime over the Engine API, with whatever engine
// -H / BERTH_HOST / DOCKER_HOST names (berthd or dockerd).
//
//   berth compose up -d                      create and start, progress on stderr
//   berth compose up --scale web=3 --wait    three web containers, wait until all are healthy
//   berth compose up                         attached: prefixed output until Ctrl-C
//   berth compose -p shop down -v            without a file: what the labels say, volumes too
import { ComposeError, type Project } from '../../compose/index.ts';
import { withSelectedServices, withServicesEnabled } from '../../compose/project.ts';
import { buildServices, BuildError } from '../../compose/build.ts';
import { pullServiceImage } from '../../compose/pull.ts';
import { ComposeApi } from '../../compose/runtime/api.ts';
import { AttachedUp, type Cascade } from '../../compose/runtime/attached.ts';
import * as R from '../../compose/runtime/commands.ts';
import { LogPrinter } from '../../compose/log-printer.ts';
import * as P from '../../compose/runtime/progress.ts';
import type { RecreatePolicy } from '../../compose/runtime/convergence.ts';
import type { Session } from '../../compose/runtime/session.ts';
import { startProject } from '../../compose/runtime/start.ts';
import { allAuths, authHeaderFor, encodeRegistryConfig } from '../credentials.ts';
import { StatusError, type Ctx, type ComposeGlobals } from '../context.ts';
import { checkComposeGlobals, formatLog, project as loadProject } from './compose.ts';

type Opts = Record<string, any>;

const truthy = (v: string | undefined) => {
  const s = (v ?? '').trim().toLowerCase();
  return s === 'y' || ['1', 't', 'true'].includes(s);
};

// -- ui -------------------------------------------------------------------------------------------

export interface Ui {
  mode: P.ProgressMode | 'auto';
  colors: P.Palette;
  /** Colours in container output (compose's formatter: --ansi, and stdout a terminal on auto). */
  logColor: boolean;
}

/** compose's root PersistentPreRunE: --ansi, COMPOSE_ANSI, NO_COLOR and --progress → how to show progress. */
export function composeUi(g: ComposeGlobals, env: NodeJS.ProcessEnv, stdoutTty: boolean): Ui {
  let ansi = g.ansi ?? 'auto';
  if (g.noAnsi) ansi = 'never';
  else if (ansi === 'auto' && env.COMPOSE_ANSI) ansi = env.COMPOSE_ANSI;
  let logColor = ansi === 'always' || (ansi === 'auto' && stdoutTty);
  let colors = P.COLORS;
  if (env.NO_COLOR) { colors = P.NO_COLORS; logColor = false; }
  let mode: Ui['mode'] = ansi === 'never' ? 'plain' : ansi === 'always' ? 'tty' : 'auto';
  const progress = g.progress ?? env.COMPOSE_PROGRESS ?? '';
  switch (progress) {
    case '': case 'auto': if (ansi === 'never') mode = 'plain'; break;
    case 'tty':
      if (ansi === 'never') throw new ComposeError("can't use --progress tty while ANSI support is disabled");
      mode = 'tty';
      break;
    case 'plain':
      if (ansi === 'always') throw new ComposeError("can't use --progress plain while ANSI support is forced");
      mode = 'plain';
      break;
    case 'quiet': case 'none': mode = 'quiet'; break;
    case 'json': mode = 'json'; break;
    default: throw new ComposeError(`unsupported --progress value ${JSON.stringify(progress)}`);
  }
  return { mode, colors, logColor };
}

// -- session --------------------------------------------------------------------------------------

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const input = process.stdin;
    const done = (s: string) => { input.off('data', onData); input.off('end', onEnd); input.pause(); resolve(s); };
    const onData = (d: Buffer) => { buf += d.toString(); const nl = buf.indexOf('\n'); if (nl >= 0) done(buf.slice(0, nl)); };
    const onEnd = () => done(buf);
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}

/** compose's prompt: a question on a terminal, the bare message and one word from a pipe. */
async function confirm(msg: string, def: boolean): Promise<boolean> {
  if (process.stdin.isTTY) {
    process.stdout.write(`? ${msg} ${def ? '(Y/n)' : '(y/N)'} `);
    const a = (await readLine()).trim();
    return a === '' ? def : truthy(a);
  }
  process.stdout.write(msg);
  return truthy((await readLine()).trim().split(/\s+/)[0]);
}

export function session(ctx: Ctx): { s: Session; ui: Ui } {
  const g = ctx.globals.compose ?? {};
  checkComposeGlobals(g);
  // Not done: saying so beats doing the real thing (dry run) or naming things otherwise (compatibility).
  if (g.dryRun) throw new ComposeError('--dry-run is not supported by berth compose yet');
  if (g.compatibility || truthy(process.env.COMPOSE_COMPATIBILITY)) throw new ComposeError('--compatibility (the `_` name separator) is not supported by berth compose');
  if (g.noAnsi) process.stderr.write("option '--no-ansi' is DEPRECATED ! Please use '--ansi' instead.\n");
  const ui = composeUi(g, process.env, Boolean(process.stdout.isTTY));
  const tty = Boolean(process.stderr.isTTY);
  let parallel = g.parallel ?? -1;
  if (parallel === -1 && process.env.COMPOSE_PARALLEL_LIMIT !== undefined) {
    const v = process.env.COMPOSE_PARALLEL_LIMIT;
    if (!/^[+-]?\d+$/.test(v)) throw new ComposeError(`COMPOSE_PARALLEL_LIMIT must be an integer (found: ${JSON.stringify(v)})`);
    parallel = Number(v);
  }
  const s: Session = {
    api: new ComposeApi(ctx.client),
    warn: (m) => process.stderr.write(formatLog('warning', m, tty)),
    info: (m) => process.stderr.write(formatLog('info', m, tty)),
    stdout: process.stdout,
    stderr: process.stderr,
    parallel,
    env: process.env,
    confirm,
    hooks: {
      pull: (sess, r) => pullServiceImage(sess, r, { registryAuth: (image) => { try { return authHeaderFor(image); } catch { return {}; } } }),
      build: (sess, r) => buildServices(sess, r, { registryConfig: () => { try { return encodeRegistryConfig(allAuths()); } catch { return 'e30='; } } }),
    },
  };
  return { s, ui };
}

function writer(s: Session, ui: Ui, title: string): P.ProgressWriter {
  return P.progressWriter({ mode: ui.mode, out: s.stderr, title, colors: ui.colors });
}

async function withWriter<T>(s: Session, ui: Ui, title: string, fn: (w: P.ProgressWriter) => Promise<T>): Promise<T> {
  const w = writer(s, ui, title);
  try {
    return await fn(w);
  } finally {
    w.stop();
  }
}

/** The -t flag as compose reads it: seconds when given, else the containers' own timeouts. */
const timeoutOf = (o: Opts): number | undefined => (o.timeout === undefined ? undefined : Number(o.timeout));

/** Runs a command body, turning compose's failures into the CLI's exit statuses. */
async function run(fn: () => Promise<number | void>): Promise<number> {
  try {
    return (await fn()) ?? 0;
  } catch (e) {
    if (e instanceof BuildError) throw new StatusError(e.message, e.code);
    throw e;
  }
}

/**
 * compose's projectOrName: with -f, or without -p, the project is loaded from its files (the
 * named services checked); with -p alone, only the name (the engine's labels say the rest). A
 * load that fails falls back to COMPOSE_PROJECT_NAME when it is set.
 */
function projectOrName(ctx: Ctx, services: string[]): { project?: Project; name: string } {
  const g = ctx.globals.compose ?? {};
  if ((g.file?.length ?? 0) > 0 || !g.projectName) {
    try {
      const p = loadProject(ctx, { services, resolveEnvironment: false });
      return { project: p, name: p.name };
    } catch (e) {
      const env = process.env.COMPOSE_PROJECT_NAME;
      if (env) return { name: env };
      throw e;
    }
  }
  return { name: g.projectName.toLowerCase() };
}

// -- create / up ----------------------------------------------------------------------------------

const PULL_POLICIES = ['always', 'never', 'build', 'missing', 'if_not_present'];

/** compose's createOptions.Apply: --pull, --build, --scale on the model. */
function applyCreateFlags(project: Project, o: Opts): Project {
  let p = project;
  if (o.pull !== undefined && o.pull !== 'policy') {
    if (!PULL_POLICIES.includes(o.pull)) throw new ComposeError(`invalid --pull option ${JSON.stringify(o.pull)}`);
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).map(([k, v]) => [k, { ...v, pullPolicy: o.pull === 'if_not_present' ? 'missing' : o.pull }])) };
  }
  if (o.build) {
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).map(([k, v]) => [k, v.build ? { ...v, pullPolicy: 'build' } : v])) };
  }
  for (const spec of (o.scale ?? []) as string[]) {
    const parts = spec.split('=');
    if (parts.length !== 2) throw new ComposeError(`invalid --scale option ${JSON.stringify(spec)}. Should be SERVICE=NUM`);
    if (!/^[+-]?\d+$/.test(parts[1])) throw new ComposeError(`strconv.Atoi: parsing ${JSON.stringify(parts[1])}: invalid syntax`);
    p = R.withScale(p, parts[0], Number(parts[1]));
  }
  return p;
}

function recreatePolicy(o: Opts): RecreatePolicy {
  if (o.noRecreate) return 'never';
  if (o.forceRecreate || o.renewAnonVolumes) return 'force';
  return 'diverged';
}

function dependenciesPolicy(o: Opts): RecreatePolicy {
  if (o.noRecreate) return 'never';
  if (o.alwaysRecreateDeps) return 'force';
  return 'diverged';
}

function createOptions(project: Project, services: string[], o: Opts): R.CreateProjectOptions {
  const removeOrphans = o.removeOrphans ?? truthy(process.env.COMPOSE_REMOVE_ORPHANS);
  const ignoreOrphans = truthy(project.environment.COMPOSE_IGNORE_ORPHANS);
  if (ignoreOrphans && removeOrphans) throw new ComposeError('cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans');
  return {
    services,
    build: !o.noBuild,
    quietPull: Boolean(o.quietPull),
    quietBuild: Boolean(o.quietBuild),
    removeOrphans: Boolean(removeOrphans),
    ignoreOrphans,
    recreate: recreatePolicy(o),
    recreateDependencies: dependenciesPolicy(o),
    inherit: !o.renewAnonVolumes,
    timeout: timeoutOf(o),
    assumeYes: Boolean(o.yes),
  };
}

export async function create(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  if (o.build && o.noBuild) throw new ComposeError('--build and --no-build are incompatible');
  if (o.forceRecreate && o.noRecreate) throw new ComposeError('--force-recreate and --no-recreate are incompatible');
  const { s, ui } = session(ctx);
  let project = loadProject(ctx, { services: args });
  project = applyCreateFlags(project, o);
  const co = createOptions(project, args, o);
  return run(() => withWriter(s, ui, 'Creating', (w) => R.create(s, project, co, w)));
}

/** compose's validateFlags for up. */
function validateUpFlags(o: Opts): void {
  if (o.exitCodeFrom && !o.abortOnContainerFailure) o.abortOnContainerExit = true;
  if (o.abortOnContainerExit && o.abortOnContainerFailure) throw new ComposeError('--abort-on-container-failure cannot be combined with --abort-on-container-exit');
  if (o.wait) {
    if (o.attachDependencies || o.abortOnContainerExit || o.attach?.length) {
      throw new ComposeError('--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies');
    }
    o.detach = true;
  }
  if (o.build && o.noBuild) throw new ComposeError('--build and --no-build are incompatible');
  if (o.detach && (o.attachDependencies || o.abortOnContainerExit || o.abortOnContainerFailure || o.attach?.length || o.watch)) {
    throw new ComposeError(o.wait
      ? '--wait cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch'
      : '--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch');
  }
  if (o.renewAnonVolumes && o.noRecreate) throw new ComposeError('--no-recreate and --renew-anon-volumes are incompatible');
  if (o.forceRecreate && o.noRecreate) throw new ComposeError('--force-recreate and --no-recreate are incompatible');
  if (o.alwaysRecreateDeps && o.noRecreate) throw new ComposeError('--always-recreate-deps and --no-recreate are incompatible');
  if (o.noBuild && o.watch) throw new ComposeError('--no-build and --watch are incompatible');
}

/** The services whose output attached `up` shows (compose's attach set). */
function attachSet(project: Project, services: string[], o: Opts): string[] {
  let set: Set<string>;
  if (o.attach?.length) {
    set = new Set(o.attach as string[]);
    const unexpected = [...set].filter((x) => !project.services[x]).sort();
    if (unexpected.length) throw new ComposeError(`cannot attach to services not included in up: ${unexpected.join(', ')}`);
  } else {
    set = new Set();
    const visit = (name: string) => {
      const svc = project.services[name];
      if (!svc || set.has(name)) return;
      if (svc.attach !== false) set.add(name);
      if (o.attachDependencies) for (const d of Object.keys(svc.dependsOn ?? {})) visit(d);
    };
    for (const name of services.length ? services : Object.keys(project.services)) visit(name);
  }
  for (const x of (o.noAttach ?? []) as string[]) set.delete(x);
  return [...set].sort();
}

export async function up(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  validateUpFlags(o);
  if (o.attach?.length && o.attachDependencies) throw new ComposeError('cannot combine --attach and --attach-dependencies');
  if (o.watch) throw new ComposeError('up --watch is not supported yet: run `berth compose watch` beside `up -d`');
  const { s, ui } = session(ctx);
  let project = loadProject(ctx, { services: args });
  if (Object.keys(project.services).length === 0 && !ctx.globals.compose?.allResources) throw new ComposeError('no service selected');
  const co = createOptions(project, args, o);
  project = applyCreateFlags(project, o);
  if (o.noDeps) project = withSelectedServices(project, args, { ignoreDependencies: true });
  if (o.exitCodeFrom && !project.services[o.exitCodeFrom]) throw new ComposeError(`no such service: ${o.exitCodeFrom}`);
  const p = project;
  if (o.noStart) return run(() => withWriter(s, ui, 'Creating', (w) => R.create(s, p, co, w)));
  const waitTimeout = o.waitTimeout ? Number(o.waitTimeout) * 1000 : 0;
  if (o.detach) {
    return run(() => withWriter(s, ui, 'Running', async (w) => {
      await R.create(s, p, co, w);
      await startProject(s, p, { w, wait: Boolean(o.wait), waitTimeout });
    }));
  }
  const attachTo = attachSet(p, args, o);
  await run(() => withWriter(s, ui, 'Running', (w) => R.create(s, p, co, w)));
  const consumer = new LogPrinter({ stdout: process.stdout, stderr: process.stderr, color: ui.logColor && !o.noColor, prefix: !o.noLogPrefix, timestamps: Boolean(o.timestamps) });
  const cascade: Cascade = o.abortOnContainerExit ? 'stop' : o.abortOnContainerFailure ? 'fail' : 'ignore';
  const attached = new AttachedUp(s, p, {
    consumer, attachTo, services: args, cascade, exitCodeFrom: o.exitCodeFrom || undefined, timeout: timeoutOf(o), waitTimeout,
    // compose's RunWithLog (NewMixedWriter): through the log consumer when the mode is auto on a
    // terminal, plain lines in every other mode (quiet and json included).
    stopWriter: () => (ui.mode === 'auto' && s.stderr.isTTY ? mixedWriter(consumer, ui.colors) : new P.PlainWriter(s.stderr)),
    errorColor: ui.colors.error,
  });
  let signalled = false;
  const onSignal = () => { signalled = true; attached.onSignal(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await run(() => attached.run());
    return signalled ? 130 : code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** compose's mixedWriter: progress events as status lines among the containers' output. */
function mixedWriter(consumer: LogPrinter, colors: P.Palette): P.ProgressWriter {
  return {
    event: (e) => consumer.status('', `${e.id} ${e.text ?? ''} ${colors.success(e.statusText ?? '')}`),
    events(es) { for (const e of es) this.event(e); },
    tail: (m) => consumer.status('', colors.warning(m)),
    stop: () => {},
  };
}

// -- start / stop / restart ------------------------------------------------------------------------

export async function start(ctx: Ctx, args: string[]): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(() => withWriter(s, ui, 'Running', async (w) => {
    const p = project ?? await R.projectForStart(s, name, args);
    await startProject(s, p, { w });
  }));
}

export async function stop(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(() => withWriter(s, ui, 'Stopping', (w) => R.stop(s, name, project, args, timeoutOf(o), w)));
}

export async function restart(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const { s, ui } = session(ctx);
  let { project, name } = projectOrName(ctx, []);
  // Named services are enabled even when their profiles are not (compose's WithServicesEnabled).
  if (project && args.length) project = withServicesEnabled(project, args);
  return run(() => withWriter(s, ui, 'Restarting', (w) => R.restart(s, name, project, { services: args, noDeps: Boolean(o.noDeps), timeout: timeoutOf(o) }, w)));
}

// -- down / rm ---------------------------------------------------------------------------------------

export async function down(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  if (o.rmi !== undefined && o.rmi !== '' && o.rmi !== 'all' && o.rmi !== 'local') throw new ComposeError(`invalid value for --rmi: ${JSON.stringify(o.rmi)}`);
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  const removeOrphans = o.removeOrphans ?? truthy(process.env.COMPOSE_REMOVE_ORPHANS);
  return run(() => withWriter(s, ui, 'Running', (w) => R.down(s, name, project, {
    services: args, removeOrphans: Boolean(removeOrphans), timeout: timeoutOf(o), volumes: Boolean(o.volumes), images: o.rmi || undefined,
  }, w)));
}

export async function rm(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(async () => {
    if (o.stop) await withWriter(s, ui, 'Stopping', (w) => R.stop(s, name, project, args, undefined, w));
    await R.rm(s, name, project, { services: args, force: Boolean(o.force), volumes: Boolean(o.volumes) }, (title) => writer(s, ui, title));
  });
}

// -- kill / pause / unpause / scale -----------------------------------------------------------------

export async function kill(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  const removeOrphans = o.removeOrphans ?? truthy(process.env.COMPOSE_REMOVE_ORPHANS);
  return run(() => withWriter(s, ui, 'Killing', (w) => R.kill(s, name, project, { services: args, signal: o.signal ?? 'SIGKILL', removeOrphans: Boolean(removeOrphans) }, w)));
}

export async function pause(ctx: Ctx, args: string[]): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(() => withWriter(s, ui, 'Pausing', (w) => R.pause(s, name, project, args, false, w)));
}

export async function unpause(ctx: Ctx, args: string[]): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(() => withWriter(s, ui, 'Running', (w) => R.pause(s, name, project, args, true, w)));
}

export async function scale(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const replicas = R.parseScaleArgs(args);
  const services = Object.keys(replicas).sort();
  const { s, ui } = session(ctx);
  let project = loadProject(ctx, { services });
  if (o.noDeps) project = withSelectedServices(project, services, { ignoreDependencies: true });
  for (const [svc, n] of Object.entries(replicas)) project = R.withScale(project, svc, n);
  const p = project;
  return run(() => withWriter(s, ui, 'Running', async (w) => {
    await R.create(s, p, { ...R.CREATE_DEFAULTS, services }, w);
    await startProject(s, p, { w });
  }));
}
