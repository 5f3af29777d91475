// `up` without -d (compose's Up with a log consumer, monitor.go, attach.go): after the
// containers are created, compose
//   - prints `Attaching to db-1, web-1` and attaches to each container's output (before it starts,
//     so nothing is lost), lines going to the log consumer with `web-1  | ` prefixes;
//   - follows the project's container events: a container that exits prints
//     `web-1 exited with code 0`; one that (re)starts later has its logs followed; when every
//     container has exited, `up` returns;
//   - on Ctrl-C prints `Gracefully Stopping... press Ctrl+C again to force` and stops the
//     project; a second Ctrl-C kills it;
//   - with --abort-on-container-exit (or --exit-code-from, or --abort-on-container-failure for a
//     non-zero exit) stops everything when the first container exits, after
//     `Aborting on container exit...`, and returns that container's exit code.
import type { Readable } from 'node:stream';
import { Demuxer } from '../../common/stdcopy.ts';
import { jsonMessages } from '../../client/streams.ts';
import { LABELS, type Project } from '../model.ts';
import { isNotFound, isConflict, type ContainerSummary, type EngineEventMessage } from './api.ts';
import { defaultContainerName, getContainers, nameWithoutProject, projectFilter, sortedByName } from './containers.ts';
import { stopServices } from './convergence.ts';
import { LineSplitter, type LogPrinter } from '../log-printer.ts';
import * as P from './progress.ts';
import type { Session } from './session.ts';
import { startProject } from './start.ts';

export type Cascade = 'ignore' | 'stop' | 'fail';

export interface AttachedOptions {
  consumer: LogPrinter;
  /** The services whose output is shown. */
  attachTo: string[];
  /** Services named on the command line (what the monitor follows when set). */
  services: string[];
  cascade: Cascade;
  exitCodeFrom?: string;
  timeout?: number;
  waitTimeout?: number;
  /** A progress writer for the stop on Ctrl-C / abort (compose's RunWithLog). */
  stopWriter: () => P.ProgressWriter;
  /** Where `Aborting on container exit...` is coloured (compose's ErrorColor). */
  errorColor: (s: string) => string;
}

export interface ContainerEvent {
  type: 'created' | 'recreated' | 'started' | 'restarted' | 'exited';
  id: string;
  service: string;
  /** `web-1`, or the container_name. */
  source: string;
  exitCode: number;
  restarting: boolean;
  labels: Record<string, string>;
}

/** The name compose shows for an event's container: without the project prefix when it is the default one. */
function eventSource(project: string, attrs: Record<string, string>): string {
  const name = attrs.name ?? '';
  const def = defaultContainerName(project, attrs[LABELS.service] ?? '', attrs[LABELS.containerNumber] ?? '');
  return name === def ? name.slice(project.length + 1) : name;
}

/**
 * compose's monitor (attached up, logs -f): the project's container events (one-offs aside)
 * handed to `on` until none of the services' containers runs. It subscribes before it lists (and
 * `subscribed` is called before anything starts), so a container that exits at once is not
 * missed. A container that dies but is restarting (or running again) is `exited` with
 * `restarting`, and stays counted.
 */
