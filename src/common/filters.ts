// The `filters` query parameter of the Docker API (list, prune, events), with the semantics of
// moby's api/types/filters package, so that `docker ps --filter …` selects what it selects on
// Docker. The CLI also uses this class to build the parameter.
//
// Wire forms (both accepted, the second is what clients since API 1.22 send):
//   {"label":["a=1","b"]}                 legacy list form
//   {"label":{"a=1":true,"b":true}}       set form
//
//   const f = parseFilters('{"status":["running"],"label":["env=prod"]}');
//   f.validate(['status', 'label']);      // unknown key → "invalid filter 'xyz'"
//   f.get('status')                       → ['running']
//   f.matchKVList('label', { env: 'prod', tier: 'web' }) → true
import { setFlagsFromString } from 'node:v8';
import { invalid } from './errors.ts';

type Fields = Map<string, Map<string, boolean>>;
// Lets parseFilters fill a Filters with moby's raw flags without widening the class's API.
let adopt: (f: Filters, fields: Fields) => void;

export class Filters {
  // key → value → flag. The flag only matters to exactMatch (moby keeps `false` entries, and Get
  // still lists them), so it is kept rather than normalised away.
  readonly #fields: Fields = new Map();

  static {
    adopt = (f, fields) => { for (const [k, v] of fields) f.#fields.set(k, v); };
  }

  /** `new Filters({ label: ['a=1'], dangling: ['true'] })`: the CLI's way to build the parameter. */
  constructor(init: Record<string, readonly string[]> = {}) {
    for (const [k, values] of Object.entries(init)) {
      this.#fields.set(k, new Map());
      for (const v of values) this.add(k, v);
    }
  }

  /** Adds one value under a key (CLI side: `--filter key=value`). */
  add(key: string, value: string): this {
    let values = this.#fields.get(key);
    if (!values) this.#fields.set(key, (values = new Map()));
    values.set(value, true);
    return this;
  }

  /** Removes one value; the key disappears with its last value. */
  delete(key: string, value: string): void {
    const values = this.#fields.get(key);
    if (!values) return;
    values.delete(value);
    if (values.size === 0) this.#fields.delete(key);
  }

  /** The values given for `key`, in the order they came; [] when the key is absent. */
  get(key: string): string[] {
    return [...(this.#fields.get(key)?.keys() ?? [])];
  }

  /** Whether the key was given at all (even with no values): moby's Contains. */
  has(key: string): boolean {
    return this.#fields.has(key);
  }

  keys(): string[] {
    return [...this.#fields.keys()];
  }

  /** Number of keys. */
  get size(): number {
    return this.#fields.size;
  }

  /** Throws `invalid filter '<key>'` (InvalidParameter) for the first key not in `allowed`. */
  validate(allowed: readonly string[]): void {
    for (const key of this.#fields.keys()) {
      if (!allowed.includes(key)) throw invalid(`invalid filter '${key}'`);
    }
  }

  /**
   * Label-style matching: every value at `key` must hold in `labels`; `k` needs the label to
   * exist, `k=v` needs it to equal v (split at the first `=`). True when the key has no values;
   * false when it has values but `labels` is empty.
   *
   *   label=env        → labels has "env"
   *   label=env=prod   → labels.env === "prod"
   * For `label!=…` (prune's negation) see matchLabels.
   */
  matchKVList(key: string, labels: Record<string, string> | undefined | null): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    if (!labels || Object.keys(labels).length === 0) return false;
    for (const value of values.keys()) {
      const eq = value.indexOf('=');
      const k = eq < 0 ? value : value.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(labels, k)) return false;
      if (eq >= 0 && labels[k] !== value.slice(eq + 1)) return false;
    }
    return true;
  }

  /**
   * `label` and `label!` together, as the prune endpoints apply them: the object must match every
   * `label` value, and is excluded when it matches every `label!` value (`--filter label!=k=v`
   * arrives as key `label!`, value `k=v`).
   */
  matchLabels(labels: Record<string, string> | undefined | null): boolean {
    if (!this.matchKVList('label', labels)) return false;
    if (this.has('label!') && this.matchKVList('label!', labels)) return false;
    return true;
  }

  /** True when the key has no values, or `source` is exactly one of them. */
  exactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.get(source) === true;
  }

  /** Like exactMatch, but false when more than one value was given. */
  uniqueExactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    if (values.size !== 1) return false;
    return values.get(source) === true;
  }

