// `runc start` without forking runc. What `runc start` does for a created container (runc 1.0 to
// 1.3, libcontainer's `exec()`): it opens `<root>/<id>/exec.fifo` for reading, which lets the
// container's init (blocked opening it for writing, at the very end of `runc create`) write one
// byte and exec the user's process; it reads that byte to EOF (the init's end of the FIFO is
// close-on-exec) and removes the FIFO, which is how runc tells `created` from `running` after.
// While it waits it checks every 100 ms that the init is still alive.
//
// Doing the same here saves a fork of the daemon and a Go binary's start (~25 ms a start on these
// machines). It is used only for runc (the runtime says so in `--version`), and only while the
// FIFO exists: anything else (another runtime, a container already started or stopped) takes
// `<runtime> start`, whose messages are then the runtime's own.
import { unlink, readFile } from 'node:fs/promises';
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

/** Is `pid` a live process (not gone, not a zombie)? */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
