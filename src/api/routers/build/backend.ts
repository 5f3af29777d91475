import type { Readable } from 'node:stream';
import type { BuildOptions, BuildOutput, BuildReport } from '../../../build/build.ts';

export interface BuildBackend {
  build(body: Readable, o: BuildOptions, out: BuildOutput): Promise<BuildReport>;
  pruneBuildCache(o: { all?: boolean; until?: string; keepStorage?: number }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }>;
}
