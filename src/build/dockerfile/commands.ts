// Instruction → typed Command with Docker's argument rules and error texts (BuildKit's
// frontend/dockerfile/instructions/parse.go and parser/line_parsers.go, which the classic
// builder shares), and the build-time variable expansion of the instructions Docker expands.
//
// Errors Docker raises while typing an instruction read
//   `dockerfile parse error on line 4: COPY requires at least two arguments, but only one was
//   provided. Destination could not be determined`,
// the few it raises while reading the file (ENV/LABEL syntax) carry only the message; every
// DockerfileError has the line.
import { DockerfileError, type Command, type CopyCmd, type Dockerfile, type HealthcheckCmd, type Instruction } from './ast.ts';
import { parseHeredocWord, parseJsonArray, splitCommand, splitHealthcheck, suggest } from './parser.ts';
import { ShellLex, goQuote, isGoSpace, type Env } from './shell-lex.ts';

type Escape = '\\' | '`';

export function parseCommand(inst: Instruction): Command {
  const p = new CommandParser(inst);
  switch (inst.cmd) {
    case 'from': return p.from();
    case 'run': return p.run();
    case 'cmd':
    case 'entrypoint': return p.cmdOrEntrypoint(inst.cmd);
    case 'env':
    case 'label': return p.envOrLabel(inst.cmd);
    case 'arg': return p.arg();
    case 'expose': return p.expose();
    case 'copy':
    case 'add': return p.copy(inst.cmd);
    case 'workdir': return { kind: 'workdir', path: p.exactlyOne('WORKDIR', true) };
    case 'user': return { kind: 'user', user: p.exactlyOne('USER', true) };
    case 'stopsignal': return { kind: 'stopsignal', signal: p.exactlyOne('STOPSIGNAL', false) };
    case 'maintainer': return { kind: 'maintainer', name: p.exactlyOne('MAINTAINER', true) };
    case 'volume': return p.volume();
    case 'healthcheck': return p.healthcheck();
    case 'shell': return p.shell();
    case 'onbuild': return p.onbuild();
  }
  throw new DockerfileError(`dockerfile parse error on line ${inst.line}: unknown instruction: ${inst.cmd.toUpperCase()}`, inst.line);
}

/**
 * Substitutes ARG/ENV values and removes quotes where Docker does (FROM image and --platform,
 * ENV and LABEL keys and values, ARG names and defaults, EXPOSE (split into words), COPY/ADD
 * sources, dest, --from, --chown, --chmod, --checksum, WORKDIR, USER, VOLUME, STOPSIGNAL).
 * RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and MAINTAINER come back unchanged, and
 * heredoc sources and contents are left to the executor (see expandHeredoc in shell-lex.ts).
 */
export function expandCommand(cmd: Command, env: Env, escape: Escape): Command {
  const lex = new ShellLex(escape);
  const w = (s: string) => lex.processWord(s, env);
  const opt = (s: string | undefined) => (s === undefined ? undefined : w(s));
  switch (cmd.kind) {
    case 'from':
      return { ...cmd, image: w(cmd.image), ...(cmd.platform !== undefined ? { platform: w(cmd.platform) } : {}) };
    case 'env':
    case 'label':
      // All pairs see the values from before the instruction (`ENV a=1 b=$a` uses the old $a).
      return { kind: cmd.kind, pairs: cmd.pairs.map(([k, v]): [string, string] => [w(k), w(v)]) };
    case 'arg':
      return { kind: 'arg', args: cmd.args.map((a) => (a.value === undefined ? { name: w(a.name) } : { name: w(a.name), value: w(a.value) })) };
    case 'expose':
      return { kind: 'expose', ports: cmd.ports.flatMap((p) => lex.processWords(p, env)) };
    case 'copy':
    case 'add': {
      const heredocNames = new Set(cmd.heredocs.map((h) => `<<${h.name}`));
      const out: CopyCmd = {
        ...cmd,
        sources: cmd.sources.map((s) => (heredocNames.has(s) ? s : w(s))),
        dest: w(cmd.dest),
      };
      for (const k of ['from', 'chown', 'chmod', 'checksum'] as const) {
        if (cmd[k] !== undefined) out[k] = opt(cmd[k]);
      }
      return out;
    }
    case 'workdir':
      return { kind: 'workdir', path: w(cmd.path) };
    case 'user':
      return { kind: 'user', user: w(cmd.user) };
    case 'volume':
      return { kind: 'volume', paths: cmd.paths.map(w) };
    case 'stopsignal':
      return { kind: 'stopsignal', signal: w(cmd.signal) };
    default:
      return cmd;
  }
}

