// `POST /containers/{id}/update` (docker update): resources and restart policy of an existing
// container, recorded and, while it runs, applied to its cgroup.
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { conflict, invalid, notImplemented } from '../../common/errors.ts';
import type { RuntimeResourceUpdate } from '../../runtime/runtime.ts';
import { detectCgroups, type CgroupFeatures } from '../../runtime/cgroups.ts';
import type { HostConfig } from '../../api/types/container.ts';
import type { Core } from './record.ts';
import { validateResources, validateRestartPolicy } from './host-config.ts';

/**
 * `POST /containers/{id}/update` (docker update), as moby's ContainerUpdate: the resources given
 * (0 / absent = leave as is) and the restart policy, checked with create's rules; a limit this
 * host cannot enforce is discarded with Docker's warning (runc would fail writing a cgroup file
 * that does not exist); recorded in HostConfig and, on a running container, applied to its
 * cgroup through the runtime. As in Docker, a live update passes memory, reservation, swap (when
 * positive), CPU shares, CFS period/quota (NanoCpus becomes them), cpusets, pids and blkio
 * weight; real-time CPU values are recorded only. Nothing is recorded when the runtime fails.
 */
export function update(k: Core, ref: string, body: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
  const c = k.get(ref);
  return k.locked(c, async () => {
    const cannot = (msg: string) => conflict(`Cannot update container ${c.id}: ${msg}`);
    const req: Partial<HostConfig> = { ...body };
    const warnings = discardUnsupported(req, (await cgroupFeatures()));
    const old = c.rec.HostConfig;
    // moby's UpdateContainer: NanoCpus and CFS period/quota exclude each other across updates.
    if ((req.NanoCpus ?? 0) > 0 && (old.CpuPeriod ?? 0) > 0) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
    if ((req.NanoCpus ?? 0) > 0 && (old.CpuQuota ?? 0) > 0) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
    if ((req.CpuPeriod ?? 0) > 0 && (old.NanoCpus ?? 0) > 0) throw cannot('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
    if ((req.CpuQuota ?? 0) > 0 && (old.NanoCpus ?? 0) > 0) throw cannot('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
    const hc: HostConfig = { ...old };
    const u: RuntimeResourceUpdate = {};
    const set = <K extends keyof HostConfig>(k: K) => { if (req[k] !== undefined && req[k] !== null && req[k] !== 0 && req[k] !== '') (hc as any)[k] = req[k]; };
    for (const k of ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'BlkioWeight'] as const) set(k);
    if (req.PidsLimit !== undefined && req.PidsLimit !== null) hc.PidsLimit = req.PidsLimit;
    if (body.RestartPolicy?.Name) {
      const rp = body.RestartPolicy;
      if (old.AutoRemove && rp.Name && rp.Name !== 'no') throw cannot('Restart policy cannot be updated because AutoRemove is enabled for the container');
      validateRestartPolicy(rp, false);
      hc.RestartPolicy = { Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
    }
    // Swap: the effective limit (Docker records twice the memory when only memory was set).
    const oldSwap = old.MemorySwap || (old.Memory ? old.Memory * 2 : 0);
    if (req.Memory && !req.MemorySwap && oldSwap > 0 && req.Memory > oldSwap) {
      throw cannot('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    const cpus = (await readFile('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').catch(() => readFile('/sys/fs/cgroup/cpuset.cpus.effective', 'utf8').catch(() => `0-${os.cpus().length - 1}`))).trim();
    const mems = (await readFile('/sys/fs/cgroup/cpuset/cpuset.mems', 'utf8').catch(() => readFile('/sys/fs/cgroup/cpuset.mems.effective', 'utf8').catch(() => '0'))).trim();
    validateResources(hc, { ncpu: os.cpus().length, cpuset: { cpus, mems } });
    // moby's toContainerdResources.
    if (req.Memory) u.memory = req.Memory;
    if ((req.MemorySwap ?? 0) > 0) u.memorySwap = req.MemorySwap;
    if (req.MemoryReservation) u.memoryReservation = req.MemoryReservation;
    if (req.CpuShares) u.cpuShares = req.CpuShares;
    if (req.NanoCpus) { u.cpuPeriod = 100000; u.cpuQuota = Math.trunc((req.NanoCpus * 100000) / 1e9); }
    if (req.CpuPeriod && !u.cpuPeriod) u.cpuPeriod = req.CpuPeriod;
    if (req.CpuQuota && !u.cpuQuota) u.cpuQuota = req.CpuQuota;
    if (req.CpusetCpus) u.cpusetCpus = req.CpusetCpus;
    if (req.CpusetMems) u.cpusetMems = req.CpusetMems;
    if (req.BlkioWeight) u.blkioWeight = req.BlkioWeight;
    if (req.PidsLimit !== undefined && req.PidsLimit !== null) u.pidsLimit = req.PidsLimit > 0 ? req.PidsLimit : -1;
    if (c.running && Object.keys(u).length) {
      const rt = k.runtimeOf(c.rec.berth.runtime);
      if (!rt.update) throw notImplemented(`the runtime ${c.rec.berth.runtime} cannot update a running container`);
      await rt.update(c.id, u);
    }
    c.rec.HostConfig = hc;
    await k.save(c);
    k.events.emit('container', 'update', c.id, k.attrs(c));
    return { Warnings: warnings };
  });
}

let cgroupFeaturesP: Promise<CgroupFeatures> | undefined;
/** The host's cgroup controllers, read once (they do not change while the daemon runs). */
function cgroupFeatures(): Promise<CgroupFeatures> {
  cgroupFeaturesP ??= detectCgroups().then((h) => h.features);
  return cgroupFeaturesP;
}

/**
 * moby's verifyPlatformContainerResources for an update: a limit the host cannot enforce is
 * dropped from the request, with Docker's warning (the update goes on without it); NanoCpus
 * without CFS is an error, as in Docker.
 */
export function discardUnsupported(r: Partial<HostConfig>, f: CgroupFeatures): string[] {
  const w: string[] = [];
  if ((r.Memory ?? 0) > 0 && !f.memory) {
    w.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0; r.MemorySwap = -1;
  }
  if ((r.Memory ?? 0) > 0 && r.MemorySwap !== -1 && !f.swap) {
    w.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  if ((r.MemoryReservation ?? 0) > 0 && !f.memory) {
    w.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if (r.PidsLimit != null && r.PidsLimit > 0 && !f.pids) {
    w.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = undefined;
  }
  if ((r.NanoCpus ?? 0) > 0 && !f.cpuCfs) throw invalid('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  if ((r.CpuShares ?? 0) > 0 && !f.cpuShares) {
    w.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if (((r.CpuPeriod ?? 0) !== 0 || (r.CpuQuota ?? 0) !== 0) && !f.cpuCfs) {
    w.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0; r.CpuQuota = 0;
  }
  if ((r.CpusetCpus || r.CpusetMems) && !f.cpuset) {
    w.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = ''; r.CpusetMems = '';
  }
  if ((r.BlkioWeight ?? 0) > 0 && !f.blkioWeight) {
    w.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  return w;
}
