// `berth compose` commands that run a project on an engine: up, create, start, stop, restart,
// down, rm, kill, pause, unpause, scale. Flags, their checks and messages are compose v2's
// (cmd/compose/*.go); the work is src/compose/runtime over the Engine API, with whatever engine
// -H / BERTH_HOST / DOCKER_HOST names (berthd or dockerd).
//
//   berth compose up -d                      create and start, progress on stderr
//   berth compose up --scale web=3 --wait    three web containers, wait until all are healthy
//   berth compose up                         attached: prefixed output until Ctrl-C
//   berth compose -p shop down -v            without a file: what the labels say, volumes too
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { ComposeError, type Project } from '../../compose/index.ts';
import { withSelectedServices, withServicesEnabled } from '../../compose/project.ts';
import { AttachedUp, type Cascade } from '../../compose/runtime/attached.ts';
import * as R from '../../compose/runtime/commands.ts';
import { LogPrinter } from '../../compose/log-printer.ts';
import * as P from '../../compose/runtime/progress.ts';
import type { RecreatePolicy } from '../../compose/runtime/convergence.ts';
import type { Session } from '../../compose/runtime/session.ts';
import { startProject } from '../../compose/runtime/start.ts';
import type { Ctx } from '../context.ts';
import { applyCreateFlags, projectOrName, runCommand as run, session, truthy, withWriter, writer } from './compose-common.ts';
import { project as loadProject } from './compose.ts';

/** up's flags, a superset of create's: the helpers both share read them (create's absent ones are undefined). */
type UpOpts = OptionsOf<typeof COMPOSE_COMMANDS.up>;

/** The -t flag as compose reads it: seconds when given, else the containers' own timeouts. */
const timeoutOf = (o: { timeout?: number }): number | undefined => (o.timeout === undefined ? undefined : Number(o.timeout));

// -- create / up ----------------------------------------------------------------------------------

function recreatePolicy(o: UpOpts): RecreatePolicy {
  if (o.noRecreate) return 'never';
  if (o.forceRecreate || o.renewAnonVolumes) return 'force';
  return 'diverged';
}

function dependenciesPolicy(o: UpOpts): RecreatePolicy {
  if (o.noRecreate) return 'never';
  if (o.alwaysRecreateDeps) return 'force';
  return 'diverged';
}

function createOptions(project: Project, services: string[], o: UpOpts): R.CreateProjectOptions {
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

export async function create(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.create>): Promise<number> {
  if (o.build && o.noBuild) throw new ComposeError('--build and --no-build are incompatible');
  if (o.forceRecreate && o.noRecreate) throw new ComposeError('--force-recreate and --no-recreate are incompatible');
  const { s, ui } = session(ctx);
  let project = loadProject(ctx, { services: args });
  project = applyCreateFlags(project, o);
  const co = createOptions(project, args, o);
  return run(() => withWriter(s, ui, 'Creating', (w) => R.create(s, project, co, w)));
}

/** compose's validateFlags for up. */
function validateUpFlags(o: UpOpts): void {
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
function attachSet(project: Project, services: string[], o: UpOpts): string[] {
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

export async function up(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.up>): Promise<number> {
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

export async function stop(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.stop>): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(() => withWriter(s, ui, 'Stopping', (w) => R.stop(s, name, project, args, timeoutOf(o), w)));
}

export async function restart(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.restart>): Promise<number> {
  const { s, ui } = session(ctx);
  let { project, name } = projectOrName(ctx, []);
  // Named services are enabled even when their profiles are not (compose's WithServicesEnabled).
  if (project && args.length) project = withServicesEnabled(project, args);
  return run(() => withWriter(s, ui, 'Restarting', (w) => R.restart(s, name, project, { services: args, noDeps: Boolean(o.noDeps), timeout: timeoutOf(o) }, w)));
}

// -- down / rm ---------------------------------------------------------------------------------------

export async function down(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.down>): Promise<number> {
  if (o.rmi !== undefined && o.rmi !== '' && o.rmi !== 'all' && o.rmi !== 'local') throw new ComposeError(`invalid value for --rmi: ${JSON.stringify(o.rmi)}`);
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  const removeOrphans = o.removeOrphans ?? truthy(process.env.COMPOSE_REMOVE_ORPHANS);
  return run(() => withWriter(s, ui, 'Running', (w) => R.down(s, name, project, {
    services: args, removeOrphans: Boolean(removeOrphans), timeout: timeoutOf(o), volumes: Boolean(o.volumes), images: o.rmi || undefined,
  }, w)));
}

export async function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.rm>): Promise<number> {
  const { s, ui } = session(ctx);
  const { project, name } = projectOrName(ctx, args);
  return run(async () => {
    if (o.stop) await withWriter(s, ui, 'Stopping', (w) => R.stop(s, name, project, args, undefined, w));
    await R.rm(s, name, project, { services: args, force: Boolean(o.force), volumes: Boolean(o.volumes) }, (title) => writer(s, ui, title));
  });
}

// -- kill / pause / unpause / scale -----------------------------------------------------------------

export async function kill(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.kill>): Promise<number> {
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

export async function scale(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.scale>): Promise<number> {
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
