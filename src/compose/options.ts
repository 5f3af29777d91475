// From the command line and the environment to what the loader needs, the way compose v2
// decides it (compose's toProjectOptions over compose-go's cli package):
//
//   files        -f (repeatable), else COMPOSE_FILE split on COMPOSE_PATH_SEPARATOR (default
//                `:`), else the first of compose.yaml, compose.yml, docker-compose.yml,
//                docker-compose.yaml in the project directory or the nearest parent that has
//                one, plus its compose.override.yml/.yaml or docker-compose.override.yml/.yaml;
//                `-` is stdin
//   directory    --project-directory, else the first file's directory, else the cwd
//   environment  the process environment, then .env in the project directory (or every
//                --env-file, or COMPOSE_ENV_FILES) for what the environment does not set;
//                COMPOSE_* variables from that file count as if exported
//   name         -p, else COMPOSE_PROJECT_NAME (both must already be valid names), else the
//                files' `name:`, else the directory's basename made valid
//   profiles     --profile (repeatable), else COMPOSE_PROFILES split on `,`
//
//   const lo = resolveOptions({ files: [], envFiles: [], profiles: [] }, { cwd: '/srv/shop/web', env: process.env })
//   → { files: [{ filename: '/srv/shop/compose.yaml' }], workingDir: '/srv/shop', projectName: { name: 'shop', explicit: false }, ... }
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readEnvFiles, type Env } from './dotenv.ts';
import { ComposeError } from './errors.ts';
import { invalidProjectName, normalizeProjectName, type ConfigFile, type LoadOptions } from './load.ts';
import { parseYaml } from './parse.ts';
import { expandUser } from './paths.ts';
import { isDict } from './tree.ts';

export const DEFAULT_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const DEFAULT_OVERRIDE_FILE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

/** compose's global flags. */
export interface ProjectFlags {
  /** -f, --file */
  files: string[];
  /** -p, --project-name */
  projectName?: string;
  /** --project-directory (or the deprecated --workdir) */
  projectDirectory?: string;
  /** --env-file */
  envFiles: string[];
  /** --profile */
  profiles: string[];
}

