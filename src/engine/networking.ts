// The networking extension point: the step that runs before a container's process starts
// (and after it ends). The networking issue plugs a bridge/IPAM/DNS implementation in here;
// until then berth provides `none` (a fresh network namespace holding only `lo`, made by the
// runtime), `host` and `container:<id>`, and treats `bridge`/`default` as `none`.
import type { HostConfig, ContainerConfig } from './types.ts';

export interface NetworkTarget {
  id: string;
  name: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
}

export interface NetworkSetup {
  /** A network namespace path to join; undefined = the runtime makes a fresh one (or host). */
  netnsPath?: string;
  /** The container's address on the network it joined (inspect's NetworkSettings). */
  endpoint?: { network: string; ip: string; prefixLen: number; gateway: string; mac: string; portMap?: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

export interface ContainerNetworking {
  /** At daemon start, before containers are loaded (bridges, saved state). */
  init?(): Promise<void>;
  /** After containers are loaded and reconciled: drop what belongs to containers not running. */
  reconcile?(isRunning: (id: string) => boolean): Promise<void>;
  /** Before the OCI spec is built: create/attach what the container's network mode needs. */
  setUp(t: NetworkTarget): Promise<NetworkSetup>;
  /** After the process ended (or a start failed): release what setUp made. Idempotent. */
  tearDown(t: NetworkTarget): Promise<void>;
}

/** `none`, `host` and `container:` need nothing from berth beyond the runtime's namespaces. */
export class NoNetworking implements ContainerNetworking {
  async setUp(): Promise<NetworkSetup> { return {}; }
  async tearDown(): Promise<void> {}
}
