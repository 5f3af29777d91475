// What the registry accepts in a URL: repository names, tags, digests and references (OCI
// Distribution Spec "pulling manifests"), and the media types it stores manifests as.
//
//   isRepoName('library/busybox')  → true      isRepoName('Busybox') → false
//   isTag('v1.0_rc-2')             → true      isTag('-x')           → false
//   parseReference('sha256:ab…')   → { digest: 'sha256:ab…' }
//   parseReference('latest')       → { tag: 'latest' }
import { RegistryError } from './errors.ts';

/** Path components joined by `/`; separators are `.`, `_`, `__` or runs of `-` (spec regex). */
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The generic digest grammar; of the algorithms only sha256 is stored (the content store's). */
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** distribution's limit on the whole name (it counts the hostname too; we only see the path). */
export const MAX_NAME_LENGTH = 255;

export function isRepoName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isDigest(d: string): boolean {
  return DIGEST_RE.test(d);
}

export function checkName(name: string): void {
  if (!isRepoName(name)) throw new RegistryError('NAME_INVALID', { detail: { name } });
}

/**
 * A digest the registry can verify. Well-formed digests of other algorithms are UNSUPPORTED (not
 * invalid): the client did nothing wrong, this registry only keeps sha256.
 */
export function checkDigest(d: string): string {
  if (SHA256_RE.test(d)) return d;
  if (isDigest(d) && !d.startsWith('sha256:')) {
    throw new RegistryError('UNSUPPORTED', { message: `unsupported digest algorithm: ${d.split(':')[0]}`, status: 400, detail: { digest: d } });
  }
  throw new RegistryError('DIGEST_INVALID', { message: 'invalid digest', detail: { digest: d } });
}

export type Reference = { tag: string; digest?: undefined } | { digest: string; tag?: undefined };

/** A manifest reference: a digest (anything with `:`) or a tag. */
export function parseReference(ref: string): Reference {
  if (ref.includes(':')) return { digest: checkDigest(ref) };
  if (!isTag(ref)) throw new RegistryError('TAG_INVALID', { message: 'invalid tag', detail: { tag: ref } });
  return { tag: ref };
}

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export const MANIFEST_TYPES: ReadonlySet<string> = new Set([MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList]);
export const isIndexType = (mt: string) => mt === MT.ociIndex || mt === MT.dockerList;
