// Merging compose files (and `extends` bases, and `include`d resources) by the compose-spec
// merge rules, as compose-go's override package implements them:
//
//   - mappings merge key by key, recursively; a scalar in the later file replaces;
//   - sequences append, except where a rule below says otherwise;
//   - command, entrypoint and healthcheck.test replace;
//   - environment, labels, sysctls, dns*, tmpfs, env_file, build.args/labels and the like are
//     normalised to `KEY=VALUE` sequences and appended, then de-duplicated by key (the later
//     value wins, in the earlier position);
//   - networks and depends_on, in list or mapping form, merge as mappings; build: as a string is
//     `{context: ...}`; logging options merge only when the driver is the same (or unset);
//   - ports, volumes, secrets, configs, expose, devices, cap_add/cap_drop, ... are de-duplicated
//     by their key (ports by ip:published:target/proto, volumes by target, secrets by target);
//   - `!reset` / `!override` (parse.ts) remove the earlier value first.
//
//   mergeYaml({ image: 'a', ports: ['80'] }, { ports: ['81'], command: 'x' }, ['services', 'web'])
//   → { image: 'a', ports: ['80', '81'], command: 'x' }
import { ComposeError } from './errors.ts';
import { parseVolumeShort } from './short-syntax.ts';
import { dict, goSprint, has, isDict, lookup, type Dict } from './tree.ts';

type Merger = (e: unknown, o: unknown, path: string[]) => unknown;

const specials: Array<[string, Merger]> = [
  ['networks.*.ipam.config', mergeIpamConfig],
  ['networks.*.labels', mergeToSequence],
  ['volumes.*.labels', mergeToSequence],
  ['services.*.annotations', mergeToSequence],
  ['services.*.build', mergeBuild],
  ['services.*.build.args', mergeToSequence],
  ['services.*.build.additional_contexts', mergeToSequence],
  ['services.*.build.extra_hosts', mergeExtraHosts],
  ['services.*.build.labels', mergeToSequence],
  ['services.*.command', override],
  ['services.*.depends_on', mergeDependsOn],
  ['services.*.deploy.labels', mergeToSequence],
  ['services.*.dns', mergeToSequence],
  ['services.*.dns_opt', mergeToSequence],
  ['services.*.dns_search', mergeToSequence],
  ['services.*.entrypoint', override],
  ['services.*.env_file', mergeToSequence],
  ['services.*.label_file', mergeToSequence],
  ['services.*.environment', mergeToSequence],
  ['services.*.extra_hosts', mergeExtraHosts],
  ['services.*.healthcheck.test', override],
  ['services.*.labels', mergeToSequence],
  ['services.*.volumes.*.volume.labels', mergeToSequence],
  ['services.*.logging', mergeLogging],
  ['services.*.models', mergeNetworks],
  ['services.*.networks', mergeNetworks],
  ['services.*.sysctls', mergeToSequence],
  ['services.*.tmpfs', mergeToSequence],
  ['services.*.ulimits.*', (_e, o) => o],
];

/** Merges `o` (the later file) into `e` at `path`; mappings of `e` are updated in place. */
export function mergeYaml(e: unknown, o: unknown, path: string[]): unknown {
  const special = lookup(specials, path);
  if (special) return special(e, o, path);
  if (o === null || o === undefined) return e;
  if (isDict(e)) {
    if (!isDict(o)) throw new ComposeError(`cannot override ${path.join('.')}`);
    return mergeMappings(e, o, path);
  }
  if (Array.isArray(e)) {
    if (!Array.isArray(o)) throw new ComposeError(`cannot override ${path.join('.')}`);
    return [...e, ...o];
  }
  return o;
}

export function mergeMappings(m: Dict, other: Dict, path: string[]): Dict {
  for (const k of Object.keys(other)) {
    m[k] = has(m, k) ? mergeYaml(m[k], other[k], [...path, k]) : other[k];
  }
  return m;
}

function override(_e: unknown, o: unknown): unknown {
  return o;
}

function mergeLogging(c: unknown, o: unknown, path: string[]): unknown {
  if (!isDict(c) || !isDict(o)) return o ?? c;
  // Options merge when both files name the same driver, or one names none.
  if (!has(o, 'driver') || !has(c, 'driver') || o.driver === c.driver) return mergeMappings(c, o, path);
  return o;
}

