import type { Readable } from 'node:stream';
import type { DeleteReport, Image, ImageRecord, ImportOptions } from '../../../engine/images.ts';
import type { ImageConfigFile } from '../../types/image.ts';
import type { AuthConfig } from '../../../registry/client/auth.ts';
import type { CommitOptions } from '../../../engine/commit.ts';
import type { PreparedLoad, SaveItem } from '../../../engine/image-archive.ts';

/** What the /images router needs from the engine. */
export interface ImagesBackend {
  all(): ImageRecord[];
  refsOf(id: string): string[];
  config(id: string): Promise<ImageConfigFile>;
  inspect(nameOrId: string): Promise<Image>;
  resolve(nameOrId: string): ImageRecord;
  importImage(body: Readable, o: ImportOptions): Promise<ImageRecord>;
  pull(ref: string, tag: string | undefined, onProgress: (m: Record<string, unknown>) => void, signal: AbortSignal, o?: { platform?: string; auth?: AuthConfig }): Promise<void>;
  tag(source: string, target: string): Promise<void>;
  remove(nameOrId: string, o: { force?: boolean; noprune?: boolean }): Promise<DeleteReport[]>;
  graphDriver(id: string): Promise<Record<string, string>>;
  containersUsing(id: string): number;
  prune(filters?: string): Promise<{ ImagesDeleted: DeleteReport[] | null; SpaceReclaimed: number }>;
}

/** What the image archive routes (save, load, commit) need: engine/image-archive.ts, engine/commit.ts. */
export interface ImageArchiveBackend {
  /** Resolves the names (404 before anything is streamed). */
  planSave(names: string[]): SaveItem[];
  save(items: SaveItem[]): Readable;
  prepareLoad(body: Readable): Promise<PreparedLoad>;
  commit(o: CommitOptions): Promise<string>;
}
