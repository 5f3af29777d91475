// `.env` files as compose reads them (compose-go's dotenv parser), for the project's
// interpolation environment (`.env`, `--env-file`) and for services' `env_file:`:
//
//   # comment                  skipped; ` #` starts a comment after an unquoted value
//   export A=1                 `export ` is ignored
//   B = two words              spaces around `=` trimmed; `B: x` works too
//   C='$literal \n'            single quotes: no expansion, backslashes kept (except \')
//   D="tab\there ${B}"         double quotes: \a \b \f \n \r \t \v \\ \" \$ \0NNN, then ${} expansion
//   E=${C:-default}            unquoted values are expanded too
//   F                          a bare key takes its value from the lookup (the environment), if set
//
//   parseDotEnv('A=1\nB="${A}2"\n') → { A: '1', B: '12' }
//
// Expansion looks a variable up in `lookup` first (the process environment), then in what
// the file defined above. Errors carry compose's texts (`line 3: unterminated quoted value ...`).
import { readFileSync, statSync } from 'node:fs';
import { ComposeError } from './errors.ts';
import { substitute, type Lookup } from './template.ts';

export type Env = Record<string, string>;

/** Parses dotenv text into `out` (which may already hold earlier files' values). */
export function parseDotEnv(text: string, lookup: Lookup = () => undefined, out: Env = Object.create(null), onUnset?: (name: string) => void): Env {
  new Parser(lookup, onUnset).parse(text.replace(/^\uFEFF/, ''), out);
  return out;
}

// Go's unicode.IsSpace, and the parser's own isSpace (no line breaks).
const isUnicodeSpace = (c: string) => /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/.test(c);
const isSpace = (c: string) => c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === ' ' || c === '\u0085' || c === '\u00A0';
const trimLeft = (s: string, f: (c: string) => boolean) => {
  let i = 0;
  while (i < s.length && f(s[i])) i++;
  return s.slice(i);
};
const trimRight = (s: string, f: (c: string) => boolean) => {
  let i = s.length;
  while (i > 0 && f(s[i - 1])) i--;
  return s.slice(0, i);
};

class Parser {
  #line = 1;
  #lookup: Lookup;
  #onUnset?: (name: string) => void;

  constructor(lookup: Lookup, onUnset?: (name: string) => void) {
    this.#lookup = lookup;
    this.#onUnset = onUnset;
  }

  parse(src: string, out: Env): void {
    let cutset = src;
    for (;;) {
      cutset = this.#statementStart(cutset);
      if (cutset === '') break;
      const [key, left, inherited] = this.#keyName(cutset);
      if (key.includes(' ')) throw new ComposeError(`line ${this.#line}: key cannot contain a space`);
      if (inherited) {
        const v = this.#lookup(key);
        if (v !== undefined) out[key] = v;
        cutset = left;
        continue;
      }
      const [value, rest] = this.#value(left, out);
      out[key] = value;
      cutset = rest;
    }
  }

