// Docker's word lexer: quote removal, escapes and `$VAR` / `${VAR...}` substitution in the
// instructions Docker expands (FROM, ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, VOLUME, EXPOSE,
// STOPSIGNAL), with the semantics of BuildKit's frontend/dockerfile/shell/lex.go, which the
// classic builder shares:
//
//   processWord('a"${X:-b c}"$Y', { Y: '!' }) === 'ab c!'      (quotes removed, no splitting)
//   processWords('${L} "x y"', { L: 'p  q' })  → ['p', 'q', 'x y']  (split after expansion)
//
// Only unquoted text and unquoted `$` results are split; a quoted string stays one word.
// Errors read like Docker's: `failed to process "${a": syntax error: missing '}'`.
import { Glob, dot, lit, one, star, type GlobStep } from '../../common/glob.ts';
import { DockerfileError } from './ast.ts';

export type Env = Record<string, string | undefined>;

export interface ShellLexOptions {
  /** Keep the quote characters in the result (the parser uses it to spot quoted heredoc words). */
  rawQuotes?: boolean;
  /** Keep the escape characters in the result. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies are expanded this way). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`). */
  skipUnsetEnv?: boolean;
}

/** A lexer failure before it is wrapped with the word that failed. */
class LexError extends Error {}

export class ShellLex {
  readonly escape: '\\' | '`';
  readonly #opts: Required<ShellLexOptions>;

  constructor(escape: '\\' | '`' = '\\', opts: ShellLexOptions = {}) {
    this.escape = escape;
    this.#opts = {
      rawQuotes: opts.rawQuotes ?? false,
      rawEscapes: opts.rawEscapes ?? false,
      skipProcessQuotes: opts.skipProcessQuotes ?? false,
      skipUnsetEnv: opts.skipUnsetEnv ?? false,
    };
  }

  /** Expands and unquotes `word` as one string (spaces kept). */
  processWord(word: string, env: Env): string {
    return this.#process(word, env).result;
  }

  /** Expands, then splits on unquoted whitespace; quoted parts never split. */
  processWords(word: string, env: Env): string[] {
    return this.#process(word, env).words;
  }

  #process(word: string, env: Env): { result: string; words: string[] } {
    try {
      return new WordScan(word, env, this.escape, this.#opts).run();
    } catch (e) {
      if (e instanceof LexError) throw new DockerfileError(`failed to process ${goQuote(word)}: ${e.message}`);
      throw e;
    }
  }
}

/**
 * Expands a heredoc body the way BuildKit does for `COPY <<EOF` (unquoted delimiter): variables
 * and the `\` escape are processed, quotes are left alone, and the escape is always `\`.
 */
export function expandHeredoc(content: string, env: Env): string {
  return new ShellLex('\\', { skipProcessQuotes: true }).processWord(content, env);
}

