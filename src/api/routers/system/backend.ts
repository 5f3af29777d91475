import type { EngineEvent } from '../../../engine/events.ts';

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

export interface SystemBackend {
  info(): Promise<SystemInfo>;
  df(types: string[]): Promise<Partial<DiskUsage>>;
  events: {
    history(sinceNs: number, untilNs: number): EngineEvent[];
    subscribe(fn: (e: EngineEvent) => void): () => void;
  };
}

/** `GET /system/df` (already in the wire shape: the composition root builds the summaries). */
export interface DiskUsage {
  LayersSize: number;
  Images: Record<string, unknown>[];
  Containers: Record<string, unknown>[];
  Volumes: Record<string, unknown>[];
  BuildCache: Record<string, unknown>[];
}
