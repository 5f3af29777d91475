// Relative paths in a compose file resolve against the project directory (compose-go's
// paths.ResolveRelativePaths): build contexts (unless remote), bind-mount sources, env_file
// and label_file paths, secret/config files, extends files, watch paths and a local volume's
// bind device. `~` is the user's home directory.
//
//   resolvePaths({ services: { web: { build: { context: './app' } } } }, '/srv/proj')
//   → build.context '/srv/proj/app'
import { realpathSync, lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, isAbsolute } from 'node:path';
import { ComposeError } from './errors.ts';
import { has, isDict, lookup, type Dict } from './tree.ts';

/** paths.ExpandUser: a leading `~` is the home directory (`~x` too, as compose-go does). */
export function expandUser(p: string): string {
  if (!p.startsWith('~')) return p;
  const home = process.env.HOME || homedir();
  return home ? join(home, p.slice(1)) : p;
}

const isWindowsAbs = (p: string) => /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\\\');

export function absPath(workingDir: string, v: string): string {
  v = expandUser(v);
  if (isAbsolute(v) || v === '') return v;
  return join(workingDir, v);
}

function maybeUnixPath(workingDir: string, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const p = expandUser(v);
  if (isAbsolute(p) || isWindowsAbs(p)) return p;
  return join(workingDir, p);
}

/** A build context that is not a local directory: a URL, a git reference, `service:x`. */
export function isRemoteContext(v: string): boolean {
  return v.includes('://') || v.startsWith('service:') || ['https://', 'http://', 'git://', 'ssh://', 'github.com/', 'git@'].some((p) => v.startsWith(p));
}

function resolveSymlink(p: string): string {
  try {
    if (lstatSync(p).isSymbolicLink()) return realpathSync(p);
  } catch {
    // A path that does not exist (yet) is kept as written.
  }
  return p;
}

type Resolver = (v: unknown) => unknown;

export function resolvePaths(tree: Dict, workingDir: string): Dict {
  const abs: Resolver = (v) => {
    if (typeof v === 'string') return absPath(workingDir, v);
    if (Array.isArray(v)) return v.map(abs);
    throw new ComposeError(`unexpected type ${v === null ? '<nil>' : typeof v}`);
  };
  const context: Resolver = (v) => (typeof v === 'string' && isRemoteContext(v) ? v : abs(v));
  const resolvers: Array<[string, Resolver]> = [
    ['services.*.build.context', context],
    ['services.*.build.additional_contexts.*', context],
    ['services.*.build.ssh.*', (v) => maybeUnixPath(workingDir, v)],
    ['services.*.env_file.*.path', abs],
    ['services.*.label_file.*', abs],
    ['services.*.extends.file', abs],
    ['services.*.develop.watch.*.path', (v) => (typeof v === 'string' ? resolveSymlink(absPath(workingDir, v)) : abs(v))],
    ['services.*.volumes.*', (v) => {
      if (!isDict(v) || v.type !== 'bind') return v;
      if (!has(v, 'source')) throw new ComposeError('invalid mount config for type "bind": field Source must not be empty');
      v.source = maybeUnixPath(workingDir, v.source);
      return v;
    }],
    ['configs.*.file', (v) => maybeUnixPath(workingDir, v)],
    ['secrets.*.file', (v) => maybeUnixPath(workingDir, v)],
    ['volumes.*', (v) => {
      if (!isDict(v) || v.driver !== 'local' || !isDict(v.driver_opts)) return v;
      const o = v.driver_opts;
      if (o.o === 'bind' && has(o, 'device')) o.device = maybeUnixPath(workingDir, o.device);
      return v;
    }],
  ];
  const walk = (v: unknown, p: string[]): unknown => {
    const r = lookup(resolvers, p);
    if (r) return r(v);
    if (isDict(v)) for (const k of Object.keys(v)) v[k] = walk(v[k], [...p, k]);
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = walk(v[i], [...p, '[]']);
    return v;
  };
  return walk(tree, []) as Dict;
}

/**
 * What compose resolves from the project environment before typing the model
 * (ResolveEnvironment): a bare `KEY` in a service's environment list takes the variable's
 * value, and a secret or config with an `environment:` source gets its content.
 */
export function resolveEnvironment(tree: Dict, env: Record<string, string>): void {
  const get = (k: string) => (Object.prototype.hasOwnProperty.call(env, k) ? env[k] : undefined);
  if (isDict(tree.services)) {
    for (const name of Object.keys(tree.services)) {
      const s = tree.services[name];
      if (!isDict(s) || !Array.isArray(s.environment)) continue;
      s.environment = s.environment.flatMap((e) => {
        if (typeof e !== 'string') return [];
        const v = get(e);
        return [v === undefined ? e : `${e}=${v}`];
      });
    }
  }
  for (const kind of ['secrets', 'configs']) {
    const objs = tree[kind];
    if (!isDict(objs)) continue;
    for (const name of Object.keys(objs)) {
      const o = objs[name];
      if (!isDict(o) || typeof o.environment !== 'string') continue;
      const v = get(o.environment);
      if (v !== undefined) o.content = v;
    }
  }
}
