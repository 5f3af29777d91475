// A lock shared by every berthd on the host, for choosing an automatic subnet. A daemon picks the
// first pool no route covers and adds its bridge; two daemons doing that at the same moment (two
// instances, or the test suite's daemons in parallel) would pick the same subnet, and a container's
// replies would leave through the other bridge. Choose-then-bring-up runs under this lock, so the
// second daemon sees the first one's route.
//
// The lock is a directory (mkdir is atomic) holding the owner's pid. A lock whose owner is gone
// (kill -9 mid-create) is taken over; a live owner is waited for at most `waitMs`, after which the
// caller goes on unlocked (a stuck peer must not stop this daemon making networks).
//
//   await withHostLock('/run/berth/subnet.lock', () => chooseAndBringUp())
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Locks this process holds now (its own pid in a lock not in here is a leftover). */
const holding = new Set<string>();

/** Whose the lock is: a live process's, nobody's (dead, or a leftover of ours), or not yet known
 *  (the pid file is being written). */
function owner(lock: string): 'alive' | 'dead' | 'unreadable' {
  let pid: number;
  try { pid = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { return 'unreadable'; }
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  if (pid === process.pid) return holding.has(lock) ? 'alive' : 'dead';
  try { process.kill(pid, 0); return 'alive'; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead'; }
}

export async function withHostLock<T>(lock: string, fn: () => Promise<T>, waitMs = 5000): Promise<T> {
  mkdirSync(dirname(lock), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  let held = false;
  let seenEmpty = 0;
  while (!held) {
    try {
      mkdirSync(lock, { mode: 0o700 });
      writeFileSync(join(lock, 'pid'), String(process.pid));
      held = true;
      holding.add(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break; // cannot lock at all: go on unlocked
      // A dead owner's lock is removed; a pid file that stays unreadable for a while is a crash
      // between mkdir and write.
      const o = owner(lock);
      seenEmpty = o === 'unreadable' ? seenEmpty + 1 : 0;
      if (o === 'dead' || seenEmpty > 20) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 20)));
    }
  }
  try {
    return await fn();
  } finally {
    if (held) { holding.delete(lock); rmSync(lock, { recursive: true, force: true }); }
  }
}
