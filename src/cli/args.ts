// Command-line parsing with docker's (pflag's) rules, driven by the option tables in spec.ts.
//
// Why not commander's parser: loading commander costs ~13 ms per invocation here (node itself
// is ~30 ms) and `berth run` start-up is a benchmark; commander is loaded only to render help
// (help.ts). pflag's spellings are also what scripts use: `--rm=false`, `-e=A=1`, `-p8080:80`,
// `-it`, options after arguments (`rm ctr -f`) except for run/create/exec, where everything
// after the image/container is the command (`run busybox ls -l`).
//
//   locate(['-H', 'unix:///s', 'container', 'ls', '-a']) → { verbAt: 2, verb: 'container', sub: 'ls', … }
//   parseCommandArgs(runSpec, ['--rm', '-e=A=1', 'busybox', 'ls', '-l'])
//     → { args: ['busybox', 'ls', '-l'], opts: { rm: true, env: ['A=1'], … }, help: false }
import { GROUPS, type CommandSpec, type OptDef, type ParsedOptions } from './spec.ts';

/** A flag or argument problem, reported with the usage block and exit status 125. */
export class ParseError extends Error {}

export interface Located {
  /** Index in argv of the verb, or -1. */
  verbAt: number;
  verb?: string;
  /** A group's sub-verb (`container ls`) and its index. */
  sub?: string;
  subAt?: number;
}

export const GLOBAL_OPTIONS = [
  { flags: '--config', kind: 'string', desc: 'Location of client config files' },
  { flags: '-c, --context', kind: 'string', desc: 'Name of the context to use (ignored: berth has no contexts)' },
  { flags: '-D, --debug', kind: 'bool', desc: 'Enable debug mode' },
  { flags: '-H, --host', kind: 'string', desc: 'Daemon socket to connect to' },
  { flags: '-l, --log-level', kind: 'string', desc: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: 'info' },
  { flags: '--tls', kind: 'bool', desc: 'Use TLS; implied by --tlsverify' },
  { flags: '--tlscacert', kind: 'string', desc: 'Trust certs signed only by this CA' },
  { flags: '--tlscert', kind: 'string', desc: 'Path to TLS certificate file' },
  { flags: '--tlskey', kind: 'string', desc: 'Path to TLS key file' },
  { flags: '--tlsverify', kind: 'bool', desc: 'Use TLS and verify the remote' },
  { flags: '-v, --version', kind: 'bool', desc: 'Print version information and quit' },
] as const satisfies readonly OptDef[];

const GLOBAL_VALUE_FLAGS = new Set(['-H', '--host', '--tlscacert', '--tlscert', '--tlskey', '-l', '--log-level', '--config', '-c', '--context']);

/** Finds the verb (and a group's sub-verb) without parsing anything else. */
export function locate(argv: string[]): Located {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return i + 1 < argv.length ? { verbAt: i + 1, verb: argv[i + 1] } : { verbAt: -1 };
    if (a.startsWith('-') && a !== '-') {
      if (GLOBAL_VALUE_FLAGS.has(a)) i++;
      continue;
    }
    if (a in GROUPS) {
      for (let j = i + 1; j < argv.length; j++) {
        if (!argv[j].startsWith('-')) return { verbAt: i, verb: a, sub: argv[j], subAt: j };
      }
    }
    return { verbAt: i, verb: a };
  }
  return { verbAt: -1 };
}

export function optionNames(o: OptDef): { short?: string; long: string; aliases: string[] } {
  const parts = o.flags.split(/,\s*/);
  const short = parts.find((p) => /^-[^-]$/.test(p));
  const longs = parts.filter((p) => p.startsWith('--'));
  return { short, long: longs[0], aliases: longs.slice(1) };
}

/**
 * The key an option is stored under: --memory-swap → memorySwap. A `--no-x` switch is stored as
 * `x` (default true, the switch makes it false), the convention commander uses too.
 */
