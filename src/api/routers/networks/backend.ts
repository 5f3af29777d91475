import type { NetworkInfo } from '../../../engine/engine.ts';
import type { EndpointConfig, NetworkCreateRequest } from '../../types/network.ts';

/** What the /networks router needs from the engine. */
export interface NetworksBackend {
  list(): NetworkInfo[];
  get(ref: string): NetworkInfo;
  create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  prune(filters?: string): Promise<string[]>;
  connect(ref: string, container: string, cfg: EndpointConfig): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
}
