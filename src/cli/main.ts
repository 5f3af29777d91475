// berth: the docker-compatible CLI. Only a client of berthd's HTTP API (src/client).
//
// Start-up time is a benchmark (`berth run --rm busybox true`), so this file does little at top
// level: it finds the verb in argv, parses only that verb's flags (args.ts, pflag rules, driven
// by spec.ts), and loads the verb's implementation lazily. Help text (commander) is loaded only
// when asked for.
//
// Exit codes follow the docker CLI: 0 on success; a container's own status for run/start -a/
// exec; 125 for flag errors and for run's daemon errors; 126/127 when the container's command
// cannot be invoked / is not found; 1 for other failures ("Error response from daemon: ...").
import { Ctx, StatusError, usageError, flagError, type Globals } from './context.ts';
import { TOP_LEVEL, GROUPS, COMPOSE_OPTIONS, COMPOSE_COMMANDS, type CommandSpec } from './spec.ts';
import { locate, parseArgs, parseCommandArgs, ParseError, GLOBAL_OPTIONS, optionNames, optKey, parseIntFlag } from './args.ts';
import { ApiError, ConnectError, cliTrace as trace } from '../client/client.ts';
import { HostError } from '../client/host.ts';
import { TemplateError } from './format/template-error.ts';
import { VERSION } from './version.ts';

// BERTH_CLI_TRACE=1: when each start-up phase ended, in ms since the process began (stderr).
trace?.(`node bootstrap done at ${(performance as unknown as { nodeTiming: { bootstrapComplete: number } }).nodeTiming.bootstrapComplete.toFixed(1)} ms; main and its modules loaded`);

function checkArgs(ctx: Ctx, spec: CommandSpec, args: string[]): void {
  const n = args.length;
  const min = spec.min ?? 0;
  const max = spec.max ?? Infinity;
  let msg: string | undefined;
  let see = 'Run';
  if (max === 0 && n > 0) msg = `'${ctx.commandPath}' accepts no arguments`;
  else if (min === max && n !== min) msg = `'${ctx.commandPath}' requires ${min} argument${min === 1 ? '' : 's'}`;
  else if (n < min) {
    msg = `'${ctx.commandPath}' requires at least ${min} argument${min === 1 ? '' : 's'}`;
    see = 'See';
  } else if (n > max) msg = `'${ctx.commandPath}' requires at most ${max} argument${max === 1 ? '' : 's'}`;
  if (msg) throw new StatusError(`berth: ${msg}\n\nUsage:  ${ctx.usage}\n\n${see} '${ctx.commandPath} --help' for more information`, 1);
}

