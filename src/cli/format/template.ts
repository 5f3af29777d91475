// A subset of Go's text/template, enough for the `--format` strings people feed the docker CLI:
//
//   {{.Field.Sub}}  {{.}}  {{$}}  {{$v := .X}}  {{$v.Y}}
//   {{json .}}  {{.X | json}}  {{index .M "k"}}  {{join .L ","}}  {{upper .X}}  {{printf "%s" .X}}
//   {{if .X}}…{{else if .Y}}…{{else}}…{{end}}  {{range .L}}…{{else}}…{{end}}  {{range $k, $v := .M}}
//   {{with .X}}…{{end}}  {{- trimmed -}}  {{/* comment */}}  (pipelines in parentheses).Field
//
// Data is plain JSON-like values (what the API returns) plus, for the CLI's row objects,
// functions: a field whose value is a function is called, with the command's arguments when it
// ends the chain (docker's `{{.Label "com.x"}}` method).
//
// Printing follows Go's fmt %v for the decoded JSON: arrays `[a b]`, objects `map[k:v]` (keys
// sorted), null `<nil>`, a missing key `<no value>`. Errors carry Go's wording:
// `template: :1: function "foo" not defined`.
//
//   parseTemplate('{{range .Names}}{{upper .}} {{end}}').execute({ Names: ['a', 'b'] }) → 'A B '

import { TemplateError } from './template-error.ts';

export type TemplateFunc = (...args: any[]) => unknown;

export interface TemplateOptions {
  /** Extra functions, or replacements of the defaults (the table header pass uses this). */
  funcs?: Record<string, TemplateFunc>;
  /** How a JSON null prints, given the field name that produced it (default `<nil>`). */
  nullText?: (field: string | undefined) => string;
  /** When set, a field missing from the top-level data is an error naming this Go type, as
   *  docker's typed row contexts give (`can't evaluate field Foo in type *formatter.X`). */
  rootType?: string;
  /** A field missing from the top-level data is an error, worded as Go's missingkey=error on
   *  a map (`map has no entry for key "Foo"`): docker inspect's raw-JSON templates. Deeper
   *  levels stay lenient (`<no value>`), as daemons differ in which empty fields they omit. */
  strictRoot?: boolean;
}

export { TemplateError };

const MISSING = Symbol('missing');

// ---------------------------------------------------------------------------------------------
// Lexing

type Tok =
  | { t: 'field'; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'dot' }
  | { t: 'ident'; name: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'pipe' } | { t: 'lparen' } | { t: 'rparen' }
  | { t: 'declare' } | { t: 'assign' } | { t: 'comma' }
  | { t: 'chain'; names: string[] }; // .Field after a ')'

interface Action { toks: Tok[]; line: number; col: number; src: string }
type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function lex(src: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let line = 1;
  let lastNewline = -1;
  let trimNext = false;
  // Lines and columns are counted as the text goes by: searching back for the line's start at
  // every action made a long one-line template quadratic.
  let nextNewline = src.indexOf('\n');
  const countLines = (from: number, to: number) => {
    for (; nextNewline >= 0 && nextNewline < to; nextNewline = src.indexOf('\n', nextNewline + 1)) {
      if (nextNewline >= from) { line++; lastNewline = nextNewline; }
    }
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, ''); // (anchored at the start: linear)
    trimNext = false;
    if (open < 0) {
      if (text) pieces.push({ kind: 'text', text });
      break;
    }
    countLines(i, open);
    const col = open - lastNewline;
    let j = open + 2;
    // "{{- " trims the text before (the dash must be followed by a space).
    if (src[j] === '-' && isSpace(src[j + 1])) {
      text = trimSpaceEnd(text);
      if (src[j + 1] === '\n') lastNewline = j + 1; // not counted as a line (as before), but a column starts after it
      j += 2;
    }
    if (text) pieces.push({ kind: 'text', text });
    const startLine = line;
    // Comment: {{/* ... */}}
    let k = j;
    while (isSpace(src[k])) k++;
    if (src.startsWith('/*', k)) {
      const endc = src.indexOf('*/', k + 2);
      if (endc < 0) throw new TemplateError(`template: :${startLine}: unclosed comment`);
      let e = endc + 2;
      while (isSpace(src[e])) e++;
      if (src[e] === '-' && src.startsWith('}}', e + 1)) { trimNext = true; e += 1; }
      if (!src.startsWith('}}', e)) throw new TemplateError(`template: :${startLine}: comment ends before closing delimiter`);
      countLines(j, e);
      i = e + 2;
      continue;
    }
    const { toks, end, trim } = lexAction(src, j, startLine);
    countLines(j, end);
    pieces.push({ kind: 'action', action: { toks, line: startLine, col, src: src.slice(open + 2, end) } });
    trimNext = trim;
    i = end + 2;
  }
  return pieces;
}

