// Who may do what. Three modes, chosen at start:
//
//   none    everyone may do everything (a loopback or throwaway registry)
//   basic   `Authorization: Basic` checked against an htpasswd file; any valid user may do
//           everything; otherwise 401 with `WWW-Authenticate: Basic realm="berth-registry"`
//   token   `Authorization: Bearer <jwt>` issued by the registry's own token endpoint (/token);
//           otherwise 401 with `WWW-Authenticate: Bearer realm="<base>/token",service=…,scope=…`
//           naming the access the request needs, which is what docker and skopeo ask a token for.
//           htpasswd users get every action they ask for; anonymous callers get
//           `anonymousActions`: nothing when there is an htpasswd file, pull only when there is
//           none (a public read-only registry; distribution leaves this to its external token
//           service, and none of those hands out anonymous writes by default)
//
// Wrong passwords (basic auth and the token endpoint alike) are throttled per client
// (throttle.ts): past the limit, 429 TOOMANYREQUESTS before any password is looked at.
//
// The router says what each request needs (`Need`): pull for GET/HEAD, push for writes (DELETE
// also takes `delete`), `registry:catalog:*` for the catalog, nothing beyond a valid identity
// for `/v2/`. What it may additionally try (a mount's pull on the source repository) it asks the
// returned Grant.
import type { IncomingMessage } from 'node:http';
import { RegistryError } from './errors.ts';
import { HtpasswdVerifier, parseBasic } from './htpasswd.ts';
import { TokenSigner, allows, formatScope, type Access, type IssuedToken } from './token.ts';
import { LoginThrottle, clientKey, type ThrottleOptions } from './throttle.ts';

export type AuthMode = 'none' | 'basic' | 'token';

export interface Need {
  type: 'repository' | 'registry';
  name: string;
  /** Any one of these is enough (DELETE: push or delete). */
  actions: string[];
  /** What the challenge asks for (a push asks for pull,push so one token does both). */
  scopeActions?: string[];
}

export interface Grant {
  user?: string;
  can(type: string, name: string, action: string): boolean;
}

export interface AuthOptions {
  mode: AuthMode;
  htpasswd?: HtpasswdVerifier;
  /** Token mode: the `service` in challenges and the audience of tokens. */
  service?: string;
  /** Token mode: the realm URL; by default `<scheme>://<Host>/token` of each request. */
  realm?: string;
  /** Token mode: actions anonymous users get on every repository (default: pull without htpasswd, none with). */
  anonymousActions?: string[];
  /** Token lifetime in seconds. */
  tokenTtl?: number;
  /** Failed-login limits per client (default 10 a minute). */
  loginThrottle?: ThrottleOptions;
}

export const BASIC_REALM = 'berth-registry';
const ALL: Grant = { can: () => true };
const REFRESH_TTL = 7 * 24 * 3600;

export class RegistryAuth {
  readonly mode: AuthMode;
  readonly service: string;
  readonly #htpasswd: HtpasswdVerifier | undefined;
  readonly #realm: string | undefined;
  readonly anonymous: readonly string[];
  readonly signer: TokenSigner;
  readonly #throttle: LoginThrottle;

  constructor(opts: AuthOptions) {
    this.mode = opts.mode;
    if (opts.mode === 'basic' && !opts.htpasswd) throw new Error('basic auth needs an htpasswd file');
    this.#htpasswd = opts.htpasswd;
    this.service = opts.service ?? 'berth-registry';
    this.#realm = opts.realm;
    this.anonymous = opts.anonymousActions ?? (opts.htpasswd ? [] : ['pull']);
    this.signer = new TokenSigner({ service: this.service, ttl: opts.tokenTtl });
    this.#throttle = new LoginThrottle(opts.loginThrottle);
  }

