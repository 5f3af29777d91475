// Docker image references, parsed and normalised the way docker/distribution's `reference`
// package does it (ParseNormalizedNamed, FamiliarString, TagNameOnly), because every name the
// user types, every RepoTag we report and every key in the image store must agree with what the
// docker CLI and docker-py compute on their side.
//
//   parseReference('busybox').full()                 → 'docker.io/library/busybox'
//   normalizeTagged('busybox').full()                → 'docker.io/library/busybox:latest'
//   parseReference('user/app:1').familiar()          → 'user/app:1'
//   parseReference('localhost:5000/x:1').domain      → 'localhost:5000'
//   parseReference('Busybox')                        → throws "invalid reference format: repository
//                                                        name (library/Busybox) must be lowercase"
import { invalid } from './errors.ts';

const DEFAULT_DOMAIN = 'docker.io';
// "index.docker.io" is the v1-era name of Docker Hub; distribution folds it into docker.io.
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** Longest repository path (without the domain) distribution accepts. */
export const REPOSITORY_NAME_MAX = 255;

// The grammar, built from the same pieces as distribution's regexp.go so that the capture groups
// (and JavaScript's leftmost-first backtracking, which is what Go's FindStringSubmatch also uses)
// split name, tag and digest identically.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';

const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRe = new RegExp(`^${tagPat}$`);
const anchoredDigestRe = new RegExp(`^${digestPat}$`);
const identifierRe = /^[a-f0-9]{64}$/;

// go-digest's own (looser) grammar, used only to tell "unsupported algorithm" from "bad format".
const goDigestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
// Algorithms a docker daemon has registered (crypto/sha256 and crypto/sha512) and their hex sizes.
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** A parsed, normalised image reference: always has a domain (docker.io by default). */
export interface ImageRef {
  /** Registry host with optional port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/busybox`, `user/app`. */
  readonly path: string;
  readonly tag?: string;
  /** `algorithm:hex`, e.g. `sha256:…`. */
  readonly digest?: string;
  /** `domain/path`: `docker.io/library/busybox`. */
  readonly name: string;
  /** Canonical string: `docker.io/library/busybox:latest`, `name@digest`, `name:tag@digest`. */
  full(): string;
  /** What docker shows: `busybox:latest`, `user/app@sha256:…`, `localhost:5000/x:1`. */
  familiar(): string;
  /** Familiar name without tag or digest: `busybox`, `user/app`, `quay.io/a/b`. */
  familiarName(): string;
}

class Reference implements ImageRef {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
  constructor(domain: string, path: string, tag?: string, digest?: string) {
    this.domain = domain;
    this.path = path;
    if (tag !== undefined) this.tag = tag;
    if (digest !== undefined) this.digest = digest;
  }
  get name(): string {
    return this.domain ? `${this.domain}/${this.path}` : this.path;
  }
  full(): string {
    return this.name + suffix(this);
  }
  familiar(): string {
    return this.familiarName() + suffix(this);
  }
  familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    // Only "library/x" loses its prefix; "library/a/b" keeps it (distribution's familiarizeName).
    if (this.path.startsWith(OFFICIAL_REPO_PREFIX)) {
      const rest = this.path.slice(OFFICIAL_REPO_PREFIX.length);
      if (!rest.includes('/')) return rest;
    }
    return this.path;
  }
  toString(): string {
    return this.full();
  }
  toJSON(): string {
    return this.full();
  }
}