export interface Host {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Reads stdin for `-f -`. */
  readStdin?: () => string;
  warn?: (message: string) => void;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** compose-go's WithEnvFiles: the given files, else `.env` in `dir` when it is a file. */
function envFilesFor(given: string[], dir: string, env: Env): string[] {
  if (given.length > 0) return given;
  const disable = env.COMPOSE_DISABLE_ENV_FILE;
  if (disable !== undefined) {
    const b = parseBool(disable);
    if (b === undefined) throw new ComposeError(`strconv.ParseBool: parsing ${JSON.stringify(disable)}: invalid syntax`);
    if (b) return [];
  }
  const f = join(dir, '.env');
  return isFile(f) ? [f] : [];
}

/** Finds the default compose file (and its override), walking up from `dir`. */
export function findDefaultFiles(dir: string, warn: (m: string) => void): string[] {
  for (let d = dir; ; d = dirname(d)) {
    const found = DEFAULT_FILE_NAMES.map((n) => join(d, n)).filter(exists);
    if (found.length > 0) {
      if (found.length > 1) {
        warn(`Found multiple config files with supported names: ${found.join(', ')}`);
        warn(`Using ${found[0]}`);
      }
      const out = [found[0]];
      const overrides = DEFAULT_OVERRIDE_FILE_NAMES.map((n) => join(d, n)).filter(exists);
      if (overrides.length > 0) {
        if (overrides.length > 1) {
          warn(`Found multiple override files with supported names: ${overrides.join(', ')}`);
          warn(`Using ${overrides[0]}`);
        }
        out.push(overrides[0]);
      }
      return out;
    }
    if (dirname(d) === d) return [];
  }
}

/** Resolves the global flags into the loader's options (files located and read, environment assembled). */
export function resolveOptions(flags: ProjectFlags, host: Host): LoadOptions & { envFiles: string[] } {
  const warn = host.warn ?? (() => {});
  const processEnv: Env = Object.create(null);
  for (const [k, v] of Object.entries(host.env)) if (v !== undefined) processEnv[k] = v;
  if (processEnv.PWD === undefined) processEnv.PWD = host.cwd;

  if (flags.projectName && normalizeProjectName(flags.projectName) !== flags.projectName) throw invalidProjectName(flags.projectName);
  const projectDir = flags.projectDirectory ? resolve(host.cwd, expandUser(flags.projectDirectory)) : undefined;
  const onUnset = (n: string) => warn(`The ${JSON.stringify(n)} variable is not set. Defaulting to a blank string.`);

  // --env-file, or COMPOSE_ENV_FILES; relative to the cwd.
  let envFlags = flags.envFiles;
  if (envFlags.length === 0 && processEnv.COMPOSE_ENV_FILES) envFlags = processEnv.COMPOSE_ENV_FILES.split(',').filter((s) => s !== '');
  envFlags = envFlags.map((f) => resolve(host.cwd, expandUser(f)));

  // compose first reads the env file of the directory it can tell without COMPOSE_FILE, and
  // exports its COMPOSE_* variables (so COMPOSE_FILE, COMPOSE_PROFILES, ... may come from .env).
  const firstFlagFile = flags.files.find((f) => f !== '-');
  const earlyDir = projectDir ?? (firstFlagFile ? dirname(resolve(host.cwd, firstFlagFile)) : host.cwd);
  const early = readEnvFiles(envFilesFor(envFlags, earlyDir, processEnv), processEnv, () => {});
  for (const [k, v] of Object.entries(early)) if (k.startsWith('COMPOSE_') && processEnv[k] === undefined) processEnv[k] = v;

  const env: Env = Object.assign(Object.create(null), processEnv);
  let envFiles = envFilesFor(envFlags, earlyDir, env);
  const merge = (files: string[]) => {
    const fromFiles = readEnvFiles(files, env, onUnset);
    for (const [k, v] of Object.entries(fromFiles)) if (env[k] === undefined) env[k] = v;
  };
  merge(envFiles);

  // The files: -f, else COMPOSE_FILE, else the defaults.
  let paths = flags.files.map((f) => (f === '-' ? f : resolve(host.cwd, f)));
  if (paths.length === 0 && env.COMPOSE_FILE !== undefined) {
    const sep = env.COMPOSE_PATH_SEPARATOR || ':';
    paths = env.COMPOSE_FILE.split(sep).map((f) => (f === '-' ? f : resolve(host.cwd, f)));
    for (const p of paths) if (p !== '-' && !exists(p)) throw new ComposeError(`stat ${p}: no such file or directory`);
  }
  if (paths.length === 0) paths = findDefaultFiles(projectDir ?? host.cwd, warn);

  // The project directory, and its .env (again, now that the files are known).
  const firstFile = paths.find((p) => p !== '-');
  const workingDir = projectDir ?? (firstFile ? dirname(firstFile) : host.cwd);
  const later = envFilesFor(envFlags, workingDir, env);
  if (later.join('\0') !== envFiles.join('\0') && later.length > 0) {
    envFiles = later;
    merge(envFiles);
  }

  if (paths.length === 0) throw new ComposeError('no configuration file provided: not found');
  const files: ConfigFile[] = paths.map((p) => {
    if (p === '-') return { filename: '-', content: host.readStdin ? host.readStdin() : readFileSync(0, 'utf8') };
    try {
      return { filename: p, content: readFileSync(p, 'utf8') };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ComposeError(`open ${p}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EISDIR' ? 'is a directory' : err.message}`);
    }
  });

  // The name: -p, then COMPOSE_PROJECT_NAME, then `name:` in a file (the loader reads it),
  // then the directory.
  let projectName: LoadOptions['projectName'];
  if (flags.projectName) projectName = { name: flags.projectName, explicit: true };
  else if (env.COMPOSE_PROJECT_NAME) projectName = { name: env.COMPOSE_PROJECT_NAME, explicit: true };
  else {
    const dirName = basename(workingDir);
    try {
      if (basename(realpathSync(workingDir)) !== dirName) warn(`project has been loaded without an explicit name from a symlink. Using name ${JSON.stringify(dirName)}`);
    } catch {
      // A project directory that does not exist is reported when something is read from it.
    }
    const named = files.some((f) => {
      try {
        return parseYaml(f.content ?? '', f.filename).some((d) => isDict(d.value) && typeof d.value.name === 'string' && d.value.name !== '');
      } catch {
        // Not YAML (yet): the loader reports it; here it names no project.
        return false;
      }
    });
    projectName = { name: named ? '' : normalizeProjectName(dirName), explicit: false };
  }

  let profiles = flags.profiles;
  if (profiles.length === 0) profiles = (env.COMPOSE_PROFILES ?? '').split(',').map((s) => s.trim());

  // The label compose writes (com.docker.compose.project.environment_file) names the files given
  // with --env-file (or COMPOSE_ENV_FILES) only, not a default .env.
  return { files, workingDir, environment: env, envFiles: envFlags, projectName, profiles, warn };
}
