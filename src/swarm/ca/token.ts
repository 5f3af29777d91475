// Join tokens, as swarmkit's (moby/swarmkit ca/config.go GenerateJoinToken, ParseJoinToken):
//   SWMTKN-1-<sha256 of the root CA bundle in base 36, zero-padded to 50>-<16 random bytes in base 36, zero-padded to 25>
// The digest lets a joining node check the CA certificate it fetched (over a connection it cannot
// yet authenticate) before trusting it; the secret is what the CA checks before issuing a
// certificate, and decides the role. Worker and manager tokens have their own secrets; rotating
// one draws a new secret and the old token stops working.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EngineError, invalid } from '../../common/errors.ts';
import { caDigest, MANAGER_ROLE, WORKER_ROLE, type NodeRole } from './ca.ts';

const PREFIX = 'SWMTKN';
const SECRET_BYTES = 16; // swarmkit generatedSecretEntropyBytes
const DIGEST_LEN = 50; // ceil(log36(2^256 - 1))
const SECRET_LEN = 25; // ceil(log36(2^128 - 1))

/** swarmkit's errInvalidJoinToken text, which `docker swarm join` shows for a malformed token. */
export const INVALID_JOIN_TOKEN = 'invalid join token';
/** The CA server's answer to a token that is well-formed but not a current one (ca/server.go). */
export const JOIN_TOKEN_REQUIRED = 'A valid join token is necessary to join this cluster';

export interface ParsedJoinToken {
  version: 1;
  /** sha256 hex (64 chars) of the root CA bundle. */
  rootDigest: string;
  secret: string;
}

export interface JoinTokens {
  worker: string;
  manager: string;
}

function base36(n: bigint, width: number): string {
  return n.toString(36).padStart(width, '0');
}

function parseBase36(s: string): bigint | undefined {
  let n = 0n;
  for (const c of s.toLowerCase()) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d)) return undefined;
    n = n * 36n + BigInt(d);
  }
  return n;
}

/** A new join token for the CA whose certificate bundle is `caCertPem`, with a fresh secret. */
export function generateJoinToken(caCertPem: string): string {
  const digest = BigInt('0x' + caDigest(caCertPem));
  const secret = BigInt('0x' + randomBytes(SECRET_BYTES).toString('hex'));
  return `${PREFIX}-1-${base36(digest, DIGEST_LEN)}-${base36(secret, SECRET_LEN)}`;
}

/**
 * Parses a token, refusing (with swarmkit's "invalid join token") anything that is not
 * version 1 with a 50-char digest and a 25-char secret. Version 2 (FIPS) tokens are refused:
 * berth has no FIPS mode.
 */
export function parseJoinToken(token: string): ParsedJoinToken {
  const parts = typeof token === 'string' ? token.split('-') : [];
  if (parts.length !== 4 || parts[0] !== PREFIX || parts[1] !== '1') throw invalid(INVALID_JOIN_TOKEN);
  const [, , digest, secret] = parts as [string, string, string, string];
  if (digest.length !== DIGEST_LEN || secret.length !== SECRET_LEN) throw invalid(INVALID_JOIN_TOKEN);
  const d = parseBase36(digest);
  if (d === undefined || parseBase36(secret) === undefined) throw invalid(INVALID_JOIN_TOKEN);
  const hex = d.toString(16);
  if (hex.length > 64) throw invalid(INVALID_JOIN_TOKEN);
  return { version: 1, rootDigest: hex.padStart(64, '0'), secret: secret.toLowerCase() };
}

/**
 * The joining node's check of the CA bundle it fetched against its token; the text is swarmkit's
 * GetRemoteCA error.
 */
export function checkCAAgainstToken(token: string | ParsedJoinToken, caCertPem: string): void {
  const parsed = typeof token === 'string' ? parseJoinToken(token) : token;
  const got = Buffer.from(caDigest(caCertPem), 'hex');
  const want = Buffer.from(parsed.rootDigest, 'hex');
  if (!timingSafeEqual(got, want)) {
    throw new EngineError('Forbidden', `remote CA does not match fingerprint. Expected: ${parsed.rootDigest}`);
  }
}

/** Fresh worker and manager tokens, each with its own secret. */
export function newJoinTokens(caCertPem: string): JoinTokens {
  return { worker: generateJoinToken(caCertPem), manager: generateJoinToken(caCertPem) };
}

/** The tokens with `role`'s token replaced by one with a new secret (`docker swarm join-token --rotate`). */
export function rotateJoinToken(tokens: JoinTokens, role: NodeRole, caCertPem: string): JoinTokens {
  const fresh = generateJoinToken(caCertPem);
  return role === MANAGER_ROLE ? { ...tokens, manager: fresh } : { ...tokens, worker: fresh };
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The CA's check of a presented token: the role it grants, compared in constant time against the
 * current tokens only (a rotated-out token is refused). A malformed token gets "invalid join
 * token", a well-formed but unknown one swarmkit's "A valid join token is necessary ...".
 */
export function roleForJoinToken(tokens: JoinTokens, presented: string): NodeRole {
  parseJoinToken(presented);
  if (sameToken(tokens.manager, presented)) return MANAGER_ROLE;
  if (sameToken(tokens.worker, presented)) return WORKER_ROLE;
  throw invalid(JOIN_TOKEN_REQUIRED);
}