/** Turns any error into docker's message and exit status. */
export function report(e: unknown): number {
  if (e instanceof StatusError) {
    if (e.message) process.stderr.write(`${e.message}\n`);
    return e.status;
  }
  if (e instanceof ApiError) {
    process.stderr.write(`Error response from daemon: ${e.message}\n`);
    return 1;
  }
  if (e instanceof ConnectError || e instanceof HostError || e instanceof TemplateError) {
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  const err = e as Error;
  process.stderr.write(`${err?.message ?? String(e)}\n`);
  if (process.env.BERTH_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

async function runCommand(globals: Globals, path: string[], spec: CommandSpec, argv: string[]): Promise<number> {
  const commandPath = ['berth', ...path].join(' ');
  const ctx = new Ctx(globals, commandPath, spec.usage ? `${commandPath} ${spec.usage}` : commandPath);
  let parsed;
  try {
    parsed = parseCommandArgs(spec, argv);
  } catch (e) {
    if (e instanceof ParseError) throw usageError(ctx, e.message);
    throw e;
  }
  if (parsed.help) {
    const { commandHelp } = await import('./help.ts');
    process.stdout.write(await commandHelp(path, spec));
    return 0;
  }
  checkArgs(ctx, spec, parsed.args);
  const opts = parsed.opts;
  for (const o of spec.options) {
    if (o.kind !== 'int') continue;
    const key = optKey(o);
    const v = opts[key];
    if (v === undefined) { if (o.default !== undefined) opts[key] = o.default; continue; }
    const n = parseIntFlag(String(v));
    if (n === undefined) throw flagError(ctx, optionNames(o).short ? `${optionNames(o).short}, ${optionNames(o).long}` : optionNames(o).long, String(v), `strconv.ParseInt: parsing "${v}": invalid syntax`);
    opts[key] = n;
  }
  const action = await spec.load();
  trace?.('the command\'s modules loaded');
  return (await action(ctx, parsed.args, opts)) ?? 0;
}

/**
 * `berth compose [OPTIONS] COMMAND [ARGS]`: compose's global flags end at the sub-command (as
 * compose v2's root command parses them), then the sub-command parses its own.
 */
async function runCompose(globals: Globals, argv: string[]): Promise<number> {
  const ctx = new Ctx(globals, 'berth compose', 'berth compose [OPTIONS] COMMAND');
  let g;
  try {
    g = parseArgs(COMPOSE_OPTIONS, argv, { interspersed: false, shortHelp: true });
  } catch (e) {
    if (e instanceof ParseError) throw usageError(ctx, e.message);
    throw e;
  }
  const parallel = g.opts.parallel === undefined ? -1 : parseIntFlag(String(g.opts.parallel));
  if (parallel === undefined) throw flagError(ctx, '--parallel', String(g.opts.parallel), `strconv.ParseInt: parsing "${g.opts.parallel}": invalid syntax`);
  const compose = { ...g.opts, parallel } as Globals['compose'];
  const withCompose: Globals = { ...globals, compose };
  const [sub, ...rest] = g.args;
  if (g.opts.version && !sub) return runCommand(withCompose, ['compose', 'version'], COMPOSE_COMMANDS.version, []);
  if (!sub || g.help) {
    const { composeHelp } = await import('./help.ts');
    process.stdout.write(await composeHelp());
    return 0;
  }
  const spec = (COMPOSE_COMMANDS as Record<string, CommandSpec>)[sub];
  if (!spec) {
    throw new StatusError(`berth: unknown command: berth compose ${sub}\n\nUsage:  berth compose [OPTIONS] COMMAND\n\nRun 'berth compose --help' for more information`, 1);
  }
  return runCommand(withCompose, ['compose', sub], spec, rest);
}

async function main(argv: string[]): Promise<number> {
  // Run by the docker CLI as its `compose` plugin (bin/docker-compose): docker's flags and rules.
  if (process.env.BERTH_DOCKER_PLUGIN === '1') {
    const { resolvePluginInvocation, watchPluginSocket } = await import('./docker-plugin.ts');
    const inv = resolvePluginInvocation(argv, process.env);
    process.env.BERTH_CONFIG = inv.configDir;
    process.env.DOCKER_CERT_PATH ||= inv.configDir;
    watchPluginSocket(process.env);
    return runCompose(inv.globals, inv.args);
  }
  const loc = locate(argv);
  // Global flags: everything before the verb.
  const globalArgv = loc.verbAt < 0 ? argv : argv.slice(0, loc.verbAt);
  const top = new Ctx({}, 'berth', 'berth [OPTIONS] COMMAND [ARG...]');
  let g;
  try {
    g = parseArgs(GLOBAL_OPTIONS, globalArgv, { interspersed: true, shortHelp: true });
  } catch (e) {
    if (e instanceof ParseError) throw usageError(top, e.message);
    throw e;
  }
  if (g.opts.version) {
    process.stdout.write(`berth version ${VERSION}\n`);
    return 0;
  }
  const globals = g.opts as Globals;
  const verb = loc.verb;
  if (!verb || g.help) {
    const { mainHelp } = await import('./help.ts');
    process.stdout.write(await mainHelp());
    return 0;
  }
  if (verb === 'compose') return runCompose(globals, argv.slice(loc.verbAt + 1));
  if (verb in GROUPS) {
    const group = GROUPS[verb];
    if (!loc.sub) {
      // `berth container [--help]`: the group's help, as docker prints it.
      const rest = argv.slice(loc.verbAt + 1);
      if (rest.some((a) => a !== '--help' && a !== '-h')) {
        throw usageError(new Ctx(globals, `berth ${verb}`, `berth ${verb} COMMAND`), `unknown flag: ${rest.find((a) => a !== '--help' && a !== '-h')}`);
      }
      const { groupHelp } = await import('./help.ts');
      process.stdout.write(await groupHelp(verb));
      return 0;
    }
    const name = group.aliases[loc.sub] ?? loc.sub;
    const spec = group.commands[name];
    if (!spec) {
      throw new StatusError(`berth: unknown command: berth ${verb} ${loc.sub}\n\nUsage:  berth ${verb}\n\nRun 'berth ${verb} --help' for more information`, 1);
    }
    // Flags between the group and the sub-verb belong to the sub-command too.
    const between = argv.slice(loc.verbAt + 1, loc.subAt);
    return runCommand(globals, [verb, loc.sub], spec, [...between, ...argv.slice(loc.subAt! + 1)]);
  }
  const spec = (TOP_LEVEL as Record<string, CommandSpec>)[verb];
  if (!spec) {
    if (verb === 'help') {
      const { mainHelp } = await import('./help.ts');
      process.stdout.write(await mainHelp());
      return 0;
    }
    throw new StatusError(`berth: unknown command: berth ${verb}\n\nRun 'berth --help' for more information`, 1);
  }
  return runCommand(globals, [verb], spec, argv.slice(loc.verbAt + 1));
}

// A closed pipe on stdout (`berth logs -f x | head -1`) ends the CLI quietly, as SIGPIPE ends docker.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); });

main(process.argv.slice(2)).then(
  (code) => { trace?.('done'); process.exit(code); },
  (e) => process.exit(report(e)),
);