function mergeBuild(c: unknown, o: unknown, path: string[]): unknown {
  const toBuild = (v: unknown): Dict | undefined => (typeof v === 'string' ? dict([['context', v]]) : isDict(v) ? v : undefined);
  const a = toBuild(c);
  const b = toBuild(o);
  if (!a || !b) return o ?? c;
  return mergeMappings(a, b, path);
}

function mergeDependsOn(c: unknown, o: unknown, path: string[]): unknown {
  const def = () => dict([['condition', 'service_started'], ['required', true]]);
  const a = toMapping(c, def);
  const b = toMapping(o, def);
  if (!a || !b) return o ?? c;
  return mergeMappings(a, b, path);
}

function mergeNetworks(c: unknown, o: unknown, path: string[]): unknown {
  const a = toMapping(c);
  const b = toMapping(o);
  if (!a || !b) return o ?? c;
  return mergeMappings(a, b, path);
}

function mergeExtraHosts(c: unknown, o: unknown): unknown {
  const right = toSequence(c);
  const left = toSequence(o).filter((v) => !right.includes(v));
  return [...right, ...left];
}

function mergeToSequence(c: unknown, o: unknown): unknown {
  return [...toSequence(c), ...toSequence(o)];
}

function mergeIpamConfig(c: unknown, o: unknown, path: string[]): unknown {
  if (!Array.isArray(c)) throw new ComposeError(`${path.join('.')}: unexpected type ${goType(c)}`);
  if (!Array.isArray(o)) throw new ComposeError(`${path.join('.')}: unexpected type ${goType(c)}`);
  // compose-go's rule, quirks included: each override pool replaces the pool with its subnet.
  const pools: Dict[] = [];
  for (const original of c) {
    const right = toMapping(original) ?? dict();
    for (const ov of o) {
      const left = toMapping(ov) ?? dict();
      if (left.subnet !== right.subnet && !pools.some((p) => p.subnet === left.subnet)) {
        pools.push(left);
        continue;
      }
      const merged = mergeMappings(right, left, path);
      const i = pools.findIndex((p) => p.subnet === merged.subnet);
      if (i >= 0) pools[i] = merged;
      else pools.push(merged);
    }
  }
  return pools;
}

/** A list form (`[a, b]`) as a mapping (`{a: default, b: default}`). */
function toMapping(v: unknown, def?: () => Dict): Dict | undefined {
  if (isDict(v)) return v;
  if (Array.isArray(v)) {
    const m = dict();
    for (const s of v) m[goSprint(s)] = def ? def() : null;
    return m;
  }
  return undefined;
}

/** A mapping form (`{A: 1}`) as a sorted `KEY=VALUE` sequence; a string as a one-item sequence. */
export function toSequence(v: unknown): unknown[] {
  if (isDict(v)) {
    const seq: string[] = [];
    for (const k of Object.keys(v)) {
      const val = v[k];
      if (val === null || val === undefined) seq.push(k);
      else if (Array.isArray(val)) for (const x of val) seq.push(`${k}=${goSprint(x)}`);
      else seq.push(`${k}=${goSprint(val)}`);
    }
    return seq.sort(byteCompare);
  }
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  return [];
}

/** Go's string ordering (bytes, not UTF-16 units). */
export function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Go's %T for the values of a raw tree. */
export function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

// ---------------------------------------------------------------------------------------------
// De-duplication of sequence items (compose-go's EnforceUnicity)

type Indexer = (v: unknown, path: string) => string;

const keyValue: Indexer = (v, p) => {
  if (typeof v !== 'string') throw new ComposeError(`${p}: unexpected type ${goType(v)}`);
  const eq = v.indexOf('=');
  return eq >= 0 ? v.slice(0, eq) : v;
};

const volumeIndexer: Indexer = (v, p) => {
  if (isDict(v)) {
    if (typeof v.target !== 'string') throw new ComposeError(`service volume ${p} is missing a mount target`);
    return v.target;
  }
  if (typeof v === 'string') {
    try {
      return String(parseVolumeShort(v).target ?? '');
    } catch (e) {
      // compose prints the parser's message alone; berth names the item too.
      throw new ComposeError(`${p.replace(/\.\[(\d+)\]$/, '[$1]')}: ${(e as Error).message}`);
    }
  }
  return '';
};

