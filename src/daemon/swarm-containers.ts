// The swarm agent's AgentContainers (src/swarm/agent/agent.ts) over this daemon's engine: the
// container service, the image store, the puller and the event bus, as moby's executor adapter
// (daemon/cluster/executor/container/adapter.go) is over dockerd's backend. Only this file knows
// both sides; the agent never sees the engine.
//
// Construction (in main.ts, once the engine is up):
//   const swarmContainers = new SwarmContainers({
//     containers: engine.containers, images: engine.images, events: engine.events,
//     pull: (ref, signal) => engine.pull(ref, undefined, undefined, signal),
//   });
//   const agent = new Agent({ nodeId, containers: swarmContainers, reporter, log });
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isEngineError } from '../common/errors.ts';
import { isMountPoint, mountTmpfs, unmount } from '../sys/index.ts';
import type { TaskFile } from '../swarm/secrets/refs.ts';
import type { ContainerCreateBody, HostConfig } from '../api/types/container.ts';
import type { ClusterNetwork } from '../api/types/swarm.ts';
import type { EndpointConfig } from '../api/types/network.ts';
import type { ContainerRecord, CreateOptions } from '../engine/container/service.ts';
import type { EngineEvent } from '../engine/events.ts';
import { publishedPorts } from '../engine/container-list.ts';
import type { AgentContainer, AgentContainers } from '../swarm/agent/agent.ts';
import { TASK_ID_LABEL } from '../swarm/agent/spec.ts';

/** What the adapter needs of the engine (narrow roles, wired from engine.* in main.ts). */
export interface SwarmContainersDeps {
  containers: {
    list(): ContainerRecord[];
    inspect(ref: string): ContainerRecord;
    create(o: CreateOptions): Promise<{ Id: string; Warnings: string[] }>;
    start(ref: string): Promise<void>;
    stop(ref: string, o?: { signal?: string; timeout?: number }): Promise<void>;
    remove(ref: string, o?: { force?: boolean; volumes?: boolean }): Promise<void>;
  };
  images: { tryResolve(ref: string): unknown };
  pull(ref: string, signal?: AbortSignal): Promise<void>;
  events: { subscribe(fn: (e: EngineEvent) => void): () => void };
  /** Sets up the cluster networks a task's endpoints name (and docker_gwbridge) before its create. */
  ensureNetworks?(networks: ClusterNetwork[]): Promise<void>;
  /**
   * Where tasks' secret and config tmpfs are mounted, one per task (<exec-root>/swarm/secrets):
   * under the exec root, which is itself on tmpfs-backed /run, never on the data root's disk.
   */
  secretsRoot?: string;
  /** --userns-remap: a file's uid and gid are the container's, written as the host IDs they map to. */
  idMap?: { toHost(uid: number, gid: number): { uid: number; gid: number } };
}

