// The implicit parts of a compose model made explicit, on the raw tree (compose-go's
// loader.Normalize), once the project name is known:
//
//   - a service with neither `networks` nor `network_mode` joins the `default` network, which
//     then exists (implicitly) in the top-level networks;
//   - build gets `context: .` and `dockerfile: Dockerfile` unless dockerfile_inline is set;
//     build args and environment named without a value take it from the project environment
//     (an arg that is not there is dropped, an environment entry is kept without a value);
//   - links, `network_mode`/`ipc`/`pid`/`uts`/`cgroup: service:x` and volumes_from add
//     depends_on entries (started, required);
//   - volume targets are cleaned (`/data/` → `/data`);
//   - `pull_policy: if_not_present` is `missing`;
//   - top-level networks, volumes, secrets and configs get their engine name:
//     `<project>_<key>`, or the key itself for an external one, unless `name:` is set.
import { cleanPath } from '../common/go-path.ts';
import { dict, goSprint, has, isDict, type Dict } from './tree.ts';

const started = (restart: boolean) => dict([['condition', 'service_started'], ['restart', restart], ['required', true]]);

export function normalize(tree: Dict, env: Record<string, string>): Dict {
  normalizeNetworks(tree);
  const get = (k: string) => (Object.prototype.hasOwnProperty.call(env, k) ? env[k] : undefined);
  const services = isDict(tree.services) ? tree.services : undefined;
  for (const name of Object.keys(services ?? {})) {
    const s = services![name];
    if (!isDict(s)) continue;
    if (s.pull_policy === 'if_not_present') s.pull_policy = 'missing';
    if (isDict(s.build)) {
      const b = s.build;
      if (b.context === null || b.context === undefined) b.context = '.';
      if ((b.dockerfile === null || b.dockerfile === undefined) && (b.dockerfile_inline === null || b.dockerfile_inline === undefined)) b.dockerfile = 'Dockerfile';
      if (has(b, 'args')) b.args = resolveValues(b.args, get, false);
    }
    if (has(s, 'environment')) s.environment = resolveValues(s.environment, get, true);

    const deps: Dict = isDict(s.depends_on) ? s.depends_on : dict();
    if (Array.isArray(s.links)) {
      for (const l of s.links) {
        const parts = goSprint(l).split(':');
        const link = parts.length === 2 ? parts[0] : goSprint(l);
        if (!has(deps, link)) deps[link] = started(true);
      }
    }
    for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
      const ref = s[ns];
      if (typeof ref === 'string' && ref.startsWith('service:')) {
        const shared = ref.slice('service:'.length);
        if (!has(deps, shared)) deps[shared] = started(true);
      }
    }
    if (Array.isArray(s.volumes)) {
      for (const v of s.volumes) if (isDict(v) && typeof v.target === 'string') v.target = cleanPath(v.target);
    }
    if (Array.isArray(s.volumes_from)) {
      for (const v of s.volumes_from) {
        const vol = goSprint(v);
        if (vol.startsWith('container:')) continue;
        const svc = vol.split(':')[0];
        if (!has(deps, svc)) deps[svc] = started(false);
      }
    }
    if (Object.keys(deps).length > 0) s.depends_on = deps;
  }
  setNamesFromKeys(tree);
  return tree;
}

function normalizeNetworks(tree: Dict): void {
  const networks: Dict = isDict(tree.networks) ? tree.networks : dict();
  let usesDefault = false;
  if (isDict(tree.services)) {
    for (const name of Object.keys(tree.services)) {
      const s = tree.services[name];
      if (!isDict(s) || has(s, 'provider') || has(s, 'network_mode')) continue;
      if (!isDict(s.networks) || Object.keys(s.networks).length === 0) {
        s.networks = dict([['default', null]]);
        usesDefault = true;
      } else if (has(s.networks, 'default')) {
        usesDefault = true;
      }
    }
  }
  if (!has(networks, 'default') && usesDefault) networks.default = null;
  if (Object.keys(networks).length > 0) tree.networks = networks;
}

/** compose-go's resolve(): values named without one take the environment's. */
function resolveValues(v: unknown, get: (k: string) => string | undefined, keepEmpty: boolean): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const e of v) {
      if (typeof e !== 'string') continue;
      if (e.includes('=')) { out.push(e); continue; }
      const val = get(e);
      if (val !== undefined) out.push(`${e}=${val}`);
      else if (keepEmpty) out.push(e);
    }
    return out;
  }
  if (isDict(v)) {
    const out = dict();
    for (const k of Object.keys(v)) {
      if (v[k] !== null && v[k] !== undefined) { out[k] = v[k]; continue; }
      const val = get(k);
      if (val !== undefined) out[k] = val;
      else if (keepEmpty) out[k] = null;
    }
    return out;
  }
  return v;
}

function setNamesFromKeys(tree: Dict): void {
  for (const kind of ['networks', 'volumes', 'configs', 'secrets']) {
    const top = tree[kind];
    if (!isDict(top)) continue;
    for (const key of Object.keys(top)) {
      const r: Dict = isDict(top[key]) ? (top[key] as Dict) : dict();
      if (r.name === null || r.name === undefined) {
        r.name = r.external === true || r.external === 'true' ? key : `${goSprint(tree.name)}_${key}`;
      }
      top[key] = r;
    }
  }
}