/** The text without its trailing blanks. (A regular expression anchored at the end retries at every blank of a run: quadratic.) */
function trimSpaceEnd(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1])) end--;
  return s.slice(0, end);
}

// Sticky: matched where the lexer is, in place (matching `src.slice(i)` copied the rest of the
// template at every token: quadratic).
const CHAR_RE = /'(\\.|[^'\\])'/y;
const NUM_RE = /[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/y;

function lexAction(src: string, start: number, line: number): { toks: Tok[]; end: number; trim: boolean } {
  const toks: Tok[] = [];
  let i = start;
  const err = (m: string) => new TemplateError(`template: :${line}: ${m}`);
  const readChain = (): string[] => {
    const names: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++;
      let n = '';
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) n += src[i++];
      names.push(n);
    }
    return names;
  };
  for (;;) {
    if (i >= src.length) throw err('unclosed action');
    const c = src[i];
    if (isSpace(c)) {
      // " -}}" trims the text after.
      if (src[i + 1] === '-' && src.startsWith('}}', i + 2)) return { toks, end: i + 2, trim: true };
      i++;
      continue;
    }
    if (src.startsWith('}}', i)) return { toks, end: i, trim: false };
    if (c === '|') { toks.push({ t: 'pipe' }); i++; continue; }
    if (c === '(') { toks.push({ t: 'lparen' }); i++; continue; }
    if (c === ')') {
      toks.push({ t: 'rparen' });
      i++;
      if (src[i] === '.') { const names = readChain(); if (names.length) toks.push({ t: 'chain', names }); }
      continue;
    }
    if (c === ',') { toks.push({ t: 'comma' }); i++; continue; }
    if (c === ':' && src[i + 1] === '=') { toks.push({ t: 'declare' }); i += 2; continue; }
    if (c === '=') { toks.push({ t: 'assign' }); i++; continue; }
    if (c === '.') {
      if (/[A-Za-z_]/.test(src[i + 1] ?? '')) { toks.push({ t: 'field', names: readChain() }); continue; }
      if (/[0-9]/.test(src[i + 1] ?? '')) { /* a number like .5: fall through */ } else { toks.push({ t: 'dot' }); i++; continue; }
    }
    if (c === '$') {
      i++;
      let name = '$';
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) name += src[i++];
      toks.push({ t: 'var', name, names: readChain() });
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let raw = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') { raw += src[j] + (src[j + 1] ?? ''); j += 2; continue; }
        if (src[j] === '\n') throw err('unterminated quoted string');
        raw += src[j++];
      }
      if (j >= src.length) throw err('unterminated quoted string');
      toks.push({ t: 'str', v: unquoteGo(raw, err) });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw err('unterminated raw quoted string');
      toks.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      CHAR_RE.lastIndex = i;
      const m = CHAR_RE.exec(src);
      if (!m) throw err('unterminated character constant');
      toks.push({ t: 'num', v: unquoteGo(m[1], err).codePointAt(0)! });
      i += m[0].length;
      continue;
    }
    NUM_RE.lastIndex = i;
    const num = NUM_RE.exec(src);
    if (num && num[0] && /\d/.test(num[0])) {
      const text = num[0].replace(/_/g, '');
      toks.push({ t: 'num', v: Number(text) });
      i += num[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let n = '';
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) n += src[i++];
      // A function name cannot take a field chain (`json.` is Go's "unexpected <.> in operand").
      if (src[i] === '.' && n !== 'true' && n !== 'false' && n !== 'nil') throw err('unexpected <.> in operand');
      toks.push({ t: 'ident', name: n });
      continue;
    }
    throw err(`unexpected "${c}" in command`);
  }
}

