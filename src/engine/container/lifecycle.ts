// The user's lifecycle operations, each under the container's lock: start, stop, kill, restart,
// pause/unpause (and the daemon's own freezes for cp, export, commit), rename, remove.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalid, notFound, notModified, system, isEngineError } from '../../common/errors.ts';
import { validateName } from '../../common/names.ts';
import { parseSignal } from '../../common/signals.ts';
import { isMountPoint, unmount } from '../../sys/index.ts';
import { resolveWaiters, type Container, type Core } from './record.ts';
import { releaseHostShm, startNow } from './run.ts';
import { exitWithin, sleep, waitExit } from './monitor.ts';
import { netTarget } from './network.ts';
import { transition } from './state.ts';

export function start(k: Core, ref: string): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (c.rec.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
    if (c.rec.State.Paused) throw conflict(`cannot start a paused container, try unpause instead`);
    if (c.running) throw notModified();
    if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
    c.rec.berth.manuallyStopped = false;
    await startNow(k, c);
  });
}

export function stop(k: Core, ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, () => stopNow(k, c, o));
}

async function stopNow(k: Core, c: Container, o: { signal?: string; timeout?: number }): Promise<void> {
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    c.rec.berth.manuallyStopped = true;
    c.rec.State = transition(c.rec.State, 'exited');
    await k.save(c);
    return;
  }
  if (!c.running) throw notModified();
  c.rec.berth.manuallyStopped = true;
  await k.save(c);
  const rt = k.runtimeOf(c.rec.berth.runtime);
  const sig = parseSignal(o.signal || c.rec.Config.StopSignal || 'SIGTERM');
  const timeout = o.timeout ?? c.rec.Config.StopTimeout ?? 10;
  const exited = waitExit(k, c);
  // Best effort: a container that cannot be thawed still gets the SIGKILL below.
  if (c.rec.State.Paused) await rt.resume(c.id).catch(() => {});
  k.events.emit('container', 'kill', c.id, { ...k.attrs(c), signal: String(sig) });
  // Best effort: a process that has just exited cannot be signalled; the wait below sees it.
  await rt.kill(c.id, sig).catch(() => {});
  const gone = timeout < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
  if (!gone) {
    k.events.emit('container', 'kill', c.id, { ...k.attrs(c), signal: '9' });
    // Best effort: as above; the exit is what is awaited.
    await rt.kill(c.id, 9, true).catch(() => {});
    await exited;
  }
  k.events.emit('container', 'stop', c.id, k.attrs(c));
}

/**
 * `POST /containers/{id}/kill`, as moby's. With SIGKILL (the default) it returns once the
 * container is no longer running: up to 10 s for the exit, then a SIGKILL to every process of
 * the container and 2 s more; so an inspect right after shows it exited (137). Other signals
 * are sent and the call returns at once. Any signal when the container has no StopSignal, or
 * its StopSignal, or SIGKILL, means the container is not to be restarted when it exits
 * (moby's ExitOnNext), and a paused container is resumed so that the signal lands. A
 * container waiting to be restarted is then stopped; another signal leaves it be.
 */
export function kill(k: Core, ref: string, signal?: string): Promise<void> {
  const c = k.get(ref);
  const sig = parseSignal(signal || 'SIGKILL');
  return k.locked(c, async () => {
    const stopSignal = c.rec.Config.StopSignal ? parseSignal(c.rec.Config.StopSignal) : undefined;
    const exitOnNext = sig === 9 || stopSignal === undefined || stopSignal === sig;
    if (c.restartTimer) {
      if (exitOnNext) await stopNow(k, c, {});
      return;
    }
    if (!c.running) throw conflict(`cannot kill container: ${ref}: container ${c.id} is not running`);
    if (exitOnNext) {
      c.rec.berth.manuallyStopped = true;
      await k.save(c);
    }
    const rt = k.runtimeOf(c.rec.berth.runtime);
    const resume = exitOnNext && c.rec.State.Paused;
    // A frozen process gets SIGKILL only when thawed: thaw first for it, after for others.
    // Best effort: if the thaw fails, the kill below reports what the runtime says.
    if (resume && sig === 9) await rt.resume(c.id).catch(() => {});
    await rt.kill(c.id, sig);
    k.events.emit('container', 'kill', c.id, { ...k.attrs(c), signal: String(sig) });
    if (resume && sig !== 9) {
      // Best effort, as moby: the signal is sent; a container that stays frozen stays paused.
      await rt.resume(c.id).catch(() => {});
      c.rec.State = transition(c.rec.State, 'running');
      await k.save(c);
      k.events.emit('container', 'unpause', c.id, k.attrs(c));
    }
    if (sig !== 9) return;
    if (await exitWithin(k, c, 10_000)) return;
    // Best effort: the exit within 2 s below decides the answer.
    await rt.kill(c.id, 9, true).catch(() => {});
    if (!(await exitWithin(k, c, 2_000))) throw system(`cannot kill container: ${ref}: tried to kill container, but did not receive an exit event`);
  });
}

export function restart(k: Core, ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (c.running || c.restartTimer) await stopNow(k, c, o).catch((e) => { if (!isEngineError(e, 'NotModified')) throw e; });
    c.rec.berth.manuallyStopped = false;
    await startNow(k, c);
    k.events.emit('container', 'restart', c.id, k.attrs(c));
  });
}

/**
 * `forDaemon`: a pause the daemon makes for its own work (commit), not the user's: it leaves a
 * freeze marker first, so a daemon that dies before unpausing thaws the container at start.
 */
