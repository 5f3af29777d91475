// Content store contract (STYLE.md: containerd's roles). Blobs are addressed by digest
// ("sha256:<hex>"), written through an ingest that verifies size and digest before the blob
// becomes visible, and never modified afterwards: save/push send these exact bytes.
import type { Readable } from 'node:stream';

export interface BlobInfo { digest: string; size: number }

/** Read side. */
export interface Provider {
  has(digest: string): Promise<boolean>;
  info(digest: string): Promise<BlobInfo>;
  read(digest: string): Promise<Buffer>;
  readStream(digest: string, opts?: { start?: number; end?: number }): Readable;
  blobPath(digest: string): string;
}

/** Write side: the blob is visible only once its digest (and size, when given) check out. */
export interface Ingester {
  ingest(source: Readable | Buffer, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
}

/** Management: listing and deletion, for mark-and-sweep garbage collection. */
export interface Manager {
  list(): Promise<string[]>;
  delete(digest: string): Promise<void>;
}

export type ContentStore = Provider & Ingester & Manager;