function suffix(r: { tag?: string; digest?: string }): string {
  return (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/**
 * Splits a familiar name into domain and remainder as distribution's splitDockerDomain does: the
 * first component is a domain when it is `localhost`, contains `.` or `:`, or has an uppercase
 * letter (repository paths are lowercase, so it cannot be a path); single components never are.
 */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (first === 'localhost') [domain, remainder] = [first, rest];
  else if (first === LEGACY_DEFAULT_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, rest];
  else if (/[.:]/.test(first)) [domain, remainder] = [first, rest];
  else if (first.toLowerCase() !== first) [domain, remainder] = [first, rest];
  else [domain, remainder] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/**
 * Validates a digest as go-digest's Parse does (algorithm registered, hex length, lowercase hex).
 *
 *   parseDigest('sha256:' + 'a'.repeat(64)) → same string
 *   parseDigest('sha256:abc')               → throws "invalid checksum digest length"
 *   parseDigest('md5:' + 'a'.repeat(32))    → throws "unsupported digest algorithm"
 */
export function parseDigest(s: string): string {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) throw invalid('invalid checksum digest format');
  const algorithm = s.slice(0, i);
  const encoded = s.slice(i + 1);
  const size = DIGEST_HEX_LENGTH[algorithm];
  if (size === undefined) {
    throw invalid(goDigestRe.test(s) ? 'unsupported digest algorithm' : 'invalid checksum digest format');
  }
  if (encoded.length !== size) throw invalid('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(encoded)) throw invalid('invalid checksum digest format');
  return s;
}

/** distribution's Parse over an already domain-qualified string. */
function parseQualified(s: string): Reference {
  if (s === '') throw invalid('repository name must have at least one component');
  const m = referenceRe.exec(s);
  if (!m) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRe.test(lower)) throw invalid('repository name must be lowercase');
    throw invalid('invalid reference format');
  }
  const nm = anchoredNameRe.exec(m[1]);
  const domain = nm ? (nm[1] ?? '') : '';
  const path = nm ? nm[2] : m[1];
  if (path.length > REPOSITORY_NAME_MAX) {
    throw invalid(`repository name must not be more than ${REPOSITORY_NAME_MAX} characters`);
  }
  const digest = m[3] !== undefined ? parseDigest(m[3]) : undefined;
  return new Reference(domain, path, m[2], digest);
}

/**
 * ParseNormalizedNamed: parses what a user typed into a fully qualified reference.
 *
 *   parseReference('busybox')            → docker.io/library/busybox (no tag: see normalizeTagged)
 *   parseReference('user/app')           → docker.io/user/app
 *   parseReference('localhost:5000/x:1') → localhost:5000/x:1
 *   parseReference('h.example:443/a/b@sha256:<64 hex>'), parseReference('name:tag@sha256:<64 hex>')
 *
 * Errors (InvalidParameter, docker's texts): a bare 64-hex string ("invalid repository name (…),
 * cannot specify 64-byte hexadecimal strings"), uppercase in the repository ("invalid reference
 * format: repository name (library/Busybox) must be lowercase"), any other syntax error
 * ("invalid reference format"), a path over 255 characters, a bad digest.
 */
export function parseReference(s: string): ImageRef {
  if (identifierRe.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  // distribution checks case on everything before the first ':' of the remainder, so capitals in
  // a tag are fine; for `Name@sha256:…` the text quoted in the error runs up to "sha256", as in Go.
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseQualified(`${domain}/${remainder}`);
}

/**
 * parseReference + TagNameOnly: adds `:latest` when the reference has neither tag nor digest.
 *
 *   normalizeTagged('busybox').full()        → 'docker.io/library/busybox:latest'
 *   normalizeTagged('busybox@sha256:…').tag  → undefined (digest references stay as they are)
 */
export function normalizeTagged(s: string): ImageRef {
  const r = parseReference(s);
  if (r.tag === undefined && r.digest === undefined) return new Reference(r.domain, r.path, DEFAULT_TAG);
  return r;
}

/** WithTag: the same repository with `tag` (a digest, if any, is kept). Bad tag → "invalid tag format". */
export function withTag(ref: ImageRef, tag: string): ImageRef {
  if (!anchoredTagRe.test(tag)) throw invalid('invalid tag format');
  return new Reference(ref.domain, ref.path, tag, ref.digest);
}

/** WithDigest: the same repository with `digest` (a tag, if any, is kept). */
export function withDigest(ref: ImageRef, digest: string): ImageRef {
  if (!anchoredDigestRe.test(digest)) throw invalid('invalid digest format');
  return new Reference(ref.domain, ref.path, ref.tag, digest);
}

/** TrimNamed: the repository alone, without tag or digest. */
export function trimNamed(ref: ImageRef): ImageRef {
  return new Reference(ref.domain, ref.path);
}

/** True for a full 64-character lowercase hex ID (an image or container ID without `sha256:`). */
export function isFullId(s: string): boolean {
  return identifierRe.test(s);
}
