// The OCI runtime boundary (STYLE.md point 2): a thin, stateless driver with no lifecycle rules.
// The engine owns the rules (which transitions are legal); this only runs the programs.
//
// Lifecycle, worked through for `berth run busybox echo hi`: the engine writes the bundle, calls
// `create` (conmon forks, runs `runc create`, reports the container's pid; the process waits in
// runc's init), connects to `attachSocket(id)` for output, calls `start`, and learns the exit
// code from `exitFile(id)`, which conmon writes when the process ends. `delete` removes the
// runtime's record. Because conmon (not berthd) is the container's parent, containers keep
// running when berthd stops, and their exit codes and logs are still recorded.

import type { OciProcess } from './oci-spec.ts';

export interface RuntimeCreateOptions {
  id: string;
  bundle: string;
  /** Per-container directory where conmon keeps `exit`/`oom` files; also conmon's cwd. */
  persistDir: string;
  /** `k8s-file:<path>` or `none` (conmon log driver). */
  logPath?: string;
  logSizeMax?: number;
  terminal: boolean;
  /** Open a pipe for the container's stdin (Config.OpenStdin). */
  stdin: boolean;
  /** Keep stdin open when the attached client hangs up (Docker: unless StdinOnce). */
  leaveStdinOpen: boolean;
  name: string;
}

export interface RuntimeState { status: 'created' | 'running' | 'stopped' | 'paused' | 'creating'; pid: number }

/** A short-lived container run in the foreground (build steps): no conmon, no attach socket. */
export interface RuntimeRunOptions {
  id: string;
  bundle: string;
  /** Receives the container's stdout and stderr as they come. */
  onOutput: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Aborting kills the container (SIGKILL) and the run rejects. */
  signal?: AbortSignal;
}

export interface RuntimeExecOptions {
  /** The container to run in. */
  containerId: string;
  /** The exec session's ID (names the attach socket link). */
  execId: string;
  /** The container's name, for conmon's logs. */
  name: string;
  /** A directory of the session's own: process.json, pid file, exit file, attach socket, ctl fifo. */
  dir: string;
  process: OciProcess;
  terminal: boolean;
  /** Give the process a stdin pipe (fed from the attach socket). */
  stdin: boolean;
}

export interface RuntimeExec {
  /** Where the session's output is served (SOCK_SEQPACKET); ready when `exec()` resolves. */
  readonly attachSocket: string;
  /** conmon's control fifo: `1 <height> <width>\n` resizes the TTY. */
  readonly ctlFile: string;
  /** Runs the process; resolves with its (host) pid, rejects with the runtime's message. */
  start(): Promise<number>;
  /** The process's exit code, once it has ended and conmon has drained its output. */
  readonly exited: Promise<number>;
  /** Gives up on a session that was never started (conmon is killed). */
  abort(): void;
}

export interface OciRuntime {
  readonly name: string;
  readonly path: string;
  /** Creates the container under conmon; resolves with the container process pid. */
  create(opts: RuntimeCreateOptions): Promise<{ pid: number; conmonPid: number }>;
  /** Starts a created container; `pid` (its init, from create) lets runc's start skip a fork. */
  start(id: string, pid?: number): Promise<void>;
  kill(id: string, signal: number, all?: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  state(id: string): Promise<RuntimeState | undefined>;
  attachSocket(id: string): string;
  exitFile(id: string): string;
  ctlFile(id: string): string;
  list(): Promise<{ id: string; status: string; pid: number }[]>;
  /**
   * Prepares a process in a running container (`docker exec`): resolves once its output can be
   * attached (`attachSocket`); `start()` then runs it. The runtime keeps no record of it.
   */
  exec(o: RuntimeExecOptions): Promise<RuntimeExec>;
  /**
   * Runs a container to completion (`<runtime> run`), its stdio pipes to the caller; resolves
   * with its exit code. A container that cannot be started rejects with the runtime's message.
   * The runtime's record is deleted before this settles.
   */
  run(o: RuntimeRunOptions): Promise<number>;
  /** Changes a running container's cgroup limits (`<runtime> update`); only the fields given. */
  update?(id: string, r: RuntimeResourceUpdate): Promise<void>;
}

/** `docker update`'s live limits, in the runtime's units (bytes, shares, µs, cpu lists). */
export interface RuntimeResourceUpdate {
  memory?: number; memorySwap?: number; memoryReservation?: number;
  cpuShares?: number; cpuPeriod?: number; cpuQuota?: number; cpusetCpus?: string; cpusetMems?: string;
  pidsLimit?: number; blkioWeight?: number;
}
