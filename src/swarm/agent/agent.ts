// The node agent: runs the tasks the dispatcher assigns to this node as containers and reports
// their state back, the way swarmkit's agent drives moby's container executor (swarmkit
// agent/exec/controller.go Do, moby daemon/cluster/executor/container/controller.go).
//
// One step at a time, each reported, never backward:
//   assigned → accepted → preparing → (image present, else pulled; container created) ready
//     → starting → (container started; with a healthcheck, once it is healthy) running
//     → complete (exit 0) | failed ("task: non-zero exit (N)")
// A preparing step that fails (no such image, create refused) rejects the task; desired READY
// stops at ready; desired SHUTDOWN stops the container (its grace period) and reports shutdown,
// keeping the container (docker keeps a task's container until the task is deleted); a task gone
// from the assignment set loses its container.
//
// Worked example, a service `web` with one replica whose task t1 is assigned to this node:
//   agent.setAssignments([{ task: t1 /* DesiredState running, Status assigned */, serviceName: 'web' }])
//   reports: t1 accepted "accepted", preparing "preparing", ready "prepared", starting "starting",
//            running "started" {ContainerID, PID}
//   the container exits 1 → t1 failed "failed", Err "task: non-zero exit (1)", ExitCode 1
//   the orchestrator sets DesiredState shutdown, then deletes the task:
//   setAssignments([]) → the container web.1.t1 is removed.
//
// Concurrency: each task has its own serialized driver (a step runs to its end before the next
// one for that task starts; a burst of kicks coalesces into one more pass); tasks proceed in
// parallel; setAssignments only records and kicks, it never waits. Engine events (die, health
// status) kick the task owning the container; every pass re-reads the container (inspect), so a
// missed or duplicated event costs nothing. Reports go through a per-task queue: one report in
// flight per task, a newer one replaces an older one still queued, failures retried with a capped
// backoff.
//
// Secrets and configs: the session sends the data of those this node's live tasks use
// (setMaterial, before the assignments of the same message). Preparing a task that uses some
// writes them into the task's own tmpfs (AgentContainers.writeTaskFiles) and bind-mounts each
// file read-only at its target; the tmpfs goes when the task's container ends (or is never
// created), when it is removed, and at start() for tasks whose container is gone.
import type { ContainerCreateBody, MountSpec } from '../../api/types/container.ts';
import type { ClusterNetwork, SecretKind, Task, TaskState, TaskStatus } from '../../api/types/swarm.ts';
import { taskFiles, type TaskFile } from '../secrets/refs.ts';
import { compareStates, isTerminal } from '../orchestrator/task-state.ts';
import { attachmentsOf, containerCreateBody, containerSpecOf, portStatusOf, stopTimeoutSeconds, taskContainerName, TASK_ID_LABEL } from './spec.ts';

export interface Assignment { task: Task; serviceName: string }

export interface AgentContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The engine's State.Status: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  exitCode: number;
  pid: number;
  error: string;
  health?: 'starting' | 'healthy' | 'unhealthy' | 'none';
  /** inspect's NetworkSettings.Ports (the host ports really bound), for PortStatus. */
  ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null>;
}

/** What the agent needs of the engine; src/daemon/swarm-containers.ts implements it. */
export interface AgentContainers {
  /** The containers carrying the label com.docker.swarm.task.id. */
  list(): Promise<AgentContainer[]>;
  inspect(id: string): Promise<AgentContainer | undefined>;
  imageExists(ref: string): Promise<boolean>;
  /** Best effort; on failure the create that follows says "No such image" in docker's words. */
  pull(ref: string, signal?: AbortSignal): Promise<void>;
  /** `networks`: the cluster networks the body's endpoints name, for the node to set up first. */
  create(name: string, body: ContainerCreateBody, networks?: ClusterNetwork[]): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string, timeoutSeconds?: number): Promise<void>;
  /** Force. */
  remove(id: string): Promise<void>;
  /** Engine events of containers: start, die, destroy, "health_status: healthy", ... */
  onEvent(listener: (containerId: string, action: string) => void): () => void;
  /**
   * Writes a task's secret and config files into a tmpfs of its own (replacing what was there)
   * with their owner and mode; returns the host path of each file, in order. Absent: tasks
   * using secrets or configs are rejected.
   */
  writeTaskFiles?(taskId: string, files: TaskFile[]): Promise<string[]>;
  /** Unmounts and removes a task's tmpfs; nothing there is not an error. */
  removeTaskFiles?(taskId: string): Promise<void>;
  /** Removes the tmpfs of every task not in `keep` (daemon start). */
  pruneTaskFiles?(keep: Set<string>): Promise<void>;
}

