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
}

export interface SystemBackend {
  info(): Promise<SystemInfo>;
  events: {
    history(sinceNs: number, untilNs: number): EngineEvent[];
    subscribe(fn: (e: EngineEvent) => void): () => void;
  };
}