export interface Stage {
  from: Instruction;
  /** The `AS name`, lower-cased. */
  name?: string;
  index: number;
  body: Instruction[];
}

/**
 * Groups the instructions by stage. Only ARGs may come before the first FROM (Docker's global
 * build args, usable in FROM lines). Every instruction is typed on the way, so a bad one fails
 * here in file order, as Docker reports it.
 */
export function splitStages(df: Dockerfile): { globalArgs: Instruction[]; stages: Stage[] } {
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const inst of df.instructions) {
    const cmd = parseCommand(inst);
    if (cmd.kind === 'from') {
      stages.push({ from: inst, ...(cmd.stage !== undefined ? { name: cmd.stage } : {}), index: stages.length, body: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].body.push(inst);
    } else if (cmd.kind === 'arg') {
      globalArgs.push(inst);
    } else {
      throw new DockerfileError('no build stage in current context', inst.line);
    }
  }
  return { globalArgs, stages };
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!/^[0-9.]/.test(s)) throw invalid();
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const intPart = m[1];
    const fracPart = m[2];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw invalid();
    s = s.slice(m[0].length);
    let u = 0;
    while (u < s.length && !/[0-9.]/.test(s[u])) u++;
    if (u === 0) throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) throw new Error(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(orig)}`);
    let v = BigInt(intPart || '0') * unit;
    if (fracPart) v += BigInt(Math.floor(Number(`0.${fracPart}`) * Number(unit)));
    total += v;
    if (total > 1n << 63n) throw invalid();
  }
  if (!neg && total === 1n << 63n) throw invalid();
  return Number(neg ? -total : total);
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

/** Docker's whitespace split (FROM, EXPOSE, COPY/ADD/VOLUME shell form): quotes don't group. */
function splitWhitespace(rest: string): string[] {
  return rest === '' ? [] : rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
}

/**
 * Docker's quote-aware word split for ENV, LABEL and ARG: quotes and escapes are kept (they are
 * removed at expansion), but a quoted or escaped blank doesn't end the word.
 */
export function parseWords(rest: string, escape: Escape): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos];
    if (phase === 'spaces') {
      if (ch === undefined) break;
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (ch === undefined) {
      if (blankOK || word !== '') words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word !== '') words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape at the very end is dropped
        // Unquoted, the escape and the escaped character (even a quote) are both kept.
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // Inside single quotes the escape is an ordinary character.
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

/** BuildKit's BFlags: the flags an instruction declares, checked against the ones written. */
class Flags {
  readonly #args: string[];
  readonly #defs = new Map<string, { type: 'bool' | 'string' | 'strings'; value?: string; values: string[] }>();
  readonly #used = new Set<string>();

  constructor(args: string[]) {
    this.#args = args;
  }

  bool(name: string) {
    return this.#def(name, 'bool');
  }
  string(name: string) {
    return this.#def(name, 'string');
  }
  strings(name: string) {
    return this.#def(name, 'strings');
  }
  used(name: string): boolean {
    return this.#used.has(name);
  }

  #def(name: string, type: 'bool' | 'string' | 'strings') {
    const f = { type, values: [] as string[], value: undefined as string | undefined };
    this.#defs.set(name, f);
    return f;
  }

  /** Throws Docker's message (without the line prefix). */
  parse(): void {
    for (const a of this.#args) {
      if (a === '--') return;
      if (!a.startsWith('--')) throw new Error(`arg should start with -- : ${a}`);
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const value = eq === -1 ? undefined : a.slice(eq + 1);
      const f = this.#defs.get(name);
      if (!f) {
        // Docker 27's wording (later BuildKit releases print the flag as `--name`).
        const hint = suggest(name, [...this.#defs.keys()], true);
        throw new Error(`unknown flag: ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
      if (this.#used.has(name) && f.type !== 'strings') throw new Error(`duplicate flag specified: ${name}`);
      this.#used.add(name);
      if (f.type === 'bool') {
        if (value === '') throw new Error(`missing a value on flag: ${name}`);
        const v = (value ?? '').toLowerCase();
        if (v === 'true' || v === '') f.value = 'true';
        else if (v === 'false') f.value = 'false';
        else throw new Error(`expecting boolean value for flag ${name}, not: ${value}`);
      } else {
        if (value === undefined) throw new Error(`missing a value on flag: ${name}`);
        f.value = value;
        f.values.push(value);
      }
    }
  }
}

