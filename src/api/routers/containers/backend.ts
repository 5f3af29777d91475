import type { AttachSession, AttachTarget, ContainerRecord, CreateOptions, HostConfigDefaults } from '../../../engine/container/service.ts';
import type { StreamKind } from '../../../engine/attach.ts';
import type { LogEntry, ReadLogsOptions } from '../../../engine/logs.ts';
import type { ContainerListEntry, ContainerListOptions } from '../../../engine/container-list.ts';
import type { StatsReport } from '../../../engine/stats.ts';
import type { HostConfig } from '../../types/container.ts';
import type { Readable } from 'node:stream';

/** What the containers router needs from the engine, and nothing more. */
export interface ContainersBackend {
  create(o: CreateOptions): Promise<{ Id: string; Warnings: string[] }>;
  /** Every container (the list's link names: a link shows as `/parent/alias` on its target). */
  list(): ContainerRecord[];
  /** `GET /containers/json`: filtered and ordered by the engine (engine/container-list.ts). */
  listContainers(o: ContainerListOptions): Promise<ContainerListEntry[]>;
  inspect(ref: string): ContainerRecord;
  /** What the runtime gives a container for the HostConfig fields it left unset (inspect shows them). */
  hostConfigDefaults(): Promise<HostConfigDefaults>;
  sizeRw(id: string): Promise<number>;
  /** Unpacked size of a container's image (for SizeRootFs). */
  imageSize(imageId: string): number;
  graphDriver(id: string): Promise<Record<string, string>>;
  start(ref: string): Promise<void>;
  stop(ref: string, o: { signal?: string; timeout?: number }): Promise<void>;
  restart(ref: string, o: { signal?: string; timeout?: number }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  wait(ref: string, condition: string): Promise<{ StatusCode: number; Error?: { Message: string } | null }>;
  remove(ref: string, o: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** `rm --link`: a legacy link by its Docker name, `parent/alias`. */
  removeLink(ref: string): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  attachTarget(ref: string): AttachTarget;
  attach(ref: string, o: {
    stdin: boolean; stdout: boolean; stderr: boolean;
    onOutput: (stream: StreamKind, data: Buffer) => void; onEnd: () => void;
  }): Promise<AttachSession>;
  resize(ref: string, h: number, w: number): Promise<void>;
  /** The container's exec sessions that have not finished (inspect's ExecIDs). */
  execIds?(id: string): string[];
  logs(ref: string, o: Omit<ReadLogsOptions, 'stopped'>): { tty: boolean; entries: AsyncGenerator<LogEntry> };
  exportTar(ref: string): Promise<{ stream: Readable; release: () => Promise<void> }>;
  changes(ref: string): Promise<{ Path: string; Kind: number }[] | null>;
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** `cp`: the container archive API (engine/container-archive.ts). */
  archive?: ArchiveBackend;
  prune(filters?: string): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
}

/** A path in a container as `docker cp` stats it (`X-Docker-Container-Path-Stat`). */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

/** What the archive routes (`docker cp`) need: engine/container-archive.ts. */
export interface ArchiveBackend {
  stat(ref: string, path: string): Promise<PathStat>;
  /** Resolves the path (404 before anything is sent), then hands the stat and the tar to `sink`. */
  get(ref: string, path: string, sink: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void>;
  put(ref: string, path: string, tar: Readable, o: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
}

/** What `GET /containers/{id}/stats` and `POST /containers/{id}/update` need. */
export interface StatsBackend {
  /**
   * Resolves the container (404 before anything is sent) and gives either one stats object (a
   * stopped container, `stream=false`, `one-shot`) or a stream of them, one a second, until the
   * container stops or `signal` aborts (engine/stats.ts).
   */
  stats(ref: string, o: { stream: boolean; oneShot: boolean; signal: AbortSignal }): Promise<StatsReport>;
  update(ref: string, body: Partial<HostConfig>): Promise<{ Warnings: string[] }>;
}
