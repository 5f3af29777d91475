// JSON field names matched as Go's encoding/json matches them to struct fields: an exact match
// wins, else the first field whose name is equal under case folding (dockerd decodes every
// request body that way, so `{"detachKeys": …}` sets DetachKeys and `{"hostconfig": …}` the
// HostConfig). berth's code reads the spec's spellings, so each body is rewritten to them once,
// where it is read, driven by the spec's types (api-body-schema.gen.ts, made by
// scripts/gen-body-schema.mjs): only the properties of known object types are renamed; maps of
// user data (Labels, Sysctls, Tmpfs, EndpointsConfig's network names, ...) keep their keys,
// though their values are normalised when they are objects of a known type. Keys that match no
// field are kept as they are (Go drops them; berth's readers never look at them).
//
//   normalizeBody({ image: 'x', hostconfig: { restartpolicy: { name: 'always' } }, Labels: { a: '1' } }, 'ContainerCreate')
//     → { Image: 'x', HostConfig: { RestartPolicy: { Name: 'always' } }, Labels: { a: '1' } }
//
// When two keys land on one field (`Image` and `image`), the later one wins, as in Go, which
// decodes the keys in order into the same field.
import { BODIES, TYPES } from './api-body-schema.gen.ts';

export type BodySchema = keyof typeof BODIES;
type Types = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * Go's case folding for field names (strings.EqualFold, as encoding/json's foldName uses):
 * Unicode simple folding, where the Kelvin sign folds to k and the long s to s.
 */
export function foldName(s: string): string {
  return s.toLowerCase().replace(/\u212a/g, 'k').replace(/\u017f/g, 's');
}

const foldIndexes = new WeakMap<object, Map<string, string>>();

/** fold(name) → the first property (in the type's order) with that fold. */
function foldIndex(props: Readonly<Record<string, string>>): Map<string, string> {
  let m = foldIndexes.get(props);
  if (!m) {
    m = new Map();
    for (const k of Object.keys(props)) { const f = foldName(k); if (!m.has(f)) m.set(f, k); }
    foldIndexes.set(props, m);
  }
  return m;
}

/** Sets a key as an own data property (`__proto__` from JSON must not become a prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * The field of `props` a JSON key lands on (Go's rule), or undefined when none does.
 */
export function fieldFor(props: Readonly<Record<string, string>>, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(props, key)) return key;
  return foldIndex(props).get(foldName(key));
}

/** Rewrites `v`, described by the ref `ref` (see api-body-schema.gen.ts), to the spec's field names. */
export function normalizeFields(v: unknown, ref: string, types: Types = TYPES): unknown {
  if (ref === '' || v === null || typeof v !== 'object') return v;
  if (ref.startsWith('[]')) {
    const inner = ref.slice(2);
    return Array.isArray(v) ? v.map((x) => normalizeFields(x, inner, types)) : v;
  }
  if (Array.isArray(v)) return v;
  if (ref.startsWith('{}')) {
    const inner = ref.slice(2);
    if (inner === '') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) put(out, k, normalizeFields(x, inner, types));
    return out;
  }
  const props = types[ref];
  if (!props) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const field = fieldFor(props, k);
    put(out, field ?? k, field === undefined ? x : normalizeFields(x, props[field], types));
  }
  return out;
}

/** A request body (by the spec's operation ID) with its field names as the spec spells them. */
export function normalizeBody<T = unknown>(v: unknown, body: BodySchema): T {
  return normalizeFields(v, BODIES[body]) as T;
}
