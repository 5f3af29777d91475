// The CLI's config file, in docker's format: `<config dir>/config.json` (`$BERTH_CONFIG`, else
// ~/.berth) with `auths` (base64 `user:password` or an identity token per registry),
// `credsStore` / `credHelpers` (docker-credential-<name> programs, spoken to as docker does:
// get/store/erase over stdin/stdout), and `detachKeys`. Written atomically, mode 0600.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StatusError } from './context.ts';

export const INDEX_SERVER = 'https://index.docker.io/v1/';

export interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; email?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  detachKeys?: string;
  [k: string]: unknown;
}

/** The AuthConfig docker sends in X-Registry-Auth and to POST /auth. */
export interface AuthConfig { username?: string; password?: string; serveraddress?: string; identitytoken?: string }

export function configDir(): string {
  return process.env.BERTH_CONFIG || join(homedir(), '.berth');
}

export function configPath(): string { return join(configDir(), 'config.json'); }

export function loadConfig(): ConfigFile {
  let text: string;
  try { text = readFileSync(configPath(), 'utf8'); } catch { return {}; }
  try { return JSON.parse(text) as ConfigFile; } catch (e) {
    throw new StatusError(`loading config file: ${configPath()}: ${(e as Error).message}`, 1);
  }
}

export function saveConfig(cfg: ConfigFile): void {
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  const tmp = `${configPath()}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(cfg, null, '\t') + '\n');
    fsyncSync(fd);
  } finally { closeSync(fd); }
  renameSync(tmp, configPath());
}

/** docker's key for a registry: Docker Hub is the v1 index URL, others their host[:port]. */
export function serverKey(registry: string | undefined): string {
  if (!registry || ['docker.io', 'index.docker.io', 'registry-1.docker.io', INDEX_SERVER].includes(registry)) return INDEX_SERVER;
  return registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

/** The registry host of an image reference (`localhost:5000/x` → `localhost:5000`, `busybox` → Hub). */
export function registryOf(ref: string): string {
  const i = ref.indexOf('/');
  if (i < 0) return INDEX_SERVER;
  const first = ref.slice(0, i);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? serverKey(first) : INDEX_SERVER;
}

function helperFor(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] ?? cfg.credHelpers?.[key.replace(/^https?:\/\//, '')] ?? cfg.credsStore;
}

function runHelper(name: string, verb: string, input: string): { ok: boolean; out: string; err: string } {
  // node:child_process only here (1 ms to load, and run/exec read detachKeys from this file).
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(`docker-credential-${name}`, [verb], { input, encoding: 'utf8' });
  if (r.error) throw new StatusError(`error getting credentials - err: exec: "docker-credential-${name}": executable file not found in $PATH, out: \`\``, 1);
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stdout || r.stderr || '').trim() };
}

export function getAuth(key: string, cfg = loadConfig()): AuthConfig {
  const helper = helperFor(cfg, key);
  if (helper) {
    const r = runHelper(helper, 'get', key);
    if (!r.ok) return { serveraddress: key }; // "credentials not found in native keychain"
    const j = JSON.parse(r.out) as { Username?: string; Secret?: string };
    if (j.Username === '<token>') return { identitytoken: j.Secret, serveraddress: key };
    return { username: j.Username, password: j.Secret, serveraddress: key };
  }
  const a = cfg.auths?.[key];
  if (!a) return { serveraddress: key };
  const out: AuthConfig = { serveraddress: key };
  if (a.auth) {
    const s = Buffer.from(a.auth, 'base64').toString();
    const i = s.indexOf(':');
    out.username = s.slice(0, i);
    out.password = s.slice(i + 1);
  }
  if (a.identitytoken) out.identitytoken = a.identitytoken;
  return out;
}

/** Stores credentials; returns where (for docker's plaintext warning). */
export function storeAuth(key: string, a: AuthConfig): 'helper' | 'file' {
  const cfg = loadConfig();
  const helper = helperFor(cfg, key);
  if (helper) {
    const secret = a.identitytoken ? { Username: '<token>', Secret: a.identitytoken } : { Username: a.username, Secret: a.password };
    const r = runHelper(helper, 'store', JSON.stringify({ ServerURL: key, ...secret }));
    if (!r.ok) throw new StatusError(`Error saving credentials: error storing credentials - err: exit status 1, out: \`${r.err}\``, 1);
    // As docker's native store: the file keeps an empty entry, which is how logout knows.
    cfg.auths ??= {};
    cfg.auths[key] = {};
    saveConfig(cfg);
    return 'helper';
  }
  cfg.auths ??= {};
  cfg.auths[key] = a.identitytoken
    ? { auth: Buffer.from(`${a.username ?? ''}:`).toString('base64'), identitytoken: a.identitytoken }
    : { auth: Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64') };
  saveConfig(cfg);
  return 'file';
}

/**
 * docker logout's keys for a registry: the key itself and, for a registry other than Docker
 * Hub, the host with `http://` and `https://` (older CLIs stored those forms).
 */
export function logoutKeys(key: string): string[] {
  return key === INDEX_SERVER ? [key] : [key, `http://${key}`, `https://${key}`];
}

/** Whether the config file records a login for any of `keys` (a helper's login leaves `{}`). */
export function loggedIn(keys: string[], cfg = loadConfig()): boolean {
  return keys.some((k) => cfg.auths?.[k] !== undefined);
}

/**
 * Removes the credentials stored under `key` (from its helper, then the file's entry); returns
 * the helper's error text when it failed, as docker's store does (the entry then stays).
 */
export function eraseAuth(key: string): string | undefined {
  const cfg = loadConfig();
  const helper = helperFor(cfg, key);
  if (helper) {
    const r = runHelper(helper, 'erase', key);
    if (!r.ok) return r.err || 'exit status 1';
  }
  if (cfg.auths?.[key] !== undefined) {
    delete cfg.auths[key];
    saveConfig(cfg);
  }
  return undefined;
}

/** X-Registry-Auth as the docker CLI encodes it: base64url of the AuthConfig JSON. */
export function encodeAuthHeader(a: AuthConfig): string {
  return encodeJsonHeader(a);
}

/** JSON in Go's base64.URLEncoding (the URL alphabet, with padding), as docker's headers carry it. */
function encodeJsonHeader(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The header for an image reference's registry (empty credentials when not logged in). */
export function authHeaderFor(ref: string): Record<string, string> {
  return { 'X-Registry-Auth': encodeAuthHeader(getAuth(registryOf(ref))) };
}

/**
 * Every credential the config knows (docker's GetAllCredentials), keyed by server address: what
 * a build sends as X-Registry-Config for its FROM pulls. A helper that fails for one entry
 * leaves that entry out rather than failing the build.
 */
export function allAuths(cfg = loadConfig()): Record<string, AuthConfig> {
  const out: Record<string, AuthConfig> = {};
  for (const key of new Set([...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})])) {
    try {
      const a = getAuth(key, cfg);
      if (a.username || a.password || a.identitytoken) out[key] = a;
    } catch { /* a missing helper: no credentials for that registry */ }
  }
  return out;
}

/** X-Registry-Config as the docker CLI encodes it (base64url JSON of the map). */
export function encodeRegistryConfig(m: Record<string, AuthConfig>): string {
  return encodeJsonHeader(m);
}

/** The config file's `detachKeys` (docker's default for run/start/attach/exec without --detach-keys). */
export function configDetachKeys(): string | undefined {
  try { return loadConfig().detachKeys || undefined; } catch { return undefined; /* an unreadable config: docker's default keys */ }
}