/** The record as the agent sees it. */
export function agentContainerOf(r: ContainerRecord): AgentContainer {
  const hc = r.Config.Healthcheck;
  const hasCheck = !!hc?.Test?.length && hc.Test[0] !== 'NONE';
  // A container with a healthcheck is "starting" from its start until the first probe result
  // (the monitor writes State.Health only then); without one, "none".
  let health: AgentContainer['health'] = 'none';
  if (hasCheck) health = r.State.Health?.Status ?? 'starting';
  return {
    id: r.ID, name: r.Name.replace(/^\//, ''), labels: { ...(r.Config.Labels ?? {}) },
    state: r.State.Status, exitCode: r.State.ExitCode, pid: r.State.Pid, error: r.State.Error,
    health, ports: publishedPorts(r),
  };
}

export class SwarmContainers implements AgentContainers {
  readonly #d: SwarmContainersDeps;
  constructor(d: SwarmContainersDeps) { this.#d = d; }

  async list(): Promise<AgentContainer[]> {
    return this.#d.containers.list().filter((r) => r.Config.Labels?.[TASK_ID_LABEL] !== undefined).map(agentContainerOf);
  }

  async inspect(id: string): Promise<AgentContainer | undefined> {
    try {
      return agentContainerOf(this.#d.containers.inspect(id));
    } catch (e) {
      if (isEngineError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  async imageExists(ref: string): Promise<boolean> { return this.#d.images.tryResolve(ref) !== undefined; }

  pull(ref: string, signal?: AbortSignal): Promise<void> { return this.#d.pull(ref, signal); }

  async create(name: string, body: ContainerCreateBody, networks?: ClusterNetwork[]): Promise<string> {
    if (networks?.length) await this.#d.ensureNetworks?.(networks);
    // The same split as the /containers/create route: the config, HostConfig and the networks.
    const { HostConfig: hostConfig, NetworkingConfig: nc, ...config } = body;
    const endpoints = (nc?.EndpointsConfig ?? undefined) as Record<string, EndpointConfig> | undefined;
    const r = await this.#d.containers.create({ name, config, hostConfig: (hostConfig ?? {}) as HostConfig, endpoints });
    return r.Id;
  }

  start(id: string): Promise<void> { return this.#d.containers.start(id); }

  async stop(id: string, timeoutSeconds?: number): Promise<void> {
    try {
      await this.#d.containers.stop(id, timeoutSeconds === undefined ? {} : { timeout: timeoutSeconds });
    } catch (e) {
      // Already stopped (304) or gone: the stop's purpose is met (moby's shutdown ignores both).
      if (isEngineError(e, 'NotModified') || isEngineError(e, 'NotFound')) return;
      throw e;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.#d.containers.remove(id, { force: true });
    } catch (e) {
      if (isEngineError(e, 'NotFound')) return;
      throw e;
    }
  }

  #taskDir(taskId: string): string {
    if (!this.#d.secretsRoot) throw new Error('no directory for task secrets is configured');
    // Task IDs are swarmkit IDs ([0-9a-z]); anything else must not become a path.
    if (!/^[0-9a-z]+$/.test(taskId)) throw new Error(`invalid task ID ${JSON.stringify(taskId)}`);
    return join(this.#d.secretsRoot, taskId);
  }

  async writeTaskFiles(taskId: string, files: TaskFile[]): Promise<string[]> {
    const dir = this.#taskDir(taskId);
    await this.removeTaskFiles(taskId);
    await mkdir(this.#d.secretsRoot!, { recursive: true, mode: 0o700 });
    await mkdir(dir, { mode: 0o700 });
    // Its own tmpfs: the data stays in memory, and goes at once with the unmount.
    const size = files.reduce((n, f) => n + f.data.length + 4096, 64 * 1024);
    await mountTmpfs(dir, `mode=0700,size=${size},nodev,nosuid,noexec`);
    const out: string[] = [];
    // Files are named by position, never by target: a target is the container's path, not ours.
    for (const [i, f] of files.entries()) {
      const path = join(dir, String(i));
      await writeFile(path, f.data, { mode: 0o600, flag: 'wx' });
      const owner = this.#d.idMap ? this.#d.idMap.toHost(f.uid, f.gid) : f;
      await chown(path, owner.uid, owner.gid);
      await chmod(path, f.mode);
      out.push(path);
    }
    return out;
  }

  async removeTaskFiles(taskId: string): Promise<void> {
    const dir = this.#taskDir(taskId);
    if (await isMountPoint(dir)) await unmount(dir);
    await rm(dir, { recursive: true, force: true });
  }

  async pruneTaskFiles(keep: Set<string>): Promise<void> {
    if (!this.#d.secretsRoot) return;
    let names: string[];
    try { names = await readdir(this.#d.secretsRoot); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const n of names) if (!keep.has(n)) await this.removeTaskFiles(n);
  }

  onEvent(listener: (containerId: string, action: string) => void): () => void {
    return this.#d.events.subscribe((e) => { if (e.Type === 'container') listener(e.Actor.ID, e.Action); });
  }
}
