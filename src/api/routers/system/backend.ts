import type { EngineEvent } from '../../../engine/events.ts';
import type { DiskUsageReport } from '../../../engine/system-df.ts';
import type { SwarmInfo } from '../../types/swarm.ts';

export interface SystemInfo {
  id: string;
  name: string;
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  dataRoot: string;
  execRoot: string;
  runtimes: Record<string, { path: string }>;
  defaultRuntime: string;
  cgroupVersion: '1' | '2';
  kernelVersion: string;
  operatingSystem: string;
  ncpu: number;
  memTotal: number;
  version: string;
  initBinary: string;
  debug: boolean;
  /** Docker's RegistryConfig (src/registry/client/info.ts). */
  registryConfig?: Record<string, unknown>;
  /** `--userns-remap` is on (SecurityOptions gains `name=userns`, as dockerd reports it). */
  userns?: boolean;
}

/** What the system router (/info, /version, /system/df, /events) needs from the engine. */
export interface SystemBackend {
  info(): Promise<SystemInfo>;
  /** `GET /system/df`: the kinds in `types` (all when empty), as engine/system-df.ts reports them. */
  df(types: string[]): Promise<DiskUsageReport>;
  events: {
    history(sinceNs: number, untilNs: number): EngineEvent[];
    subscribe(fn: (e: EngineEvent) => void): () => void;
  };
  /**
   * The node's swarm state (the swarm backend's info()): /info's Swarm section and the `Swarm`
   * header of /_ping. Absent → the inactive section and no header.
   */
  swarm?: () => SwarmInfo;
}
