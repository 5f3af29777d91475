// YAML text → raw compose trees (one per document), read the way compose v2 reads it (go-yaml
// v3 under compose-go's ResetProcessor):
//
//   - plain scalars resolve as go-yaml does: `true`/`false` (not `yes`/`on`), `~`/`null`,
//     integers in Go's base-prefix syntax (`0777` and `0o777` are octal, `0x1f`, `0b101`,
//     underscores ignored), floats; timestamps stay strings;
//   - anchors, aliases and `<<` merge keys (explicit keys win over merged ones, earlier merge
//     sources over later ones);
//   - `!reset` drops the node and `!override` keeps it, and both record the node's path: before
//     this document merges into what earlier files built, those paths are removed from it
//     (`applyResets`), so `ports: !reset []` clears the ports an earlier file declared and
//     `ports: !override [...]` replaces them instead of appending;
//   - a key defined twice in one mapping, an alias to an unknown anchor and a non-string key
//     are errors, with compose's texts.
//
//   parseYaml('services:\n  web:\n    ports: !reset []\n', 'compose.yaml')
//   → [{ value: { services: { web: {} } }, resets: [['services', 'web', 'ports']] }]
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { yamlLib } from './yaml-lib.ts';
import { ComposeError } from './errors.ts';
import { dict, has, isDict, type Dict } from './tree.ts';

export interface ParsedDocument {
  value: unknown;
  /** Paths tagged `!reset` or `!override`, to remove from the model built so far. */
  resets: string[][];
}

/**
 * Aliases are expanded into copies (later stages mutate the tree), so a document of nested
 * aliases could grow exponentially: beyond this many produced nodes it is refused, as go-yaml
 * refuses "excessive aliasing".
 */
export const MAX_NODES = 500_000;

const MERGE = Symbol('merge');

const isAlias = (n: unknown): n is import('yaml').Alias => yamlLib().isAlias(n);
const isMap = (n: unknown): n is import('yaml').YAMLMap => yamlLib().isMap(n);
const isScalar = (n: unknown): n is import('yaml').Scalar => yamlLib().isScalar(n);
const isSeq = (n: unknown): n is import('yaml').YAMLSeq => yamlLib().isSeq(n);

export function parseYaml(text: string, filename: string): ParsedDocument[] {
  const { parseAllDocuments, LineCounter } = yamlLib();
  const lc = new LineCounter();
  // uniqueKeys off: duplicates are reported below with compose's text. merge off: `<<` is
  // handled below, with go-yaml's precedence.
  const docs = parseAllDocuments(text, { uniqueKeys: false, merge: false, lineCounter: lc, prettyErrors: false });
  if (!Array.isArray(docs)) return [];
  const out: ParsedDocument[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? (err.pos ? lc.linePos(err.pos[0]).line : undefined);
      const msg = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new ComposeError(`failed to parse ${filename}: yaml: ${line ? `line ${line}: ` : ''}${msg}`);
    }
    if (doc.contents === null) continue;
    const c = new Converter(doc, lc, filename);
    const value = c.convert(doc.contents as YamlNode, [], '');
    if (value === DROP) continue;
    out.push({ value, resets: c.resets });
  }
  return out;
}

const DROP = Symbol('drop');

class Converter {
  readonly resets: string[][] = [];
  #doc: Document.Parsed;
  #lc: LineCounter;
  #file: string;
  #nodes = 0;
  /** Anchored nodes being converted: an alias to one of them is a self-reference. */
  #active = new Set<YamlNode>();

  constructor(doc: Document.Parsed, lc: LineCounter, file: string) {
    this.#doc = doc;
    this.#lc = lc;
    this.#file = file;
  }

