import type { NetworkInfo } from '../../../engine/engine.ts';
import type { EndpointConfig, NetworkCreateRequest } from '../../types/network.ts';
import type { ClusterNetwork } from '../../types/swarm.ts';

/**
 * What the /networks router needs from the engine, and from swarm mode on a manager. The daemon
 * composes both: create and remove go to the cluster for overlay networks (dockerd's order of
 * checks is the daemon's business); list and inspect show the cluster's networks beside the local ones.
 */
export interface NetworksBackend {
  /** The cluster's networks (Scope "swarm"); [] on a node that is no manager. */
  clusterNetworks?(): Promise<ClusterNetwork[]>;
  list(): NetworkInfo[];
  get(ref: string): NetworkInfo;
  create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  prune(filters?: string): Promise<string[]>;
  connect(ref: string, container: string, cfg: EndpointConfig): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
}
