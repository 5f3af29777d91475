// Loading a compose project: files → one typed model, with compose v2's semantics (docker
// compose v2.40.3 and its compose-go 2.9.1 loader, step for step, so the same files give the
// same model; where compose-go has since fixed a bug, berth has the fix: `include` is applied
// before `extends`, and `${A:-default}` substitutes the default only when it is used):
//
//   for each file, for each YAML document in it:
//     parse (anchors, `!reset`/`!override`)          parse.ts
//     interpolate values (${VAR:-x}, ...)             interpolate.ts, template.ts
//     load `include:`d projects, import their resources (each with its own directory and .env)
//     remove `!reset` paths from what earlier files built
//     apply `extends:` (same file or another file, recursively, cycles refused)
//     merge into the model so far, de-duplicate     merge.ts
//     validate against the compose-spec schema       schema.ts  (`validating FILE: ...`)
//     rewrite short syntaxes into canonical forms     canonical.ts
//   then: defaults, extra checks, absolute paths, environment-sourced values  canonical.ts, paths.ts
//   then: the project name, implicit networks and names, dependencies  normalize.ts
//   then: typed model (convert.ts), profiles and consistency checks (project.ts), env_file and
//   label_file read into environment and labels.
//
//   const project = loadProject({ files: [{ filename: '/srv/shop/compose.yaml' }], workingDir: '/srv/shop',
//                                 environment: process.env, projectName: { name: 'shop', explicit: false } })
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { canonical, checkModel, omitEmpty, setDefaults } from './canonical.ts';
import { toFileObject, toNetwork, toService, toVolume } from './convert.ts';
import { parseDotEnv, parseRawEnv, readEnvFiles, type Env } from './dotenv.ts';
import { ComposeError } from './errors.ts';
import { interpolate } from './interpolate.ts';
import { enforceUnicity, mergeMappings, mergeYaml } from './merge.ts';
import type { Project, Service } from './model.ts';
import { normalize } from './normalize.ts';
import { applyResets, parseYaml } from './parse.ts';
import { absPath, expandUser, resolveEnvironment, resolvePaths } from './paths.ts';
import { checkConsistency, withoutUnnecessaryResources, withProfiles, withSelectedServices, withServicesEnabled } from './project.ts';
import { validateSchema } from './schema.ts';
import { deepClone, dict, goSprint, has, isDict, type Dict } from './tree.ts';

export interface ConfigFile {
  /** Absolute path, or `-` for stdin (then `content` is required). */
  filename: string;
  content?: string;
}

export interface LoadOptions {
  files: ConfigFile[];
  /** The project directory (absolute). */
  workingDir: string;
  /** The interpolation environment (process env + .env). Not modified. */
  environment: Env;
  /** The --env-file files (absolute), for the environment_file label; not a default .env. */
  envFiles?: string[];
  /**
   * The name from -p / COMPOSE_PROJECT_NAME (`explicit`: must already be normalised), or the
   * directory's (already normalised); a top-level `name:` in the files wins over the latter.
   */
  projectName: { name: string; explicit: boolean };
  profiles?: string[];
  /**
   * Services named on the command line: they are enabled (with their profiles), and the project
   * is narrowed to them and their dependencies (compose's WithServicesEnabled + WithSelectedServices).
   */
  services?: string[];
  /** Keep networks, volumes, secrets and configs no active service uses (compose's --all-resources). */
  allResources?: boolean;
  /** Read env_file and label_file into environment and labels (default true). */
  resolveEnvironment?: boolean;
  /** compose's warnings (the obsolete `version`, unset variables, ...). */
  warn?: (message: string) => void;
}

/** compose-go's NormalizeProjectName: lowercase, only [a-z0-9_-], no leading `_`/`-`. */
export function normalizeProjectName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

export function invalidProjectName(v: string): ComposeError {
  return new ComposeError(`invalid project name ${JSON.stringify(v)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`);
}

interface Ctx {
  workingDir: string;
  env: Env;
  warn: (m: string) => void;
  /** Files loaded for `extends: {file}` are not validated alone (the merged result is). */
  skipValidation: boolean;
  skipInclude: boolean;
  skipExtends: boolean;
  /** Files being included, for cycle detection. */
  included: string[];
  /** Warned-about `version` files (once per file, as compose does). */
  versionWarned: Set<string>;
}

