// Help text, rendered by commander from the same option tables the parser uses. commander is
// imported dynamically (a static import of an external package would be hoisted to the top of
// the bundle and loaded by every invocation).
import type { Command as CommandT, Option as OptionT } from 'commander';
import { TOP_LEVEL, GROUPS, COMPOSE_OPTIONS, COMPOSE_COMMANDS, type CommandSpec, type OptDef } from './spec.ts';
import { GLOBAL_OPTIONS, optionNames } from './args.ts';

let Command: typeof CommandT;
let Option: typeof OptionT;

async function load(): Promise<void> {
  ({ Command, Option } = await import('commander'));
}

function toOption(o: OptDef): OptionT {
  const n = optionNames(o);
  const valueName = o.kind === 'bool' ? '' : o.kind === 'list' ? ' <list>' : o.kind === 'int' ? ' <int>' : ' <string>';
  const opt = new Option(`${n.short ? `${n.short}, ` : ''}${n.long}${valueName}`, o.desc);
  if (o.default !== undefined && o.default !== false && !n.long.startsWith('--no-')) opt.default(o.default);
  return opt;
}

function commandFor(name: string, spec: CommandSpec): CommandT {
  const cmd = new Command(name).description(spec.desc).usage(spec.usage);
  cmd.helpOption(spec.noShortHelp ? '--help' : '-h, --help', 'Print usage');
  for (const o of spec.options) if (!o.hidden) cmd.addOption(toOption(o));
  return cmd;
}

function program(): CommandT {
  const p = new Command('berth').usage('[OPTIONS] COMMAND').description('A self-sufficient runtime for containers (docker-compatible; a client of berthd)');
  p.helpOption('-h, --help', 'Print usage');
  p.helpCommand(false);
  for (const o of GLOBAL_OPTIONS) p.addOption(toOption(o));
  return p;
}

/** `berth --help`, `berth`: every command. */
export async function mainHelp(): Promise<string> {
  await load();
  const p = program();
  for (const [group, g] of Object.entries(GROUPS)) p.addCommand(new Command(group).description(g.desc).usage('COMMAND'));
  p.addCommand(new Command('compose').description('Define and run multi-container applications').usage('[OPTIONS] COMMAND'));
  for (const [name, spec] of Object.entries(TOP_LEVEL)) p.addCommand(commandFor(name, spec));
  return p.helpInformation();
}

/** `berth container`, `berth image --help`. */
export async function groupHelp(group: string): Promise<string> {
  await load();
  const g = GROUPS[group];
  const p = program();
  const cmd = new Command(group).description(g.desc).usage('COMMAND');
  cmd.helpCommand(false);
  cmd.helpOption('-h, --help', 'Print usage');
  for (const [name, spec] of Object.entries(g.commands)) {
    const sub = commandFor(name, spec);
    const aliases = Object.entries(g.aliases).filter(([, to]) => to === name).map(([a]) => a);
    if (aliases.length) sub.aliases(aliases);
    cmd.addCommand(sub);
  }
  p.addCommand(cmd);
  return cmd.helpInformation();
}

/** `berth compose`, `berth compose --help`: compose's global flags and its commands. */
export async function composeHelp(): Promise<string> {
  await load();
  const p = program();
  const cmd = new Command('compose').description('Define and run multi-container applications with berth (compose v2 compatible)').usage('[OPTIONS] COMMAND');
  cmd.helpCommand(false);
  cmd.helpOption('-h, --help', 'Print usage');
  for (const o of COMPOSE_OPTIONS as readonly OptDef[]) if (!o.hidden) cmd.addOption(toOption(o));
  for (const [name, spec] of Object.entries(COMPOSE_COMMANDS)) cmd.addCommand(commandFor(name, spec));
  p.addCommand(cmd);
  return cmd.helpInformation();
}

/** `berth run --help`, `berth container ls --help`. */
export async function commandHelp(path: string[], spec: CommandSpec): Promise<string> {
  await load();
  const p = program();
  let parent = p;
  for (const g of path.slice(0, -1)) {
    const c = new Command(g);
    parent.addCommand(c);
    parent = c;
  }
  const cmd = commandFor(path[path.length - 1], spec);
  parent.addCommand(cmd);
  return cmd.helpInformation();
}