  /** exactMatch, or `source` starts with one of the values (IDs given as prefixes). */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const prefix of this.#fields.get(key)?.keys() ?? []) if (source.startsWith(prefix)) return true;
    return false;
  }

  /**
   * exactMatch, or one of the values, taken as a regular expression, matches somewhere in `source`
   * (unanchored, as Go's regexp.MatchString; values that do not compile are skipped). Used by the
   * `name` filter: `--filter name=^web` .
   */
  match(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const pattern of this.#fields.get(key)?.keys() ?? []) {
      if (goRegExp(pattern)?.(source)) return true;
    }
    return false;
  }

  /**
   * moby's GetBoolOrDefault: absent → `def`; exactly one of true/1 or false/0 → that value;
   * anything else (no values, conflicting or other values) → `invalid filter 'key=[v1 v2]'`.
   */
  getBool(key: string, def: boolean): boolean {
    const values = this.#fields.get(key);
    if (!values) return def;
    if (values.size === 0) throw invalid(`invalid filter '${key}'`);
    const isFalse = values.get('0') === true || values.get('false') === true;
    const isTrue = values.get('1') === true || values.get('true') === true;
    if (isFalse === isTrue) throw invalid(`invalid filter '${key}=[${this.get(key).join(' ')}]'`);
    return isTrue;
  }

  /** The set form, `{"key":{"value":true}}`, for JSON.stringify. */
  toJSON(): Record<string, Record<string, boolean>> {
    // fromEntries defines own properties: a key `__proto__` stays a key (an assignment would set
    // the object's prototype and the key would vanish from the JSON).
    return Object.fromEntries([...this.#fields].map(([k, values]) => [k, Object.fromEntries(values)]));
  }
}

/**
 * Parses the `filters` query parameter. Absent or empty → no filters; JSON `null` → no filters.
 * Anything that is neither form (bad JSON, numbers, mixed forms) → InvalidParameter "invalid filter"
 * (moby's FromJSON returns a bare invalidFilter there).
 */
export function parseFilters(raw: string | undefined | null): Filters {
  if (raw === undefined || raw === null || raw === '') return new Filters();
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw invalid('invalid filter');
  }
  if (doc === null) return new Filters();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid('invalid filter');
  const entries = Object.entries(doc as Record<string, unknown>);
  const fields: Fields = new Map();
  const result = new Filters();
  const isSetForm = entries.every(([, v]) => v === null
    || (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((b) => typeof b === 'boolean')));
  if (isSetForm) {
    for (const [k, v] of entries) fields.set(k, new Map(Object.entries((v ?? {}) as Record<string, boolean>)));
    adopt(result, fields);
    return result;
  }
  const isListForm = entries.every(([, v]) => v === null || (Array.isArray(v) && v.every((s) => typeof s === 'string')));
  if (!isListForm) throw invalid('invalid filter');
  for (const [k, v] of entries) fields.set(k, new Map(((v ?? []) as string[]).map((s) => [s, true] as const)));
  adopt(result, fields);
  return result;
}

let linear: boolean | undefined;

/** Whether V8's linear-time regular expression engine (the `l` flag) is on: switched on at first use. */
function linearEngine(): boolean {
  if (linear === undefined) {
    setFlagsFromString('--enable-experimental-regexp-engine');
    try {
      new RegExp('', 'l');
      linear = true;
    } catch {
      linear = false;
    }
  }
  return linear;
}

/**
 * Compiles a Go (RE2) pattern as well as JavaScript can (leading inline flags become JS flags),
 * into a test. Go's regexp runs in linear time whatever the pattern; V8's backtracking engine
 * does not (`^(a+)+$` against a 30-character name never returns, and the daemon with it), so
 * patterns run on V8's linear-time engine, which like RE2 has no backreferences or lookarounds
 * (such patterns do not compile, as in Go). That engine has no `i` flag: `(?i)` lower-cases the
 * pattern (outside escapes, so `\W` stays `\W`) and the subject instead.
 */
function goRegExp(pattern: string): ((s: string) => boolean) | undefined {
  let flags = '';
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  if (m) {
    if (m[1].includes('U')) return undefined; // ungreedy swap has no JavaScript equivalent
    flags = [...new Set(m[1])].join('');
    pattern = pattern.slice(m[0].length);
  }
  const fold = flags.includes('i');
  if (fold) {
    flags = flags.replace('i', '');
    pattern = pattern.replace(/\\[^]|[^\\]+/g, (t) => (t[0] === '\\' ? t : t.toLowerCase()));
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, linearEngine() ? `${flags}l` : flags);
  } catch {
    return undefined;
  }
  return fold ? (s) => re.test(s.toLowerCase()) : (s) => re.test(s);
}