export function loadProject(o: LoadOptions): Project {
  const warn = o.warn ?? (() => {});
  if (o.files.length === 0) throw new ComposeError('no configuration file provided: not found');
  const env: Env = Object.assign(Object.create(null), o.environment);

  // The project name: explicit (must be normalised already), else the last `name:` in the
  // files (interpolated and normalised), else the directory's.
  let projectName = o.projectName.name;
  if (o.projectName.explicit) {
    if (normalizeProjectName(projectName) !== projectName) throw invalidProjectName(projectName);
  } else {
    let fromFiles = '';
    for (const f of o.files) {
      try {
        for (const doc of parseYaml(content(f), f.filename)) {
          if (isDict(doc.value) && typeof doc.value.name === 'string' && doc.value.name !== '') fromFiles = doc.value.name;
        }
      } catch (e) {
        // A file that does not parse is reported below, where it is loaded.
        if (!(e instanceof ComposeError)) throw e;
      }
    }
    fromFiles = normalizeProjectName(interpolate(dict([['name', fromFiles]]), { lookup: lookupIn(env), warn }).name as string);
    if (fromFiles !== '') projectName = fromFiles;
  }
  // ${COMPOSE_PROJECT_NAME} in the files is the project's name.
  env.COMPOSE_PROJECT_NAME = projectName;

  const ctx: Ctx = { workingDir: o.workingDir, env, warn, skipValidation: false, skipInclude: false, skipExtends: false, included: [], versionWarned: new Set() };
  let model = loadModel(o.files, ctx);
  if (Object.keys(model).length === 0) throw new ComposeError('empty compose file');
  if (projectName === '') throw new ComposeError('project name must not be empty');
  model.name = projectName;
  model = normalize(model, env);

  const { project: typed, files } = toProject(model, projectName, o, env);
  let project = withProfiles(typed, o.profiles ?? []);
  checkConsistency(project);
  // What compose does after loading, for the services a command names.
  const selected = o.services ?? [];
  project = withServicesEnabled(project, selected);
  project = withSelectedServices(project, selected);
  if (!o.allResources) project = withoutUnnecessaryResources(project);
  if (o.resolveEnvironment !== false) for (const s of Object.values(project.services)) resolveServiceFiles(s, files.get(s.name), env);
  return project;
}

function lookupIn(env: Env) {
  return (k: string) => (Object.prototype.hasOwnProperty.call(env, k) ? env[k] : undefined);
}

function content(f: ConfigFile): string {
  if (f.content !== undefined) return f.content;
  try {
    const c = readFileSync(f.filename, 'utf8');
    f.content = c;
    return c;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ComposeError(`open ${f.filename}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EISDIR' ? 'is a directory' : err.message}`);
  }
}

/** compose-go's loadYamlModel: the files merged, then defaults, checks, paths, environment. */
function loadModel(files: ConfigFile[], ctx: Ctx): Dict {
  let model = dict();
  for (const f of files) model = loadFile(f, ctx, model);
  model = setDefaults(model);
  if (!ctx.skipValidation) checkModel(model);
  resolvePaths(model, ctx.workingDir);
  resolveEnvironment(model, ctx.env);
  return model;
}