  #statementStart(src: string): string {
    for (;;) {
      let pos = -1;
      for (let i = 0; i < src.length; i++) {
        if (src[i] === '\n') this.#line++;
        if (!isUnicodeSpace(src[i])) { pos = i; break; }
      }
      if (pos === -1) return '';
      src = src.slice(pos);
      if (src[0] !== '#') return src;
      const nl = src.indexOf('\n');
      if (nl === -1) return '';
      src = src.slice(nl);
    }
  }

  #keyName(src: string): [string, string, boolean] {
    if (/^export[\t\n\f\r ]+/.test(src)) src = trimLeft(src.slice('export'.length), isSpace);
    let key = '';
    let offset = 0;
    let inherited = false;
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (isSpace(c)) continue;
      if (c === '=' || c === ':' || c === '\n') {
        key = src.slice(0, i);
        offset = i + 1;
        inherited = c === '\n';
        break;
      }
      if (c === '_' || c === '.' || c === '-' || c === '[' || c === ']' || /[\p{L}\p{N}]/u.test(c)) continue;
      // A surrogate pair is one rune to Go.
      const cp = String.fromCodePoint(src.codePointAt(i)!);
      if (/[\p{L}\p{N}]/u.test(cp)) { i += cp.length - 1; continue; }
      throw new ComposeError(`line ${this.#line}: unexpected character ${JSON.stringify(cp)} in variable name ${JSON.stringify(src.split('\n')[0])}`);
    }
    if (src === '') throw new ComposeError('zero length string');
    if (inherited && !key.includes(' ')) this.#line++;
    return [trimRight(key, isUnicodeSpace), trimLeft(src.slice(offset), isSpace), inherited];
  }

  #expand(value: string, out: Env): string {
    return substitute(value, (k) => this.#lookup(k) ?? (Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined), { onUnset: this.#onUnset });
  }

  #value(src: string, out: Env): [string, string] {
    const quote = src[0];
    if (quote !== '"' && quote !== "'") {
      const nl = src.indexOf('\n');
      let value = nl < 0 ? src : src.slice(0, nl);
      const rest = nl < 0 ? '' : src.slice(nl + 1);
      this.#line++;
      const comment = value.indexOf(' #');
      if (comment >= 0) value = value.slice(0, comment);
      return [this.#expand(trimRight(value, isUnicodeSpace), out), rest];
    }
    let escaped = false;
    let chars = '';
    for (let i = 1; i < src.length; i++) {
      const c = src[i];
      if (c === '\n') this.#line++;
      if (c !== quote) {
        if (!escaped && c === '\\') { escaped = true; continue; }
        if (escaped) { escaped = false; chars += '\\'; }
        chars += c;
        continue;
      }
      if (escaped) { escaped = false; chars += c; continue; }
      const value = quote === '"' ? this.#expand(expandEscapes(chars), out) : chars;
      return [value, src.slice(i + 1)];
    }
    const nl = src.indexOf('\n');
    throw new ComposeError(`line ${this.#line}: unterminated quoted value ${nl < 0 ? src : src.slice(0, nl)}`);
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Shell-style escapes inside double quotes (`\$` becomes `$$`, the template's literal $). */
function expandEscapes(s: string): string {
  return s.replace(/\\(?:[abcfnrtv$"\\]|0\d{0,3})/g, (m) => {
    if (m === '\\$') return '$$';
    if (m.startsWith('\\0')) {
      // Go's UnquoteChar on `\NNN`: exactly three octal digits, at most 255.
      const digits = m.slice(2);
      if (/^[0-7]{3}$/.test(digits) && parseInt(digits, 8) <= 255) return String.fromCodePoint(parseInt(digits, 8));
      return `\\${digits}`;
    }
    return SIMPLE_ESCAPES[m[1]];
  });
}

/**
 * docker's env-file format (`env_file: {path, format: raw}`): one `KEY=VALUE` per line taken
 * verbatim, `#` comments and blank lines skipped, a bare `KEY` filled from the lookup.
 */
export function parseRawEnv(text: string, lookup: Lookup, out: Env = Object.create(null)): Env {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^[ \t\n\v\f\r]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw new ComposeError(`invalid environment variable: ${line}`);
    if (/\s/.test(key)) throw new ComposeError(`variable '${key}' contains whitespaces`);
    if (eq >= 0) { out[key] = line.slice(eq + 1); continue; }
    const v = lookup(line.trim());
    if (v !== undefined) out[line.trim()] = v;
  }
  return out;
}

/**
 * The project's env files (`.env` or every `--env-file`), read in order into one map
 * (compose-go's GetEnvFromFile): each may refer to the process environment and to what earlier
 * lines and files defined.
 */
export function readEnvFiles(files: string[], processEnv: Env, onUnset?: (name: string) => void): Env {
  const out: Env = Object.create(null);
  for (const file of files) {
    let isDir = false;
    try {
      isDir = statSync(file).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ComposeError(`couldn't find env file: ${file}`);
      throw new ComposeError(`${file}: ${(e as Error).message}`);
    }
    if (isDir) throw new ComposeError(`${file} is a directory`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ComposeError(`couldn't read env file: ${file}`, { cause: e });
    }
    try {
      parseDotEnv(text, (k) => (Object.prototype.hasOwnProperty.call(processEnv, k) ? processEnv[k] : Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined), out, onUnset);
    } catch (e) {
      throw new ComposeError(`failed to read ${file}: ${(e as Error).message}`);
    }
  }
  return out;
}