function unquoteGo(raw: string, err: (m: string) => Error): string {
  return raw.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case '\\': return '\\';
      case '"': return '"';
      case "'": return "'";
      case 'x': return String.fromCharCode(parseInt(e.slice(1), 16));
      case 'u': case 'U': {
        // Go's strconv.Unquote: only valid runes (no surrogate halves, nothing past U+10FFFF).
        // (A bare \u or \U, without its 4 or 8 hex digits, comes here too.)
        const cp = e.length > 1 ? parseInt(e.slice(1), 16) : NaN;
        if (!(cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) throw err('invalid syntax');
        return String.fromCodePoint(cp);
      }
      default:
        if (/^[0-7]{3}$/.test(e) && parseInt(e, 8) <= 0xff) return String.fromCharCode(parseInt(e, 8));
        throw err('invalid syntax');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Arg =
  | { k: 'field'; names: string[] }
  | { k: 'var'; name: string; names: string[] }
  | { k: 'dot' }
  | { k: 'func'; name: string }
  | { k: 'lit'; v: unknown }
  | { k: 'sub'; pipe: Pipeline; names: string[] };

interface Command { args: Arg[] }
interface Pipeline { decl: string[]; assign: boolean; cmds: Command[]; line: number; col: number; src: string }

type Node =
  | { n: 'text'; text: string }
  | { n: 'print'; pipe: Pipeline }
  | { n: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[] }
  | { n: 'range'; pipe: Pipeline; body: Node[]; else: Node[] }
  | { n: 'break' } | { n: 'continue' };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/**
 * How deep blocks and parentheses may nest: Go's parser stops at 10000 ("max expression depth
 * exceeded", 1000 on small stacks); this parser and the executor recurse per level, and a
 * JavaScript stack holds fewer frames than a goroutine's.
 */
const MAX_DEPTH = 1000;

class Parser {
  #pieces: Piece[];
  #pos = 0;
  #depth = 0;
  /** Range bodies being parsed ({{break}} and {{continue}} belong in one). */
  #ranges = 0;
  #funcs: Record<string, TemplateFunc>;
  constructor(pieces: Piece[], funcs: Record<string, TemplateFunc>) {
    this.#pieces = pieces;
    this.#funcs = funcs;
  }

  parse(): Node[] {
    const { nodes, stop } = this.#list();
    if (stop) throw new TemplateError(`template: :${stop.line}: unexpected {{${stop.toks[0].t === 'ident' ? (stop.toks[0] as { name: string }).name : '?'}}}`);
    return nodes;
  }

  #deeper(line: number): void {
    if (++this.#depth > MAX_DEPTH) throw new TemplateError(`template: :${line}: max expression depth exceeded`);
  }

  /** Parses until {{end}} / {{else}} (returned as `stop`) or the end of input. */
  #list(): { nodes: Node[]; stop?: Action } {
    this.#deeper(this.#pieces[this.#pos]?.kind === 'action' ? (this.#pieces[this.#pos] as { action: Action }).action.line : 1);
    try {
      return this.#listBody();
    } finally {
      this.#depth--;
    }
  }

  #listBody(): { nodes: Node[]; stop?: Action } {
    const nodes: Node[] = [];
    while (this.#pos < this.#pieces.length) {
      const p = this.#pieces[this.#pos++];
      if (p.kind === 'text') { nodes.push({ n: 'text', text: p.text }); continue; }
      const a = p.action;
      const first = a.toks[0];
      if (!first) throw new TemplateError(`template: :${a.line}: missing value for command`);
      if (first.t === 'ident' && KEYWORDS.has(first.name)) {
        switch (first.name) {
          case 'end': case 'else': return { nodes, stop: a };
          case 'if': case 'with': nodes.push(this.#branch(first.name, a, a.toks.slice(1))); continue;
          case 'range': nodes.push(this.#range(a)); continue;
          case 'break': case 'continue':
            // Go's parser: only inside a range body (the executor's signal would escape otherwise).
            if (this.#ranges === 0) throw new TemplateError(`template: :${a.line}: {{${first.name}}} outside {{range}}`);
            nodes.push({ n: first.name });
            continue;
          default: throw new TemplateError(`template: :${a.line}: {{${first.name}}} is not supported`);
        }
      }
      nodes.push({ n: 'print', pipe: this.#pipeline(a, a.toks) });
    }
    return { nodes };
  }

  #branch(kind: 'if' | 'with', a: Action, toks: Tok[]): Node {
    const pipe = this.#pipeline(a, toks);
    if (pipe.cmds.length === 0) throw new TemplateError(`template: :${a.line}: missing value for ${kind}`);
    const { nodes, stop } = this.#list();
    if (!stop) throw new TemplateError(`template: :${a.line}: unexpected EOF`);
    const stopName = (stop.toks[0] as { name: string }).name;
    if (stopName === 'end') return { n: kind, pipe, then: nodes, else: [] };
    // {{else}} or {{else if …}} / {{else with …}}
    const rest = stop.toks.slice(1);
    if (rest.length && rest[0].t === 'ident' && ((rest[0] as { name: string }).name === 'if' || (rest[0] as { name: string }).name === 'with')) {
      const inner = this.#branch((rest[0] as { name: string }).name as 'if' | 'with', stop, rest.slice(1));
      return { n: kind, pipe, then: nodes, else: [inner] };
    }
    const tail = this.#list();
    if (!tail.stop || (tail.stop.toks[0] as { name: string }).name !== 'end') throw new TemplateError(`template: :${a.line}: expected end; found ${tail.stop ? 'else' : 'EOF'}`);
    return { n: kind, pipe, then: nodes, else: tail.nodes };
  }

  #range(a: Action): Node {
    const pipe = this.#pipeline(a, a.toks.slice(1));
    this.#ranges++;
    let body: { nodes: Node[]; stop?: Action };
    try { body = this.#list(); } finally { this.#ranges--; }
    const { nodes, stop } = body;
    if (!stop) throw new TemplateError(`template: :${a.line}: unexpected EOF`);
    if ((stop.toks[0] as { name: string }).name === 'end') return { n: 'range', pipe, body: nodes, else: [] };
    const tail = this.#list();
    if (!tail.stop || (tail.stop.toks[0] as { name: string }).name !== 'end') throw new TemplateError(`template: :${a.line}: expected end; found ${tail.stop ? 'else' : 'EOF'}`);
    return { n: 'range', pipe, body: nodes, else: tail.nodes };
  }

  #pipeline(a: Action, toksIn: Tok[]): Pipeline {
    let toks = toksIn;
    const decl: string[] = [];
    let assign = false;
    // `$x :=`, `$i, $e :=`, `$x =`
    const declIdx = toks.findIndex((t) => t.t === 'declare' || t.t === 'assign');
    if (declIdx > 0 && toks.slice(0, declIdx).every((t) => t.t === 'var' || t.t === 'comma')) {
      for (const t of toks.slice(0, declIdx)) if (t.t === 'var') decl.push(t.name);
      assign = toks[declIdx].t === 'assign';
      toks = toks.slice(declIdx + 1);
    }
    const pos = { i: 0 };
    const pipe = this.#pipe(a, toks, pos);
    if (pos.i < toks.length) throw new TemplateError(`template: :${a.line}: unexpected ${describe(toks[pos.i])} in operand`);
    return { ...pipe, decl, assign };
  }

  #pipe(a: Action, toks: Tok[], pos: { i: number }): Pipeline {
    const cmds: Command[] = [];
    let args: Arg[] = [];
    const err = (m: string) => new TemplateError(`template: :${a.line}: ${m}`);
    while (pos.i < toks.length) {
      const t = toks[pos.i];
      if (t.t === 'rparen') break;
      pos.i++;
      switch (t.t) {
        case 'pipe':
          if (!args.length) throw err('missing command');
          cmds.push({ args });
          args = [];
          break;
        case 'field': args.push({ k: 'field', names: t.names }); break;
        case 'var': args.push({ k: 'var', name: t.name, names: t.names }); break;
        case 'dot': args.push({ k: 'dot' }); break;
        case 'str': args.push({ k: 'lit', v: t.v }); break;
        case 'num': args.push({ k: 'lit', v: t.v }); break;
        case 'ident':
          if (t.name === 'true' || t.name === 'false') args.push({ k: 'lit', v: t.name === 'true' });
          else if (t.name === 'nil') args.push({ k: 'lit', v: null });
          else {
            if (!(t.name in this.#funcs)) throw err(`function "${t.name}" not defined`);
            args.push({ k: 'func', name: t.name });
          }
          break;
        case 'lparen': {
          this.#deeper(a.line);
          const sub = this.#pipe(a, toks, pos);
          this.#depth--;
          if (toks[pos.i]?.t !== 'rparen') throw err('unclosed left paren');
          pos.i++;
          let names: string[] = [];
          if (toks[pos.i]?.t === 'chain') names = (toks[pos.i++] as { names: string[] }).names;
          args.push({ k: 'sub', pipe: { ...sub, decl: [], assign: false }, names });
          break;
        }
        default: throw err(`unexpected ${describe(t)} in command`);
      }
    }
    if (args.length) cmds.push({ args });
    else if (cmds.length) throw err('missing command');
    return { decl: [], assign: false, cmds, line: a.line, col: a.col, src: a.src };
  }
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'comma': return '","';
    case 'declare': return '":="';
    case 'assign': return '"="';
    case 'rparen': return '")"';
    default: return `<${t.t}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Printing and truthiness (Go's fmt %v and text/template's IsTrue for JSON-shaped data)

export function goString(v: unknown, nullText: (f: string | undefined) => string = () => '<nil>', field?: string): string {
  if (v === MISSING || v === undefined) return '<no value>';
  if (v === null) return nullText(field);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return goString(v(), nullText, field);
  if (Array.isArray(v)) return `[${v.map((x) => goString(x, nullText)).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k], nullText, k)}`).join(' ')}]`;
  }
  return String(v);
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  // Go's %v of a float64 is strconv 'g' with the shortest repr and a two-digit exponent.
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

export function isTrue(v: unknown): boolean {
  if (v === MISSING || v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Functions (Go's builtins plus docker's templates.basicFunctions)

/**
 * A value can supply its own JSON text under this symbol: docker's list rows (ps, images) marshal
 * themselves with Go's json.Marshal, which escapes <, > and & (`"\u003cnone\u003e"`), while
 * `json` on plain API data does not.
 */
export const GO_JSON = Symbol.for('berth.goJson');

/** docker's `json`: compact, no HTML escaping, no trailing newline. */
export function toJson(v: unknown): string {
  if (v && typeof v === 'object' && typeof (v as any)[GO_JSON] === 'function') return (v as any)[GO_JSON]();
  return JSON.stringify(v === MISSING || v === undefined ? null : v) ?? 'null';
}

/** Go's json.Marshal string escaping on top of JSON.stringify: <, >, &, U+2028, U+2029. */
export function goJsonMarshal(v: unknown): string {
  return (JSON.stringify(v) ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sprint(args: unknown[], nullText: (f: string | undefined) => string): string {
  // fmt.Sprint: a space between operands when neither side is a string.
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(args[i], nullText);
  }
  return out;
}

export function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? Math.trunc(a).toString() : `%!d(${typeof a}=${goString(a)})`; break;
      case 'q': s = JSON.stringify(goString(a)); break;
      case 'f': s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeof a}=${goString(a)})`; break;
      case 'x': s = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex'); break;
      case 't': s = String(a); break;
      default: s = goString(a); if (verb === 's' && prec !== undefined) s = s.slice(0, Number(prec));
    }
    if (width !== undefined && s.length < Number(width)) {
      const padChar = flags.includes('0') && !flags.includes('-') ? '0' : ' ';
      s = flags.includes('-') ? s.padEnd(Number(width)) : s.padStart(Number(width), padChar);
    }
    return s;
  }) + (ai < args.length ? `%!(EXTRA ${args.slice(ai).map((x) => goString(x)).join(', ')})` : '');
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError('incompatible types for comparison');
}

function titleCase(s: string): string {
  // strings.Title: the first letter of each word upper-cased.
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

function defaultFuncs(nullText: (f: string | undefined) => string): Record<string, TemplateFunc> {
  return {
    json: toJson,
    join: (list: unknown, sep: string) => (Array.isArray(list) ? list.map((x) => goString(x, nullText)).join(sep) : goString(list, nullText)),
    split: (s: string, sep: string) => goString(s).split(sep),
    upper: (s: unknown) => goString(s, nullText).toUpperCase(),
    lower: (s: unknown) => goString(s, nullText).toLowerCase(),
    title: (s: unknown) => titleCase(goString(s, nullText)),
    pad: (s: unknown, before: number, after: number) => ' '.repeat(before) + goString(s, nullText) + ' '.repeat(after),
    truncate: (s: unknown, n: number) => { const cs = [...goString(s, nullText)]; return cs.length > n ? cs.slice(0, n).join('') : cs.join(''); },
    println: (...a: unknown[]) => `${a.map((x) => goString(x, nullText)).join(' ')}\n`,
    print: (...a: unknown[]) => sprint(a, nullText),
    printf: (f: string, ...a: unknown[]) => sprintf(f, a),
    len: (v: unknown) => {
      if (typeof v === 'string') return Buffer.byteLength(v);
      if (Array.isArray(v)) return v.length;
      if (v && typeof v === 'object') return Object.keys(v).length;
      throw new TemplateError(`len of ${v === null || v === undefined ? 'nil pointer' : `type ${typeof v}`}`);
    },
    index: (v: unknown, ...keys: unknown[]) => {
      let cur = v;
      for (const k of keys) {
        if (cur === null || cur === undefined || cur === MISSING) return undefined;
        if (Array.isArray(cur)) {
          if (typeof k !== 'number' || k < 0 || k >= cur.length) throw new TemplateError(`error calling index: index out of range: ${goString(k)}`);
          cur = cur[k];
        } else if (typeof cur === 'object') {
          const o = cur as Record<string, unknown>;
          cur = Object.prototype.hasOwnProperty.call(o, String(k)) ? o[String(k)] : undefined;
        } else if (typeof cur === 'string' && typeof k === 'number') {
          cur = Buffer.from(cur)[k];
        } else {
          throw new TemplateError(`error calling index: can't index item of type ${typeof cur}`);
        }
      }
      return cur;
    },
    slice: (v: unknown, ...idx: number[]) => {
      if (typeof v === 'string' || Array.isArray(v)) return v.slice(idx[0] ?? 0, idx[1]);
      throw new TemplateError(`error calling slice: can't slice item of type ${typeof v}`);
    },
    eq: (a: unknown, ...bs: unknown[]) => bs.some((b) => a === b),
    ne: (a: unknown, b: unknown) => a !== b,
    lt: (a: unknown, b: unknown) => compare(a, b) < 0,
    le: (a: unknown, b: unknown) => compare(a, b) <= 0,
    gt: (a: unknown, b: unknown) => compare(a, b) > 0,
    ge: (a: unknown, b: unknown) => compare(a, b) >= 0,
    not: (a: unknown) => !isTrue(a),
    // and/or are evaluated lazily by the executor; these cover the direct-call case.
    and: (...a: unknown[]) => { for (const x of a) if (!isTrue(x)) return x; return a[a.length - 1]; },
    or: (...a: unknown[]) => { for (const x of a) if (isTrue(x)) return x; return a[a.length - 1]; },
    urlquery: (...a: unknown[]) => encodeURIComponent(sprint(a, nullText)),
  };
}

