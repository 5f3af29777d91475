// Two runc commands done in-process for the hot path of every container, each exactly as runc
// (1.0 to 1.3, libcontainer) does it and each only where runc would do nothing more. Forking the
// daemon and starting a Go binary costs ~25 ms a command on these machines; a run has two of them
// here. Anything outside these cases returns false and the caller runs the runtime's command,
// whose messages are then the runtime's own. Used only for runc (the runtime says so in
// `--version`).
//
// - `runc start` of a created container (libcontainer's exec()): open `<root>/<id>/exec.fifo`
//   for reading, which lets the init (blocked opening it for writing, at the very end of
//   `runc create`) write one byte and exec the user's process; read that byte to EOF (the init's
//   end is close-on-exec) and remove the FIFO, which is how runc tells `created` from `running`.
//   While it waits, runc checks every 100 ms that the init is alive.
// - `runc delete` of a stopped container (destroy() in libcontainer's state_linux.go): remove
//   its cgroup directories (sub-cgroups first, retried with a doubling delay while the kernel
//   still counts exiting tasks: cgroups.RemovePaths) and its state directory. runc also kills
//   what is left in the cgroup when the container has no PID namespace of its own, and runs
//   poststop hooks; such containers (and systemd cgroups, Intel RDT) are left to runc.
import { unlink, readFile, readdir, rmdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { open, constants } from 'node:fs';
import { Socket } from 'node:net';
import { EngineError } from '../common/errors.ts';

/**
 * Starts the created container whose exec FIFO is `fifo` and whose init is `pid`. Resolves false,
 * having done nothing, when there is no FIFO (the caller falls back to `<runtime> start`).
 */
export async function startByExecFifo(fifo: string, pid: number): Promise<boolean> {
  // Non-blocking: opening a FIFO's read end succeeds at once, and it does not report end-of-file
  // before a writer has come and gone, so the read below waits for the init (on epoll, no thread).
  // A plain descriptor (no FileHandle, which would close it again when collected): the socket
  // owns it and closes it.
  let fd: number;
  try {
    fd = await new Promise<number>((res, rej) => open(fifo, constants.O_RDONLY | constants.O_NONBLOCK, (e, n) => (e ? rej(e) : res(n))));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const sock = new Socket({ fd, readable: true, writable: false });
  let got = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      sock.on('data', (d: Buffer) => { got += d.length; });
      sock.on('end', () => resolve());
      sock.on('error', reject);
      // The init may die before it writes (killed, or its exec set-up failed): after two checks
      // in a row that find it gone with nothing read, this start fails as runc's does.
      let goneOnce = false;
      timer = setInterval(() => {
        void alive(pid).then((up) => {
          if (up || got > 0) { goneOnce = false; return; }
          if (goneOnce) reject(new EngineError('System', 'OCI runtime start failed: container process is already dead', { code: 'RuntimeStart' }));
          goneOnce = true;
        });
      }, 100);
    });
  } finally {
    clearInterval(timer);
    sock.destroy();
  }
  if (got === 0) throw new EngineError('System', 'OCI runtime start failed: cannot start an already running container', { code: 'RuntimeStart' });
  await unlink(fifo).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  return true;
}

/** The parts of runc's `state.json` that say what destroy() would do. */
interface RuncState {
  init_process_pid?: number;
  init_process_start?: number | string;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string;
  config?: {
    namespaces?: { type: string; path?: string }[];
    cgroups?: { Systemd?: boolean; systemd?: boolean };
    hooks?: Record<string, unknown[] | null> | null;
  };
}

/**
 * Deletes the stopped runc container `id` under `root` as `runc delete` would. Resolves false,
 * having removed nothing, when runc would do more than that or the container is not stopped.
 */
export async function deleteStopped(root: string, id: string): Promise<boolean> {
  const dir = join(root, id);
  let st: RuncState;
  try {
    st = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as RuncState;
  } catch {
    return false;
  }
  const cfg = st.config ?? {};
  const ownPidns = (cfg.namespaces ?? []).some((n) => n.type === 'NEWPID' && !n.path);
  const hooks = Object.values(cfg.hooks ?? {}).some((h) => Array.isArray(h) && h.length > 0);
  if (!ownPidns || hooks || cfg.cgroups?.Systemd || cfg.cgroups?.systemd || st.intel_rdt_path) return false;
  if (!st.init_process_pid || await alive(st.init_process_pid, st.init_process_start)) return false;
  let left = [...new Set(Object.values(st.cgroup_paths ?? {}))];
  for (let i = 0, delay = 10; i < 5 && left.length > 0; i++) {
    if (i > 0) { await new Promise((r) => setTimeout(r, delay)); delay *= 2; }
    const still: string[] = [];
    for (const p of left) if (!(await removeCgroup(p))) still.push(p);
    left = still;
  }
  if (left.length > 0) return false; // runc tries again and reports what stays
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** Removes a cgroup directory, sub-cgroups first; true once it is gone. */
async function removeCgroup(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'EBUSY' && code !== 'ENOTEMPTY') return false;
  }
  // Sub-cgroups the container made for itself (a cgroup has no files to remove, only directories).
  let subs: string[] = [];
  try { subs = (await readdir(path, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name); } catch { /* gone */ }
  for (const s of subs) if (!(await removeCgroup(join(path, s)))) return false;
  try {
    await rmdir(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  return !(await stat(path).then(() => true, () => false));
}

/**
 * Is `pid` alive (not gone, not a zombie), and, given its start time (clock ticks after boot, as
 * runc records it), still the same process?
 */
async function alive(pid: number, start?: number | string): Promise<boolean> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state), so field 22 (starttime) is f[19].
    if (f[0] === 'Z' || f[0] === 'X') return false;
    return start === undefined || String(start) === f[19];
  } catch {
    return false;
  }
}
