// `berth compose` sub-commands that only load the model (no engine): config and version. The
// runtime commands (up, down, ps, ...) live beside these and share `project()`.
//
//   berth compose config                   the resolved model as YAML, as `docker compose config`
//   berth compose -f a.yml -f b.yml config --services
//   berth compose config --format json -o model.json
//   berth compose --profile debug config --hash '*'
//   berth compose version --short          → 2.40.3
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { writeFileSync } from 'node:fs';
import {
  ComposeError, COMPOSE_VERSION, dependencyOrder, imageName, loadComposeProject, serviceHash, serviceNames,
  toJson, toYaml, withSelectedServices, type LoadFlags, type Project,
} from '../../compose/index.ts';
import { VERSION } from '../version.ts';
import { StatusError, type Ctx, type ComposeGlobals } from '../context.ts';


const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json', 'quiet', 'none'];

/**
 * compose's warnings go to stderr through logrus: `WARN[0000] msg` on a terminal, otherwise
 * logfmt (`time="..." level=warning msg="..."`).
 */
export function formatWarning(msg: string, tty: boolean, now: Date = new Date()): string {
  return formatLog('warning', msg, tty, now);
}

/** logrus's text formatter for a level (compose logs warnings and some infos this way). */
export function formatLog(level: 'warning' | 'info' | 'error', msg: string, tty: boolean, now: Date = new Date()): string {
  if (tty) {
    const [color, tag] = level === 'warning' ? ['33', 'WARN'] : level === 'error' ? ['31', 'ERRO'] : ['36', 'INFO'];
    return `\x1b[${color}m${tag}\x1b[0m[0000] ${msg}\n`;
  }
  const needsQuote = /[^a-zA-Z0-9\-._/@^+]/.test(msg) || msg === '';
  const shown = needsQuote ? JSON.stringify(msg) : msg;
  return `time="${now.toISOString().replace(/\.\d+Z$/, 'Z')}" level=${level} msg=${shown}\n`;
}

export function warner(): (m: string) => void {
  const tty = Boolean(process.stderr.isTTY);
  return (m) => process.stderr.write(formatWarning(m, tty));
}

/** Checks compose's global flags the way compose's PersistentPreRunE does. */
export function checkComposeGlobals(g: ComposeGlobals): void {
  if (g.noAnsi && g.ansi && g.ansi !== 'auto') throw new ComposeError('cannot specify DEPRECATED "--no-ansi" and "--ansi". Please use only "--ansi"');
  const progress = g.progress ?? process.env.COMPOSE_PROGRESS ?? '';
  if (progress !== '' && !PROGRESS_MODES.includes(progress)) throw new ComposeError(`unsupported --progress value ${JSON.stringify(progress)}`);
  if (g.workdir && g.projectDirectory) {
    throw new ComposeError('cannot specify DEPRECATED "--workdir" and "--project-directory". Please use only "--project-directory" instead');
  }
}

/** Loads the project the global flags (and the environment) name, for the given services. */
export function project(ctx: Ctx, o: LoadFlags = {}): Project {
  const g = ctx.globals.compose ?? {};
  checkComposeGlobals(g);
  if (g.workdir) process.stderr.write("option '--workdir' is DEPRECATED at root level! Please use '--project-directory' instead.\n");
  return loadComposeProject(
    {
      files: g.file ?? [],
      projectName: g.projectName,
      projectDirectory: g.projectDirectory ?? g.workdir,
      envFiles: g.envFile ?? [],
      profiles: g.profile ?? [],
    },
    { cwd: process.cwd(), env: process.env, warn: warner() },
    { allResources: g.allResources, ...o },
  );
}

function print(ctx: Ctx, lines: string[]): void {
  if (lines.length) ctx.out(`${lines.join('\n')}\n`);
}

export async function config(ctx: Ctx, args: string[], opts: OptionsOf<typeof COMPOSE_COMMANDS.config>): Promise<number> {
  const services = args;
  if (opts.services) {
    const p = project(ctx, { resolveEnvironment: false });
    print(ctx, dependencyOrder(p));
    return 0;
  }
  if (opts.volumes) {
    print(ctx, Object.keys(project(ctx, { resolveEnvironment: false }).volumes).sort());
    return 0;
  }
  if (opts.networks) {
    print(ctx, Object.keys(project(ctx, { resolveEnvironment: false }).networks).sort());
    return 0;
  }
  if (opts.hash !== undefined) {
    let p = project(ctx);
    if (opts.hash !== '*') p = withSelectedServices(p, String(opts.hash).split(','), { ignoreDependencies: true });
    print(ctx, serviceNames(p).map((n) => `${n} ${serviceHash(p.services[n])}`));
    return 0;
  }
  if (opts.profiles) {
    const p = project(ctx, { services });
    const all = new Set<string>();
    for (const s of [...Object.values(p.services), ...Object.values(p.disabledServices)]) for (const x of s.profiles ?? []) all.add(x);
    print(ctx, [...all].sort());
    return 0;
  }
  if (opts.images) {
    const p = project(ctx, { services });
    print(ctx, serviceNames(p).map((n) => imageName(p, p.services[n])));
    return 0;
  }
  if (opts.environment) {
    const p = project(ctx, { services });
    print(ctx, Object.entries(p.environment).map(([k, v]) => `${k}=${v}`).sort());
    return 0;
  }
  const format = opts.format || 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new StatusError(`unsupported format ${JSON.stringify(format)}`, 1);
  const p = project(ctx, { services });
  checkContainerNames(p);
  const content = format === 'json' ? toJson(p) : toYaml(p);
  if (opts.quiet) return 0;
  if (opts.output) {
    writeFileSync(opts.output, content, { mode: 0o666 });
    return 0;
  }
  ctx.out(content);
  return 0;
}

/** compose's CheckContainerNameUnicity (its message, stray quote included). */
function checkContainerNames(p: Project): void {
  const seen = new Map<string, string>();
  for (const name of serviceNames(p)) {
    const c = p.services[name].containerName;
    if (!c) continue;
    if (seen.has(c)) throw new ComposeError(`services.${name}: container name ${JSON.stringify(c)} is already in use by service ${seen.get(c)}"`);
    seen.set(c, name);
  }
}

export async function version(ctx: Ctx, _args: string[], opts: OptionsOf<typeof COMPOSE_COMMANDS.version>): Promise<number> {
  if (opts.short) {
    ctx.out(`${COMPOSE_VERSION}\n`);
    return 0;
  }
  if (opts.format === 'json') {
    ctx.out(`{"version":${JSON.stringify(`v${COMPOSE_VERSION}`)}}\n`);
    return 0;
  }
  ctx.out(`Docker Compose version v${COMPOSE_VERSION} (berth ${VERSION})\n`);
  return 0;
}