// ---------------------------------------------------------------------------------------------
// Execution

class BreakSignal {}
class ContinueSignal {}

interface Scope { vars: Array<[string, unknown]> }

export class Template {
  readonly #nodes: Node[];
  readonly #funcs: Record<string, TemplateFunc>;
  readonly #nullText: (f: string | undefined) => string;

  readonly #rootType: string | undefined;
  #root: unknown;

  readonly #strictRoot: boolean;

  constructor(nodes: Node[], funcs: Record<string, TemplateFunc>, nullText: (f: string | undefined) => string, rootType?: string, strictRoot = false) {
    this.#strictRoot = strictRoot;
    this.#nodes = nodes;
    this.#funcs = funcs;
    this.#nullText = nullText;
    this.#rootType = rootType;
  }

  execute(data: unknown): string {
    this.#root = data;
    const out: string[] = [];
    const scope: Scope = { vars: [['$', data]] };
    this.#run(this.#nodes, data, scope, out);
    return out.join('');
  }

  #run(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
    const mark = scope.vars.length;
    try {
      for (const node of nodes) {
        switch (node.n) {
          case 'text': out.push(node.text); break;
          case 'print': {
            const { value, field } = this.#pipeline(node.pipe, dot, scope);
            if (node.pipe.decl.length === 0) out.push(goString(value, this.#nullText, field));
            break;
          }
          case 'if': case 'with': {
            const { value } = this.#pipeline(node.pipe, dot, scope);
            if (isTrue(value)) this.#run(node.then, node.n === 'with' ? value : dot, scope, out);
            else this.#run(node.else, dot, scope, out);
            break;
          }
          case 'range': this.#range(node, dot, scope, out); break;
          case 'break': throw new BreakSignal();
          case 'continue': throw new ContinueSignal();
        }
      }
    } finally {
      scope.vars.length = mark;
    }
  }

  #range(node: Extract<Node, { n: 'range' }>, dot: unknown, scope: Scope, out: string[]): void {
    const pipe = node.pipe;
    const { value } = this.#pipeline({ ...pipe, decl: [] }, dot, scope);
    let entries: Iterable<[unknown, unknown]>;
    let count: number;
    if (Array.isArray(value)) { entries = value.map((v, i) => [i, v]); count = value.length; }
    else if (value && typeof value === 'object') { const ks = Object.keys(value).sort(); entries = ks.map((k) => [k, (value as Record<string, unknown>)[k]]); count = ks.length; }
    else if (typeof value === 'number' && Number.isSafeInteger(value)) {
      // Counted as it goes (Go 1.22's range over an int): an array of that length may not exist.
      count = Math.max(0, value);
      entries = (function* () { for (let i = 0; i < count; i++) yield [i, i] as [number, number]; })();
    } else if (value === null || value === undefined || value === MISSING) { entries = []; count = 0; }
    else throw this.#execError(pipe, `range can't iterate over ${goString(value)}`);
    if (count === 0) { this.#run(node.else, dot, scope, out); return; }
    for (const [k, v] of entries) {
      const mark = scope.vars.length;
      if (pipe.decl.length === 1) scope.vars.push([pipe.decl[0], v]);
      else if (pipe.decl.length >= 2) { scope.vars.push([pipe.decl[0], k]); scope.vars.push([pipe.decl[1], v]); }
      try {
        this.#run(node.body, v, scope, out);
      } catch (e) {
        if (e instanceof BreakSignal) { scope.vars.length = mark; break; }
        if (!(e instanceof ContinueSignal)) throw e;
      }
      scope.vars.length = mark;
    }
  }

  #pipeline(pipe: Pipeline, dot: unknown, scope: Scope): { value: unknown; field?: string } {
    let value: unknown = MISSING;
    let field: string | undefined;
    let first = true;
    for (const cmd of pipe.cmds) {
      const r = this.#command(pipe, cmd, dot, scope, first ? MISSING : value, !first);
      value = r.value;
      field = r.field;
      first = false;
    }
    if (pipe.decl.length) {
      if (pipe.assign) {
        const name = pipe.decl[0];
        for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i][0] === name) { scope.vars[i][1] = value; return { value, field }; }
        throw this.#execError(pipe, `undefined variable: ${name}`);
      }
      scope.vars.push([pipe.decl[0], value]);
    }
    return { value, field };
  }

  #command(pipe: Pipeline, cmd: Command, dot: unknown, scope: Scope, final: unknown, hasFinal: boolean): { value: unknown; field?: string } {
    const [head, ...rest] = cmd.args;
    const argv = () => {
      const vals = rest.map((a) => this.#arg(pipe, a, dot, scope).value);
      if (hasFinal) vals.push(final === MISSING ? undefined : final);
      return vals;
    };
    if (head.k === 'func') {
      if (head.name === 'and' || head.name === 'or') {
        // Short-circuit as Go does since 1.18.
        let v: unknown;
        const all = [...rest];
        for (let i = 0; i < all.length + (hasFinal ? 1 : 0); i++) {
          v = i < all.length ? this.#arg(pipe, all[i], dot, scope).value : final;
          if (head.name === 'and' ? !isTrue(v) : isTrue(v)) return { value: v };
        }
        return { value: v };
      }
      return { value: this.#call(pipe, head.name, argv) };
    }
    if (head.k === 'field' || head.k === 'var' || head.k === 'sub') {
      const r = this.#arg(pipe, head, dot, scope, rest.length || hasFinal ? argv : undefined);
      return r;
    }
    if (rest.length || hasFinal) throw this.#execError(pipe, `can't give argument to non-function ${goString(this.#arg(pipe, head, dot, scope).value)}`);
    return this.#arg(pipe, head, dot, scope);
  }

  /** Calls a template function; whatever it throws becomes Go's `error calling <name>: …`. */
  #call(pipe: Pipeline, name: string, args: () => unknown[]): unknown {
    try {
      return this.#funcs[name](...args());
    } catch (e) {
      if (e instanceof TemplateError && e.message.startsWith('template:')) throw e;
      const msg = (e as Error).message;
      throw this.#execError(pipe, msg.startsWith('error calling') ? msg : `error calling ${name}: ${msg}`);
    }
  }

  /** Evaluates one operand; `callArgs` supplies arguments to a method at the end of a chain. */
  #arg(pipe: Pipeline, a: Arg, dot: unknown, scope: Scope, callArgs?: () => unknown[]): { value: unknown; field?: string } {
    switch (a.k) {
      case 'lit': return { value: a.v };
      case 'dot': return { value: dot };
      // A function as an operand is called without arguments (Go's evalArg), its failure wrapped the same way.
      case 'func': return { value: this.#call(pipe, a.name, () => []) };
      case 'field': return this.#chain(pipe, dot, a.names, callArgs);
      case 'var': {
        let found: unknown = MISSING;
        let ok = false;
        for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i][0] === a.name) { found = scope.vars[i][1]; ok = true; break; }
        if (!ok) throw new TemplateError(`template: :${pipe.line}: undefined variable "${a.name}"`);
        return this.#chain(pipe, found, a.names, callArgs);
      }
      case 'sub': {
        const { value } = this.#pipeline(a.pipe, dot, scope);
        return this.#chain(pipe, value, a.names, callArgs);
      }
    }
  }

  #chain(pipe: Pipeline, start: unknown, names: string[], callArgs?: () => unknown[]): { value: unknown; field?: string } {
    let cur = start;
    let field: string | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const last = i === names.length - 1;
      if (cur === null || cur === undefined || cur === MISSING) {
        if (cur === MISSING || cur === undefined) return { value: MISSING, field: name };
        throw this.#execError(pipe, `nil pointer evaluating interface {}.${name}`, names.slice(0, i + 1));
      }
      if (typeof cur !== 'object') throw this.#execError(pipe, `can't evaluate field ${name} in type ${goType(cur)}`, names.slice(0, i + 1));
      const o = cur as Record<string, unknown>;
      // The data's own keys (and what a class instance defines), never what every object or
      // array inherits: {{.constructor}} or {{.Names.push}} name no field (as in Go, where a
      // map has only its keys), and calling those (__defineGetter__) threw a TypeError.
      const proto = Object.getPrototypeOf(o);
      const found = Object.hasOwn(o, name) || (proto !== Object.prototype && proto !== Array.prototype && proto !== null && name in o);
      const v = found ? o[name] : undefined;
      if (typeof v === 'function') {
        cur = last && callArgs ? v.call(o, ...callArgs()) : v.call(o);
        if (last) return { value: cur, field: name };
      } else if (found) {
        cur = v;
      } else {
        if (this.#rootType && o === this.#root) throw this.#execError(pipe, `can't evaluate field ${name} in type ${this.#rootType}`, names.slice(0, i + 1));
        if (this.#strictRoot && o === this.#root) throw this.#execError(pipe, `map has no entry for key "${name}"`, names.slice(0, i + 1));
        cur = MISSING;
      }
      field = name;
    }
    if (callArgs && names.length) throw this.#execError(pipe, `${names[names.length - 1]} has arguments but cannot be invoked as function`);
    return { value: cur, field };
  }

  #execError(pipe: Pipeline, msg: string, at?: string[]): TemplateError {
    const where = at ? `<.${at.join('.')}>` : `<${pipe.src.trim()}>`;
    return new TemplateError(`template: :${pipe.line}:${pipe.col + 1}: executing "" at ${where}: ${msg}`);
  }
}

function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'interface {}';
}

/** Parses a template; throws TemplateError with Go's wording on bad syntax. */
export function parseTemplate(src: string, opts: TemplateOptions = {}): Template {
  const nullText = opts.nullText ?? (() => '<nil>');
  const funcs = { ...defaultFuncs(nullText), ...opts.funcs };
  let nodes: Node[];
  try {
    nodes = new Parser(lex(src), funcs).parse();
  } catch (e) {
    if (e instanceof TemplateError) e.phase = 'parse';
    throw e;
  }
  return new Template(nodes, funcs, nullText, opts.rootType, opts.strictRoot);
}
