// berth: the docker-compatible CLI. Only a client of berthd's HTTP API (src/client).
//
// Start-up time is a benchmark (`berth run --rm busybox true`), so this file does little at top
// level: it finds the verb in argv, turns only that verb's spec (spec.ts) into a commander
// Command, and loads the verb's implementation lazily. Help for everything builds everything.
//
// Exit codes follow the docker CLI: 0 on success; a container's own status for run/start -a/
// exec; 125 for flag errors and for run's daemon errors; 126/127 when the container's command
// cannot be invoked / is not found; 1 for other failures ("Error response from daemon: ...").
import { Command, Option, CommanderError } from 'commander';
import { Ctx, StatusError, usageError, flagError, type Globals } from './context.ts';
import { TOP_LEVEL, GROUPS, type CommandSpec, type OptDef } from './spec.ts';
import { locate, prepareArgs, optionNames, attrName, parseIntFlag, type Located } from './args.ts';
import { ApiError, ConnectError } from '../client/client.ts';
import { HostError } from '../client/host.ts';
import { TemplateError } from './format/template.ts';
import { VERSION } from './version.ts';

function toCommanderOption(o: OptDef): Option {
  const n = optionNames(o);
  const flags = `${n.short ? `${n.short}, ` : ''}${n.long}${o.kind === 'bool' ? '' : ' <value>'}`;
  const opt = new Option(flags, o.desc);
  if (o.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => (prev ? [...prev, v] : [v]));
  if (o.default !== undefined && o.kind !== 'int') opt.default(o.default);
  if (o.hidden) opt.hideHelp();
  return opt;
}

let exitCode = 0;
/** Switches given as `--flag=false` (prepareArgs removed them from argv), with their values. */
let switchValues = new Map<string, boolean>();

function addCommand(parent: Command, name: string, spec: CommandSpec, path: string, globals: () => Globals): void {
  const cmd = new Command(name);
  cmd.description(spec.desc).usage(spec.usage).argument('[args...]');
  cmd.helpOption(spec.noShortHelp ? '--help' : '-h, --help', 'Print usage');
  cmd.allowExcessArguments(true);
  if (spec.stopAtFirstArg) cmd.passThroughOptions();
  for (const o of spec.options) cmd.addOption(toCommanderOption(o));
  cmd.exitOverride();
  cmd.configureOutput(quietOutput);
  cmd.action(async (args: string[], opts: Record<string, any>) => {
    const ctx = new Ctx(globals(), path, `${path} ${spec.usage}`);
    checkArgs(ctx, spec, args);
    for (const o of spec.options) {
      if (o.kind !== 'int') continue;
      const key = attrName(optionNames(o).long);
      const v = opts[key];
      if (v === undefined) { if (o.default !== undefined) opts[key] = o.default; continue; }
      const n = parseIntFlag(String(v));
      if (n === undefined) throw flagError(ctx, o.flags, String(v), `strconv.ParseInt: parsing "${v}": invalid syntax`);
      opts[key] = n;
    }
    for (const [k, v] of switchValues) opts[k] = v;
    const fn = await spec.load();
    exitCode = (await fn(ctx, args, opts)) ?? 0;
  });
  parent.addCommand(cmd);
}

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

const quietOutput = {
  writeOut: (s: string) => process.stdout.write(s),
  writeErr: (s: string) => process.stderr.write(s),
  outputError: () => { /* main() prints commander's errors in docker's words */ },
};

function globalOptions(program: Command): void {
  program
    .option('-H, --host <list>', 'Daemon socket to connect to')
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .option('--tlscacert <string>', 'Trust certs signed only by this CA')
    .option('--tlscert <string>', 'Path to TLS certificate file')
    .option('--tlskey <string>', 'Path to TLS key file')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <string>', 'Set the logging level ("debug", "info", "warn", "error", "fatal")', 'info')
    .option('--config <string>', 'Location of client config files')
    .option('-c, --context <string>', 'Name of the context to use (ignored: berth has no contexts)')
    .option('-v, --version', 'Print version information and quit');
}

function addGroup(program: Command, group: string, only: string | undefined, globals: () => Globals): void {
  const g = GROUPS[group];
  const cmd = new Command(group).description(g.desc).usage('COMMAND');
  cmd.enablePositionalOptions();
  cmd.exitOverride();
  cmd.configureOutput(quietOutput);
  const names = only ? [g.aliases[only] ?? only] : Object.keys(g.commands);
  for (const name of names) {
    const spec = g.commands[name];
    if (!spec) continue;
    addCommand(cmd, name, spec, `berth ${group} ${name}`, globals);
    const aliases = Object.entries(g.aliases).filter(([, to]) => to === name).map(([a]) => a);
    if (aliases.length) cmd.commands[cmd.commands.length - 1].aliases(aliases);
  }
  program.addCommand(cmd);
}