  #fail(msg: string): never {
    throw new ComposeError(`failed to parse ${this.#file}: ${msg}`);
  }

  #line(n: YamlNode | null | undefined): number {
    const off = (n as { range?: [number, number, number] } | null)?.range?.[0];
    return off === undefined ? 0 : this.#lc.linePos(off).line;
  }

  #resolveAlias(n: YamlNode): YamlNode {
    if (!isAlias(n)) return n;
    const target = n.resolve(this.#doc) as YamlNode | undefined;
    if (!target) this.#fail(`yaml: line ${this.#line(n)}: unknown anchor '${n.source}' referenced`);
    if (this.#active.has(target)) this.#fail(`yaml: anchor '${n.source}' value contains itself`);
    return target;
  }

  /**
   * Converts one node at `path` (mapping keys and sequence indexes, for `!reset` paths);
   * `where` is compose-go's key prefix for non-string key errors (`services.web.environment`,
   * `networks.default.ipam.config[0]`).
   */
  convert(node: YamlNode | null, path: string[], where: string): unknown {
    if (++this.#nodes > MAX_NODES) this.#fail('yaml: document contains excessive aliasing');
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = this.#resolveAlias(node);
      this.#active.add(target);
      try {
        return this.convert(target, path, where);
      } finally {
        this.#active.delete(target);
      }
    }
    const tag = (node as { tag?: string }).tag;
    if (tag === '!reset') {
      this.resets.push(path);
      return DROP;
    }
    if (tag === '!override') this.resets.push(path);
    if (isMap(node)) return this.#map(node, path, where);
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        const v = this.convert(item as YamlNode, [...path, String(i)], `${where}[${i}]`);
        if (v !== DROP) out.push(v);
      });
      return out;
    }
    if (isScalar(node)) return scalarValue(node);
    return null;
  }

  #map(node: YamlNode & { items: Array<{ key: unknown; value: unknown }> }, path: string[], where: string): Dict {
    const out = dict();
    const seen = new Map<string, number>();
    const merges: YamlNode[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const key = keyNode !== null && isScalar(keyNode) ? scalarValue(keyNode) : keyNode === null ? null : complexKey;
      // go-yaml compares the key's text as written (quotes removed).
      const ks = keyNode as unknown as { type?: string; source?: string; value?: unknown } | null;
      const shown = ks === null ? '' : ks.type === 'PLAIN' ? String(ks.source ?? ks.value) : String(ks.value);
      const line = this.#line(keyNode);
      if (seen.has(shown)) {
        this.#fail(`line ${line}: mapping key ${JSON.stringify(shown)} already defined at line ${seen.get(shown)}`);
      }
      seen.set(shown, line);
      if (key === MERGE) {
        merges.push(pair.value as YamlNode);
        continue;
      }
      if (typeof key !== 'string') {
        const loc = where === '' ? 'at top level' : `in ${where}`;
        throw new ComposeError(`non-string key ${loc}: ${goKey(key)}`);
      }
      const v = this.convert(pair.value as YamlNode | null, [...path, key], where === '' ? key : `${where}.${key}`);
      if (v !== DROP) out[key] = v;
    }
    // `<<: *a` or `<<: [*a, *b]`: keys the mapping does not set itself come from the sources,
    // the first source that sets a key winning (go-yaml's order).
    for (const m of merges) {
      const src = this.#resolveAlias(m);
      const sources = isSeq(src) ? src.items.map((i) => this.#resolveAlias(i as YamlNode)) : [src];
      for (const s of sources) {
        if (!isMap(s)) this.#fail(`yaml: line ${this.#line(m)}: map merge requires map or sequence of maps as the value`);
        this.#active.add(s);
        let merged: Dict;
        try {
          merged = this.#map(s as YamlNode & { items: Array<{ key: unknown; value: unknown }> }, path, where);
        } finally {
          this.#active.delete(s);
        }
        for (const k of Object.keys(merged)) if (!has(out, k) && !seen.has(k)) out[k] = merged[k];
      }
    }
    return out;
  }
}

const complexKey = Symbol('complex key');

function goKey(k: unknown): string {
  if (k === null || k === undefined) return '<nil>';
  if (k === complexKey) return 'map[interface {}]interface {}{}';
  return String(k);
}

/** A scalar's value as go-yaml v3 gives it when decoding into interface{}. */
function scalarValue(n: YamlNode): unknown {
  const s = n as unknown as { type?: string; tag?: string; source?: string; value: unknown };
  if (s.type === 'PLAIN' && (s.tag === undefined || (s.tag.startsWith('!') && !s.tag.startsWith('!!') && s.tag !== '!reset' && s.tag !== '!override'))) {
    const src = s.source ?? String(s.value ?? '');
    // A local tag go-yaml does not know (`!foo bar`) leaves the text as it is.
    if (s.tag !== undefined) return src;
    if (src === '<<') return MERGE;
    return resolvePlain(src);
  }
  if (s.tag === '!reset' || s.tag === '!override') {
    return s.type === 'PLAIN' ? resolvePlain(s.source ?? '') : s.value;
  }
  if (s.value instanceof Uint8Array) return Buffer.from(s.value).toString('utf8');
  if (typeof s.value === 'bigint') return Number(s.value);
  return s.value ?? null;
}

const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** go-yaml v3's resolve() for an untagged plain scalar. */
export function resolvePlain(src: string): unknown {
  switch (src) {
    case '': case '~': case 'null': case 'Null': case 'NULL': return null;
    case 'true': case 'True': case 'TRUE': return true;
    case 'false': case 'False': case 'FALSE': return false;
    case '.nan': case '.NaN': case '.NAN': return NaN;
    case '.inf': case '.Inf': case '.INF': case '+.inf': case '+.Inf': case '+.INF': return Infinity;
    case '-.inf': case '-.Inf': case '-.INF': return -Infinity;
  }
  if (!/^[-+.0-9]/.test(src)) return src;
  const plain = src.replace(/_/g, '');
  const int = parseGoInt(plain);
  if (int !== undefined) return int;
  if (GO_FLOAT.test(plain)) return Number(plain);
  const m = /^([-+]?)0[bB]([01]+)$/.exec(plain);
  if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2], 2);
  return src;
}

/** strconv.ParseInt(s, 0, 64) (and ParseUint): sign, then 0x / 0o / 0b / leading-0 octal / decimal. */
function parseGoInt(s: string): number | undefined {
  const m = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  let n: number;
  if (m[2] !== undefined) n = parseInt(m[2], 16);
  else if (m[3] !== undefined) n = parseInt(m[3], 8);
  else if (m[4] !== undefined) n = parseInt(m[4], 2);
  else if (m[5] !== undefined) n = parseInt(m[5], 8);
  else n = Number(m[6]);
  // Beyond uint64 Go falls back to a float, which is what a JS number is anyway.
  return sign * n;
}

/** Removes the recorded `!reset`/`!override` paths from a tree (compose-go's ResetProcessor.Apply). */
export function applyResets(target: unknown, resets: string[][]): void {
  if (resets.length === 0) return;
  const walk = (v: unknown, path: string[]) => {
    if (!isDict(v)) return;
    for (const k of Object.keys(v)) {
      const next = [...path, k];
      if (resets.some((r) => r.length === next.length && r.every((p, i) => p === next[i]))) {
        delete v[k];
        continue;
      }
      walk(v[k], next);
    }
  };
  walk(target, []);
}
