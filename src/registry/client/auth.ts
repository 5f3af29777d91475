// Registry credentials and challenges, as the docker daemon handles them:
//
//   decodeRegistryAuth(header)  X-Registry-Auth (base64url JSON AuthConfig; `{}`, empty or junk
//                               mean anonymous, as dockerd treats them)
//   decodeRegistryConfig(h)     a build's X-Registry-Config (a map of them by server address),
//   authForRegistry(map, host)  and the entry a FROM image's registry takes
//   parseChallenges(header)     WWW-Authenticate → [{ scheme: 'bearer', params: { realm, service, scope } }]
//   registryHostOf(address)     `https://index.docker.io/v1/` → docker.io; `http://h:5000/x` → h:5000
import { EngineError } from '../../common/errors.ts';
import { fieldFor } from '../../common/json-fields.ts';

/** Docker's AuthConfig (api/types/registry), wire names. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * The X-Registry-Auth header: base64url (padding optional; plain base64 is accepted too) of a
 * JSON AuthConfig. Missing, empty or `{}` → anonymous. Undecodable → anonymous as well (dockerd
 * logs and goes on without credentials), unless `strict`.
 */
export function decodeRegistryAuth(header: string | string[] | undefined, strict = false): AuthConfig {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h || !h.trim()) return {};
  try {
    return authFrom(decodeJsonHeader(h));
  } catch (e) {
    if (strict) throw new EngineError('InvalidParameter', `invalid X-Registry-Auth header: ${(e as Error).message}`);
    return {};
  }
}

/**
 * A build's X-Registry-Config: base64url JSON of `{ "<server address>": AuthConfig, ... }`
 * (every credential the client has, keyed as in its config file). Missing or undecodable →
 * no credentials, as dockerd goes on without them.
 */
export function decodeRegistryConfig(header: string | string[] | undefined): Record<string, AuthConfig> {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h || !h.trim()) return {};
  try {
    const out: Record<string, AuthConfig> = {};
    for (const [k, v] of Object.entries(decodeJsonHeader(h))) {
      if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = authFrom(v as Record<string, unknown>);
    }
    return out;
  } catch { return {}; }
}

/** The credentials for `registry` (a reference's domain) in a build's X-Registry-Config map. */
export function authForRegistry(map: Record<string, AuthConfig> | undefined, registry: string): AuthConfig | undefined {
  if (!map) return undefined;
  const want = registryHostOf(registry);
  for (const [k, v] of Object.entries(map)) if (registryHostOf(k) === want) return v;
  return undefined;
}

function decodeJsonHeader(h: string): Record<string, unknown> {
  const text = Buffer.from(h.trim().replace(/\+/g, '-').replace(/\//g, '_'), 'base64url').toString('utf8');
  const v = JSON.parse(text) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
  return v as Record<string, unknown>;
}

/** AuthConfig's fields (Go's registry.AuthConfig; the spec lists only some of them). */
const AUTH_FIELDS = { username: '', password: '', auth: '', email: '', serveraddress: '', identitytoken: '', registrytoken: '' } as const;

/**
 * An AuthConfig from decoded JSON, its keys matched as Go's decoder matches them (any case:
 * docker-py sends `IdentityToken`); the later of two keys for one field wins.
 */
export function authFrom(o: Record<string, unknown>): AuthConfig {
  const out: AuthConfig = {};
  for (const [k, v] of Object.entries(o)) {
    const f = fieldFor(AUTH_FIELDS, k) as keyof AuthConfig | undefined;
    if (!f) continue;
    if (typeof v === 'string' && v !== '') out[f] = v; else delete out[f];
  }
  // `auth` is base64("user:password") (what config.json holds); fill the fields from it.
  if (out.auth && !out.username) {
    const plain = Buffer.from(out.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) { out.username = plain.slice(0, i); out.password = plain.slice(i + 1); }
  }
  return out;
}

export interface Challenge { scheme: string; params: Record<string, string> }

/** Parses WWW-Authenticate values (several challenges, quoted parameters with escapes). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : header ? [header] : []) {
    let i = 0;
    const s = h;
    let cur: Challenge | undefined;
    while (i < s.length) {
      while (i < s.length && /[\s,]/.test(s[i])) i++;
      const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)/.exec(s.slice(i));
      if (!m) break;
      const token = m[1];
      i += token.length;
      while (i < s.length && s[i] === ' ') i++;
      if (s[i] === '=') {
        // a parameter of the current challenge
        i++;
        while (i < s.length && s[i] === ' ') i++;
        let val = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            val += s[i++];
          }
          i++;
        } else {
          const v = /^[^,\s]*/.exec(s.slice(i))![0];
          val = v;
          i += v.length;
        }
        if (cur) cur.params[token.toLowerCase()] = val;
      } else {
        cur = { scheme: token.toLowerCase(), params: {} };
        out.push(cur);
      }
    }
  }
  return out;
}

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
export const DOCKER_INDEX_ADDRESS = 'https://index.docker.io/v1/';

/**
 * The registry host a login address names (dockerd's ConvertToHostname plus the Hub aliases):
 *   ''/'https://index.docker.io/v1/'/'index.docker.io'/'registry-1.docker.io' → docker.io
 *   'http://127.0.0.1:5000/v2/' → 127.0.0.1:5000
 */
export function registryHostOf(address: string | undefined): string {
  let s = (address ?? '').trim();
  const cut = s.indexOf('://');
  if (cut >= 0 && /^https?$/i.test(s.slice(0, cut))) s = s.slice(cut + 3);
  s = s.split('/')[0].toLowerCase();
  if (s === '' || s === 'index.docker.io' || s === 'docker.io' || s === DOCKER_HUB_REGISTRY) return DOCKER_HUB;
  return s;
}
