// The raw tree's short forms rewritten into their long, canonical forms (compose-go's
// transform package), then the defaults compose fills in and the checks the JSON schema cannot
// express. After these stages a service's ports are `{mode, host_ip?, target, published?,
// protocol}` mappings, its volumes `{type, source?, target, ...}` mappings, depends_on and
// networks mappings, env_file a list of `{path, required}`, build a mapping with a context, and
// every secret reference has a target.
//
//   canonical({ services: { web: { ports: ['8080:80'], build: '.', depends_on: ['db'] } } })
//   → { services: { web: { ports: [{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }],
//                          build: { context: '.' },
//                          depends_on: { db: { condition: 'service_started', required: true } } } } }
import { isIP } from 'node:net';
import { cleanPath } from '../common/go-path.ts';
import { ComposeError } from './errors.ts';
import { goType } from './merge.ts';
import { parsePortShort, parseVolumeShort } from './short-syntax.ts';
import { dict, goSprint, has, isDict, lookup, type Dict } from './tree.ts';

type Transformer = (data: unknown, path: string[], warn: (m: string) => void) => unknown;

const at = (path: string[]) => path.join('.');

/** `services.web.ports[2]`: where an item is, in compose's consistency-check style. */
export function itemAt(path: string[], i: number): string {
  return `${path.join('.')}[${i}]`;
}

const stringOrList: Transformer = (d) => (typeof d === 'string' ? [d] : d);

const transformers: Array<[string, Transformer]> = [
  ['services.*', (d, p, w) => (isDict(d) ? transformMapping(d, p, w) : d)],
  ['services.*.build.secrets.*', fileMount],
  ['services.*.build.provenance', (d) => (typeof d === 'string' ? d : goSprint(d))],
  ['services.*.build.sbom', (d) => (typeof d === 'string' ? d : goSprint(d))],
  ['services.*.build.additional_contexts', keyValue],
  ['services.*.depends_on', dependsOn],
  ['services.*.env_file', envFile],
  ['services.*.label_file', stringOrList],
  ['services.*.extends', (d, p, w) => (typeof d === 'string' ? dict([['service', d]]) : isDict(d) ? transformMapping(d, p, w) : invalidType(p, d, 'extends'))],
  ['services.*.gpus', (d, p, w) => (typeof d === 'string' ? [dict([['count', 'all']])] : Array.isArray(d) ? transformSequence(d, p, w) : invalidType(p, d, 'gpus'))],
  ['services.*.networks', sliceToMap],
  ['services.*.models', sliceToMap],
  ['services.*.volumes.*', volumeMount],
  ['services.*.dns', stringOrList],
  ['services.*.devices.*', deviceMapping],
  ['services.*.secrets.*', fileMount],
  ['services.*.configs.*', fileMount],
  ['services.*.ports', ports],
  ['services.*.build', (d, p, w) => (typeof d === 'string' ? dict([['context', d]]) : isDict(d) ? transformMapping(d, p, w) : invalidType(p, d, 'build'))],
  ['services.*.build.ssh', ssh],
  ['services.*.ulimits.*', (d, p) => (isDict(d) || typeof d === 'number' ? d : invalidType(p, d, 'external'))],
  ['services.*.build.ulimits.*', (d, p) => (isDict(d) || typeof d === 'number' ? d : invalidType(p, d, 'external'))],
  ['services.*.develop.watch.*.ignore', stringOrList],
  ['services.*.develop.watch.*.include', stringOrList],
  ['volumes.*', maybeExternal],
  ['networks.*', maybeExternal],
  ['secrets.*', maybeExternal],
  ['configs.*', maybeExternal],
  ['include.*', (d, p) => (typeof d === 'string' ? dict([['path', d]]) : isDict(d) ? d : invalidType(p, d, 'external'))],
];

function invalidType(p: string[], d: unknown, what: string): never {
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for ${what}`);
}

/** Rewrites short syntaxes into the canonical long forms (in place where it can). */
export function canonical(tree: Dict, warn: (m: string) => void = () => {}): Dict {
  return transform(tree, [], warn) as Dict;
}

function transform(d: unknown, p: string[], w: (m: string) => void): unknown {
  const t = lookup(transformers, p);
  if (t) return t(d, p, w);
  if (isDict(d)) return transformMapping(d, p, w);
  if (Array.isArray(d)) return transformSequence(d, p, w);
  return d;
}

function transformMapping(d: Dict, p: string[], w: (m: string) => void): Dict {
  for (const k of Object.keys(d)) d[k] = transform(d[k], [...p, k], w);
  return d;
}

function transformSequence(d: unknown[], p: string[], w: (m: string) => void): unknown[] {
  for (let i = 0; i < d.length; i++) d[i] = transform(d[i], [...p, '[]'], w);
  return d;
}

function fileMount(d: unknown, p: string[]): unknown {
  if (isDict(d)) return d;
  if (typeof d === 'string') return dict([['source', d]]);
  throw new ComposeError(`${at(p)}: unsupported type ${goType(d)}`);
}

function keyValue(d: unknown, p: string[]): unknown {
  if (isDict(d)) return d;
  if (Array.isArray(d)) {
    const m = dict();
    for (const e of d) {
      const s = goSprint(e);
      const eq = s.indexOf('=');
      if (eq < 0) throw new ComposeError(`${at(p)}: invalid value ${s}, expected key=value`);
      m[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return m;
  }
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)}`);
}

