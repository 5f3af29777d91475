import type { Filters } from '../../../common/filters.ts';
import type { CreateVolumeOptions, Volume } from '../../types/volume.ts';

/** What the /volumes router needs from the engine. */
export interface VolumesBackend {
  list(f: Filters): Volume[];
  get(name: string): Volume;
  create(o: CreateVolumeOptions): Promise<Volume>;
  remove(name: string, o: { force?: boolean }): Promise<void>;
  prune(f: Filters): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}