/** Go's `%q` for the strings that appear in Docker's messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's unicode.IsSpace. */
export function isGoSpace(ch: string): boolean {
  switch (ch) {
    case ' ': case '\t': case '\n': case '\v': case '\f': case '\r': case '\u0085': case '\u00a0':
      return true;
  }
  return ch > '\u00ff' && /^[\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(ch);
}

const isDigit = (ch: string) => /^\p{Nd}$/u.test(ch);
const isLetter = (ch: string) => /^\p{L}$/u.test(ch);
// POSIX special parameters ($@, $*, $#, ...): never set in a Dockerfile, so they expand to ''.
const isSpecialParam = (ch: string) => '@*#?-$!0'.includes(ch);

/** Collects the words of processWords: unquoted spaces split, quoted text is kept whole. */
class Words {
  #buf = '';
  #words: string[] = [];
  #inWord = false;

  addChar(ch: string): void {
    if (isGoSpace(ch)) {
      if (this.#inWord && this.#buf !== '') {
        this.#words.push(this.#buf);
        this.#buf = '';
        this.#inWord = false;
      }
    } else this.addRawChar(ch);
  }
  addRawChar(ch: string): void {
    this.#buf += ch;
    this.#inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.#buf += s;
    this.#inWord = true;
  }
  /** Like Docker, a word that is only an empty quoted string ("") yields nothing. */
  get(): string[] {
    if (this.#buf !== '') {
      this.#words.push(this.#buf);
      this.#buf = '';
      this.#inWord = false;
    }
    return this.#words;
  }
}

/** One pass over one word; `undefined` from peek()/next() is the end of the word. */
class WordScan {
  readonly #chars: string[];
  #pos = 0;
  readonly #env: Env;
  readonly #escape: string;
  readonly #o: Required<ShellLexOptions>;
  #rawEscapes: boolean;

  constructor(word: string, env: Env, escape: string, opts: Required<ShellLexOptions>) {
    this.#chars = Array.from(word);
    this.#env = env;
    this.#escape = escape;
    this.#o = opts;
    this.#rawEscapes = opts.rawEscapes;
  }

  run(): { result: string; words: string[] } {
    return this.#stopOn(undefined, this.#o.rawEscapes);
  }

  #peek(): string | undefined {
    return this.#chars[this.#pos];
  }
  #next(): string | undefined {
    return this.#pos < this.#chars.length ? this.#chars[this.#pos++] : undefined;
  }

  #getEnv(name: string): [string, boolean] {
    if (Object.hasOwn(this.#env, name)) {
      const v = this.#env[name];
      if (v !== undefined) return [v, true];
    }
    return ['', false];
  }

  /** Reads up to `stop` (consumed) or the end of the word when `stop` is undefined. */
  #stopOn(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
        if (stop !== undefined && ch === stop) {
          this.#next();
          return { result, words: words.get() };
        }
        if (ch === '$') {
          const t = this.#dollar();
          result += t;
          words.addString(t); // expansion results are split on their spaces
          continue;
        }
        if (ch === '<') {
          const t = this.#possibleHeredoc();
          result += t;
          words.addRawString(t);
          continue;
        }
        if (!this.#o.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const t = ch === "'" ? this.#singleQuote() : this.#doubleQuote();
          result += t;
          words.addRawString(t);
          continue;
        }
        let c = this.#next()!;
        if (c === this.#escape) {
          if (this.#rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          // The escape makes the next character literal; a trailing escape is dropped.
          const n = this.#next();
          if (n === undefined) break;
          c = n;
          words.addRawChar(c);
        } else words.addChar(c);
        result += c;
      }
      if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.#rawEscapes = saved;
    }
  }

  // Everything between single quotes is literal; a single quote can't be escaped inside.
  #singleQuote(): string {
    const q = this.#next()!;
    let r = this.#o.rawQuotes ? q : '';
    for (;;) {
      const c = this.#next();
      if (c === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return this.#o.rawQuotes ? r + c : r;
      r += c;
    }
  }

  // Inside double quotes `$` expands and the escape only escapes `"`, `$` and itself
  // (like sh, where backslash-t stays backslash-t).
  #doubleQuote(): string {
    const q = this.#next()!;
    let r = this.#o.rawQuotes ? q : '';
    for (;;) {
      const p = this.#peek();
      if (p === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.#next();
        return this.#o.rawQuotes ? r + p : r;
      }
      if (p === '$') {
        r += this.#dollar();
        continue;
      }
      let c = this.#next()!;
      if (c === this.#escape) {
        if (this.#rawEscapes) r += c;
        const n = this.#peek();
        if (n === undefined) continue; // reported as the missing closing quote
        if (n === '"' || n === '$' || n === this.#escape) c = this.#next()!;
      }
      r += c;
    }
  }

  #dollar(): string {
    this.#next(); // '$'
    if (this.#peek() !== '{') {
      const name = this.#name();
      if (name === '') return '$';
      const [v, found] = this.#getEnv(name);
      if (!found && this.#o.skipUnsetEnv) return `$${name}`;
      return v;
    }
    this.#next(); // '{'
    const first = this.#peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.#name();
    let ch = this.#next();
    // Docker reports "unsupported modifier (\uFFFD)" here (Go's string(EOF)); the missing
    // brace is what the user needs to hear.
    if (ch === undefined) throw new LexError("syntax error: missing '}'");
    let chs = ch;
    if (ch === '}') {
      const [v, set] = this.#getEnv(name);
      if (!set && this.#o.skipUnsetEnv) return `\${${name}}`;
      return v;
    }
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.#next();
      chs += ch ?? '\ufffd';
    } else if (ch === '/') {
      return this.#replace(name);
    } else if (!'+-?#%'.includes(ch)) {
      throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
    // `${name:x...}` reads the word whatever x is, then rejects x if it isn't a known modifier.
    const rawEscapes = ch === '#' || ch === '%';
    if (nullIsUnset && rawEscapes) throw new LexError(`unsupported modifier (${chs}) in substitution`);
    let word: string;
    try {
      word = this.#stopOn('}', rawEscapes).result;
    } catch (e) {
      if (e instanceof LexError && this.#peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw e;
    }
    const [value, set] = this.#getEnv(name);
    if (this.#o.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
    switch (ch) {
      case '-':
        return !set || (nullIsUnset && value === '') ? word : value;
      case '+':
        return !set || (nullIsUnset && value === '') ? '' : word;
      case '?':
        if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      case '%':
      case '#': {
        // `%`/`#` remove the shortest matching suffix/prefix, `%%`/`##` the longest.
        let pattern = word;
        const greedy = pattern.startsWith(ch);
        if (greedy) pattern = pattern.slice(1);
        return ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
      }
      default:
        throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  // ${name/pattern/replacement} (first match) and ${name//pattern/replacement} (all).
  #replace(name: string): string {
    const all = this.#peek() === '/';
    if (all) this.#next();
    let pattern: string;
    try {
      pattern = this.#stopOn('/', true).result;
    } catch (e) {
      if (e instanceof LexError && this.#peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
      throw e;
    }
    let replacement: string;
    try {
      replacement = this.#stopOn('}', true).result;
    } catch (e) {
      if (e instanceof LexError && this.#peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw e;
    }
    const [value, set] = this.#getEnv(name);
    if (this.#o.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
    return replaceMatches(value, patternToGlob(pattern), replacement, all);
  }

  // A name is letters, digits and '_'; `$1`-style positional names are all digits; a special
  // parameter is one character.
  #name(): string {
    let name = '';
    for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
      if (name === '' && isDigit(ch)) {
        while (this.#peek() !== undefined && isDigit(this.#peek()!)) name += this.#next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) {
        this.#next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.#next();
    }
    return name;
  }

  // `<<` (and the blanks after it) is kept whole so that `<< EOF` stays one heredoc word.
  #possibleHeredoc(): string {
    this.#next();
    if (this.#peek() !== '<') return '<';
    this.#next();
    let space = '';
    for (let c = this.#peek(); c === ' ' || c === '\t' || c === '\r'; c = this.#peek()) space += this.#next();
    return `<<${space}`;
  }
}

/**
 * Shell wildcards (`*`, `?`, `\` escapes; no bracket expressions) as a Glob. BuildKit runs them
 * as Go regular expressions, in linear time; as backtracking JavaScript ones, `${L%%*a*a*a*b}`
 * against a long value never returned (see src/common/glob.ts).
 */
function patternToGlob(pattern: string): Glob {
  const chars = Array.from(pattern);
  const steps: GlobStep[] = [];
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i];
    if (tok === '*') steps.push(star(dot));
    else if (tok === '?') steps.push(one(dot));
    else if (tok === '\\') {
      // `}` and `/` are escaped to get them into ${...}; the escape isn't part of the pattern.
      const nx = chars[i + 1];
      if (nx === '}' || nx === '/') continue;
      i++;
      const t = chars[i] ?? '\ufffd';
      if (t !== '*' && t !== '?' && t !== '\\') {
        throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${t}'`);
      }
      steps.push(lit(t));
    } else steps.push(lit(tok));
  }
  return new Glob(steps);
}

/** Removes the shortest (or, greedy, the longest) prefix of `value` that `pattern` matches. */
function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const cs = Array.from(value);
  const ends = patternToGlob(pattern).ends(cs, 0);
  if (ends.length === 0) return value;
  return cs.slice(greedy ? ends[ends.length - 1] : ends[0]).join('');
}

// The shortest rightmost match is the shortest prefix of both sides reversed.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const rev = (s: string) => Array.from(s).reverse().join('');
  return rev(trimPrefix(reversePattern(pattern), rev(value), greedy));
}

/** Reverses a pattern keeping each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out: string[] = new Array(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last;) {
    const o = last - i;
    if (p[i] === '\\' && i !== last) {
      out[o - 1] = p[i];
      out[o] = p[i + 1];
      i += 2;
    } else {
      out[o] = p[i];
      i++;
    }
  }
  return out.join('');
}

/** Go's Regexp.ReplaceAllString / first-match replacement, the replacement taken literally. */
function replaceMatches(value: string, glob: Glob, replacement: string, all: boolean): string {
  const cs = Array.from(value);
  let out = '';
  let last = 0;
  let prevEnd = -1;
  for (let pos = 0; pos <= cs.length;) {
    const m = glob.search(cs, pos);
    if (!m) break;
    const [start, end] = m;
    // Go ignores an empty match right after the previous match.
    if (start === end && start === prevEnd) {
      pos = start + 1;
      continue;
    }
    out += cs.slice(last, start).join('') + replacement;
    last = end;
    prevEnd = end;
    if (!all) break;
    pos = end === start ? end + 1 : end;
  }
  return out + cs.slice(last).join('');
}
