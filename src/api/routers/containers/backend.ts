import type { AttachSession, AttachTarget, ContainerRecord, CreateOptions, EngineContext, HostConfigDefaults } from '../../../engine/container/service.ts';
import type { StreamKind } from '../../../engine/attach.ts';
import type { LogEntry, ReadLogsOptions } from '../../../engine/logs.ts';

/** What the containers router needs from the engine, and nothing more. */
export interface ContainersBackend {
  create(ctx: EngineContext, o: CreateOptions): Promise<{ Id: string; Warnings: string[] }>;
  list(): ContainerRecord[];
  inspect(ref: string): ContainerRecord;
  /** What the runtime gives a container for the HostConfig fields it left unset (inspect shows them). */
  hostConfigDefaults(): Promise<HostConfigDefaults>;
  sizeRw(id: string): Promise<number>;
  /** Unpacked size of a container's image (for SizeRootFs). */
  imageSize(imageId: string): number;
  graphDriver(id: string): Promise<Record<string, string>>;
  start(ctx: EngineContext, ref: string): Promise<void>;
  stop(ctx: EngineContext, ref: string, o: { signal?: string; timeout?: number }): Promise<void>;
  restart(ctx: EngineContext, ref: string, o: { signal?: string; timeout?: number }): Promise<void>;
  kill(ctx: EngineContext, ref: string, signal?: string): Promise<void>;
  pause(ctx: EngineContext, ref: string): Promise<void>;
  unpause(ctx: EngineContext, ref: string): Promise<void>;
  wait(ctx: EngineContext, ref: string, condition: string): Promise<{ StatusCode: number; Error?: { Message: string } | null }>;
  remove(ctx: EngineContext, ref: string, o: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** `rm --link`: a legacy link by its Docker name, `parent/alias`. */
  removeLink(ref: string): Promise<void>;
  rename(ctx: EngineContext, ref: string, name: string): Promise<void>;
  attachTarget(ref: string): AttachTarget;
  attach(ctx: EngineContext, ref: string, o: {
    stdin: boolean; stdout: boolean; stderr: boolean;
    onOutput: (stream: StreamKind, data: Buffer) => void; onEnd: () => void;
  }): Promise<AttachSession>;
  resize(ctx: EngineContext, ref: string, h: number, w: number): Promise<void>;
  /** The container's exec sessions that have not finished (inspect's ExecIDs). */
  execIds?(id: string): string[];
  logs(ctx: EngineContext, ref: string, o: Omit<ReadLogsOptions, 'stopped' | 'signal'>): { tty: boolean; entries: AsyncGenerator<LogEntry> };
  exportTar(ref: string): Promise<{ stream: import('node:stream').Readable; release: () => Promise<void> }>;
  changes(ref: string): Promise<{ Path: string; Kind: number }[] | null>;
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** `cp`: the container archive API (engine/container-archive.ts). */
  archive?: import('./archive-routes.ts').ArchiveBackend;
  prune(filters?: string): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  /** Image lookups (the `ancestor` filter; the list's Image, which is the ID once its reference names another image). */
  imageIdOf(ref: string): string | undefined;
}