function buildProgram(loc: Located, globals: () => Globals): Command {
  const program = new Command('berth');
  program.usage('[OPTIONS] COMMAND').description('A self-sufficient runtime for containers (docker-compatible)');
  program.enablePositionalOptions();
  program.exitOverride();
  program.configureOutput(quietOutput);
  program.helpOption('-h, --help', 'Print usage');
  globalOptions(program);
  const verb = loc.verb;
  if (verb && verb in GROUPS && loc.sub && !loc.sub.startsWith('-')) {
    addGroup(program, verb, loc.sub, globals);
  } else if (verb && verb in TOP_LEVEL) {
    addCommand(program, verb, TOP_LEVEL[verb], `berth ${verb}`, globals);
  } else if (verb && verb in GROUPS) {
    addGroup(program, verb, undefined, globals);
  } else {
    for (const [name, spec] of Object.entries(TOP_LEVEL)) addCommand(program, name, spec, `berth ${name}`, globals);
    for (const group of Object.keys(GROUPS)) addGroup(program, group, undefined, globals);
  }
  return program;
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

function commanderFailure(e: CommanderError, program: Command, argv: string[], loc: Located): number {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
  // Which command failed: the innermost one we built that appears in argv.
  let cmd: Command = program;
  for (let c: Command | undefined = program; c;) {
    const next: Command | undefined = c.commands.find((x) => argv.includes(x.name()) || x.aliases().some((a) => argv.includes(a)));
    if (!next) break;
    cmd = next;
    c = next;
  }
  const path = pathOf(cmd);
  const usage = `${path} ${cmd.usage()}`;
  const ctx = new Ctx({}, path, usage);
  if (e.code === 'commander.unknownOption') {
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    const shown = flag.startsWith('--') ? flag : `-${flag.replace(/^-/, '').slice(0, 1)}`;
    const text = flag.startsWith('--') ? `unknown flag: ${shown}` : `unknown shorthand flag: '${shown.slice(1)}' in ${flag}`;
    return report(usageError(ctx, text));
  }
  if (e.code === 'commander.optionMissingArgument') {
    const flag = /'([^' ]+)/.exec(e.message)?.[1] ?? '';
    return report(usageError(ctx, `flag needs an argument: ${flag.startsWith('--') ? flag : `'${flag.replace(/^-+/, '')}' in ${flag}`}`));
  }
  if (e.code === 'commander.unknownCommand') {
    const group = loc.verb && loc.verb in GROUPS ? loc.verb : undefined;
    const what = group ? `berth ${group} ${loc.sub}` : `berth ${loc.verb}`;
    const usageLine = group ? `\n\nUsage:  berth ${group}` : '';
    return report(new StatusError(`berth: unknown command: ${what}${usageLine}\n\nRun '${group ? `berth ${group}` : 'berth'} --help' for more information`, 1));
  }
  return report(usageError(ctx, e.message.replace(/^error: /, '')));
}

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const loc = locate(argv);
  if (loc.version && loc.verbAt < 0) {
    process.stdout.write(`berth version ${VERSION}\n`);
    return 0;
  }
  let program: Command | undefined;
  const globals = () => program!.opts() as Globals;
  program = buildProgram(loc, globals);
  // Rewrite the chosen command's arguments (pflag spellings), keeping globals untouched.
  let args = argv;
  const target = findSpec(loc);
  if (target && loc.verbAt >= 0) {
    const start = loc.verbAt + (loc.verb! in GROUPS ? argv.indexOf(loc.sub!, loc.verbAt + 1) - loc.verbAt + 1 : 1);
    const prepared = prepareArgs(target, argv.slice(start));
    args = [...argv.slice(0, start), ...prepared.args];
    switchValues = prepared.switches;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return commanderFailure(e, program, argv, loc);
    return report(e);
  }
  // A bare group name (`berth container`) shows the group's help, as docker does.
  if (loc.verb && loc.verb in GROUPS && !loc.sub) {
    program.commands.find((c) => c.name() === loc.verb)?.outputHelp();
  }
  return exitCode;
}

function findSpec(loc: Located): CommandSpec | undefined {
  if (!loc.verb) return undefined;
  if (loc.verb in GROUPS) {
    const g = GROUPS[loc.verb];
    if (!loc.sub) return undefined;
    return g.commands[g.aliases[loc.sub] ?? loc.sub];
  }
  return TOP_LEVEL[loc.verb];
}

main().then(
  (code) => process.exit(code),
  (e) => process.exit(report(e)),
);