function dependsOn(d: unknown, p: string[]): unknown {
  if (isDict(d)) {
    for (const k of Object.keys(d)) {
      const e = d[k];
      if (!isDict(e)) throw new ComposeError(`${at(p)}.${k}: unsupported value ${goSprint(d)}`);
      if (!has(e, 'condition')) e.condition = 'service_started';
      if (!has(e, 'required')) e.required = true;
    }
    return d;
  }
  if (Array.isArray(d)) {
    const m = dict();
    for (const k of d) m[goSprint(k)] = dict([['condition', 'service_started'], ['required', true]]);
    return m;
  }
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for depend_on`);
}

function envFile(d: unknown, p: string[]): unknown {
  const one = (v: unknown) => {
    if (typeof v === 'string') return dict([['path', v], ['required', true]]);
    if (isDict(v)) {
      if (!has(v, 'required')) v.required = true;
      return v;
    }
    return null;
  };
  if (typeof d === 'string') return [one(d)];
  if (Array.isArray(d)) return d.map(one);
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for env_file`);
}

function sliceToMap(d: unknown): unknown {
  if (!Array.isArray(d)) return d;
  const m = dict();
  for (const n of d) m[goSprint(n)] = null;
  return m;
}

function volumeMount(d: unknown, p: string[]): unknown {
  if (isDict(d)) return d;
  if (typeof d === 'string') {
    let v;
    try {
      v = parseVolumeShort(d);
    } catch (e) {
      throw new ComposeError(`${at(p)}: ${(e as Error).message}`);
    }
    if (typeof v.target === 'string' && v.target !== '') v.target = cleanPath(v.target);
    return v;
  }
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for service volume mount`);
}

function deviceMapping(d: unknown, p: string[]): unknown {
  if (isDict(d)) return d;
  if (typeof d === 'string') {
    const arr = d.split(':');
    if (arr.length > 3) throw new ComposeError(`confusing device mapping, please use long syntax: ${d}`);
    const src = arr[0];
    const dst = arr.length >= 2 && arr[1] !== '' ? arr[1] : src;
    return dict([['source', src], ['target', dst], ['permissions', arr.length === 3 ? arr[2] : 'rwm']]);
  }
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for service volume mount`);
}

function ports(d: unknown, p: string[]): unknown {
  if (!Array.isArray(d)) throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for port`);
  const out: unknown[] = [];
  d.forEach((entry, i) => {
    if (typeof entry === 'number' || typeof entry === 'string') {
      try {
        out.push(...parsePortShort(typeof entry === 'number' ? goSprint(entry) : entry));
      } catch (e) {
        // compose prints go-connections' message alone; berth names the item too.
        throw new ComposeError(`${itemAt(p, i)}: ${(e as Error).message}`);
      }
    } else if (isDict(entry)) out.push(entry);
    else throw new ComposeError(`${at(p)}: invalid type ${goType(entry)} for port`);
  });
  return out;
}

function ssh(d: unknown, p: string[]): unknown {
  if (isDict(d)) return d;
  if (Array.isArray(d)) {
    const m = dict();
    for (const e of d) {
      if (typeof e !== 'string') throw new ComposeError(`invalid ssh key type ${goType(e)}`);
      const eq = e.indexOf('=');
      if (eq < 0) {
        if (e !== 'default') throw new ComposeError(`invalid ssh key ${JSON.stringify(e)}`);
        m[e] = null;
        continue;
      }
      m[e.slice(0, eq)] = e.slice(eq + 1);
    }
    return m;
  }
  throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for ssh`);
}

