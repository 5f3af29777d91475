// `service logs` and `task logs` across nodes. The manager that serves the request reads the tasks
// it runs itself from its engine, and asks each other node for the rest: the node is sent a log
// request on its dispatcher session (it may be connected to any manager: the request goes through
// etcd), and uploads its tasks' lines, framed, to the asking manager (swarm/dispatcher). The lines
// of every task are merged as they come, whole frames at a time.
//
// Each line carries what `docker service logs` reads with details=true: the task's context
// (com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=…) before it.
import { Readable } from 'node:stream';
import type { Engine } from '../engine/engine.ts';
import { formatTimeNs } from '../engine/logs.ts';
import { Demuxer, frame } from '../common/stdcopy.ts';
import type { LogsOptions } from '../api/routers/swarm/backend.ts';
import type { Task } from '../api/types/swarm.ts';
import type { LogRequest, LogTask, WireLogOptions } from '../swarm/dispatcher/protocol.ts';

export interface LogEntry { stream: 1 | 2; data: Buffer }

export function toWire(o: LogsOptions): WireLogOptions {
  return {
    stdout: o.stdout, stderr: o.stderr, tail: o.tail ?? -1, follow: o.follow, timestamps: o.timestamps, details: o.details,
    ...(o.sinceNs !== undefined ? { since: String(o.sinceNs) } : {}), ...(o.untilNs !== undefined ? { until: String(o.untilNs) } : {}),
  };
}

export function logTaskOf(t: Task): LogTask | undefined {
  const id = t.Status.ContainerStatus?.ContainerID;
  return id && t.NodeID ? { ID: t.ID, ServiceID: t.ServiceID, NodeID: t.NodeID, ContainerID: id } : undefined;
}

/** The lines of tasks running on this node, merged as they come (follow keeps them open). */
export function localEntries(engine: Engine, tasks: readonly LogTask[], o: WireLogOptions, signal: AbortSignal): AsyncIterable<LogEntry>[] {
  return tasks.flatMap((t) => {
    let read: ReturnType<Engine['containers']['logs']>;
    try {
      read = engine.containers.logs(t.ContainerID, {
        stdout: o.stdout, stderr: o.stderr, tail: o.tail, follow: o.follow, signal,
        ...(o.since ? { sinceNs: BigInt(o.since) } : {}), ...(o.until ? { untilNs: BigInt(o.until) } : {}),
      });
    } catch {
      return []; // its container is gone (removed with its task's history)
    }
    const ctx = `com.docker.swarm.node.id=${t.NodeID},com.docker.swarm.service.id=${t.ServiceID},com.docker.swarm.task.id=${t.ID} `;
    return [(async function* () {
      for await (const e of read.entries) {
        const prefix = (o.timestamps ? formatTimeNs(e.timeNs) + ' ' : '') + (o.details ? ctx : '');
        yield { stream: e.stream, data: Buffer.concat([Buffer.from(prefix), e.data]) };
      }
    })()];
  });
}

/** A node's upload (frames) read back as entries. */
export async function* framesOf(r: Readable): AsyncGenerator<LogEntry> {
  const out: LogEntry[] = [];
  const d = new Demuxer((stream, data) => out.push({ stream: stream === 2 ? 2 : 1, data }));
  for await (const chunk of r) {
    d.push(chunk as Buffer);
    while (out.length) yield out.shift()!;
  }
}

/** Entries of several sources, each one whole, in the order they arrive; ends when all have. */
export async function* merge(sources: AsyncIterable<LogEntry>[]): AsyncGenerator<LogEntry> {
  const queue: LogEntry[] = [];
  let wake: (() => void) | undefined;
  let open = sources.length;
  let failure: unknown;
  for (const s of sources) {
    void (async () => {
      try { for await (const e of s) { queue.push(e); wake?.(); } } catch (e) { failure ??= e; } finally { open--; wake?.(); }
    })();
  }
  while (open > 0 || queue.length) {
    if (queue.length) { yield queue.shift()!; continue; }
    await new Promise<void>((r) => { wake = r; });
    wake = undefined;
  }
  if (failure && !(failure instanceof Error && failure.name === 'AbortError')) throw failure;
}

/** The body of a logs response: frames, or bare lines for a TTY service. */
export function logBody(entries: AsyncIterable<LogEntry>, tty: boolean): Readable {
  return Readable.from((async function* () {
    for await (const e of entries) yield tty ? e.data : frame(e.stream, e.data);
  })());
}

/** What a node uploads for a log request: its tasks' lines as frames. */
export function uploadBody(engine: Engine, req: LogRequest, signal: AbortSignal): Readable {
  return Readable.from((async function* () {
    for await (const e of merge(localEntries(engine, req.tasks, req.options, signal))) yield frame(e.stream, e.data);
  })());
}
