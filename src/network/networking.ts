// The networking extension point: what the container engine needs from networks. The engine
// keeps, per container, the networks it is configured for (`berth.networks`, from create's
// NetworkingConfig and later connects); networking turns them into a namespace with one
// interface per network when the container starts, and releases everything when it ends.
// `none`, `host` and `container:<id>` need nothing beyond the runtime's namespaces.
//
// Lifecycle, worked through: `create --network app --network-alias db` → prepare() checks that
// `app` exists and returns { app: { Aliases: ['db'], NetworkID } } for the record; `start` →
// setUp() makes the namespace, eth0 on app's bridge, an address, the DNS names, and returns the
// endpoints for inspect; `network connect other <ctr>` while it runs → connect() adds eth1;
// the process ends → tearDown() removes the namespace and gives the addresses back.
import type { HostConfig, ContainerConfig } from '../api/types/container.ts';
import type { EndpointConfig, EndpointState } from '../api/types/network.ts';

export interface NetworkTarget {
  id: string;
  name: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The networks the container is configured for, by network name. */
  networks: Record<string, EndpointConfig>;
  /** Only the networks listed (a container's record, which may list none); without it the
   *  network of the mode is implied (a build step's target lists nothing). */
  onlyListed?: boolean;
  /**
   * Makes the container's network namespace at `path` (a /run/netns file) instead of `ip netns
   * add`: a remapped container's must be owned by its own user namespace (sys/namespaces.ts).
   */
  makeNetns?: (path: string) => Promise<void>;
}

export interface NetworkSetup {
  /** A network namespace path to join; undefined = the runtime makes a fresh one (or host). */
  netnsPath?: string;
  endpoints?: EndpointState[];
  /** resolv.conf nameservers when the embedded DNS serves the container. */
  nameservers?: string[];
  /** Extra /etc/hosts lines (legacy links). */
  hosts?: string[];
  /** Extra environment (legacy link variables). */
  env?: string[];
}

export interface ContainerNetworking {
  /** At daemon start, before containers are loaded (bridges, saved state). */
  init?(): Promise<void>;
  /** After containers are loaded and reconciled: drop what belongs to containers not running. */
  reconcile?(isRunning: (id: string) => boolean): Promise<void>;
  /**
   * At create: checks the mode and the requested endpoints and returns the record's network
   * list (by canonical network name). Throws Docker's errors (404 for an unknown network; a bad
   * endpoint is worded as create words it, or as connect does with `connect`).
   */
  prepare?(hostConfig: HostConfig, endpoints: Record<string, EndpointConfig>, o?: { connect?: boolean }): Record<string, EndpointConfig>;
  /**
   * At create, before prepare: makes the networks the container names known here when they are
   * not yet (an attachable cluster network of swarm mode). Throws the cluster's refusal.
   */
  resolveNetworks?(hostConfig: HostConfig, endpoints: Record<string, EndpointConfig>): Promise<void>;
  /** Before the OCI spec is built: create/attach what the container's networks need. */
  setUp(t: NetworkTarget): Promise<NetworkSetup>;
  /** After the process ended (or a start failed): release what setUp made. Idempotent. */
  tearDown(t: NetworkTarget): Promise<void>;
  /** `network connect` of a running container: one more interface. */
  connect?(t: NetworkTarget, network: string, cfg: EndpointConfig): Promise<EndpointState>;
  /** `network disconnect` of a running container. */
  disconnect?(t: NetworkTarget, network: string): Promise<void>;
  /** A running container's endpoints as they are now (a connect or disconnect may move its
   *  published ports and default route between them). */
  containerEndpoints?(id: string): EndpointState[];
  /**
   * `rename` of a running container: its endpoints answer to the new name in the embedded DNS
   * (and no longer to the old one), as moby's sandbox Rename does. Returns the updated endpoints.
   */
  rename?(t: NetworkTarget, oldName: string): Promise<EndpointState[]>;
  /** The canonical name of a network reference (name, ID or ID prefix); throws 404. */
  resolveName?(ref: string): string;
  /** `host-gateway` of --add-host: the default bridge's gateway address. */
  hostGatewayIp?(): string | undefined;
}

/** `none`, `host` and `container:` need nothing from berth beyond the runtime's namespaces. */
export class NoNetworking implements ContainerNetworking {
  async setUp(): Promise<NetworkSetup> { return {}; }
  async tearDown(): Promise<void> {}
}