export async function monitor(s: Session, project: string, services: string[], on: (e: ContainerEvent) => void | Promise<void>,
  signal: AbortSignal, subscribed: () => void = () => {}): Promise<void> {
  const wanted = (svc: string | undefined) => services.length === 0 || services.includes(svc ?? '');
  let stream: Readable;
  try {
    stream = await s.api.events({ type: ['container'], label: [projectFilter(project)] }, signal);
  } finally {
    subscribed();
  }
  const initial = await s.api.listContainers({ label: [projectFilter(project), `${LABELS.oneoff}=False`, LABELS.configHash] }, true);
  const live = new Set(initial.filter((c) => wanted(c.Labels?.[LABELS.service])).map((c) => c.Id));
  const restarting = new Set<string>();
  if (live.size === 0) { stream.destroy(); return; }
  try {
    for await (const m of jsonMessages(stream) as AsyncIterable<EngineEventMessage>) {
      if (m.Type !== 'container') continue;
      const attrs = m.Actor?.Attributes ?? {};
      if (attrs[LABELS.project] !== project || attrs[LABELS.oneoff] === 'True') continue;
      if (!wanted(attrs[LABELS.service])) continue;
      const id = m.Actor.ID;
      const base = { id, service: attrs[LABELS.service] ?? '', source: eventSource(project, attrs), exitCode: Number(attrs.exitCode ?? 0) || 0, restarting: false, labels: attrs };
      switch (m.Action) {
        case 'create':
          live.add(id);
          await on({ ...base, type: attrs[LABELS.replace] !== undefined ? 'recreated' : 'created' });
          break;
        case 'start': {
          const wasRestarting = restarting.delete(id);
          live.add(id);
          await on({ ...base, type: 'started', restarting: wasRestarting });
          break;
        }
        case 'restart':
          await on({ ...base, type: 'restarted' });
          break;
        case 'die': {
          let state: { Restarting?: boolean; Running: boolean } | undefined;
          try {
            state = (await s.api.inspectContainer(id)).State;
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
          if (state && (state.Restarting || state.Running)) {
            restarting.add(id);
            await on({ ...base, type: 'exited', restarting: true });
          } else {
            live.delete(id);
            await on({ ...base, type: 'exited' });
          }
          break;
        }
        default:
      }
      if (live.size === 0) return;
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  } finally {
    stream.destroy();
  }
}

/** Copies a container's output stream (raw for a tty, multiplexed otherwise) into the printer, line by line. */
function pumpOutput(stream: Readable, tty: boolean, source: string, consumer: LogPrinter): Promise<void> {
  // Each splitter decodes its own stream: a character split across frames stays whole.
  const out = new LineSplitter((l) => consumer.log(source, l));
  const err = new LineSplitter((l) => consumer.err(source, l));
  const demux = new Demuxer((kind, payload) => {
    if (kind === 2) err.write(payload);
    else if (kind === 1 || kind === 0) out.write(payload);
  });
  return new Promise((resolve) => {
    const done = () => { out.end(); err.end(); resolve(); };
    stream.on('data', (c: Buffer) => {
      if (tty) out.write(c);
      else {
        try { demux.push(c); } catch { stream.destroy(); }
      }
    });
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
    stream.resume();
  });
}

export class AttachedUp {
  readonly #s: Session;
  readonly #project: Project;
  readonly #o: AttachedOptions;
  readonly #ac = new AbortController();
  readonly #pending: Array<Promise<unknown>> = [];
  readonly #errors: unknown[] = [];
  #terminated = false;
  #stopping = false;
  #exitCode = 0;

  constructor(s: Session, project: Project, o: AttachedOptions) {
    this.#s = s;
    this.#project = project;
    this.#o = o;
  }

  #background(p: Promise<unknown>): void {
    this.#pending.push(p.catch((e) => { this.#errors.push(e); }));
  }

  #stopAll(): void {
    this.#background((async () => {
      const w = this.#o.stopWriter();
      try {
        await stopServices(this.#s, this.#project, undefined, this.#o.timeout, w, (src, line) => this.#o.consumer.log(src, line));
      } finally {
        w.stop();
      }
    })());
  }

  /** Ctrl-C: the first stops the project, the second kills it. */
  onSignal(): void {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#terminated = true;
      this.#s.stdout.write('Gracefully Stopping... press Ctrl+C again to force\n');
      this.#stopAll();
      return;
    }
    this.#background((async () => {
      const cs = await getContainers(this.#s.api, this.#project.name, 'include', false);
      await Promise.all(cs.map(async (c) => {
        try { await this.#s.api.killContainer(c.Id, 'SIGKILL'); } catch (e) { if (!isNotFound(e) && !isConflict(e)) throw e; }
      }));
    })());
  }

  #handle(e: ContainerEvent): void {
    const c = this.#o.consumer;
    switch (e.type) {
      case 'exited':
        c.status(e.source, e.restarting ? `exited with code ${e.exitCode} (restarting)` : `exited with code ${e.exitCode}`);
        break;
      case 'recreated':
        c.status(e.labels[LABELS.replace] ?? e.source, 'has been recreated');
        break;
      default:
    }
    if (e.type === 'exited' && !e.restarting) {
      if (this.#o.exitCodeFrom !== undefined && e.service === this.#o.exitCodeFrom && !this.#exitFromSeen) {
        this.#exitFromSeen = true;
        this.#exitCode = e.exitCode;
      }
      if (this.#o.cascade !== 'ignore' && !this.#aborted && !(this.#o.cascade === 'fail' && e.exitCode === 0)) {
        this.#aborted = true;
        if (this.#o.exitCodeFrom === undefined) this.#exitCode = e.exitCode;
        this.#s.stderr.write(`${this.#o.errorColor('Aborting on container exit...')}\n`);
        if (!this.#stopping) { this.#stopping = true; this.#stopAll(); }
      }
    }
  }

  #exitFromSeen = false;
  #aborted = false;

  /** Follows a container's logs from its start (a container started after the attach). */
  async #follow(id: string, source: string): Promise<void> {
    const x = await this.#s.api.inspectContainer(id);
    const stream = await this.#s.api.logs(id, { follow: true, since: x.State.StartedAt ? String(Date.parse(x.State.StartedAt) / 1000) : undefined, signal: this.#ac.signal });
    await pumpOutput(stream, Boolean(x.Config.Tty), source, this.#o.consumer);
  }

  async #attach(containers: ContainerSummary[]): Promise<string[]> {
    if (containers.length === 0) return [];
    const sorted = sortedByName(containers);
    this.#s.stdout.write(`Attaching to ${sorted.map(nameWithoutProject).join(', ')}\n`);
    // Registered in name order (compose sorts them "to enforce predictable colors"): colours
    // follow the names, and prefixes are padded to the longest name from the first line on.
    for (const c of sorted) this.#o.consumer.register(nameWithoutProject(c));
    const ids: string[] = [];
    for (const c of sorted) {
      const x = await this.#s.api.inspectContainer(c.Id);
      const h = await this.#s.api.attach(c.Id, this.#ac.signal);
      this.#ac.signal.addEventListener('abort', () => h.socket.destroy(), { once: true });
      this.#background(pumpOutput(h.socket, Boolean(x.Config.Tty), nameWithoutProject(c), this.#o.consumer));
      ids.push(c.Id);
    }
    return ids;
  }

  /** compose's monitor, with attached up's listener: exits, recreates, aborts, and the logs of what starts later. */
  #monitor(attached: string[], subscribed: () => void): Promise<void> {
    const services = this.#o.services.length ? this.#o.services : this.#o.attachTo;
    return monitor(this.#s, this.#project.name, services, (e) => {
      this.#handle(e);
      if (e.type === 'started' && (!attached.includes(e.id) || e.restarting)) this.#background(this.#follow(e.id, e.source));
    }, this.#ac.signal, subscribed);
  }

  /** Runs the attached part of `up`; resolves to the exit status compose would return. */
  async run(): Promise<number> {
    const containers = await getContainers(this.#s.api, this.#project.name, 'exclude', true, this.#o.attachTo);
    const attached = await this.#attach(containers);
    let monitorDone!: () => void;
    const monitorFinished = new Promise<void>((r) => { monitorDone = r; });
    let subscribed!: () => void;
    const isSubscribed = new Promise<void>((r) => { subscribed = r; });
    const monitor = this.#monitor(attached, subscribed).catch((e) => { if (!this.#ac.signal.aborted) this.#errors.push(e); }).finally(() => monitorDone());
    await isSubscribed;
    try {
      // The start goes to no progress display: in attached mode compose shows the containers' output.
      await startProject(this.#s, this.#project, { w: new P.QuietWriter(), waitTimeout: this.#o.waitTimeout, hookOutput: (src, line) => this.#o.consumer.log(src, line) });
    } catch (e) {
      if (!this.#terminated) {
        this.#ac.abort();
        await monitor;
        await Promise.all(this.#pending);
        throw e;
      }
    }
    await monitorFinished;
    // Let attached streams drain what the containers printed last, then close them.
    await Promise.race([Promise.all(this.#pending), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.#ac.abort();
    await Promise.all(this.#pending);
    if (this.#exitCode !== 0) return this.#exitCode;
    if (this.#errors.length) throw this.#errors[0];
    return 0;
  }
}