export function attrName(long: string): string {
  if (long.startsWith('--no-')) return attrName(`--${long.slice(5)}`);
  return long.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The key an option's value is stored under (its `key`, or attrName of its long name). */
export function optKey(o: OptDef): string {
  return o.key ?? attrName(optionNames(o).long);
}

/** Go's strconv.ParseInt(v, 10, 64) as pflag uses it for int flags. */
export function parseIntFlag(v: string): number | undefined {
  if (!/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

export interface Parsed {
  args: string[];
  opts: ParsedOptions;
  /** `--help` (or `-h` where it is not another flag) was given. */
  help: boolean;
}

interface OptionTable {
  byLong: Map<string, OptDef>;
  byShort: Map<string, OptDef>;
}

function table(options: readonly OptDef[]): OptionTable {
  const byLong = new Map<string, OptDef>();
  const byShort = new Map<string, OptDef>();
  for (const o of options) {
    const n = optionNames(o);
    byLong.set(n.long, o);
    for (const a of n.aliases) byLong.set(a, o);
    if (n.short) byShort.set(n.short, o);
  }
  return { byLong, byShort };
}

/** How a flag is named in messages: `-t, --timeout` or `--memory-swap`. */
function shownFlags(o: OptDef): string {
  const n = optionNames(o);
  return n.short ? `${n.short}, ${n.long}` : n.long;
}

function store(opts: ParsedOptions, o: OptDef, value: string | boolean): void {
  const long = optionNames(o).long;
  const key = optKey(o);
  if (o.kind === 'bool') {
    // A negated switch stores the opposite: `--no-trunc` → trunc=false.
    opts[key] = long.startsWith('--no-') && !o.key ? !value : value;
  } else if (o.kind === 'list') {
    ((opts[key] ??= []) as string[]).push(value as string);
  } else {
    opts[key] = value;
  }
}

function setValue(opts: ParsedOptions, o: OptDef, name: string, value: string | undefined): void {
  if (o.kind === 'bool') {
    if (value === undefined) { store(opts, o, true); return; }
    const b = parseBool(value);
    if (b === undefined) throw new ParseError(`invalid argument "${value}" for "${shownFlags(o)}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    store(opts, o, b);
    return;
  }
  if (value === undefined) throw new ParseError(`flag needs an argument: ${name}`);
  store(opts, o, value);
}

/**
 * Parses one command's arguments. `interspersed` false (run/create/exec/top) ends flag parsing
 * at the first argument. Unknown flags and missing values throw ParseError with pflag's text.
 */
export function parseArgs(options: readonly OptDef[], argv: string[], o: { interspersed: boolean; shortHelp: boolean }): Parsed {
  const t = table(options);
  const opts: ParsedOptions = {};
  for (const def of options) {
    if (def.default !== undefined && def.kind !== 'int') opts[optKey(def)] = def.default;
    else if (def.kind === 'bool' && !def.key && optionNames(def).long.startsWith('--no-')) opts[optKey(def)] = true;
  }
  const args: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { args.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(0, eq) : a;
      const def = t.byLong.get(name);
      if (!def) {
        if (name === '--help') { help = true; continue; }
        throw new ParseError(`unknown flag: ${name}`);
      }
      let value = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (value === undefined && def.kind !== 'bool') {
        if (i + 1 >= argv.length) throw new ParseError(`flag needs an argument: ${name}`);
        value = argv[++i];
      }
      setValue(opts, def, name, value);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A cluster of shorthands: -it, -p8080:80, -e=A=1, -dit.
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const def = t.byShort.get(`-${c}`);
        if (!def) {
          if (c === 'h' && o.shortHelp) { help = true; continue; }
          throw new ParseError(`unknown shorthand flag: '${c}' in ${a}`);
        }
        if (def.kind === 'bool') {
          if (a[j + 1] === '=') { setValue(opts, def, `-${c}`, a.slice(j + 2)); break; }
          store(opts, def, true);
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        else if (value === '') {
          if (i + 1 >= argv.length) throw new ParseError(`flag needs an argument: '${c}' in ${a}`);
          value = argv[++i];
        }
        store(opts, def, value);
        break;
      }
      continue;
    }
    args.push(a);
    if (!o.interspersed) { args.push(...argv.slice(i + 1)); break; }
  }
  return { args, opts, help };
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): Parsed {
  return parseArgs(spec.options, argv, { interspersed: !spec.stopAtFirstArg, shortHelp: !spec.noShortHelp });
}

/**
 * `k=v` items → { k: v }, a bare `k` → k: "", the last one wins: docker's MapOpts and
 * ConvertKVStringsToMap (driver options, service labels).
 */
export function kvMap(items: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items ?? []) {
    const eq = it.indexOf('=');
    if (eq < 0) out[it] = '';
    else out[it.slice(0, eq)] = it.slice(eq + 1);
  }
  return out;
}
