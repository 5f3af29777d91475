// Dockerfile text → Instruction list, following BuildKit's frontend/dockerfile/parser (which the
// classic builder shares): parser directives, comments, line continuations, leading `--flags`,
// JSON (exec form) arguments and heredocs. Instruction arguments are typed later, in commands.ts.
//
// Worked example (escape `\`):
//
//   1  # syntax=docker/dockerfile:1
//   2  FROM alpine
//   3  RUN --network=none echo a && \
//   4      # a comment inside the continuation is dropped
//   5      echo b
//   6  COPY <<-EOF /etc/motd
//   7  	hello
//   8  	EOF
//
// gives directives { syntax: 'docker/dockerfile:1' }, then
//   { cmd: 'from', line: 2, rest: 'alpine' },
//   { cmd: 'run', line: 3, endLine: 5, flags: ['--network=none'], rest: 'echo a &&     echo b',
//     original: 'RUN --network=none echo a &&     echo b' },
//   { cmd: 'copy', line: 6, endLine: 8, rest: '<<-EOF /etc/motd',
//     heredocs: [{ name: 'EOF', content: 'hello\n', expand: true, chomp: true }] }.
import { DockerfileError, type Dockerfile, type Heredoc, type Instruction } from './ast.ts';
import { ShellLex, isGoSpace } from './shell-lex.ts';

/** Every instruction keyword Docker knows, lower-case. */
export const INSTRUCTIONS: readonly string[] = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label',
  'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
];
const KNOWN = new Set(INSTRUCTIONS);
/** Instructions whose arguments may be a JSON array (exec form / list form). */
const JSON_ARGS = new Set(['run', 'cmd', 'entrypoint', 'shell', 'copy', 'add', 'volume']);
/** Instructions that take heredocs (also as an ONBUILD trigger). */
const HEREDOC_ARGS = new Set(['run', 'copy', 'add']);
const DIRECTIVES = new Set(['syntax', 'escape', 'check']);

export function parseDockerfile(text: string): Dockerfile {
  const empty = text.length === 0;
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = splitLines(text);
  const directives: Record<string, string> = {};
  let escape: '\\' | '`' = '\\';
  let continuation = continuationRegex(escape);
  let directivesDone = false;
  const instructions: Instruction[] = [];
  const warnings: string[] = [];

  // Parser directives are `# key=value` comments before anything else: the first line that
  // isn't one (blank line, other comment, instruction) ends them for good.
  const directive = (token: string, lineNo: number) => {
    if (directivesDone) return;
    const m = token.startsWith('#') ? /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/.exec(trimLeftSpace(token.slice(1))) : null;
    const key = m?.[1].toLowerCase();
    if (!m || !key || !DIRECTIVES.has(key)) {
      directivesDone = true;
      return;
    }
    if (key in directives) throw new DockerfileError(`only one ${key} parser directive can be used`, lineNo);
    const value = m[2];
    if (key === 'escape') {
      if (value !== '`' && value !== '\\') throw new DockerfileError(`invalid escape token '${value}' does not match \` or \\`, lineNo);
      escape = value;
      continuation = continuationRegex(escape);
    }
    directives[key] = value;
  };
  // One line without its newline; comments become empty (they end nothing, they just vanish).
  const processLine = (raw: string, lineNo: number, stripLeft: boolean) => {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeftSpace(token);
    directive(token, lineNo);
    return isComment(token) ? '' : token;
  };
  // The escape at the end of a line (trailing blanks allowed) continues the instruction.
  const trimContinuation = (s: string): [string, boolean] =>
    continuation.test(s) ? [s.replace(continuation, '$1'), false] : [s, true];

  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let [part, isEnd] = trimContinuation(processLine(lines[i], startLine, true));
    i++;
    if (isEnd && part === '') continue;
    let joined = part;
    let emptyContinuation = false;
    while (!isEnd && i < lines.length) {
      const raw = lines[i];
      const token = processLine(raw, i + 1, false);
      i++;
      if (isComment(raw)) continue;
      if (trimLeftSpace(token) === '') {
        emptyContinuation = true;
        continue;
      }
      [part, isEnd] = trimContinuation(token);
      joined += part;
    }
    if (emptyContinuation) warnings.push(`[WARNING]: Empty continuation line found in: ${joined}`);

    const { keyword, flags, rest } = splitCommand(joined, escape);
    const cmd = keyword.toLowerCase();
    if (!KNOWN.has(cmd)) {
      const hint = suggest(keyword, INSTRUCTIONS.map((n) => n.toUpperCase()), false);
      throw new DockerfileError(`dockerfile parse error on line ${startLine}: unknown instruction: ${keyword}${hint ? ` (did you mean ${hint}?)` : ''}`, startLine);
    }
    const json = jsonFor(cmd, rest, escape, startLine);

    // Heredoc bodies follow the instruction's (last) line, one after the other, each up to its
    // delimiter; JSON-form arguments never take heredocs.
    const heredocs: Heredoc[] = [];
    if (takesHeredocs(cmd, rest, json, escape, startLine) && joined.includes('<<')) {
      for (const h of heredocsFromLine(joined, startLine)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const raw = lines[i];
          i++;
          let candidate = trimNewline(raw);
          if (h.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          content += raw;
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', startLine);
        heredocs.push({ ...h, content: h.chomp ? content.replace(/^\t+/gm, '') : content });
      }
    }

    const inst: Instruction = { cmd, original: goTrimSpace(joined), line: startLine, endLine: i, flags, rest, heredocs };
    if (json !== undefined) inst.json = json;
    if (escape !== '\\') inst.escape = escape;
    instructions.push(inst);
  }
  if (warnings.length) warnings.push('[WARNING]: Empty continuation lines will become errors in a future release.');
  if (instructions.length === 0 && !empty) throw new DockerfileError('file with no instructions', lines.length);
  return { directives, escape, instructions, warnings };
}

