// What the registry's HTTP layer needs from storage: one narrow interface, so server.ts stays a
// thin router (parse, check access, call one method, choose the status) and the on-disk layout
// lives in one place (fs-storage.ts).
//
// A push, as the routes call it:
//
//   const up = await s.startUpload('a/b')                      POST   /v2/a/b/blobs/uploads/
//   await s.appendUpload('a/b', up.id, req, { start: 0 })      PATCH  …/uploads/<id>
//   await s.finishUpload('a/b', up.id, 'sha256:…', req)        PUT    …/uploads/<id>?digest=
//   await s.putManifest('a/b', { tag: 'v1' }, body, type)      PUT    /v2/a/b/manifests/v1
//
// A pull is getManifest then statBlob + openBlob per layer. Every method validates nothing about
// names (the router did) and throws RegistryError with the spec's codes.
import type { Readable } from 'node:stream';
import type { BlobInfo } from '../../store/content/content.ts';
import type { Reference } from './names.ts';

export type { BlobInfo };

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: { architecture?: string; os?: string; variant?: string; [k: string]: unknown };
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface UploadState {
  id: string;
  name: string;
  /** Bytes received so far. */
  size: number;
}

export interface RegistryStorage {
  /** Repository names, sorted. */
  repositories(): Promise<string[]>;
  /** Tags of a repository, sorted; undefined when the repository does not exist. */
  tags(name: string): Promise<string[] | undefined>;

  /** A blob linked into this repository (and present), else undefined. */
  statBlob(name: string, digest: string): Promise<BlobInfo | undefined>;
  openBlob(digest: string, range?: { start: number; end: number }): Readable;
  /** Monolithic upload: the whole blob in one request, verified against `digest`. */
  putBlob(name: string, source: Readable, digest: string): Promise<BlobInfo>;
  /** Cross-repository mount: links `from`'s blob into `name`; undefined when `from` lacks it. */
  mountBlob(name: string, from: string, digest: string): Promise<BlobInfo | undefined>;
  /** Unlinks the blob from the repository (the bytes go at the next gc). */
  deleteBlob(name: string, digest: string): Promise<void>;

  startUpload(name: string): Promise<UploadState>;
  getUpload(name: string, id: string): Promise<UploadState>;
  /** Appends a chunk; `start`, when the client said where it goes, must equal the current size. */
  appendUpload(name: string, id: string, source: Readable, opts?: { start?: number; length?: number }): Promise<UploadState>;
  /** Appends the last chunk (if any), verifies the digest, commits and links the blob. */
  finishUpload(name: string, id: string, digest: string, source?: Readable): Promise<BlobInfo>;
  cancelUpload(name: string, id: string): Promise<void>;

  getManifest(name: string, ref: Reference): Promise<StoredManifest>;
  /** Validates and stores a manifest; returns its digest and the subject it refers to, if any. */
  putManifest(name: string, ref: Reference, body: Buffer, contentType: string | undefined): Promise<{ digest: string; subject?: string }>;
  /** By digest: the revision and every tag pointing at it. By tag: only the tag. */
  deleteManifest(name: string, ref: Reference): Promise<void>;
  /** Manifests in this repository whose `subject` is `digest`. */
  referrers(name: string, digest: string): Promise<Descriptor[]>;
}