/** The secrets' and configs' data this node was sent (plaintext, base64 on the wire). */
export interface Material { secrets?: { ID: string; Data: string }[]; configs?: { ID: string; Data: string }[] }

/** Forward-only on the manager; may throw (the agent retries later). */
export interface AgentReporter { report(taskId: string, status: TaskStatus): Promise<void> }

export interface AgentOptions {
  nodeId: string;
  containers: AgentContainers;
  reporter: AgentReporter;
  log?: (level: string, msg: string) => void;
  /** Report retry backoff: first delay and cap, in ms (defaults 200 and 10 000). */
  retry?: { initialMs?: number; maxMs?: number };
  /** How long a task on cluster networks stays up after its desired shutdown, so every node's
   *  load balancers drop it first (moby's defaultGossipConvergeDelay, 2 s). */
  convergeDelayMs?: number;
}

/** moby's ErrContainerUnhealthy, the cause of the exit of a container stopped for being unhealthy. */
const UNHEALTHY = 'unhealthy container';

function errText(e: unknown): string { return e instanceof Error ? e.message : String(e); }

/** One task on this node: what the manager wants, what we last established, its container. */
class TaskRun {
  task: Task;
  serviceName: string;
  /** The state this agent has established (and reported, or queued to report). */
  state: TaskState;
  containerId?: string;
  /** The container was stopped because its healthcheck failed (the exit's cause). */
  unhealthy = false;
  /** Gone from the assignment set: the container is to be removed and the run forgotten. */
  removed = false;
  pull?: AbortController;
  dirty = false;
  busy?: Promise<void>;
  constructor(a: Assignment) {
    this.task = a.task;
    this.serviceName = a.serviceName;
    this.state = a.task.Status?.State ?? 'assigned';
  }
  get name(): string { return taskContainerName(this.task, this.serviceName); }
}