/**
 * The heredoc a word opens, if it is one: `<<EOF`, `<<-EOF` (chomp), `<<"EOF"` / `<<'EOF'` /
 * `<<E"O"F` (any quoting: no expansion), `2<<EOF`; the content is left empty.
 */
export function parseHeredocWord(word: string): Heredoc | undefined {
  const m = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/.exec(word);
  if (!m || m[3] === '') return undefined;
  const plain = new ShellLex('\\', { skipUnsetEnv: true }).processWords(m[3], {});
  if (plain.length !== 1) return undefined;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(m[3], {});
  if (raw.length !== plain.length) throw new DockerfileError(`internal lexing of heredoc produced inconsistent results: ${m[3]}`);
  const quotes = (s: string) => s.replace(/[^'"]/g, '').length;
  return { name: plain[0], content: '', expand: quotes(plain[0]) === quotes(raw[0]), chomp: m[2] === '-' };
}

/**
 * A JSON array of strings → the array; anything else that isn't JSON → undefined (shell form);
 * a JSON array holding a non-string is Docker's parse error.
 */
export function parseJsonArray(rest: string, line?: number): string[] | undefined {
  const s = trimLeftSpace(rest);
  if (!s.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) {
    throw new DockerfileError('when using JSON array syntax, arrays must be comprised of strings only', line);
  }
  return v as string[];
}

/** HEALTHCHECK's first word (the type) and what follows it. */
export function splitHealthcheck(rest: string): { type: string; command: string } {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next])) next++;
  return { type: rest.slice(0, sep), command: rest.slice(next) };
}

/**
 * Splits an instruction line into its keyword, its leading `--flags` and the rest, like Docker:
 * flags end at the first word not starting with `--` (or at a bare `--`), and lose their
 * quotes and escapes (`--chown="a b"` → `--chown=a b`).
 */
export function splitCommand(line: string, escape: '\\' | '`' = '\\'): { keyword: string; flags: string[]; rest: string } {
  const trimmed = goTrimSpace(line);
  const m = /[\t\v\f\r ]+/.exec(trimmed);
  if (!m) return { keyword: trimmed, flags: [], rest: '' };
  const { rest, flags } = extractFlags(trimmed.slice(m.index + m[0].length), escape);
  return { keyword: trimmed.slice(0, m.index), flags, rest: goTrimSpace(rest) };
}

