// `GET /system/df` (docker system df) on the engine side, as moby's daemon/disk_usage.go: per
// image its config, tags, containers and the bytes it shares with other images; per container
// its writable layer and the image under it; per volume its size and users; the build cache.
// Only the kinds asked for are computed (API 1.42's `type`; none asked: all of them), since
// sizes walk directories. The system router turns the entries into Docker's summaries.
import { parseFilters, type Filters } from '../common/filters.ts';
import type { ImageConfigFile } from '../api/types/image.ts';
import type { Volume } from '../api/types/volume.ts';
import type { ContainerRecord } from './container/record.ts';
import type { ImageRecord } from './images.ts';

export type DiskUsageType = 'container' | 'image' | 'volume' | 'build-cache';
export const DISK_USAGE_TYPES: readonly DiskUsageType[] = ['container', 'image', 'volume', 'build-cache'];

export interface BuildCacheUsage {
  ID: string; Parent: string; Type: string; Description: string; InUse: boolean; Shared: boolean;
  Size: number; CreatedAt: string; LastUsedAt: string; UsageCount: number;
}

/** What `system df` reads of the engine (Engine, its image, container and volume services). */
export interface DiskUsageSource {
  diskUsage(): Promise<{ layersSize: number; sharedSize: Map<string, number> }>;
  images: {
    all(): ImageRecord[];
    config(id: string): Promise<ImageConfigFile>;
    refsOf(id: string): string[];
    has(ref: string): boolean;
    resolve(ref: string): ImageRecord;
  };
  containersUsing(imageId: string): number;
  containers: { list(): ContainerRecord[]; sizeRw(id: string): Promise<number> };
  volumes: { list(f: Filters): Volume[]; size(name: string): Promise<number>; usedBy(name: string): string[] };
  buildCacheUsage(): BuildCacheUsage[];
}

export interface ImageUsage { image: ImageRecord; config: ImageConfigFile; refs: string[]; containers: number; sharedSize: number }
export interface ContainerUsage { container: ContainerRecord; sizeRw: number; sizeRootFs: number }

/** The kinds asked for, each present only when it was. */
export interface DiskUsageReport {
  layersSize?: number;
  images?: ImageUsage[];
  containers?: ContainerUsage[];
  /** Volumes with UsageData (Size, RefCount). */
  volumes?: Volume[];
  buildCache?: BuildCacheUsage[];
}

export async function systemDf(src: DiskUsageSource, types: readonly string[]): Promise<DiskUsageReport> {
  const want = (t: DiskUsageType) => types.length === 0 || types.includes(t);
  const out: DiskUsageReport = {};
  const usage = await src.diskUsage();
  if (want('image')) {
    out.layersSize = usage.layersSize;
    out.images = await Promise.all(src.images.all().map(async (r) => ({
      image: r, config: await src.images.config(r.id), refs: src.images.refsOf(r.id),
      containers: src.containersUsing(r.id), sharedSize: usage.sharedSize.get(r.id) ?? 0,
    })));
  }
  if (want('container')) {
    out.containers = await Promise.all(src.containers.list().map(async (c) => {
      const sizeRw = await src.containers.sizeRw(c.ID);
      return { container: c, sizeRw, sizeRootFs: sizeRw + (src.images.has(c.Image) ? src.images.resolve(c.Image).size : 0) };
    }));
  }
  if (want('volume')) {
    out.volumes = await Promise.all(src.volumes.list(parseFilters(undefined)).map(async (v) => ({
      ...v, UsageData: { Size: await src.volumes.size(v.Name), RefCount: src.volumes.usedBy(v.Name).length },
    })));
  }
  if (want('build-cache')) out.buildCache = src.buildCacheUsage();
  return out;
}