/** compose-go's loadYamlFile: each document of one file merged into `model`. */
function loadFile(f: ConfigFile, ctx: Ctx, model: Dict): Dict {
  const docs = parseYaml(content(f), f.filename);
  for (const doc of docs) {
    if (!isDict(doc.value)) throw new ComposeError('top-level object must be a mapping');
    const cfg = interpolate(doc.value, { lookup: lookupIn(ctx.env), warn: ctx.warn });
    if (!ctx.skipInclude) applyInclude(cfg, f.filename, ctx);
    applyResets(model, doc.resets);
    if (!ctx.skipExtends) applyExtends(cfg, f.filename, ctx, doc.resets, []);
    model = mergeMappings(model, cfg, []);
    model = enforceUnicity(model);
    if (!ctx.skipValidation) {
      try {
        validateSchema(model);
      } catch (e) {
        if (e instanceof ComposeError) throw new ComposeError(`validating ${f.filename}: ${e.message}`);
        throw e;
      }
      if (has(model, 'version')) {
        if (!ctx.versionWarned.has(f.filename)) {
          ctx.warn(`${f.filename}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
          ctx.versionWarned.add(f.filename);
        }
        delete model.version;
      }
    }
    model = canonical(model, ctx.warn);
    model = omitEmpty(model);
    model = enforceUnicity(model);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// include

interface IncludeConfig {
  path: string[];
  projectDirectory?: string;
  envFile?: string[];
}

function includeConfigs(v: unknown): IncludeConfig[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new ComposeError(`\`include\` must be a list, got ${goSprint(v)}`);
  const strs = (x: unknown, what: string): string[] => {
    if (typeof x === 'string') return [x];
    if (Array.isArray(x) && x.every((e) => typeof e === 'string')) return x as string[];
    throw new ComposeError(`include.${what}: invalid type, expected a string or a list of strings`);
  };
  return v.map((e) => {
    if (typeof e === 'string') return { path: [e] };
    if (!isDict(e)) throw new ComposeError(`include: invalid entry ${goSprint(e)}`);
    const c: IncludeConfig = { path: e.path === undefined ? [] : strs(e.path, 'path') };
    if (e.project_directory !== undefined && e.project_directory !== null) c.projectDirectory = goSprint(e.project_directory);
    if (e.env_file !== undefined && e.env_file !== null) c.envFile = strs(e.env_file, 'env_file');
    return c;
  });
}

function applyInclude(cfg: Dict, filename: string, ctx: Ctx): void {
  const includes = includeConfigs(cfg.include);
  const included = [...ctx.included, filename];
  for (const r of includes) {
    if (r.path.length === 0) throw new ComposeError('include: missing property \'path\'');
    const paths = r.path.map((p) => absPath(ctx.workingDir, p));
    let projectDir: string;
    if (!r.projectDirectory) projectDir = dirname(paths[0]);
    else projectDir = isAbsolute(expandUser(r.projectDirectory)) ? expandUser(r.projectDirectory) : join(ctx.workingDir, r.projectDirectory);
    if (included.includes(paths[0])) {
      const chain = [...included, paths[0]];
      throw new ComposeError(`include cycle detected:\n${chain[0]}\n include ${chain.slice(1).join('\n include ')}`);
    }
    let envFiles: string[] = [];
    if (!r.envFile || r.envFile.length === 0) {
      const f = join(projectDir, '.env');
      try {
        if (statSync(f).isFile()) envFiles = [f];
      } catch {
        // No .env in the included project's directory.
      }
    } else {
      for (let f of r.envFile) {
        if (f === '/dev/null') continue;
        if (!isAbsolute(f)) {
          f = join(ctx.workingDir, f);
          let st;
          try {
            st = statSync(f);
          } catch {
            throw new ComposeError(`stat ${f}: no such file or directory`);
          }
          if (st.isDirectory()) throw new ComposeError(`${f} is not a file`);
        }
        envFiles.push(f);
      }
    }
    // The parent's environment wins over the included project's .env.
    const env: Env = Object.assign(Object.create(null), readEnvFiles(envFiles, ctx.env, (n) => ctx.warn(`The ${JSON.stringify(n)} variable is not set. Defaulting to a blank string.`)), ctx.env);
    const sub: Ctx = { ...ctx, workingDir: projectDir, env, skipValidation: false, skipInclude: false, skipExtends: false, included };
    const imported = loadModel(paths.map((p) => ({ filename: p })), sub);
    importResources(imported, cfg);
  }
  delete cfg.include;
}

function importResources(source: Dict, target: Dict): void {
  for (const key of ['services', 'volumes', 'networks', 'secrets', 'configs', 'models']) {
    const from = source[key];
    if (!isDict(from)) continue;
    const to: Dict = isDict(target[key]) ? (target[key] as Dict) : dict();
    for (const name of Object.keys(from)) {
      if (!has(to, name)) {
        to[name] = from[name];
        continue;
      }
      // compose v2 (before compose-go 2.10) refuses a resource defined both by the file and
      // by a project it includes, unless the two definitions are the same.
      if (deepEqual(from[name], to[name])) continue;
      throw new ComposeError(`${key}.${name} conflicts with imported resource`);
    }
    target[key] = to;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && deepEqual(a[k], b[k]));
  }
  return Number.isNaN(a) && Number.isNaN(b);
}

// ---------------------------------------------------------------------------------------------
// extends

function applyExtends(cfg: Dict, filename: string, ctx: Ctx, resets: string[][], chain: Array<[string, string]>): void {
  if (!has(cfg, 'services')) return;
  const services = cfg.services;
  if (!isDict(services)) throw new ComposeError('services must be a mapping');
  for (const name of Object.keys(services)) services[name] = extendService(name, services, filename, filename, ctx, resets, chain);
}

/**
 * compose-go's applyServiceExtends. `filename` is the file being loaded (for messages),
 * `current` the file `services` come from (a base file once an extends crosses files).
 */
function extendService(name: string, services: Dict, filename: string, current: string, ctx: Ctx, resets: string[][], chain: Array<[string, string]>): unknown {
  const s = services[name];
  if (s === null || s === undefined) return null;
  if (!isDict(s)) throw new ComposeError(`services.${name} must be a mapping`);
  if (!has(s, 'extends')) return s;
  const ext = s.extends;
  let ref = '';
  let file: string | undefined;
  if (isDict(ext)) {
    if (typeof ext.service !== 'string') throw new ComposeError(`extends.${name}.service is required`);
    ref = ext.service;
    if (ext.file !== undefined && ext.file !== null) file = goSprint(ext.file);
  } else if (typeof ext === 'string') ref = ext;

  let baseServices = services;
  let baseResets = resets;
  let where = current;
  if (file !== undefined) {
    const loaded = loadExtendsFile(name, ref, filename, file, ctx);
    baseServices = loaded.services;
    baseResets = loaded.resets;
    where = loaded.filename;
  } else if (!has(services, ref)) {
    throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${filename}: service ${JSON.stringify(ref)} not found`);
  }
  // Cycle detection: the same (file, service) twice on the chain.
  const link: [string, string] = [where, name];
  if (chain.some(([f, n]) => f === link[0] && n === link[1])) {
    const all = [...chain, link];
    const lines = ['Circular reference:', `  ${all[0][1]} in ${all[0][0]}`, ...all.slice(1).map(([f, n]) => `  extends ${n} in ${f}`)];
    throw new ComposeError(lines.join('\n'));
  }
  const base = extendService(ref, baseServices, filename, where, ctx, baseResets, [...chain, link]);
  if (base === null || base === undefined) return s;
  const source = deepClone(base) as Dict;
  applyResets(dict([['services', dict([[name, source]])]]), resets);
  const merged = mergeYaml(source, s, ['services', 'x']) as Dict;
  delete merged.extends;
  services[name] = merged;
  return merged;
}

/** A file `extends.file` names, loaded raw (no include, extends, validation) with paths resolved against its directory. */
function loadExtendsFile(name: string, ref: string, filename: string, refPath: string, ctx: Ctx): { services: Dict; resets: string[][]; filename: string } {
  const local = resolve(ctx.workingDir, expandUser(refPath));
  const sub: Ctx = { ...ctx, workingDir: dirname(local), skipValidation: true, skipInclude: true, skipExtends: true };
  const f: ConfigFile = { filename: local };
  const docs = parseYaml(content(f), local);
  let source = dict();
  const resets: string[][] = [];
  for (const doc of docs) {
    if (!isDict(doc.value)) throw new ComposeError('top-level object must be a mapping');
    const cfg = interpolate(doc.value, { lookup: lookupIn(sub.env), warn: sub.warn });
    applyResets(source, doc.resets);
    resets.push(...doc.resets);
    source = enforceUnicity(mergeMappings(source, cfg, []));
    source = enforceUnicity(omitEmpty(canonical(source, sub.warn)));
  }
  if (!has(source, 'services')) throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${local}: no services section`);
  if (!isDict(source.services)) throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${local}: services must be a mapping`);
  if (!has(source.services, ref)) {
    throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${filename}: service ${JSON.stringify(ref)} not found in ${refPath}`);
  }
  resolvePaths(source, dirname(local));
  return { services: source.services, resets, filename: local };
}

// ---------------------------------------------------------------------------------------------
// typed model

interface ServiceFiles {
  envFiles: Array<{ path: string; required: boolean; format?: string }>;
  labelFiles: string[];
}

function toProject(model: Dict, name: string, o: LoadOptions, env: Env): { project: Project; files: Map<string, ServiceFiles> } {
  const services: Record<string, Service> = {};
  const files = new Map<string, ServiceFiles>();
  if (isDict(model.services)) {
    for (const k of Object.keys(model.services)) {
      const s = isDict(model.services[k]) ? (model.services[k] as Dict) : dict();
      services[k] = toService(k, s);
      const envFiles = (Array.isArray(s.env_file) ? s.env_file : []).filter(isDict).map((e) => ({
        path: goSprint(e.path),
        required: e.required !== false && e.required !== 'false',
        format: e.format === undefined || e.format === null ? undefined : goSprint(e.format),
      }));
      const labelFiles = (Array.isArray(s.label_file) ? s.label_file : []).map((e) => goSprint(e));
      files.set(k, { envFiles, labelFiles });
    }
  }
  const top = <T>(key: string, f: (d: Dict) => T): Record<string, T> => {
    const out: Record<string, T> = {};
    const m = model[key];
    if (isDict(m)) for (const k of Object.keys(m)) out[k] = f(isDict(m[k]) ? (m[k] as Dict) : dict());
    return out;
  };
  const x = Object.keys(model).filter((k) => k.startsWith('x-'));
  const project: Project = {
    name,
    workingDir: o.workingDir,
    composeFiles: o.files.map((f) => f.filename),
    environment: { ...env },
    envFiles: o.envFiles ?? [],
    services,
    disabledServices: {},
    profiles: o.profiles ?? [],
    networks: top('networks', toNetwork),
    volumes: top('volumes', toVolume),
    secrets: top('secrets', toFileObject),
    configs: top('configs', toFileObject),
  };
  if (x.length) project.extensions = Object.fromEntries(x.map((k) => [k, model[k]]));
  return { project, files };
}

/**
 * env_file contents under the service's own `environment:` (which wins), and label_file under
 * its `labels:`, as compose resolves them before it runs or prints a project (the files
 * themselves are then dropped from the model).
 */
function resolveServiceFiles(s: Service, files: ServiceFiles | undefined, env: Env): void {
  const own = s.environment ?? {};
  for (const k of Object.keys(own)) if (own[k] === null && Object.prototype.hasOwnProperty.call(env, k)) own[k] = env[k];
  if (files && files.envFiles.length > 0) {
    const fromFiles: Env = Object.create(null);
    for (const k of Object.keys(own)) if (own[k] !== null) fromFiles[k] = own[k] as string;
    for (const f of files.envFiles) {
      let text: string;
      try {
        text = readFileSync(f.path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          if (f.required) throw new ComposeError(`env file ${f.path} not found: stat ${f.path}: no such file or directory`);
          continue;
        }
        throw new ComposeError(`open ${f.path}: ${(e as Error).message}`);
      }
      // Variables in an env file resolve from the project environment first, then from the
      // service's own environment and what the files defined before.
      const lookup = (k: string) => (Object.prototype.hasOwnProperty.call(env, k) ? env[k] : undefined);
      try {
        if (f.format === 'raw') parseRawEnv(text, lookup, fromFiles);
        else if (f.format === undefined || f.format === '' || f.format === '.env') parseDotEnv(text, lookup, fromFiles);
        else throw new ComposeError(`unsupported env_file format ${JSON.stringify(f.format)}`);
      } catch (e) {
        throw new ComposeError(`failed to read ${f.path}: ${(e as Error).message}`);
      }
    }
    s.environment = { ...fromFiles, ...own };
  } else if (s.environment) s.environment = own;
  if (files && files.labelFiles.length > 0) {
    const fromFiles: Env = Object.create(null);
    for (const f of files.labelFiles) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        throw new ComposeError(`label file ${f} not found: stat ${f}: no such file or directory`);
      }
      try {
        parseDotEnv(text, (k) => (Object.prototype.hasOwnProperty.call(fromFiles, k) ? fromFiles[k] : undefined), fromFiles);
      } catch (e) {
        throw new ComposeError(`failed to read ${f}: ${(e as Error).message}`);
      }
    }
    s.labels = { ...fromFiles, ...(s.labels ?? {}) };
  }
}
