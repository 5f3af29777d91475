// .dockerignore: reading the file and matching paths against it, with the rules of docker's
// moby/patternmatcher (`ignorefile.ReadAll`, `New`, `MatchesOrParentMatches`), so that the CLI
// (which leaves ignored files out of the context tar) and the daemon (which removes them from
// contexts sent by clients that did not) agree with each other and with docker.
//
//   const m = new PatternMatcher(parseDockerignore('*.log\nnode_modules\n!keep.log\n'));
//   m.matches('a.log') → true     m.matches('keep.log') → false
//   m.matches('node_modules/x/y.js') → true (a parent directory matches)
//
// Pattern syntax is Go's filepath.Match (`*`, `?`, `[a-z]`, `[^a-z]`, `\` escapes) plus `**`,
// which matches any number of directories (zero included). A pattern is checked against the
// whole relative path and against each of its parent directories; the last pattern that matches
// decides, so `!pattern` re-includes what earlier patterns excluded.
//
// As in docker, a class is negated by `^` only: `[!a]` is the class of '!' and 'a'.
import { invalid } from '../../common/errors.ts';
import { cleanPath } from '../../common/go-path.ts';
import { DIRS, Glob, dot, lit, one, star, type GlobStep } from '../../common/glob.ts';

/**
 * ignorefile.ReadAll: one pattern per line; a line *starting* with `#` is a comment (an indented
 * `#` is a pattern), blank lines are skipped, whitespace is trimmed, a leading `!` marks an
 * exception, each pattern is cleaned (`./a//b/` → `a/b`) and a leading `/` dropped (patterns are
 * relative to the context root either way). A UTF-8 BOM on the first line is ignored.
 */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines[0]?.startsWith('\uFEFF')) lines[0] = lines[0].slice(1);
  for (const raw of lines) {
    if (raw.startsWith('#')) continue;
    let p = raw.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'glob';

export interface IgnorePattern {
  /** The cleaned pattern without its `!`. */
  readonly pattern: string;
  /** A `!` pattern: re-includes what it matches. */
  readonly exclusion: boolean;
}

interface Compiled extends IgnorePattern {
  type: MatchType;
  glob?: Glob;
}

/**
 * Whether `p` (as code points) is well-formed for Go's filepath.Match: `\` must escape something,
 * and a class must be closed, non-empty, with `-` and `]` escaped where they are not syntax, and
 * its ranges in order.
 */
function validGlob(p: string[]): boolean {
  let i = 0;
  // One class member: a character other than '-' and ']', or an escaped one; more must follow.
  const member = (): boolean => {
    if (i >= p.length || p[i] === '-' || p[i] === ']') return false;
    if (p[i] === '\\') i++;
    i++;
    return i < p.length;
  };
  while (i < p.length) {
    const c = p[i++];
    if (c === '\\') {
      if (i >= p.length) return false;
      i++;
    } else if (c === '[') {
      if (p[i] === '^') i++;
      for (let n = 0; ; n++) {
        if (i < p.length && p[i] === ']' && n > 0) { i++; break; }
        const lo = i;
        if (!member()) return false;
        if (p[i] === '-') {
          i++;
          const hi = i;
          if (!member()) return false;
          // Go's regexp refuses a reversed range ("invalid character class range"), which
          // patternmatcher reports as a syntax error.
          if (classChar(p, lo) > classChar(p, hi)) return false;
        }
      }
    }
  }
  return true;
}

/** The code point of the class member at `i` (after its escape, if any). */
const classChar = (p: string[], i: number): number => p[p[i] === '\\' ? i + 1 : i].codePointAt(0)!;

/** A (validated) class starting after its `[`: its test of one character, and where the pattern goes on. */
function classTest(p: string[], i: number): { test: (c: string) => boolean; next: number } {
  const negate = p[i] === '^';
  if (negate) i++;
  const ranges: Array<[number, number]> = [];
  const member = (): number => {
    if (p[i] === '\\') i++;
    return p[i++].codePointAt(0)!;
  };
  for (let n = 0; !(p[i] === ']' && n > 0); n++) {
    const lo = member();
    ranges.push([lo, p[i] === '-' ? (i++, member()) : lo]);
  }
  const test = (c: string) => {
    const x = c.codePointAt(0)!;
    return ranges.some(([lo, hi]) => lo <= x && x <= hi) !== negate;
  };
  return { test, next: i + 1 };
}

const notSlash = (c: string) => c !== '/';

/**
 * Compiles one cleaned pattern the way patternmatcher does, including its shortcuts (which are
 * not mere optimisations: `**foo` is a suffix test, so it matches `xfoo`):
 *   exact    no special character at all
 *   prefix   `abc**`: the path starts with `abc`
 *   suffix   `**abc`, `**\/abc`: the path ends with `abc` (or `**\/abc` is exactly `abc`)
 *   glob     anything else: `*` and `?` stay within one path component, `**` spans components.
 * patternmatcher turns the last kind into a Go regular expression; it is a Glob here, which like
 * Go's regexp runs in linear time (a backtracking regular expression with many stars never
 * returns on a long name: see src/common/glob.ts).
 */
function compile(pattern: string, exclusion: boolean): Compiled {
  const p = Array.from(pattern);
  const steps: GlobStep[] = [];
  let type: MatchType = 'exact';
  for (let i = 0, iter = 0; i < p.length; iter++) {
    const c = p[i++];
    if (c === '*') {
      if (p[i] === '*') {
        i++;
        if (p[i] === '/') i++; // `**/` is `**`
        if (i >= p.length) {
          // A trailing `**` accepts everything below, as in .gitignore.
          if (type === 'exact') type = 'prefix';
          else { steps.push(star(dot)); type = 'glob'; }
        } else {
          steps.push(DIRS);
          type = 'glob';
        }
        if (iter === 0) type = 'suffix';
      } else {
        steps.push(star(notSlash));
        type = 'glob';
      }
    } else if (c === '?') {
      steps.push(one(notSlash));
      type = 'glob';
    } else if (c === '\\') {
      // Validation guarantees something follows.
      steps.push(lit(p[i++]));
      type = 'glob';
    } else if (c === '[') {
      const cls = classTest(p, i);
      steps.push(one(cls.test));
      i = cls.next;
      type = 'glob';
    } else if (c === ']') {
      steps.push(lit(']'));
      type = 'glob';
    } else {
      steps.push(lit(c));
    }
  }
  return { pattern, exclusion, type, glob: type === 'glob' ? new Glob(steps) : undefined };
}

function matchOne(p: Compiled, path: string): boolean {
  switch (p.type) {
    case 'exact': return path === p.pattern;
    case 'prefix': return path.startsWith(p.pattern.slice(0, -2));
    case 'suffix': {
      const suffix = p.pattern.slice(2);
      return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    case 'glob': return p.glob!.matches(path);
  }
}

export class PatternMatcher {
  readonly #patterns: Compiled[] = [];
  readonly #exclusions: boolean = false;

  /**
   * Patterns as parseDockerignore returns them. Throws InvalidParameter with docker's texts for
   * a lone `!` (`illegal exclusion pattern: "!"`) and malformed globs (`syntax error in pattern`).
   */
  constructor(patterns: string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw invalid('illegal exclusion pattern: "!"');
        exclusion = true;
        this.#exclusions = true;
        p = p.slice(1);
      }
      if (!validGlob(Array.from(p))) throw invalid('syntax error in pattern');
      this.#patterns.push(compile(p, exclusion));
    }
  }

  /**
   * Whether `relPath` (slash-separated, relative to the context root) is excluded: the last
   * pattern matching it or one of its parent directories decides.
   */
  matches(relPath: string): boolean {
    const file = cleanPath(relPath);
    const slash = file.lastIndexOf('/');
    const parents = slash < 0 ? [] : file.slice(0, slash).split('/');
    let matched = false;
    for (const p of this.#patterns) {
      // An inclusion cannot change an already excluded path, nor an exception an included one.
      if (p.exclusion !== matched) continue;
      let m = matchOne(p, file);
      for (let i = 1; !m && i <= parents.length; i++) m = matchOne(p, parents.slice(0, i).join('/'));
      if (m) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether any pattern is an exception (`!…`). */
  exclusions(): boolean {
    return this.#exclusions;
  }

  patterns(): IgnorePattern[] {
    return this.#patterns.map(({ pattern, exclusion }) => ({ pattern, exclusion }));
  }

  /**
   * Whether an excluded directory must still be walked because an exception may re-include
   * something inside it. Docker's rule (archive.TarWithOptions), kept as is for compatibility:
   * only an exception whose text starts with `<dir>/` counts, so `!dir/keep` rescues `dir/keep`
   * but `!**\/keep` does not reach into an excluded `dir`.
   */
  mayReinclude(dir: string): boolean {
    if (!this.#exclusions) return false;
    const prefix = `${cleanPath(dir)}/`;
    return this.#patterns.some((p) => p.exclusion && `${p.pattern}/`.startsWith(prefix));
  }
}

/**
 * The ignore file that applies to a build: `<Dockerfile path>.dockerignore` beside the Dockerfile
 * (BuildKit's Dockerfile-specific ignore file) takes precedence over `.dockerignore` at the
 * context root. `read` returns a file's text, or undefined when there is none. Paths are joined
 * with `/`; pass `contextRoot` '' when `read` takes context-relative names (the daemon).
 *
 *   locateDockerignore(read, 'build/app.Dockerfile') → tries 'build/app.Dockerfile.dockerignore', then '.dockerignore'
 */
export function locateDockerignore(
  read: (path: string) => string | undefined, dockerfilePath: string | undefined, contextRoot = '',
): { path: string; text: string } | undefined {
  const candidates: string[] = [];
  if (dockerfilePath && dockerfilePath !== '-') candidates.push(`${dockerfilePath}.dockerignore`);
  candidates.push(contextRoot ? `${contextRoot.replace(/\/+$/, '')}/.dockerignore` : '.dockerignore');
  for (const path of candidates) {
    const text = read(path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

/** The patterns of the ignore file that applies (see locateDockerignore); [] when there is none. */
export function dockerignoreFor(read: (path: string) => string | undefined, dockerfilePath: string | undefined, contextRoot = ''): string[] {
  const found = locateDockerignore(read, dockerfilePath, contextRoot);
  return found ? parseDockerignore(found.text) : [];
}

/**
 * docker's TrimBuildFilesFromExcludes: the daemon needs `.dockerignore` and the Dockerfile even
 * when the patterns exclude them, so exceptions for them are added (not for a Dockerfile that
 * comes from stdin). The Dockerfile-specific ignore file is kept too, so the daemon applies the
 * same rules as the client. Malformed patterns are returned unchanged (the matcher reports them).
 */
export function trimBuildFilesFromExcludes(excludes: string[], dockerfile: string | undefined, dockerfileFromStdin = false): string[] {
  let m: PatternMatcher;
  try {
    m = new PatternMatcher(excludes);
  } catch {
    return excludes;
  }
  const out = [...excludes];
  const keep = ['.dockerignore'];
  if (dockerfile && dockerfile !== '-' && !dockerfileFromStdin) {
    const df = dockerfile.replace(/\\/g, '/');
    keep.push(df, `${df}.dockerignore`);
  }
  for (const k of keep) if (m.matches(k)) out.push(`!${k}`);
  return out;
}

/**
 * The matcher a build context is tarred with (archive/context-tar.ts): `excludes` (parsed
 * .dockerignore patterns) with the build files kept (trimBuildFilesFromExcludes; `dockerfile`
 * undefined: the Dockerfile does not come from the context). Undefined when nothing is excluded.
 * Bad patterns throw here, synchronously (`syntax error in pattern`).
 */
export function contextExcludes(excludes: string[], dockerfile: string | undefined): PatternMatcher | undefined {
  const trimmed = trimBuildFilesFromExcludes(excludes, dockerfile, dockerfile === undefined);
  return trimmed.length ? new PatternMatcher(trimmed) : undefined;
}
