// The registry's settings: a config file (JSON or YAML, the flags' names in camelCase or
// kebab-case), overridden by command-line flags.
//
//   # /etc/berth/registry.yaml
//   addr: 0.0.0.0:5000
//   root: /var/lib/berth-registry
//   htpasswd: /etc/berth/htpasswd
//   tokenAuth: true
//   tls-cert: /etc/berth/registry.crt
//   tls-key: /etc/berth/registry.key
//   anonymousActions: [pull]
import { readFile } from 'node:fs/promises';
import type { RegistryOptions } from './server.ts';

export const DEFAULT_ADDR = '127.0.0.1:5000';

type Settings = Omit<RegistryOptions, 'log' | 'root'> & { root?: string };

const KEYS: Record<string, { key: keyof Settings; kind: 'string' | 'boolean' | 'number' | 'strings' }> = {
  addr: { key: 'addr', kind: 'string' },
  root: { key: 'root', kind: 'string' },
  htpasswd: { key: 'htpasswd', kind: 'string' },
  tokenauth: { key: 'tokenAuth', kind: 'boolean' },
  tlscert: { key: 'tlsCert', kind: 'string' },
  tlskey: { key: 'tlsKey', kind: 'string' },
  service: { key: 'service', kind: 'string' },
  realm: { key: 'realm', kind: 'string' },
  anonymousactions: { key: 'anonymousActions', kind: 'strings' },
  tokenttl: { key: 'tokenTtl', kind: 'number' },
  maxblobsize: { key: 'maxBlobSize', kind: 'number' },
};

/** Parses a config document; unknown keys and wrong types are errors (a typo must not pass silently). */
export function parseConfig(text: string, parse: (t: string) => unknown, source = 'config'): Settings {
  const doc = parse(text) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: expected a mapping of settings`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const spec = KEYS[k.replace(/[-_]/g, '').toLowerCase()];
    if (!spec) throw new Error(`${source}: unknown setting "${k}"`);
    const ok = spec.kind === 'strings' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === spec.kind;
    if (!ok) throw new Error(`${source}: "${k}" must be ${spec.kind === 'strings' ? 'a list of strings' : `a ${spec.kind}`}`);
    out[spec.key] = v;
  }
  return out as Settings;
}

export async function loadConfig(path: string): Promise<Settings> {
  const text = await readFile(path, 'utf8');
  if (path.endsWith('.json')) return parseConfig(text, JSON.parse, path);
  // YAML is a superset of JSON, so anything else goes through it; loaded only when needed.
  const { parse } = await import('yaml');
  return parseConfig(text, parse, path);
}

/** Flags win over the file; undefined flags leave the file's values. */
export function mergeSettings(file: Settings, flags: Partial<Settings>): Settings {
  const out: Settings = { ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && v !== false && v !== '') (out as Record<string, unknown>)[k] = v;
  return out;
}
