// What every `berth compose` command shares: the session (the engine as compose's API, warnings,
// --parallel, the CLI's credentials for pulls, pushes and builds), the progress display the
// global flags ask for (--progress, --ansi: compose's plain, tty, json and quiet writers on
// stderr, colours in container output), the exit status of a failed build, and which project a
// command is about (compose's projectOrName: with -p alone, the engine's labels say the rest).
//
//   const { s, ui } = session(ctx);
//   return runCommand(() => withWriter(s, ui, 'Running', (w) => R.create(s, project, o, w)));
//   const { project, name } = projectOrName(ctx, ['web']);   // project undefined with -p alone
import { ComposeError, type Project } from '../../compose/index.ts';
import { buildServices, BuildError } from '../../compose/build.ts';
import { pullServiceImage } from '../../compose/pull.ts';
import { ComposeApi } from '../../compose/runtime/api.ts';
import { withScale } from '../../compose/runtime/commands.ts';
import * as P from '../../compose/runtime/progress.ts';
import type { Session } from '../../compose/runtime/session.ts';
import { allAuths, authHeaderFor, encodeRegistryConfig } from '../credentials.ts';
import { StatusError, type Ctx, type ComposeGlobals } from '../context.ts';
import { checkComposeGlobals, formatLog, project as loadProject } from './compose.ts';

export const truthy = (v: string | undefined) => {
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

/**
 * What every compose command works with: the engine, warnings, --parallel, the progress display
 * the flags ask for (ui), and the CLI's credentials for pulls, pushes and builds. `readOnly`
 * commands (ps, logs, ...) change nothing, so --dry-run does not concern them.
 */
export function session(ctx: Ctx, o: { readOnly?: boolean } = {}): { s: Session; ui: Ui } {
  const g = ctx.globals.compose ?? {};
  checkComposeGlobals(g);
  // Not done: saying so beats doing the real thing (dry run) or naming things otherwise (compatibility).
  if (g.dryRun && !o.readOnly) throw new ComposeError('--dry-run is not supported by berth compose yet');
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
      build: (sess, r) => buildServices(sess, r, { registryConfig }),
    },
  };
  return { s, ui };
}

/** The CLI's credentials for a build's FROM pulls (none when the config cannot be read). */
export function registryConfig(): string {
  try { return encodeRegistryConfig(allAuths()); } catch { return 'e30='; }
}

const PULL_POLICIES = ['always', 'never', 'build', 'missing', 'if_not_present'];

/** compose's createOptions.Apply: --pull, --build, --scale on the model (up, create, run). */
export function applyCreateFlags(project: Project, o: { pull?: string; build?: boolean; scale?: string[] }): Project {
  let p = project;
  if (o.pull !== undefined && o.pull !== 'policy') {
    if (!PULL_POLICIES.includes(o.pull)) throw new ComposeError(`invalid --pull option ${JSON.stringify(o.pull)}`);
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).map(([k, v]) => [k, { ...v, pullPolicy: o.pull === 'if_not_present' ? 'missing' : o.pull }])) };
  }
  if (o.build) {
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).map(([k, v]) => [k, v.build ? { ...v, pullPolicy: 'build' } : v])) };
  }
  for (const spec of o.scale ?? []) {
    const parts = spec.split('=');
    if (parts.length !== 2) throw new ComposeError(`invalid --scale option ${JSON.stringify(spec)}. Should be SERVICE=NUM`);
    if (!/^[+-]?\d+$/.test(parts[1])) throw new ComposeError(`strconv.Atoi: parsing ${JSON.stringify(parts[1])}: invalid syntax`);
    p = withScale(p, parts[0], Number(parts[1]));
  }
  return p;
}

export function writer(s: Session, ui: Ui, title: string): P.ProgressWriter {
  return P.progressWriter({ mode: ui.mode, out: s.stderr, title, colors: ui.colors });
}

export async function withWriter<T>(s: Session, ui: Ui, title: string, fn: (w: P.ProgressWriter) => Promise<T>): Promise<T> {
  const w = writer(s, ui, title);
  try {
    return await fn(w);
  } finally {
    w.stop();
  }
}

/** Runs a command body, turning compose's failures into the CLI's exit statuses. */
export async function runCommand(fn: () => Promise<number | void>): Promise<number> {
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
export function projectOrName(ctx: Ctx, services: string[] = []): { project?: Project; name: string } {
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

/** compose's toProjectName: -p, else COMPOSE_PROJECT_NAME, else the loaded project's name. */
export function projectName(ctx: Ctx): string {
  const g = ctx.globals.compose ?? {};
  if (g.projectName) return g.projectName.toLowerCase();
  if (process.env.COMPOSE_PROJECT_NAME) return process.env.COMPOSE_PROJECT_NAME.toLowerCase();
  return loadProject(ctx).name;
}