class CommandParser {
  readonly #i: Instruction;
  readonly #escape: Escape;

  constructor(inst: Instruction) {
    this.#i = inst;
    this.#escape = inst.escape ?? '\\';
  }

  /** An instruction error: Docker prefixes them with the line. */
  #fail(msg: string): never {
    throw new DockerfileError(`dockerfile parse error on line ${this.#i.line}: ${msg}`, this.#i.line);
  }
  /** An error Docker raises while reading the file: the message alone. */
  #failRaw(msg: string): never {
    throw new DockerfileError(msg, this.#i.line);
  }
  #parseFlags(f: Flags): void {
    try {
      f.parse();
    } catch (e) {
      this.#fail((e as Error).message);
    }
  }
  #flags(): Flags {
    return new Flags(this.#i.flags);
  }
  /** RUN/CMD/ENTRYPOINT/SHELL arguments: the JSON array, or the whole text as one. */
  #maybeJson(text: string, json: string[] | undefined): { args: string[]; isJson: boolean } {
    if (json !== undefined) return { args: json, isJson: true };
    return { args: text === '' ? [] : [text], isJson: false };
  }
  #json(): string[] | undefined {
    return this.#i.json ?? parseJsonArray(this.#i.rest, this.#i.line);
  }

  from(): Command {
    const args = splitWhitespace(this.#i.rest);
    let stage: string | undefined;
    if (args.length === 3 && args[1].toLowerCase() === 'as') {
      stage = args[2].toLowerCase();
      if (!/^[a-z][a-z0-9_.-]*$/.test(stage)) {
        this.#fail(`invalid name for build stage: ${goQuote(args[2])}, name can't start with a number or contain symbols`);
      }
    } else if (args.length !== 1) {
      this.#fail('FROM requires either one or three arguments');
    }
    const f = this.#flags();
    const platform = f.string('platform');
    this.#parseFlags(f);
    return { kind: 'from', image: args[0], ...(stage !== undefined ? { stage } : {}), ...(platform.value !== undefined ? { platform: platform.value } : {}) };
  }

  run(): Command {
    const f = this.#flags();
    const network = f.string('network');
    f.strings('mount');
    f.string('security');
    this.#parseFlags(f);
    for (const unsupported of ['mount', 'security']) {
      if (f.used(unsupported)) {
        // The classic builder's text: berth runs RUN steps without BuildKit's mount machinery.
        this.#failRaw(`the --${unsupported} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
      }
    }
    if (network.value !== undefined && !['default', 'none', 'host'].includes(network.value)) {
      this.#fail(`invalid network mode ${goQuote(network.value)}`);
    }
    const json = this.#json();
    // Shell form always has its command line, even an empty one (`/bin/sh -c ''`).
    const args = json ?? [this.#i.rest];
    return { kind: 'run', args, shell: json === undefined, ...(network.value !== undefined ? { network: network.value } : {}), heredocs: this.#i.heredocs };
  }

  cmdOrEntrypoint(kind: 'cmd' | 'entrypoint'): Command {
    this.#parseFlags(this.#flags());
    const json = this.#json();
    return { kind, args: json ?? [this.#i.rest], shell: json === undefined };
  }

  envOrLabel(kind: 'env' | 'label'): Command {
    const name = kind.toUpperCase();
    const words = parseWords(this.#i.rest, this.#escape);
    const pairs: [string, string][] = [];
    if (words.length > 0) {
      if (!words[0].includes('=')) {
        // Legacy form `ENV name value with spaces`: one pair, the value is the rest of the line.
        const m = /[\t\v\f\r ]+/.exec(this.#i.rest);
        if (!m) this.#failRaw(`${name} must have two arguments`);
        pairs.push([this.#i.rest.slice(0, m.index), this.#i.rest.slice(m.index + m[0].length)]);
      } else {
        for (const w of words) {
          const eq = w.indexOf('=');
          if (eq === -1) this.#failRaw(`Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`);
          pairs.push([w.slice(0, eq), w.slice(eq + 1)]);
        }
      }
    }
    this.#parseFlags(this.#flags());
    if (pairs.length === 0) this.#fail(`${name} requires at least one argument`);
    if (pairs.some(([k]) => k === '')) this.#fail(`${name} names can not be blank`);
    return { kind, pairs };
  }

  arg(): Command {
    // ARG ignores flags, as Docker does.
    const words = parseWords(this.#i.rest, this.#escape);
    if (words.length === 0) this.#fail('ARG requires at least one argument');
    const args = words.map((w) => {
      const eq = w.indexOf('=');
      if (eq === -1) return { name: w };
      if (eq === 0) this.#fail('ARG names can not be blank');
      return { name: w.slice(0, eq), value: w.slice(eq + 1) };
    });
    return { kind: 'arg', args };
  }

  expose(): Command {
    const ports = splitWhitespace(this.#i.rest);
    if (ports.length === 0) this.#fail('EXPOSE requires at least one argument');
    this.#parseFlags(this.#flags());
    return { kind: 'expose', ports: ports.sort() };
  }

  copy(kind: 'copy' | 'add'): CopyCmd {
    const name = kind.toUpperCase();
    const args = this.#json() ?? splitWhitespace(this.#i.rest);
    if (args.length < 2) this.#fail(`${name} requires at least two arguments, but only one was provided. Destination could not be determined`);
    const f = this.#flags();
    const chown = f.string('chown');
    const chmod = f.string('chmod');
    const link = f.bool('link');
    const from = kind === 'copy' ? f.string('from') : undefined;
    const keepGitDir = kind === 'add' ? f.bool('keep-git-dir') : undefined;
    const checksum = kind === 'add' ? f.string('checksum') : undefined;
    this.#parseFlags(f);
    const dest = args[args.length - 1];
    if (parseHeredocWord(dest)) this.#fail(`${name} cannot accept a heredoc as a destination`);
    const names = new Set(this.#i.heredocs.map((h) => h.name));
    const sources = args.slice(0, -1).map((s) => {
      const h = parseHeredocWord(s);
      return h && names.has(h.name) ? `<<${h.name}` : s;
    });
    const cmd: CopyCmd = { kind, sources, dest, link: link.value === 'true', heredocs: this.#i.heredocs };
    if (from?.value !== undefined) cmd.from = from.value;
    if (chown.value !== undefined) cmd.chown = chown.value;
    if (chmod.value !== undefined) cmd.chmod = chmod.value;
    if (checksum?.value !== undefined) cmd.checksum = checksum.value;
    if (keepGitDir?.value !== undefined) cmd.keepGitDir = keepGitDir.value === 'true';
    return cmd;
  }

  /** WORKDIR, USER, STOPSIGNAL, MAINTAINER: the whole rest is the one argument. */
  exactlyOne(name: string, checkFlags: boolean): string {
    if (this.#i.rest === '') this.#fail(`${name} requires exactly one argument`);
    if (checkFlags) this.#parseFlags(this.#flags());
    return this.#i.rest;
  }

  volume(): Command {
    const args = this.#json() ?? splitWhitespace(this.#i.rest);
    if (args.length === 0) this.#fail('VOLUME requires at least one argument');
    this.#parseFlags(this.#flags());
    const paths = args.map((v) => v.trim());
    if (paths.some((v) => v === '')) this.#fail('VOLUME specified can not be an empty string');
    return { kind: 'volume', paths };
  }

  healthcheck(): HealthcheckCmd {
    const { type, command } = splitHealthcheck(this.#i.rest);
    if (type === '') this.#fail('HEALTHCHECK requires at least one argument');
    const json = this.#i.json ?? parseJsonArray(command, this.#i.line);
    const typ = type.toUpperCase();
    if (typ === 'NONE') {
      // Docker doesn't look at the flags of HEALTHCHECK NONE.
      if (command !== '') this.#fail('HEALTHCHECK NONE takes no arguments');
      return { kind: 'healthcheck', test: ['NONE'] };
    }
    const f = this.#flags();
    const interval = f.string('interval');
    const timeout = f.string('timeout');
    const startPeriod = f.string('start-period');
    const startInterval = f.string('start-interval');
    const retries = f.string('retries');
    this.#parseFlags(f);
    if (typ !== 'CMD') this.#fail(`Unknown type ${goQuote(typ)} in HEALTHCHECK (try CMD)`);
    const { args, isJson } = this.#maybeJson(command, json);
    if (args.length === 0) this.#fail('Missing command after HEALTHCHECK CMD');
    const hc: HealthcheckCmd = { kind: 'healthcheck', test: isJson ? ['CMD', ...args] : ['CMD-SHELL', ...args] };
    const durations = [['interval', interval], ['timeout', timeout], ['startPeriod', startPeriod], ['startInterval', startInterval]] as const;
    for (const [key, flag] of durations) {
      if (flag.value === undefined || flag.value === '') continue;
      let d: number;
      try {
        d = parseGoDuration(flag.value);
      } catch (e) {
        this.#fail((e as Error).message);
      }
      // Docker names the flag, not its value: `Interval "timeout" cannot be less than 1ms`.
      if (d !== 0 && d < 1_000_000) this.#fail(`Interval ${goQuote(flagName(key))} cannot be less than 1ms`);
      hc[key] = d;
    }
    if (retries.value !== undefined && retries.value !== '') {
      const v = retries.value;
      if (!/^[+-]?[0-9]+$/.test(v)) this.#fail(`strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`);
      const n = Number(v);
      if (n > 2 ** 31 - 1 || n < -(2 ** 31)) this.#fail(`strconv.ParseInt: parsing ${goQuote(v)}: value out of range`);
      if (n < 0) this.#fail(`--retries cannot be negative (${n})`);
      hc.retries = n;
    }
    return hc;
  }

  shell(): Command {
    this.#parseFlags(this.#flags());
    const json = this.#json();
    const { args, isJson } = this.#maybeJson(this.#i.rest, json);
    if (args.length === 0) this.#fail('SHELL requires at least one argument');
    if (!isJson) this.#fail('SHELL requires the arguments to be in JSON form');
    return { kind: 'shell', shell: args };
  }

  onbuild(): Command {
    if (this.#i.rest === '') this.#fail('ONBUILD requires at least one argument');
    this.#parseFlags(this.#flags());
    const trigger = splitCommand(this.#i.rest, this.#escape).keyword.toUpperCase();
    if (trigger === 'ONBUILD') this.#fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    if (trigger === 'MAINTAINER' || trigger === 'FROM') this.#fail(`${trigger} isn't allowed as an ONBUILD trigger`);
    // The trigger is stored as text (with its heredocs) and parsed again in the child build.
    let expression = this.#i.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
    for (const h of this.#i.heredocs) expression += `\n${h.content}${h.name}`;
    return { kind: 'onbuild', expression };
  }
}

function flagName(key: 'interval' | 'timeout' | 'startPeriod' | 'startInterval'): string {
  return key === 'startPeriod' ? 'start-period' : key === 'startInterval' ? 'start-interval' : key;
}
