// Wildcard patterns matched in linear time. Docker matches `.dockerignore` patterns and the
// shell's `${VAR#pattern}` family with Go's regexp (RE2), whose running time is linear whatever
// the pattern; the same patterns as JavaScript regular expressions backtrack, and a pattern with
// many stars against a long name (`*a*a*a*a*a*a*b` against 200 a's) never returns, taking the
// daemon with it. So the translations build a Glob, a sequence of steps over code points, and
// this file runs it as a set of states (Thompson's construction): O(length × steps).
//
//   const g = new Glob([star((c) => c !== "/"), lit("."), lit("g")]);   // `*.g`, `*` within a name
//   g.matches('a.g') → true      g.ends([...'a.gz'], 0) → [3]      g.search([...'xa.g'], 0) → [0, 4]

/**
 * One step: one character that passes `test`; any number of them; or `dirs`, which is nothing,
 * or any text (no line terminators) ending in `/` (what `**` followed by more pattern means).
 */
export type GlobStep =
  | { kind: 'one'; test: (c: string) => boolean }
  | { kind: 'star'; test: (c: string) => boolean }
  | { kind: 'dirs' };

export const one = (test: (c: string) => boolean): GlobStep => ({ kind: 'one', test });
export const star = (test: (c: string) => boolean): GlobStep => ({ kind: 'star', test });
export const lit = (ch: string): GlobStep => ({ kind: 'one', test: (c) => c === ch });
export const DIRS: GlobStep = { kind: 'dirs' };

/** What `.` matches in a JavaScript regular expression: anything but a line terminator. */
export const dot = (c: string): boolean => c !== '\n' && c !== '\r' && c !== '\u2028' && c !== '\u2029';

export class Glob {
  readonly #steps: GlobStep[];

  constructor(steps: GlobStep[]) {
    this.#steps = steps;
  }

  /** Whether the whole of `s` matches. */
  matches(s: string): boolean {
    const cps = Array.from(s);
    const ends = this.ends(cps, 0);
    return ends.length > 0 && ends[ends.length - 1] === cps.length;
  }

  /** The ends (indexes into `cps`, ascending) of every match that starts at `from`. */
  ends(cps: readonly string[], from: number): number[] {
    const out: number[] = [];
    let cur = new Map<number, number>();
    this.#add(cur, 0, from);
    for (let pos = from; ; pos++) {
      if (cur.has(this.#steps.length)) out.push(pos);
      if (pos === cps.length || cur.size === 0) return out;
      cur = this.#advance(cur, cps[pos]);
    }
  }

  /**
   * The leftmost match at or after `from`, and of those starting there the longest, as
   * [start, end); undefined when there is none. (For these patterns that is the match a
   * backtracking engine finds first with greedy stars.)
   */
  search(cps: readonly string[], from: number): [number, number] | undefined {
    let best: [number, number] | undefined;
    let cur = new Map<number, number>();
    for (let pos = from; ; pos++) {
      // A new attempt starting here; an earlier start already in a state keeps it.
      if (!best) this.#add(cur, 0, pos);
      const start = cur.get(this.#steps.length);
      if (start !== undefined && (!best || start < best[0] || (start === best[0] && pos > best[1]))) best = [start, pos];
      if (pos === cps.length) return best;
      if (best) for (const [s, st] of cur) if (st > best[0]) cur.delete(s);
      if (best && cur.size === 0) return best;
      cur = this.#advance(cur, cps[pos]);
    }
  }

  // States: i in [0, n] is "before step i" (n: matched); n + 1 + i is "inside the `.*` of a
  // `dirs` step i". The map takes each state to the earliest start that reached it.

  #add(set: Map<number, number>, state: number, start: number): void {
    const n = this.#steps.length;
    for (let s = state; ; s++) {
      const had = set.get(s);
      if (had !== undefined && had <= start) return;
      set.set(s, start);
      if (s >= n) return;
      const k = this.#steps[s].kind;
      if (k !== 'star' && k !== 'dirs') return; // only these can match nothing
    }
  }

  #advance(cur: Map<number, number>, c: string): Map<number, number> {
    const n = this.#steps.length;
    const next = new Map<number, number>();
    // Earliest starts first, so a state keeps the leftmost start that reaches it.
    const states = [...cur].sort((a, b) => a[1] - b[1]);
    for (const [s, start] of states) {
      if (s === n) continue;
      const i = s > n ? s - n - 1 : s;
      const step = this.#steps[i];
      if (step.kind === 'one') {
        if (step.test(c)) this.#add(next, i + 1, start);
      } else if (step.kind === 'star') {
        if (step.test(c)) this.#add(next, i, start);
      } else {
        if (dot(c)) this.#add(next, n + 1 + i, start);
        if (c === '/') this.#add(next, i + 1, start);
      }
    }
    return next;
  }
}