/** Per-task report queue: one in flight, the newest queued one wins, failures retried. */
class ReportQueue {
  readonly #pending = new Map<string, TaskStatus>();
  readonly #sending = new Set<string>();
  readonly #idle = new Set<() => void>();
  #closed = false;
  readonly #timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  constructor(private readonly reporter: AgentReporter, private readonly initialMs: number, private readonly maxMs: number,
    private readonly log: (level: string, msg: string) => void) {}

  push(taskId: string, status: TaskStatus): void {
    if (this.#closed) return;
    this.#pending.set(taskId, status);
    if (!this.#sending.has(taskId)) void this.#send(taskId);
  }

  /** The task is gone (deleted on the manager): its queued reports are moot. */
  drop(taskId: string): void { this.#pending.delete(taskId); }

  /** Resolves when nothing is queued or in flight (tests, close). */
  idle(): Promise<void> {
    if (!this.#sending.size) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
    for (const t of this.#timers) { clearTimeout(t.timer); t.wake(); }
  }

  async #send(taskId: string): Promise<void> {
    this.#sending.add(taskId);
    let delay = this.initialMs;
    try {
      while (!this.#closed) {
        const status = this.#pending.get(taskId);
        if (!status) break;
        this.#pending.delete(taskId);
        try {
          await this.reporter.report(taskId, status);
          delay = this.initialMs;
        } catch (e) {
          this.log('warn', `reporting task ${taskId} ${status.State}: ${errText(e)} (retrying in ${delay} ms)`);
          // A newer status queued meanwhile supersedes this one; else this one goes again.
          if (!this.#pending.has(taskId)) this.#pending.set(taskId, status);
          await this.#sleep(delay);
          delay = Math.min(delay * 2, this.maxMs);
        }
      }
    } finally {
      this.#sending.delete(taskId);
      if (!this.#sending.size) { for (const r of this.#idle) r(); this.#idle.clear(); }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = { timer: setTimeout(() => { this.#timers.delete(t); resolve(); }, ms), wake: resolve };
      this.#timers.add(t);
    });
  }
}

export class Agent {
  readonly #nodeId: string;
  readonly #containers: AgentContainers;
  readonly #log: (level: string, msg: string) => void;
  readonly #convergeMs: number;
  readonly #reports: ReportQueue;
  readonly #runs = new Map<string, TaskRun>();
  /** Task containers found at start(), by task ID, until the first assignment set claims them. */
  #adopted?: Map<string, string>;
  /** The task IDs of the last assignment set (undefined until the first one). */
  #assigned?: Set<string>;
  #unsubscribe?: () => void;
  #closed = false;
  /** Secret and config data by ID, as last sent. */
  #material: Record<SecretKind, Map<string, Buffer>> = { secret: new Map(), config: new Map() };

  constructor(o: AgentOptions) {
    this.#nodeId = o.nodeId;
    this.#containers = o.containers;
    this.#log = o.log ?? (() => {});
    this.#convergeMs = o.convergeDelayMs ?? 2000;
    this.#reports = new ReportQueue(o.reporter, o.retry?.initialMs ?? 200, o.retry?.maxMs ?? 10_000, this.#log);
  }

  /** Subscribes to engine events and finds the task containers left from before a restart. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#containers.onEvent((id, action) => this.#onEvent(id, action));
    const found = new Map<string, string>();
    for (const c of await this.#containers.list()) {
      const taskId = c.labels[TASK_ID_LABEL];
      const node = c.labels['com.docker.swarm.node.id'];
      // Another node's container (a data root reused under a new node ID) is not ours to run,
      // but it is a leftover all the same: removed with the others no longer assigned.
      if (taskId) found.set(taskId, c.id);
      if (node && node !== this.#nodeId) this.#log('info', `task container ${c.name} belongs to node ${node}, not this one`);
    }
    // Task tmpfs whose container is gone (removed while berthd was down): nothing will use them.
    await this.#containers.pruneTaskFiles?.(new Set(found.keys()))
      .catch((e: unknown) => this.#log('warn', `removing leftover task secrets: ${errText(e)}`));
    // An assignment set that came before start() finished already said which tasks are ours.
    this.#adopted = new Map(found);
    if (this.#assigned) this.#removeLeftovers(this.#assigned);
    // Runs created before start() finished (an early assignment set) take their containers now.
    for (const [taskId, run] of this.#runs) {
      const id = found.get(taskId);
      if (id && !run.containerId) run.containerId = id;
      this.#kick(run);
    }
  }

  /** The secrets' and configs' data for this node's tasks (replaces what was sent before). */
  setMaterial(m: Material): void {
    const map = (l: { ID: string; Data: string }[] | undefined) => new Map((l ?? []).map((x) => [x.ID, Buffer.from(x.Data, 'base64')]));
    this.#material = { secret: map(m.secrets), config: map(m.configs) };
  }

  /** The full set of tasks assigned to this node; never waits. */
  setAssignments(assignments: Assignment[]): void {
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const a of assignments) {
      seen.add(a.task.ID);
      let run = this.#runs.get(a.task.ID);
      if (!run) {
        run = new TaskRun(a);
        const adopted = this.#adopted?.get(a.task.ID);
        if (adopted) { run.containerId = adopted; this.#adopted!.delete(a.task.ID); }
        this.#runs.set(a.task.ID, run);
      } else {
        run.task = a.task;
        run.serviceName = a.serviceName;
        // The manager may know a later state than we do (after a restart of this agent).
        if (a.task.Status?.State && compareStates(a.task.Status.State, run.state) > 0) run.state = a.task.Status.State;
      }
      if (isTerminal(a.task.DesiredState)) run.pull?.abort();
      this.#kick(run);
    }
    for (const run of this.#runs.values()) {
      if (seen.has(run.task.ID) || run.removed) continue;
      run.removed = true;
      run.pull?.abort();
      this.#reports.drop(run.task.ID);
      this.#kick(run);
    }
    this.#assigned = seen;
    this.#removeLeftovers(seen);
  }

  /** Containers found at start() that no assignment claimed: removed once, at the first set. */
  #removeLeftovers(assigned: Set<string>): void {
    if (this.#adopted?.size) {
      const leftovers = [...this.#adopted.entries()].filter(([taskId]) => !assigned.has(taskId));
      this.#adopted = new Map();
      for (const [taskId, id] of leftovers) {
        void this.#containers.remove(id).then(
          () => { this.#log('info', `removed the container ${id} of task ${taskId}, no longer assigned to this node`); return this.#removeFiles(taskId); },
          (e: unknown) => this.#log('warn', `removing the container ${id} of task ${taskId}: ${errText(e)}`));
      }
    }
  }

  /** Stops driving tasks and reporting; the containers keep running (as across a berthd restart). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#reports.close();
    for (const run of this.#runs.values()) run.pull?.abort();
    await Promise.allSettled([...this.#runs.values()].map((r) => r.busy));
  }

  /** Resolves when no task is being driven and no report is queued (for tests and shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      const busy = [...this.#runs.values()].map((r) => r.busy).filter((b): b is Promise<void> => !!b);
      if (!busy.length) { await this.#reports.idle(); if (![...this.#runs.values()].some((r) => r.busy)) return; continue; }
      await Promise.allSettled(busy);
    }
  }

  #onEvent(containerId: string, action: string): void {
    for (const run of this.#runs.values()) {
      if (run.containerId !== containerId) continue;
      if (action === 'health_status: unhealthy' && (run.state === 'starting' || run.state === 'running')) run.unhealthy = true;
      this.#kick(run);
    }
  }

  /** Schedules one more pass over the task; passes of one task never overlap. */
  #kick(run: TaskRun): void {
    if (this.#closed) return;
    run.dirty = true;
    // Until start() has found the containers left from before, a task could not tell whether
    // it has one: it waits (start() kicks it).
    if (run.busy || !this.#adopted) return;
    run.busy = (async () => {
      try {
        while (run.dirty && !this.#closed) {
          run.dirty = false;
          try { await this.#drive(run); } catch (e) { this.#log('error', `task ${run.task.ID}: ${errText(e)}`); }
        }
      } finally {
        run.busy = undefined;
      }
    })();
  }

  /** Takes the task as far as it can go now, reporting each step; returns when it must wait. */
  async #drive(run: TaskRun): Promise<void> {
    if (run.removed) {
      if (run.containerId) {
        await this.#containers.remove(run.containerId).catch((e: unknown) => { if (!/no such container/i.test(errText(e))) throw e; });
      }
      await this.#removeFiles(run.task.ID);
      this.#runs.delete(run.task.ID);
      this.#reports.drop(run.task.ID);
      return;
    }
    for (let guard = 0; guard < 16 && !this.#closed && !run.removed; guard++) {
      const desired = run.task.DesiredState;
      if (compareStates(desired, 'shutdown') >= 0) { await this.#shutdown(run); return; }
      if (isTerminal(run.state)) return;
      // Not further than the orchestrator wants (desired READY: prepared, not started).
      if (compareStates(desired, run.state) <= 0 && run.state !== 'running' && run.state !== 'starting') return;
      switch (run.state) {
        case 'new': case 'allocated': case 'pending': case 'assigned':
          await this.#report(run, 'accepted', 'accepted');
          break;
        case 'accepted':
          await this.#report(run, 'preparing', 'preparing');
          break;
        case 'preparing': {
          const err = await this.#prepare(run);
          if (run.removed || compareStates(run.task.DesiredState, 'shutdown') >= 0) continue;
          if (err) { await this.#report(run, 'rejected', 'preparing', err); return; }
          await this.#report(run, 'ready', 'prepared');
          break;
        }
        case 'ready':
          await this.#report(run, 'starting', 'starting');
          break;
        case 'starting':
          if (!(await this.#start(run))) return;
          break;
        case 'running':
          await this.#watch(run);
          return;
        default:
          return;
      }
    }
  }

  /** Pulls the image when missing and creates the container; the error that rejects the task, if any. */
  async #prepare(run: TaskRun): Promise<string | undefined> {
    if (run.containerId && await this.#containers.inspect(run.containerId)) return undefined;
    const body = containerCreateBody(run.task, run.serviceName);
    if (!containerSpecOf(run.task).Image) return 'ContainerSpec: image reference must be provided';
    const image = body.Image!;
    if (!(await this.#containers.imageExists(image))) {
      run.pull = new AbortController();
      try {
        await this.#containers.pull(image, run.pull.signal);
      } catch (e) {
        // As moby: the pull's failure is only logged; create then says what is missing.
        this.#log('warn', `task ${run.task.ID}: pulling ${image}: ${errText(e)}`);
      } finally {
        run.pull = undefined;
      }
      if (run.removed || compareStates(run.task.DesiredState, 'shutdown') >= 0) return undefined;
    }
    const mountErr = await this.#mountFiles(run, body);
    if (mountErr) return mountErr;
    try {
      run.containerId = await this.#containers.create(run.name, body, attachmentsOf(run.task).map((a) => a.Network));
      return undefined;
    } catch (e) {
      // Already created (a pass interrupted after create): take that container.
      const existing = (await this.#containers.list()).find((c) => c.labels[TASK_ID_LABEL] === run.task.ID);
      if (existing) { run.containerId = existing.id; return undefined; }
      await this.#removeFiles(run.task.ID);
      return errText(e);
    }
  }

  /**
   * Writes the task's secret and config files and adds their read-only bind mounts to the body;
   * the error that rejects the task, if any (data this node was not sent, no way to write it).
   */
  async #mountFiles(run: TaskRun, body: ContainerCreateBody): Promise<string | undefined> {
    const { files, missing } = taskFiles(run.task, this.#material);
    if (missing.length) return `${missing.join(', ')}: not sent to this node`;
    if (!files.length) return undefined;
    if (!this.#containers.writeTaskFiles) return 'secrets and configs are not supported on this node';
    let sources: string[];
    try {
      sources = await this.#containers.writeTaskFiles(run.task.ID, files);
    } catch (e) {
      return `writing the task's secrets and configs: ${errText(e)}`;
    }
    const hc = (body.HostConfig ??= {});
    const mounts: MountSpec[] = files.map((f, i) => ({ Type: 'bind', Source: sources[i], Target: f.target, ReadOnly: true }));
    // A mount of the spec at the same target gives way, as the file references win in moby.
    const targets = new Set(mounts.map((m) => m.Target));
    hc.Mounts = [...(hc.Mounts ?? []).filter((m) => !targets.has(m.Target)), ...mounts];
    return undefined;
  }

  async #removeFiles(taskId: string): Promise<void> {
    await this.#containers.removeTaskFiles?.(taskId).catch((e: unknown) => this.#log('warn', `task ${taskId}: removing its secrets: ${errText(e)}`));
  }

  /** Starts the container and waits (by events) for it to be healthy; true once running is reported. */
  async #start(run: TaskRun): Promise<boolean> {
    let c = run.containerId ? await this.#containers.inspect(run.containerId) : undefined;
    if (!c) {
      await this.#report(run, 'failed', 'failed', `No such container: ${run.name}`);
      return false;
    }
    if (c.state === 'created') {
      try {
        await this.#containers.start(c.id);
      } catch (e) {
        await this.#report(run, 'failed', 'failed', `starting container failed: ${errText(e)}`);
        return false;
      }
      c = await this.#containers.inspect(c.id);
      if (!c) return false;
    }
    if (c.state === 'exited' || c.state === 'dead') { await this.#ended(run, c); return false; }
    if (c.health === 'unhealthy' || run.unhealthy) { await this.#stopUnhealthy(run, c); return false; }
    // With a healthcheck, the task stays starting until the container is healthy (a health
    // event kicks the next pass).
    if (c.health === 'starting') return false;
    await this.#report(run, 'running', 'started');
    return true;
  }

  /** Running: nothing to do until the container ends (its die event kicks this pass again). */
  async #watch(run: TaskRun): Promise<void> {
    const c = run.containerId ? await this.#containers.inspect(run.containerId) : undefined;
    if (!c) { await this.#report(run, 'failed', 'failed', `No such container: ${run.name}`); return; }
    if (c.state === 'exited' || c.state === 'dead') { await this.#ended(run, c); return; }
    if (c.health === 'unhealthy' || run.unhealthy) await this.#stopUnhealthy(run, c);
  }

  /**
   * moby's controller (Start and Wait alike): an unhealthy container is shut down, and its exit,
   * with "unhealthy container" as the cause, fails the task.
   */
  async #stopUnhealthy(run: TaskRun, c: AgentContainer): Promise<void> {
    run.unhealthy = true;
    await this.#containers.stop(c.id, stopTimeoutSeconds(containerSpecOf(run.task).StopGracePeriod))
      .catch((e: unknown) => this.#log('warn', `stopping the unhealthy container ${c.name}: ${errText(e)}`));
    const after = await this.#containers.inspect(c.id);
    if (after && (after.state === 'exited' || after.state === 'dead')) await this.#ended(run, after);
  }

  /** The container has exited: complete on 0, else failed with docker's exit error. */
  async #ended(run: TaskRun, c: AgentContainer): Promise<void> {
    // A task's container never runs again (a new task gets a new one): its secrets go now, as
    // dockerd unmounts a container's secrets when it stops.
    await this.#removeFiles(run.task.ID);
    if (c.exitCode === 0) { await this.#report(run, 'complete', 'finished'); return; }
    const err = run.unhealthy ? `task: non-zero exit (${c.exitCode}): ${UNHEALTHY}` : `task: non-zero exit (${c.exitCode})`;
    await this.#report(run, 'failed', 'failed', err);
  }

  /** Desired shutdown: stop the container (its grace period), keep it, report shutdown. */
  async #shutdown(run: TaskRun): Promise<void> {
    // A task already ended keeps its state (complete stays complete), but a container still up
    // (the manager gave up on a task this node went on running) is stopped all the same.
    if (run.containerId) {
      const c = await this.#containers.inspect(run.containerId);
      if (c && c.state !== 'exited' && c.state !== 'dead' && c.state !== 'created') {
        // Out of the VIPs and the routing mesh first (its views no longer list it as a backend),
        // then stopped: no connection is sent to a task that is going away (moby's Shutdown).
        if (attachmentsOf(run.task).length && c.state === 'running') await new Promise((r) => setTimeout(r, this.#convergeMs));
        await this.#containers.stop(c.id, stopTimeoutSeconds(containerSpecOf(run.task).StopGracePeriod));
      }
    }
    await this.#removeFiles(run.task.ID);
    if (!isTerminal(run.state)) await this.#report(run, 'shutdown', 'shutdown');
  }

  /** Records the new state and queues its report, with the container's status when there is one. */
  async #report(run: TaskRun, state: TaskState, message: string, err?: string): Promise<void> {
    if (compareStates(state, run.state) < 0) return;
    run.state = state;
    const status: TaskStatus = { Timestamp: new Date().toISOString(), State: state, Message: message };
    if (err) status.Err = err;
    if (run.containerId) {
      const c = await this.#containers.inspect(run.containerId).catch(() => undefined);
      if (c) {
        status.ContainerStatus = { ContainerID: c.id, PID: c.pid, ExitCode: c.exitCode };
        const ports = portStatusOf(run.task, c.ports);
        if (ports) status.PortStatus = ports;
      }
    }
    this.#log('debug', `task ${run.task.ID}: ${state} (${message}${err ? `: ${err}` : ''})`);
    this.#reports.push(run.task.ID, status);
  }
}
