// Manifest validation for PUT: what the document is, and what it points at. Pure, so the rules
// are unit-tested apart from storage.
//
//   const m = parseManifest(body, 'application/vnd.oci.image.manifest.v1+json')
//   m.blobs      → config + layers (must be linked in the repository: MANIFEST_BLOB_UNKNOWN)
//   m.manifests  → an index's children (must be stored in the repository)
//   m.subject    → the referrers API's key, when present
import { RegistryError } from './errors.ts';
import { MT, MANIFEST_TYPES, checkDigest } from './names.ts';
import type { Descriptor } from './storage.ts';

/** distribution's default limit; a manifest is a small JSON document. */
export const MAX_MANIFEST_SIZE = 4 << 20;

export interface ParsedManifest {
  mediaType: string;
  blobs: Descriptor[];
  manifests: Descriptor[];
  subject?: Descriptor;
  /** What the referrers API lists this manifest as. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (message: string) => new RegistryError('MANIFEST_INVALID', { detail: message, message: `manifest invalid: ${message}` });

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where}: not a descriptor`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where}: mediaType missing`);
  if (typeof d.digest !== 'string') throw invalid(`${where}: digest missing`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}: invalid size`);
  try {
    checkDigest(d.digest);
  } catch {
    throw invalid(`${where}: invalid digest ${JSON.stringify(d.digest)}`);
  }
  if (d.urls !== undefined && !(Array.isArray(d.urls) && d.urls.every((u) => typeof u === 'string'))) throw invalid(`${where}: invalid urls`);
  return d as unknown as Descriptor;
}

function annotations(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw invalid('annotations must be a map of strings');
  }
  return v as Record<string, string>;
}

/**
 * The media type comes from the document's `mediaType` when it has one (Docker types always do),
 * else from the request's Content-Type (an OCI manifest may omit the field), else from its shape.
 * A document and a header that disagree are refused, as distribution does.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('not a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const header = contentType?.split(';')[0].trim().toLowerCase();
  let mediaType: string;
  if (typeof m.mediaType === 'string' && m.mediaType !== '') {
    mediaType = m.mediaType;
    if (header && MANIFEST_TYPES.has(header) && header !== mediaType) {
      throw invalid(`mediaType ${mediaType} does not match Content-Type ${header}`);
    }
  } else if (header && MANIFEST_TYPES.has(header)) {
    mediaType = header;
  } else if (Array.isArray(m.manifests)) {
    mediaType = MT.ociIndex;
  } else if (m.config !== undefined) {
    mediaType = MT.ociManifest;
  } else {
    throw invalid('unknown manifest type');
  }
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`);

  const out: ParsedManifest = { mediaType, blobs: [], manifests: [], annotations: annotations(m.annotations) };
  if (m.artifactType !== undefined && typeof m.artifactType !== 'string') throw invalid('artifactType must be a string');
  if (mediaType === MT.ociManifest || mediaType === MT.dockerManifest) {
    const config = descriptor(m.config, 'config');
    if (!Array.isArray(m.layers)) throw invalid('layers must be an array');
    out.blobs = [config, ...m.layers.map((l, i) => descriptor(l, `layers[${i}]`))];
    // The referrers API's rule: an image manifest without artifactType is listed under its config's type.
    out.artifactType = (m.artifactType as string | undefined) || config.mediaType;
  } else {
    if (!Array.isArray(m.manifests)) throw invalid('manifests must be an array');
    out.manifests = m.manifests.map((d, i) => descriptor(d, `manifests[${i}]`));
    out.artifactType = m.artifactType as string | undefined;
  }
  if (m.subject !== undefined) out.subject = descriptor(m.subject, 'subject');
  return out;
}
