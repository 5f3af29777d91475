// Bearer tokens for the registry's own token service (the docker "token authentication"
// flow). A token is a JWT signed with HMAC-SHA256 under a key only this process knows, carrying
// the access it grants in distribution's claim shape:
//
//   { "iss": "berth-registry", "sub": "alice", "aud": "<service>", "exp": …, "nbf": …, "iat": …,
//     "jti": "…", "access": [{ "type": "repository", "name": "a/b", "actions": ["pull","push"] }] }
//
// Scopes arrive as `repository:a/b:pull,push` (a name may contain `:` only as a port before the
// first `/`, so the actions follow the last `:`), several per `scope` parameter separated by spaces.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface Claims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

/** One `scope` query value → its accesses; malformed pieces are dropped, as distribution does. */
export function parseScopes(scope: string): Access[] {
  const out: Access[] = [];
  for (const piece of scope.split(' ')) {
    const first = piece.indexOf(':');
    const last = piece.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    // `repository(plugin)` is a repository with a resource class; the class changes nothing here.
    const type = piece.slice(0, first).replace(/\(.*\)$/, '');
    const name = piece.slice(first + 1, last);
    const actions = piece.slice(last + 1).split(',').filter((a) => a !== '');
    if (name === '' || actions.length === 0) continue;
    out.push({ type, name, actions });
  }
  return out;
}

export function formatScope(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(',')}`;
}

/** Whether the granted accesses allow `action` on the resource (`*` means every action). */
export function allows(access: Access[], type: string, name: string, action: string): boolean {
  return access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')));
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export class TokenSigner {
  readonly issuer: string;
  readonly service: string;
  /** Seconds a token lives. */
  readonly ttl: number;
  readonly #key: Buffer;

  constructor(opts: { service: string; issuer?: string; ttl?: number; key?: Buffer }) {
    this.service = opts.service;
    this.issuer = opts.issuer ?? 'berth-registry';
    this.ttl = opts.ttl ?? 300;
    this.#key = opts.key ?? randomBytes(32);
  }

  #sign(data: string): Buffer {
    return createHmac('sha256', this.#key).update(data).digest();
  }

  issue(subject: string, access: Access[], opts: { now?: number; ttl?: number; aud?: string } = {}): IssuedToken {
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    const ttl = opts.ttl ?? this.ttl;
    const claims: Claims = {
      iss: this.issuer, sub: subject, aud: opts.aud ?? this.service,
      exp: now + ttl, nbf: now - 1, iat: now, jti: randomBytes(12).toString('hex'), access,
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' + b64url(JSON.stringify(claims));
    return { token: `${head}.${b64url(this.#sign(head))}`, expiresIn: ttl, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** The claims of a token this signer issued and that is valid now, else undefined. */
  verify(token: string, opts: { now?: number; aud?: string } = {}): Claims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const sig = Buffer.from(parts[2], 'base64url');
    const want = this.#sign(`${parts[0]}.${parts[1]}`);
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) return undefined;
    let header: { alg?: string }, claims: Claims;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (header.alg !== 'HS256') return undefined;
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    if (typeof claims.exp !== 'number' || now >= claims.exp) return undefined;
    if (typeof claims.nbf === 'number' && now < claims.nbf) return undefined;
    if (claims.iss !== this.issuer || claims.aud !== (opts.aud ?? this.service)) return undefined;
    if (!Array.isArray(claims.access)) claims.access = [];
    return claims;
  }
}
