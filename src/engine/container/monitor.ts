// The end of a container's process: conmon's exit file (inotify, or polled by a stop), the exit
// handled once (the run given back, `exited` saved, `die` reported, waiters resolved), then
// Docker's restart policy with its backoff, or the auto-removal.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../common/errors.ts';
import { trace } from '../../common/trace.ts';
import { exists, resolveWaiters, type Container, type Core, type WaitResult, type Waiter } from './record.ts';
import { ContainerRun, startNow } from './run.ts';
import { transition } from './state.ts';

export async function onExitFile(k: Core, id: string): Promise<void> {
  const c = k.byId.get(id);
  if (!c || c.exitHandled || !c.running) return;
  await k.locked(c, async () => {
    if (c.exitHandled || !c.running) return;
    // inotify events can arrive late: one from a previous run (restart) must not end this one.
    // The exit file is removed before each create, so a present file is this run's.
    const rt = k.runtimeOf(c.rec.berth.runtime);
    if (!(await exists(rt.exitFile(c.id)))) return;
    await handleExit(k, c, {});
  });
}

async function readExitCode(k: Core, c: Container): Promise<number | undefined> {
  const rt = k.runtimeOf(c.rec.berth.runtime);
  for (let i = 0; i < 50; i++) {
    try {
      const t = (await readFile(rt.exitFile(c.id), 'utf8')).trim();
      if (t !== '') return Number(t);
    } catch { /* not yet */ }
    // conmon may still be writing it.
    await sleep(10);
  }
  return undefined;
}

export async function handleExit(k: Core, c: Container, o: { fromReconcile?: boolean }): Promise<void> {
  const T = trace('exit');
  c.exitHandled = true;
  const rec = c.rec;
  const code = await readExitCode(k, c);
  const oom = await exists(join(k.dir, c.id, 'conmon', 'oom'));
  await k.rotator.unwatch(c.id);
  T('read exit');
  // As dockerd's cleanup at exit: the run's resources, the network disconnects and volume
  // unmounts, then `die`.
  await ContainerRun.ended(k, c).teardown();
  T('delete+umount');
  rec.State = transition(rec.State, 'exited', {
    ExitCode: code ?? (o.fromReconcile ? 255 : 137), OOMKilled: oom, FinishedAt: new Date().toISOString(),
    Error: code === undefined && o.fromReconcile ? 'container exited while the daemon was down and its exit code was lost' : '',
  });
  await k.save(c);
  c.attach?.close();
  c.attach = undefined;
  if (oom) k.events.emit('container', 'oom', c.id, k.attrs(c));
  k.events.emit('container', 'die', c.id, { ...k.attrs(c), exitCode: String(rec.State.ExitCode) });
  resolveWaiters(c, 'next-exit', rec.State.ExitCode);
  const delay = restartDelay(c);
  if (delay !== undefined && !k.closing) {
    scheduleRestart(k, c, delay);
    return;
  }
  T('saved');
  if (rec.HostConfig.AutoRemove) await k.hooks.removeNow(c, { volumes: true }).catch((e) => k.warn(`auto-removal of container ${c.id}`, e));
  T('removed');
}

/** Docker's restart policy decision; undefined = don't restart. Backoff doubles from 100 ms. */
function restartDelay(c: Container): number | undefined {
  const p = c.rec.HostConfig.RestartPolicy ?? {};
  if (c.rec.berth.manuallyStopped || c.rec.HostConfig.AutoRemove) return undefined;
  const name = p.Name || 'no';
  if (name === 'no') return undefined;
  if (name === 'on-failure') {
    if (c.rec.State.ExitCode === 0) return undefined;
    if (p.MaximumRetryCount && c.rec.RestartCount >= p.MaximumRetryCount) return undefined;
  }
  const ranMs = Date.parse(c.rec.State.FinishedAt) - Date.parse(c.rec.State.StartedAt);
  if (ranMs >= 10_000) return 100;
  return Math.min(100 * 2 ** Math.min(c.rec.RestartCount, 10), 60_000);
}

export function scheduleRestart(k: Core, c: Container, delay: number): void {
  c.rec.State = transition(c.rec.State, 'restarting');
  void k.save(c).catch((e) => k.warn(`saving container ${c.id} (restarting)`, e));
  c.restartTimer = setTimeout(() => {
    c.restartTimer = undefined;
    void k.locked(c, async () => {
      if (c.running || c.rec.berth.manuallyStopped || !k.byId.has(c.id)) return;
      c.rec.RestartCount++;
      try {
        await startNow(k, c);
        k.events.emit('container', 'restart', c.id, k.attrs(c));
      } catch {
        // The failed start is recorded (State.Error) and reported (`die`) by startNow.
        const d = restartDelay(c);
        if (d !== undefined && !k.closing) scheduleRestart(k, c, d);
      }
    });
  }, delay);
}

/** Resolves once the exit has been handled (the record says exited). */
export function waitExit(k: Core, c: Container): Promise<void> {
  return new Promise((resolve) => {
    c.waiters.push({ condition: 'next-exit', resolve: () => resolve() });
    // The exit may be handled by the watcher only after we release the lock: do it here.
    const poll = async () => {
      const rt = k.runtimeOf(c.rec.berth.runtime);
      while (c.running && !c.exitHandled) {
        if (await exists(rt.exitFile(c.id))) { await handleExit(k, c, {}); return; }
        await sleep(20);
      }
    };
    void poll();
  });
}

/** Whether the container's exit is handled within `ms` (called under its lock). */
export async function exitWithin(k: Core, c: Container, ms: number): Promise<boolean> {
  if (!c.running) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([waitExit(k, c).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** POST /containers/{id}/wait. Registers the waiter at once (before the response is sent). */
export function wait(k: Core, ref: string, condition: string): Promise<WaitResult> {
  const c = k.get(ref);
  const cond = (condition || 'not-running') as Waiter['condition'];
  if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalid(`invalid condition: "${condition}"`);
  if (cond === 'not-running' && !c.running && c.rec.State.Status !== 'restarting') {
    return Promise.resolve({ StatusCode: c.rec.State.ExitCode, Error: null });
  }
  return new Promise((resolve) => c.waiters.push({ condition: cond, resolve }));
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