export function pause(k: Core, ref: string, o: { forDaemon?: boolean } = {}): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    if (c.rec.State.Paused) throw conflict(`Container ${c.id} is already paused`);
    if (o.forDaemon) await k.markFrozen(c);
    try {
      await k.runtimeOf(c.rec.berth.runtime).pause(c.id);
    } catch (e) {
      if (o.forDaemon) await k.unmarkFrozen(c);
      throw e;
    }
    c.rec.State = transition(c.rec.State, 'paused');
    await k.save(c);
    k.events.emit('container', 'pause', c.id, k.attrs(c));
  });
}

export function unpause(k: Core, ref: string, o: { forDaemon?: boolean } = {}): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (!c.rec.State.Paused) throw conflict(`Container ${c.id} is not paused`);
    await k.runtimeOf(c.rec.berth.runtime).resume(c.id);
    c.rec.State = transition(c.rec.State, 'running');
    await k.save(c);
    if (o.forDaemon) await k.unmarkFrozen(c);
    k.events.emit('container', 'unpause', c.id, k.attrs(c));
  });
}

/** Freezes a running container for the daemon's own work: the marker first, then the freezer. */
export async function freeze(k: Core, c: Container): Promise<void> {
  await k.markFrozen(c);
  try {
    await k.runtimeOf(c.rec.berth.runtime).pause(c.id);
  } catch (e) {
    await k.unmarkFrozen(c);
    throw e;
  }
}

export async function thaw(k: Core, c: Container): Promise<void> {
  await k.runtimeOf(c.rec.berth.runtime).resume(c.id);
  await k.unmarkFrozen(c);
}

export function rename(k: Core, ref: string, newName: string): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (!newName) throw invalid('Neither old nor new names may be empty');
    validateName(newName);
    const n = newName.startsWith('/') ? newName : `/${newName}`;
    if (n === c.rec.Name) throw invalid(`Renaming a container with the same name as its current name`);
    const holder = k.names.get(n);
    if (holder) throw conflict(`Conflict. The container name "${n}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.rec.Name;
    k.names.set(n, c.id);
    c.rec.Name = n;
    // A running container's DNS names follow it (moby renames the sandbox's endpoints).
    const net = k.o.networking;
    try {
      if (c.running && c.rec.berth.endpoints?.length && net?.rename) {
        const eps = await net.rename(netTarget(c), old.slice(1));
        const byNet = new Map(eps.map((e) => [e.network, e]));
        c.rec.berth.endpoints = c.rec.berth.endpoints.map((e) => byNet.get(e.network) ?? e);
      }
      await k.save(c);
    } catch (e) { c.rec.Name = old; k.names.delete(n); throw e; }
    k.names.delete(old);
    k.events.emit('container', 'rename', c.id, { ...k.attrs(c), oldName: old });
  });
}

export function remove(k: Core, ref: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    if (!k.byId.has(c.id)) throw notFound(`No such container: ${ref}`);
    if (c.rec.State.Status === 'removing') throw conflict(`removal of container ${ref} is already in progress`);
    if (c.running || c.restartTimer) {
      if (!o.force) {
        if (c.rec.State.Paused) throw conflict(`cannot remove container "${c.rec.Name}": container is paused and must be unpaused first`);
        throw conflict(`cannot remove container "${c.rec.Name}": container is running: stop the container before removing or force remove`);
      }
      if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
      c.rec.berth.manuallyStopped = true;
      if (c.running) {
        const exited = waitExit(k, c);
        const rt = k.runtimeOf(c.rec.berth.runtime);
        // Best effort: the SIGKILL below lands once thawed, and the exit is what is awaited.
        if (c.rec.State.Paused) await rt.resume(c.id).catch(() => {});
        await rt.kill(c.id, 9, true).catch(() => {});
        k.events.emit('container', 'kill', c.id, { ...k.attrs(c), signal: '9' });
        await exited;
      }
    }
    await removeNow(k, c, o);
  });
}

export async function removeNow(k: Core, c: Container, o: { volumes?: boolean }): Promise<void> {
  if (!k.byId.has(c.id)) return;
  // In memory only: the commit point of a removal is deleting config.json below.
  c.rec.State = transition(c.rec.State, 'removing');
  for (const p of c.pendingAttach.splice(0)) p.fail();
  await k.rotator.unwatch(c.id);
  const merged = k.snap.rootfsPath(c.id);
  if (await isMountPoint(merged)) await unmount(merged).catch(() => unmount(merged, { lazy: true }));
  // A container that ran had it unmounted at its exit already.
  await releaseHostShm(k, c);
  if (!c.runtimeDeleted && c.rec.berth.hasBeenStarted) await k.runtimeOf(c.rec.berth.runtime).delete(c.id, true).catch((e) => k.warn(`runtime delete of container ${c.id}`, e));
  // Removing the record first makes the removal the commit point; the rest is debris cleanup
  // that init() redoes for a directory without a record.
  await rm(join(k.dir, c.id, 'config.json'), { force: true });
  k.delete(c);
  // The debris, each part independent of the others, removed together.
  await Promise.all([
    k.snap.remove(c.id).catch((e) => k.warn(`removing the layer of container ${c.id}`, e)),
    rm(join(k.dir, c.id), { recursive: true, force: true }),
    rm(join(k.bundles, c.id), { recursive: true, force: true }),
    // Best effort: rm with force fails only on a path we may not touch, and the file is this run's only.
    ...[...k.o.runtimes.values()].map((rt) => rm(rt.exitFile(c.id), { force: true }).catch(() => {})),
    o.volumes && k.o.volumes.removeAnonymous(c.rec.Mounts ?? [], c.id).catch((e) => k.warn(`removing the anonymous volumes of container ${c.id}`, e)),
  ]);
  k.events.emit('container', 'destroy', c.id, k.attrs(c));
  resolveWaiters(c, 'removed', c.rec.State.ExitCode);
}