  /**
   * One password check from `client` (a socket's remote address), throttled: a client past its
   * limit gets 429 whatever it sends (else the limit would still tell a right password from a
   * wrong one). An attempt is charged as it reaches bcrypt and refunded when it succeeds.
   */
  async #checkPassword(client: string | undefined, user: string, password: string): Promise<boolean> {
    const key = clientKey(client);
    const wait = this.#throttle.retryAfter(key);
    if (wait) {
      throw new RegistryError('TOOMANYREQUESTS', { message: 'too many failed login attempts', headers: { 'Retry-After': String(wait) }, detail: { retryAfter: wait } });
    }
    return this.#htpasswd!.verify(user, password, () => this.#throttle.charge(key));
  }

  realm(base: string): string {
    return this.#realm ?? `${base}/token`;
  }

  /** Checks a request; throws UNAUTHORIZED (with its challenge) or returns what the caller may do. */
  async authorize(req: IncomingMessage, needs: Need[], base: string): Promise<Grant> {
    if (this.mode === 'none') return ALL;
    const header = req.headers.authorization;
    if (this.mode === 'basic') {
      const creds = parseBasic(header);
      if (creds && (await this.#checkPassword(req.socket.remoteAddress, creds.user, creds.password))) return { user: creds.user, can: () => true };
      throw new RegistryError('UNAUTHORIZED', { headers: { 'WWW-Authenticate': `Basic realm="${BASIC_REALM}"` }, detail: needs.map(challengeAccess) });
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const claims = m ? this.signer.verify(m[1]) : undefined;
    const scope = needs.map((n) => formatScope({ type: n.type, name: n.name, actions: n.scopeActions ?? n.actions })).join(' ');
    let challenge = `Bearer realm="${this.realm(base)}",service="${this.service}"`;
    if (scope) challenge += `,scope="${scope}"`;
    if (!claims) {
      throw new RegistryError('UNAUTHORIZED', { headers: { 'WWW-Authenticate': challenge }, detail: needs.map(challengeAccess) });
    }
    const grant: Grant = { user: claims.sub || undefined, can: (type, name, action) => allows(claims.access, type, name, action) };
    for (const n of needs) {
      if (!n.actions.some((a) => grant.can(n.type, n.name, a))) {
        // distribution's answer to a valid token without the scope: 401 and `insufficient_scope`,
        // so the client fetches a new token for exactly this scope and retries.
        throw new RegistryError('UNAUTHORIZED', {
          headers: { 'WWW-Authenticate': `${challenge},error="insufficient_scope"` },
          detail: needs.map(challengeAccess),
        });
      }
    }
    return grant;
  }

  /**
   * The token endpoint's decision. Valid htpasswd credentials get every action they ask for;
   * anonymous callers (and, without an htpasswd file, everyone) get `anonymousActions`; wrong
   * credentials are refused (docker login then says "unauthorized: incorrect username or
   * password"), and count against `client`'s failed logins.
   */
  async issue(creds: { user: string; password: string } | undefined, scopes: Access[], client?: string): Promise<IssuedToken & { subject: string; trusted: boolean }> {
    let subject = '';
    let trusted = false;
    if (creds && this.#htpasswd) {
      if (!(await this.#checkPassword(client, creds.user, creds.password))) {
        throw new RegistryError('UNAUTHORIZED', { message: 'incorrect username or password', headers: { 'WWW-Authenticate': `Basic realm="${BASIC_REALM}"` } });
      }
      subject = creds.user;
      trusted = true;
    } else if (creds) {
      // No user list: a name is only a name (docker login still works), with anonymous rights.
      subject = creds.user;
    }
    const granted: Access[] = [];
    for (const s of scopes) {
      const actions = trusted ? s.actions : s.actions.filter((a) => this.anonymous.includes(a));
      if (actions.length) granted.push({ ...s, actions });
    }
    return { ...this.signer.issue(subject, granted), subject, trusted };
  }

  /**
   * OAuth2 refresh tokens (docker's identity token): long-lived, good only at the token endpoint,
   * issued only to users htpasswd vouched for.
   */
  issueRefresh(subject: string): string {
    return this.signer.issue(subject, [], { ttl: REFRESH_TTL, aud: `${this.service}#refresh` }).token;
  }

  async refresh(token: string, scopes: Access[]): Promise<IssuedToken & { subject: string }> {
    const claims = this.signer.verify(token, { aud: `${this.service}#refresh` });
    if (!claims || !claims.sub) throw new RegistryError('UNAUTHORIZED', { message: 'invalid refresh token' });
    return { ...this.signer.issue(claims.sub, scopes), subject: claims.sub };
  }
}

const challengeAccess = (n: Need) => ({ Type: n.type, Name: n.name, Action: n.actions[0] });
