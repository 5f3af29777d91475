// The Dockerfile's syntax tree and typed commands: the contract between the parser
// (parser.ts, commands.ts, shell-lex.ts) and the build executor (../builder.ts).
//
// Worked example: `COPY --from=build --chown=app /out/ ./bin/` at line 7 parses to the
// Instruction { cmd: 'copy', line: 7, flags: ['--from=build', '--chown=app'], rest: '/out/ ./bin/' },
// then parseCommand() gives { kind: 'copy', sources: ['/out/'], dest: './bin/', from: 'build',
// chown: 'app', ... } with words still unexpanded (quotes kept), and at build time
// expandCommand(cmd, env) substitutes the ARG/ENV values in scope and removes the quotes in the
// instructions Docker substitutes in.

export interface Heredoc {
  /** The delimiter word (`EOF`). */
  name: string;
  /** The body, every line ending in "\n" (the closing delimiter line excluded). */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"` / `<<'EOF'`): no variable expansion. */
  expand: boolean;
  /** `<<-EOF`: leading tabs are stripped from the body lines (already done in `content`). */
  chomp: boolean;
}

export interface Instruction {
  /** Lower-case keyword: 'from', 'run', 'copy', ... (unknown keywords are a parse error). */
  cmd: string;
  /** The instruction as written, continuation lines joined with the escape+newline removed
   *  (what `Step n/m : <original>` prints, keyword case kept). */
  original: string;
  /** 1-based first and last line in the file. */
  line: number;
  endLine: number;
  /** Leading `--name=value` / `--name` flags in order, as Docker extracts them: quotes and
   *  escapes removed (`--chown="a b"` → `--chown=a b`); a bare `--` ends them. */
  flags: string[];
  /** The argument text after the flags (continuations joined), trimmed. */
  rest: string;
  /** Set when `rest` is a valid JSON array of strings (exec form), for the instructions that
   *  accept one (RUN CMD ENTRYPOINT SHELL COPY ADD VOLUME; HEALTHCHECK: the part after the type). */
  json?: string[];
  heredocs: Heredoc[];
  /** The file's escape character when it isn't the default backslash (`# escape=` + backtick);
   *  parseCommand splits ENV, LABEL and ARG words with it. Absent = backslash. */
  escape?: '\\' | '`';
}

export interface Dockerfile {
  /** Parser directives found at the top (`syntax`, `escape`, `check`), lower-case keys. */
  directives: Record<string, string>;
  escape: '\\' | '`';
  instructions: Instruction[];
  /** Non-fatal notices (empty continuation lines, MAINTAINER deprecated, ...). */
  warnings: string[];
}

export interface HealthcheckCmd {
  kind: 'healthcheck';
  /** ['NONE'] for HEALTHCHECK NONE; ['CMD', ...args] or ['CMD-SHELL', cmdline]. */
  test: string[];
  /** Durations in nanoseconds (Docker's HealthConfig units); undefined = not given. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface CopyCmd {
  kind: 'copy' | 'add';
  /** Sources as written (raw words); for heredoc sources, the heredoc's name prefixed by `<<`. */
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** ADD --checksum, --keep-git-dir: accepted and recorded. */
  checksum?: string;
  /** ADD --keep-git-dir[=bool], when given. */
  keepGitDir?: boolean;
  heredocs: Heredoc[];
}

export type Command =
  | { kind: 'from'; image: string; stage?: string; platform?: string }
  | { kind: 'run'; /** Exec form: the array; shell form: [cmdline]. */ args: string[]; shell: boolean; network?: string; heredocs: Heredoc[] }
  | { kind: 'cmd' | 'entrypoint'; args: string[]; shell: boolean }
  | { kind: 'env' | 'label'; pairs: [string, string][] }
  | { kind: 'arg'; args: { name: string; value?: string }[] }
  | { kind: 'expose'; ports: string[] }
  | CopyCmd
  | { kind: 'workdir'; path: string }
  | { kind: 'user'; user: string }
  | { kind: 'volume'; paths: string[] }
  | { kind: 'stopsignal'; signal: string }
  | HealthcheckCmd
  | { kind: 'shell'; shell: string[] }
  | { kind: 'onbuild'; expression: string }
  | { kind: 'maintainer'; name: string };

/** A parse or check failure with Docker's text and, where known, the 1-based line. */
export class DockerfileError extends Error {
  readonly line?: number;
  constructor(message: string, line?: number) {
    super(message);
    this.name = 'DockerfileError';
    this.line = line;
  }
}