/**
 * The closest name to `val` among `options` within two edits, as BuildKit suggests for typos
 * (an exact match suggests nothing). Case-insensitive matches come back in `val`'s case.
 */
export function suggest(val: string, options: readonly string[], caseSensitive: boolean): string | undefined {
  const v = caseSensitive ? val : val.toLowerCase();
  let match: string | undefined;
  let min = 3;
  for (let opt of options) {
    if (!caseSensitive) opt = opt.toLowerCase();
    if (opt === v) return undefined;
    const d = levenshtein(v, opt);
    if (d < min) {
      min = d;
      match = caseSensitive ? opt : matchCase(opt, val);
    }
  }
  return match;
}

function matchCase(opt: string, orig: string): string {
  if (orig === orig.toLowerCase()) return opt.toLowerCase();
  if (orig === orig.toUpperCase()) return opt.toUpperCase();
  return opt;
}

function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length];
}

function jsonFor(cmd: string, rest: string, escape: '\\' | '`', line: number): string[] | undefined {
  if (JSON_ARGS.has(cmd)) return parseJsonArray(rest, line);
  if (cmd === 'healthcheck') return parseJsonArray(splitHealthcheck(rest).command, line);
  if (cmd === 'onbuild') {
    // The trigger is parsed like an instruction of its own: its JSON must be valid too.
    const sub = splitCommand(rest, escape);
    jsonFor(sub.keyword.toLowerCase(), sub.rest, escape, line);
  }
  return undefined;
}

function takesHeredocs(cmd: string, rest: string, json: string[] | undefined, escape: '\\' | '`', line: number): boolean {
  if (cmd === 'onbuild') {
    const sub = splitCommand(rest, escape);
    const subCmd = sub.keyword.toLowerCase();
    return HEREDOC_ARGS.has(subCmd) && (!JSON_ARGS.has(subCmd) || parseJsonArray(sub.rest, line) === undefined);
  }
  return HEREDOC_ARGS.has(cmd) && json === undefined;
}

// The heredoc words of a line, found by lexing it with quotes and escapes kept; a line that
// doesn't lex (an unbalanced quote) has none.
function heredocsFromLine(line: string, lineNo: number): Heredoc[] {
  let words: string[];
  try {
    words = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).processWords(line, {});
  } catch {
    return [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    try {
      const h = parseHeredocWord(w);
      if (h) docs.push(h);
    } catch (e) {
      if (e instanceof DockerfileError) throw new DockerfileError(e.message, lineNo);
      throw e;
    }
  }
  return docs;
}

function extractFlags(line: string, escape: string): { rest: string; flags: string[] } {
  const SPACES = 0;
  const WORD = 1;
  const QUOTE = 2;
  const flags: string[] = [];
  let phase = SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = line[pos] ?? '';
    if (phase === SPACES) {
      if (pos === line.length) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = WORD;
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word !== '')) flags.push(word);
      break;
    }
    if (phase === WORD) {
      if (isGoSpace(ch)) {
        phase = SPACES;
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOK || word !== '') flags.push(word);
        word = '';
        blankOK = false;
      } else if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = QUOTE;
      } else if (ch === escape) {
        if (pos + 1 < line.length) word += line[++pos];
      } else word += ch;
      continue;
    }
    if (ch === quote) phase = WORD;
    else if (ch === escape) {
      if (pos + 1 === line.length) phase = WORD;
      else word += line[++pos];
    } else word += ch;
  }
  return { rest: '', flags };
}

function continuationRegex(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : '`';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** Lines with their line endings (Go's bufio scanner with the newline kept). */
function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    out.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '');

function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isGoSpace(s[i])) i++;
  return s.slice(i);
}

function goTrimSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isGoSpace(s[end - 1])) end--;
  return trimLeftSpace(s.slice(0, end));
}

const isComment = (s: string) => trimLeftSpace(s).startsWith('#');
