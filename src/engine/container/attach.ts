// A container's streams: attach sessions (bound before the process starts, so no output is
// missed), TTY resize through conmon's control fifo, and its logs (read and rotated).
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { conflict, notImplemented, system } from '../../common/errors.ts';
import { AttachConnection, type StreamKind } from '../attach.ts';
import { readLogs, type LogEntry, type ReadLogsOptions } from '../logs.ts';
import { logFiles, parseLogConfig, type LogSettings } from '../log-rotation.ts';
import type { Container, Core } from './record.ts';

/** What the attach route needs of a container (see ContainerService.attachTarget). */
export interface AttachTarget { id: string; tty: boolean; openStdin: boolean; stdinOnce: boolean }

/** A client's attach session (see ContainerService.attach). */
export interface AttachSession {
  tty: boolean;
  writeStdin: (d: Buffer) => void;
  /** The client's stdin ended: EOF on the container's stdin when it is StdinOnce and no TTY. */
  closeStdin: () => void;
  /** The client leaves; the container runs on. `keys`: by the detach keys (event `detach`). */
  detach: (o?: { keys?: boolean }) => void;
}

export interface AttachOptions {
  stdin: boolean; stdout: boolean; stderr: boolean;
  onOutput: (stream: StreamKind, data: Buffer) => void;
  onEnd: () => void;
}

/** The container's one connection to conmon's attach socket, shared by its sessions. */
export async function connectAttach(k: Core, c: Container): Promise<AttachConnection | undefined> {
  if (c.attach && !c.attach.ended) return c.attach;
  if (c.attachConnecting) return c.attachConnecting;
  const rt = k.runtimeOf(c.rec.berth.runtime);
  c.attachConnecting = (async () => {
    try {
      const conn = await AttachConnection.connect(rt.attachSocket(c.id));
      conn.setMaxListeners(0);
      c.attach = conn;
      return conn;
    } catch (e) {
      if (c.running) throw system(`cannot attach to container ${c.id}: ${(e as Error).message}`, e);
      return undefined;
    } finally {
      c.attachConnecting = undefined;
    }
  })();
  return c.attachConnecting;
}

/**
 * What an attach needs to know, checked as moby's ContainerAttach checks before it takes the
 * connection over: 404 for an unknown container, 409 for a paused or restarting one.
 */
export function attachTarget(k: Core, ref: string): AttachTarget {
  const c = k.get(ref);
  if (c.rec.State.Paused) throw conflict(`container ${ref} is paused, unpause the container before attach`);
  if (c.restartTimer || c.rec.State.Restarting) throw conflict(`container ${ref} is restarting, wait until the container is running`);
  const cfg = c.rec.Config;
  return { id: c.id, tty: !!cfg.Tty, openStdin: !!cfg.OpenStdin, stdinOnce: !!cfg.StdinOnce };
}

/**
 * Attaches a client's stream session (event `attach`). On a running container it connects at
 * once; otherwise (created, or exited: `docker start -a` attaches first) it joins the next
 * start and is connected before the process runs, so no output is missed. It ends (`onEnd`)
 * when the container's output does. `detach({ keys: true })`, the client typed the detach
 * keys, is event `detach`.
 */
export async function attach(k: Core, ref: string, o: AttachOptions): Promise<AttachSession> {
  const c = k.get(ref);
  let conn: AttachConnection | undefined;
  let ended = false;
  const end = () => { if (!ended) { ended = true; cleanup(); o.onEnd(); } };
  const onOut = (s: StreamKind, d: Buffer) => { if ((s === 1 && o.stdout) || (s === 2 && o.stderr)) o.onOutput(s, d); };
  let bufferedStdin: Buffer[] = [];
  let stdinClosedEarly = false;
  const bind = (cn: AttachConnection) => {
    conn = cn;
    if (cn.ended) { queueMicrotask(end); return; }
    cn.on('output', onOut);
    cn.once('end', end);
    for (const b of bufferedStdin) cn.writeStdin(b);
    bufferedStdin = [];
    if (stdinClosedEarly) cn.closeStdin();
  };
  const cleanup = () => {
    conn?.off('output', onOut);
    conn?.off('end', end);
    const i = c.pendingAttach.indexOf(pending);
    if (i >= 0) c.pendingAttach.splice(i, 1);
  };
  const pending = { bind, fail: () => end() };
  k.events.emit('container', 'attach', c.id, k.attrs(c));
  if (c.running) {
    const cn = await connectAttach(k, c);
    if (cn) bind(cn); else queueMicrotask(end);
  } else {
    // Not started yet: joins the next start (see startNow in run.ts).
    c.pendingAttach.push(pending);
  }
  return {
    tty: !!c.rec.Config.Tty,
    writeStdin: (d) => { if (!o.stdin) return; if (conn) conn.writeStdin(d); else bufferedStdin.push(d); },
    closeStdin: () => {
      if (!o.stdin) return;
      // Docker closes the container's stdin when a StdinOnce client hangs up, but not a
      // TTY's: detaching from `run -it` (Ctrl-P Ctrl-Q) leaves the shell attachable again.
      if (!c.rec.Config.StdinOnce || c.rec.Config.Tty) return;
      if (conn) conn.closeStdin(); else stdinClosedEarly = true;
    },
    detach: (d = {}) => {
      if (ended) return;
      cleanup();
      ended = true;
      if (d.keys) k.events.emit('container', 'detach', c.id, k.attrs(c));
    },
  };
}

/** Resize the TTY through conmon's control fifo ("1 <height> <width>\n"). */
export async function resize(k: Core, ref: string, h: number, w: number): Promise<void> {
  const c = k.get(ref);
  if (!c.running) throw conflict(`Container ${c.id} is not running`);
  if (!c.rec.Config.Tty) return;
  const fh = await open(k.runtimeOf(c.rec.berth.runtime).ctlFile(c.id), constants.O_WRONLY | constants.O_NONBLOCK);
  try { await fh.write(`1 ${h} ${w}\n`); } finally { await fh.close(); }
}

/** The record's log settings; a record from before validation existed falls back to "never rotate". */
function logSettings(c: Container): LogSettings {
  try { return parseLogConfig(c.rec.HostConfig.LogConfig); } catch { return { driver: 'json-file', maxFile: 1 }; }
}

/** Rotation at max-size (log-rotation.ts): conmon writes the file, berthd rotates it. */
export function watchLog(k: Core, c: Container): void {
  const ls = logSettings(c);
  if (!c.rec.LogPath || ls.maxSize === undefined) return;
  k.rotator.watch(c.id, c.rec.LogPath, k.runtimeOf(c.rec.berth.runtime).ctlFile(c.id), { maxSize: ls.maxSize, maxFile: ls.maxFile });
}

export function logs(k: Core, ref: string, o: Omit<ReadLogsOptions, 'stopped'>): { tty: boolean; entries: AsyncGenerator<LogEntry> } {
  const c = k.get(ref);
  const ls = logSettings(c);
  // Docker: ErrReadLogsNotSupported, a NotImplemented (501).
  if (ls.driver === 'none' || !c.rec.LogPath) throw notImplemented(`configured logging driver does not support reading`);
  return {
    tty: !!c.rec.Config.Tty,
    entries: readLogs(logFiles(c.rec.LogPath, ls.maxFile), { ...o, stopped: () => !c.running && c.rec.State.Status !== 'restarting' }),
  };
}
