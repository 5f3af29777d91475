// Argument handling that commander does not do the docker way: finding the verb without
// parsing (so main.ts builds only that command), and rewriting pflag spellings commander does
// not know before it parses.
//
//   locate(['-H', 'unix:///s', 'container', 'ls', '-a']) → { verbAt: 2, verb: 'container', sub: 'ls' }
//   prepareArgs(runSpec, ['--rm=false', '-e=A=1', 'busybox', 'ls', '-l'])
//     → { args: ['-e', 'A=1', 'busybox', 'ls', '-l'], switches: Map { 'rm' => false } }
import { GROUPS, type CommandSpec, type OptDef } from './spec.ts';

/** Global flags that take a value (so the token after them is not the verb). */
const GLOBAL_VALUE_FLAGS = new Set(['-H', '--host', '--tlscacert', '--tlscert', '--tlskey', '-l', '--log-level', '--config', '-c', '--context']);

export interface Located {
  /** Index in argv of the verb, or -1. */
  verbAt: number;
  verb?: string;
  sub?: string;
  version: boolean;
}

/** Finds the verb (and a group's sub-verb) without parsing anything else. */
export function locate(argv: string[]): Located {
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { verbAt: i + 1 < argv.length ? i + 1 : -1, verb: argv[i + 1], version };
    if (a.startsWith('-') && a !== '-') {
      if (a === '-v' || a === '--version') version = true;
      if (GLOBAL_VALUE_FLAGS.has(a)) i++;
      continue;
    }
    let sub: string | undefined;
    if (a in GROUPS) {
      for (let j = i + 1; j < argv.length; j++) {
        if (!argv[j].startsWith('-')) { sub = argv[j]; break; }
      }
    }
    return { verbAt: i, verb: a, sub, version };
  }
  return { verbAt: -1, version };
}

export function optionNames(o: OptDef): { short?: string; long: string; aliases: string[] } {
  const parts = o.flags.split(/,\s*/);
  const short = parts.find((p) => /^-[^-]$/.test(p));
  const longs = parts.filter((p) => p.startsWith('--'));
  return { short, long: longs[0], aliases: longs.slice(1) };
}

/** commander's attribute name for a long flag: --memory-swap → memorySwap. */
export function attrName(long: string): string {
  // commander makes `--no-x` the negation of attribute `x` (default true).
  if (long.startsWith('--no-')) return attrName(`--${long.slice(5)}`);
  return long.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Rewrites the pflag spellings commander does not know, before commander parses:
 * `--bool=false` (recorded, since commander has no negation for most switches), `--bool=true`,
 * `-x=value`, and long-flag aliases (`--net` for `--network`). Stops at `--` and, for
 * run/create/exec, at the first argument (what follows is the container's command).
 */
export function prepareArgs(spec: CommandSpec, args: string[]): { args: string[]; switches: Map<string, boolean> } {
  const byLong = new Map<string, OptDef>();
  const byShort = new Map<string, OptDef>();
  const alias = new Map<string, string>();
  for (const o of spec.options) {
    const n = optionNames(o);
    byLong.set(n.long, o);
    if (n.short) byShort.set(n.short, o);
    for (const a of n.aliases) { alias.set(a, n.long); byLong.set(a, o); }
  }
  const out: string[] = [];
  const switches = new Map<string, boolean>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { out.push(...args.slice(i)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      let name = eq >= 0 ? a.slice(0, eq) : a;
      const o = byLong.get(name);
      name = alias.get(name) ?? name;
      if (o?.kind === 'bool' && eq >= 0) {
        const v = a.slice(eq + 1);
        const off = ['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v);
        // `--no-trunc=false` means trunc stays on: the stored value flips for negated names.
        if (off) switches.set(attrName(name), name.startsWith('--no-'));
        else out.push(name);
        continue;
      }
      out.push(eq >= 0 ? `${name}${a.slice(eq)}` : name);
      if (o && o.kind !== 'bool' && eq < 0) { if (i + 1 < args.length) out.push(args[++i]); }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A cluster of short flags: -it, -p8080:80, -e=A=1.
      let j = 1;
      let consumedNext = false;
      while (j < a.length) {
        const o = byShort.get(`-${a[j]}`);
        if (!o || o.kind === 'bool') { j++; continue; }
        const rest = a.slice(j + 1);
        if (rest.startsWith('=')) {
          out.push(a.slice(0, j + 1), rest.slice(1));
          consumedNext = true;
          j = a.length;
          break;
        }
        if (rest === '' && i + 1 < args.length) {
          out.push(a, args[++i]);
          consumedNext = true;
        }
        j = a.length;
        break;
      }
      if (!consumedNext) out.push(a);
      continue;
    }
    out.push(a);
    // commander's passThroughOptions keeps everything after the first argument verbatim (even
    // a `--`), as pflag does with interspersed flags off.
    if (spec.stopAtFirstArg) { out.push(...args.slice(i + 1)); break; }
  }
  return { args: out, switches };
}

/** Go's strconv.ParseInt(v, 10, 64) as pflag uses it for int flags. */
export function parseIntFlag(v: string): number | undefined {
  if (!/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