/** `external: {name: x}` (deprecated) becomes `external: true` + `name: x`. */
function maybeExternal(d: unknown, p: string[], warn: (m: string) => void): unknown {
  if (d === null || d === undefined) return null;
  if (!isDict(d)) throw new ComposeError(`${at(p)} must be a mapping`);
  const r = transformMapping(d, p, warn);
  if (has(r, 'external') && isDict(r.external)) {
    const ext = r.external;
    r.external = true;
    if (has(ext, 'name')) {
      warn(`${at(p)}: external.name is deprecated. Please set name and external: true`);
      if (has(r, 'name') && ext.name !== r.name) throw new ComposeError(`${at(p)}: name and external.name conflict; only use name`);
      if (!has(r, 'name')) r.name = ext.name;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Defaults (compose-go's transform.SetDefaultValues)

const defaults: Array<[string, (d: unknown, p: string[]) => unknown]> = [
  ['services.*.build', (d) => {
    if (isDict(d) && !has(d, 'context')) d.context = '.';
    return d;
  }],
  ['services.*.secrets.*', (d, p) => {
    if (!isDict(d)) throw new ComposeError(`${at(p)}: unsupported type ${goType(d)}`);
    if (!has(d, 'target')) d.target = `/run/secrets/${goSprint(d.source)}`;
    return d;
  }],
  ['services.*.ports.*', (d) => {
    if (isDict(d)) {
      if (!has(d, 'protocol')) d.protocol = 'tcp';
      if (!has(d, 'mode')) d.mode = 'ingress';
    }
    return d;
  }],
  ['services.*.deploy.resources.reservations.devices.*', deviceRequestDefaults],
  ['services.*.gpus.*', deviceRequestDefaults],
];

function deviceRequestDefaults(d: unknown, p: string[]): unknown {
  if (!isDict(d)) throw new ComposeError(`${at(p)}: invalid type ${goType(d)} for device request`);
  if (!has(d, 'count') && !has(d, 'device_ids')) d.count = 'all';
  return d;
}

export function setDefaults(tree: Dict): Dict {
  const walk = (d: unknown, p: string[]): unknown => {
    const f = lookup(defaults, p);
    if (f) return f(d, p);
    if (isDict(d)) for (const k of Object.keys(d)) d[k] = walk(d[k], [...p, k]);
    else if (Array.isArray(d)) for (let i = 0; i < d.length; i++) d[i] = walk(d[i], [...p, '[]']);
    return d;
  };
  return walk(tree, []) as Dict;
}

// ---------------------------------------------------------------------------------------------
// Checks beyond the schema (compose-go's validation package)

function fileObject(...keys: string[]) {
  return (v: unknown, p: string[]) => {
    if (!isDict(v)) return;
    const n = keys.filter((k) => has(v, k)).length;
    if (n > 1) throw new ComposeError(`${at(p)}: ${keys.join('|')} attributes are mutually exclusive`);
    if (n === 0 && !has(v, 'driver') && !has(v, 'external')) throw new ComposeError(`${at(p)}: one of ${keys.join('|')} must be set`);
  };
}

const checks: Array<[string, (v: unknown, p: string[]) => void]> = [
  ['volumes.*', (v, p) => {
    if (v === null || v === undefined) return;
    if (!isDict(v)) throw new ComposeError(`expected volume, got ${goSprint(v)}`);
    if (v.external !== true) return;
    for (const k of Object.keys(v)) {
      if (k === 'name' || k === 'external' || k.startsWith('x-')) continue;
      throw new ComposeError(`${at(p)}: conflicting parameters "external" and ${JSON.stringify(k)} specified`);
    }
  }],
  ['configs.*', fileObject('file', 'environment', 'content')],
  ['secrets.*', fileObject('file', 'environment')],
  ['services.*.ports.*', (v, p) => {
    if (isDict(v) && has(v, 'host_ip') && !isIP(String(v.host_ip))) throw new ComposeError(`${at(p)}: invalid ip address: ${goSprint(v.host_ip)}`);
  }],
  ['services.*.develop.watch.*.path', (v, p) => {
    if (v === '') throw new ComposeError(`${at(p)}: value can't be blank`);
  }],
  ['services.*.deploy.resources.reservations.devices.*', deviceRequestCheck],
  ['services.*.gpus.*', deviceRequestCheck],
];

function deviceRequestCheck(v: unknown, p: string[]): void {
  if (isDict(v) && has(v, 'count') && has(v, 'device_ids')) throw new ComposeError(`${at(p)}: "count" and "device_ids" attributes are exclusive`);
}

export function checkModel(tree: Dict): void {
  const walk = (d: unknown, p: string[]) => {
    const f = lookup(checks, p);
    if (f) return f(d, p);
    if (isDict(d)) for (const k of Object.keys(d)) walk(d[k], [...p, k]);
    else if (Array.isArray(d)) for (const e of d) walk(e, [...p, '[]']);
  };
  walk(tree, []);
}

/** `dns:` entries that are empty are dropped (compose-go's OmitEmpty). */
export function omitEmpty(tree: Dict): Dict {
  const services = tree.services;
  if (!isDict(services)) return tree;
  for (const name of Object.keys(services)) {
    const s = services[name];
    if (isDict(s) && Array.isArray(s.dns)) s.dns = s.dns.filter((e) => e !== null && e !== '');
  }
  return tree;
}
