import type { NetworkInfo } from '../../../engine/engine.ts';

export interface NetworksBackend {
  list(): NetworkInfo[];
}