const deviceIndexer: Indexer = (v, p) => {
  if (isDict(v)) {
    if (typeof v.target !== 'string') throw new ComposeError(`service device ${p} is missing a mount target`);
    return v.target;
  }
  if (typeof v === 'string') {
    const a = v.split(':');
    return a.length === 1 ? a[0] : a[1];
  }
  return '';
};

const exposeIndexer: Indexer = (v, p) => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw new ComposeError(`${p}: unsupported expose value ${goSprint(v)}`);
};

const mountIndexer = (defaultPath: string): Indexer => (v, p) => {
  if (typeof v === 'string') return `${defaultPath}/${v}`;
  if (isDict(v)) return has(v, 'target') ? goSprint(v.target) : `${defaultPath}/${goSprint(v.source)}`;
  throw new ComposeError(`${p}: unsupported expose value ${goSprint(v)}`);
};

const portIndexer: Indexer = (v, p) => {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (isDict(v)) {
    if (!has(v, 'target')) throw new ComposeError(`service ports ${p} is missing a target port`);
    const host = has(v, 'host_ip') ? goSprint(v.host_ip) : '0.0.0.0';
    const proto = has(v, 'protocol') ? goSprint(v.protocol) : 'tcp';
    return `${host}:${has(v, 'published') ? goSprint(v.published) : ''}:${goSprint(v.target)}/${proto}`;
  }
  return '';
};

const envFileIndexer: Indexer = (v, p) => {
  if (typeof v === 'string') return v;
  if (isDict(v)) {
    if (!has(v, 'path')) throw new ComposeError(`environment path attribute ${p} is missing`);
    return goSprint(v.path);
  }
  return '';
};

const unique: Array<[string, Indexer]> = [
  ['networks.*.labels', keyValue],
  ['networks.*.ipam.options', keyValue],
  ['services.*.annotations', keyValue],
  ['services.*.build.args', keyValue],
  ['services.*.build.additional_contexts', keyValue],
  ['services.*.build.platform', keyValue],
  ['services.*.build.tags', keyValue],
  ['services.*.build.labels', keyValue],
  ['services.*.cap_add', keyValue],
  ['services.*.cap_drop', keyValue],
  ['services.*.devices', deviceIndexer],
  ['services.*.configs', mountIndexer('')],
  ['services.*.deploy.labels', keyValue],
  ['services.*.dns', keyValue],
  ['services.*.dns_opt', keyValue],
  ['services.*.dns_search', keyValue],
  ['services.*.environment', keyValue],
  ['services.*.env_file', envFileIndexer],
  ['services.*.expose', exposeIndexer],
  ['services.*.labels', keyValue],
  ['services.*.links', keyValue],
  ['services.*.networks.*.aliases', keyValue],
  ['services.*.networks.*.link_local_ips', keyValue],
  ['services.*.ports', portIndexer],
  ['services.*.profiles', keyValue],
  ['services.*.secrets', mountIndexer('/run/secrets')],
  ['services.*.sysctls', keyValue],
  ['services.*.tmpfs', keyValue],
  ['services.*.volumes', volumeIndexer],
];

/** Removes redefinitions from the sequences that are sets: the later item replaces the earlier, in place. */
export function enforceUnicity(tree: Dict): Dict {
  const walk = (v: unknown, path: string[]): unknown => {
    if (isDict(v)) {
      for (const k of Object.keys(v)) v[k] = walk(v[k], [...path, k]);
      return v;
    }
    if (Array.isArray(v)) {
      const indexer = lookup(unique, path);
      if (!indexer) return v;
      const seq: unknown[] = [];
      const keys = new Map<string, number>();
      v.forEach((entry, i) => {
        const key = indexer(entry, `${path.join('.')}.[${i}]`);
        const j = keys.get(key);
        if (j !== undefined) seq[j] = entry;
        else {
          seq.push(entry);
          keys.set(key, seq.length - 1);
        }
      });
      return seq;
    }
    return v;
  };
  return walk(tree, []) as Dict;
}
