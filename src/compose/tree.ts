// The raw compose tree: what a YAML document becomes before it is typed. Mappings are plain
// objects without a prototype (a service called `__proto__` or `constructor` is just a key),
// sequences are arrays, scalars are strings, numbers, booleans or null. The loader's stages
// (interpolation, merging, canonical forms, path resolution) all work on this tree, addressed
// by compose-go's dotted paths: `services.web.ports`, with `*` matching any key and `[]` a
// sequence item.
//
//   matches(['services', 'web', 'ports'], 'services.*.ports') → true
export type Dict = Record<string, unknown>;

/** A mapping with no prototype, so any key is data. */
export function dict(entries?: Iterable<[string, unknown]>): Dict {
  const d: Dict = Object.create(null);
  if (entries) for (const [k, v] of entries) d[k] = v;
  return d;
}

export function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function has(d: Dict, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(d, k);
}

export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (isDict(v)) {
    const out = dict();
    for (const k of Object.keys(v)) out[k] = deepClone(v[k]);
    return out as T;
  }
  return v;
}

/** compose-go's tree.Path.Matches: same length, each part equal or `*`. */
export function matches(path: readonly string[], pattern: string): boolean {
  const parts = pattern.split('.');
  if (parts.length !== path.length) return false;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== '*' && parts[i] !== path[i]) return false;
  }
  return true;
}

/** The first pattern of a table that a path matches. */
export function lookup<T>(table: ReadonlyArray<readonly [string, T]>, path: readonly string[]): T | undefined {
  for (const [pattern, v] of table) if (matches(path, pattern)) return v;
  return undefined;
}

/** How compose prints a path in messages: `services.web.ports`. */
export function showPath(path: readonly string[]): string {
  return path.join('.');
}

/** Go's fmt.Sprint for the scalars a YAML document holds. */
export function goSprint(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(goSprint).join(' ')}]`;
  if (isDict(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goSprint(v[k])}`).join(' ')}]`;
  return String(v);
}

/**
 * A number as Go prints it with %v: integers in decimal, other floats in the shortest form with
 * Go's exponent style (`1e+21`, `1e-07`). YAML integers and floats are both JS numbers here, so
 * a float written `2.0` prints `2` as Go would print the int 2 (Go prints the float as `2` too).
 */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    // JS: 1e-7, 1.5e+21; Go: 1e-07, 1.5e+21 (at least two exponent digits).
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}
