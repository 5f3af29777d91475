import type { ExecCreateOptions, ExecRecord, ExecStart } from '../../../engine/exec.ts';

/** What the exec router needs from the engine, and nothing more. */
export interface ExecBackend {
  create(containerRef: string, o: ExecCreateOptions): Promise<{ Id: string }>;
  inspect(id: string): ExecRecord;
  /** Validates and claims a start (404/409 thrown before the connection is hijacked). */
  begin(id: string): ExecStart;
  resize(id: string, h: number, w: number): Promise<void>;
}
