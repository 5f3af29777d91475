// HealthMonitor: Docker's HEALTHCHECK. For every running container whose config has a
// healthcheck (its own, `--health-*`, or the image's), a probe runs in the container as an exec
// session every Interval; State.Health keeps the status, the failing streak and the last 5
// probes; a status change is a `health_status: <status>` event. Docker's rules (moby
// daemon/health.go), worked through for `--health-cmd 'test -f /ok' --health-retries 2`:
//
//   start                      → Status "starting", FailingStreak 0 (the Log is kept)
//   probe exits 1              → streak 1 (not counted while still inside StartPeriod)
//   probe exits 1              → streak 2 = Retries → "unhealthy", event health_status: unhealthy
//   `touch /ok`; probe exits 0 → streak 0, "healthy", event health_status: healthy
//   probe runs past Timeout    → killed, ExitCode -1, "Health check exceeded timeout (30s)"
//   stop or pause              → no more probes; Status "unhealthy" (as Docker, "for
//                                compatibility"); unpause resumes probing
//
// While a container is still "starting" inside its StartPeriod, probes come every
// StartInterval (default 5s) instead of every Interval (default 30s).
import type { HealthConfig } from '../api/types/container.ts';
import type { EventBus } from './events.ts';
import type { ExecCreateOptions, ExecRecord, ExecStart } from './exec.ts';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe (inspect's State.Health.Log entry). */
export interface HealthLogEntry { Start: string; End: string; ExitCode: number; Output: string }

/** Inspect's State.Health. */
export interface HealthState { Status: HealthStatus; FailingStreak: number; Log: HealthLogEntry[] }

const SECOND = 1_000_000_000;
const DEFAULT_INTERVAL = 30 * SECOND;
const DEFAULT_TIMEOUT = 30 * SECOND;
const DEFAULT_START_INTERVAL = 5 * SECOND;
const DEFAULT_RETRIES = 3;
/** Docker keeps this many probe results, and this much of each probe's output. */
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT = 4096;

/** What the monitor needs of a container. */
export interface HealthTarget {
  id: string;
  running: boolean;
  paused: boolean;
  startedAt: string;
  healthcheck?: HealthConfig;
  shell?: string[] | null;
  health?: HealthState;
}

export interface HealthContainers {
  list(): string[];
  target(id: string): HealthTarget | undefined;
  /** Stores the new state in the container's record (persisted). */
  setHealth(id: string, h: HealthState): Promise<void>;
  /** Event attributes of the container (name, image, labels). */
  attrs(id: string): Record<string, string>;
}

export interface HealthExecs {
  create(ref: string, o: ExecCreateOptions): Promise<{ Id: string }>;
  begin(id: string): ExecStart;
  inspect(id: string): ExecRecord;
}

/** The probe's command, or undefined when there is no healthcheck (none set, or NONE). */
export function probeCommand(hc: HealthConfig | undefined, shell?: string[] | null): string[] | undefined {
  const t = hc?.Test;
  if (!t || t.length === 0) return undefined;
  switch (t[0]) {
    case 'NONE': return undefined;
    case 'CMD': return t.length > 1 ? t.slice(1) : undefined;
    case 'CMD-SHELL': return t.length > 1 ? [...(shell && shell.length ? shell : ['/bin/sh', '-c']), t.slice(1).join(' ')] : undefined;
    default: return undefined;
  }
}

const orDefault = (v: number | undefined, d: number) => (v && v > 0 ? v : d);

/** Go's time.Duration String() for whole milliseconds and more ("30s", "1.5s", "500ms", "1m30s"). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < SECOND) {
    const ms = ns / 1e6;
    return `${Number.isInteger(ms) ? ms : +ms.toFixed(6)}ms`;
  }
  let s = ns / SECOND;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const sec = `${+s.toFixed(9)}s`;
  return h ? `${h}h${m}m${sec}` : m ? `${m}m${sec}` : sec;
}

/**
 * The next state after a probe (pure; moby's handleProbeResult). A failure inside the start
 * period does not count while the container has never been healthy.
 */
export function applyProbe(prev: HealthState, r: HealthLogEntry, hc: HealthConfig, startedAt: string): HealthState {
  const Log = [...prev.Log, r].slice(-MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  let { Status, FailingStreak } = prev;
  const inStartPeriod = Status === 'starting' && (Date.parse(r.Start) - Date.parse(startedAt)) * 1e6 < (hc.StartPeriod ?? 0);
  if (!inStartPeriod) {
    FailingStreak++;
    if (FailingStreak >= orDefault(hc.Retries, DEFAULT_RETRIES)) Status = 'unhealthy';
  }
  return { Status, FailingStreak, Log };
}

interface Monitor { timer?: NodeJS.Timeout; stopped: boolean }

export class HealthMonitor {
  #c: HealthContainers;
  #x: HealthExecs;
  #events: EventBus;
  #monitors = new Map<string, Monitor>();
  #unsubscribe?: () => void;

  constructor(containers: HealthContainers, execs: HealthExecs, events: EventBus) {
    this.#c = containers;
    this.#x = execs;
    this.#events = events;
  }

  /** Watches lifecycle events, and starts monitors for containers already running (daemon restart). */
  init(): void {
    this.#unsubscribe = this.#events.subscribe((ev) => {
      if (ev.Type !== 'container') return;
      const id = ev.Actor.ID;
      switch (ev.Action) {
        case 'start': void this.#begin(id, true); break;
        case 'unpause': void this.#begin(id, false); break;
        case 'die': case 'pause': void this.#end(id, true); break;
        case 'destroy': void this.#end(id, false); break;
      }
    });
    for (const id of this.#c.list()) {
      const t = this.#c.target(id);
      if (t?.running && !t.paused) void this.#begin(id, true);
    }
  }

  close(): void {
    this.#unsubscribe?.();
    for (const m of this.#monitors.values()) { m.stopped = true; if (m.timer) clearTimeout(m.timer); }
    this.#monitors.clear();
  }

  async #begin(id: string, reset: boolean): Promise<void> {
    const t = this.#c.target(id);
    if (!t || !probeCommand(t.healthcheck, t.shell)) return;
    this.#stopMonitor(id);
    const m: Monitor = { stopped: false };
    this.#monitors.set(id, m);
    if (reset || !t.health) {
      const h: HealthState = { Status: 'starting', FailingStreak: 0, Log: t.health?.Log ?? [] };
      // Safe to ignore: setHealth fails only when the container was removed meanwhile, and then
      // there is no health left to show; the monitor stops on its next tick.
      await this.#c.setHealth(id, h).catch(() => {});
    }
    this.#schedule(id, m);
  }

  async #end(id: string, markUnhealthy: boolean): Promise<void> {
    const had = this.#stopMonitor(id);
    if (!had || !markUnhealthy) return;
    const t = this.#c.target(id);
    // Safe to ignore: as above, a removed container has no health to mark.
    if (t?.health && t.health.Status !== 'unhealthy') await this.#c.setHealth(id, { ...t.health, Status: 'unhealthy' }).catch(() => {});
  }

  #stopMonitor(id: string): boolean {
    const m = this.#monitors.get(id);
    if (!m) return false;
    m.stopped = true;
    if (m.timer) clearTimeout(m.timer);
    this.#monitors.delete(id);
    return true;
  }

  #interval(t: HealthTarget): number {
    const hc = t.healthcheck ?? {};
    const interval = orDefault(hc.Interval, DEFAULT_INTERVAL);
    const sinceStart = (Date.now() - Date.parse(t.startedAt)) * 1e6;
    if (sinceStart >= (hc.StartPeriod ?? 0)) return interval;
    return t.health?.Status === 'starting' ? orDefault(hc.StartInterval, DEFAULT_START_INTERVAL) : interval;
  }

  #schedule(id: string, m: Monitor): void {
    const t = this.#c.target(id);
    if (!t || m.stopped) return;
    m.timer = setTimeout(() => void this.#probe(id, m).finally(() => this.#schedule(id, m)), Math.ceil(this.#interval(t) / 1e6));
    m.timer.unref();
  }

  async #probe(id: string, m: Monitor): Promise<void> {
    const t = this.#c.target(id);
    if (!t || m.stopped || !t.running || t.paused) return;
    const hc = t.healthcheck ?? {};
    const cmd = probeCommand(hc, t.shell);
    if (!cmd) return;
    const timeout = orDefault(hc.Timeout, DEFAULT_TIMEOUT);
    const start = new Date().toISOString();
    let result: HealthLogEntry;
    try {
      result = await this.#run(id, cmd, timeout, start);
    } catch (e) {
      // Docker records a probe that could not start as exit code -1 with the error text.
      result = { Start: start, End: new Date().toISOString(), ExitCode: -1, Output: e instanceof Error ? e.message : String(e) };
    }
    const now = this.#c.target(id);
    if (m.stopped || !now?.running) return;
    const prev = now.health ?? { Status: 'starting' as HealthStatus, FailingStreak: 0, Log: [] };
    const next = applyProbe(prev, result, hc, now.startedAt);
    // Safe to ignore: the container went away between the probe and the write; nothing reads it.
    await this.#c.setHealth(id, next).catch(() => {});
    if (next.Status !== prev.Status) {
      this.#events.emit('container', `health_status: ${next.Status}`, id, this.#c.attrs(id));
    }
  }

  async #run(id: string, cmd: string[], timeoutNs: number, start: string): Promise<HealthLogEntry> {
    const { Id } = await this.#x.create(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      this.#x.begin(Id).run({
        onOutput: (_k, d) => {
          if (size >= MAX_OUTPUT) return;
          const part = d.subarray(0, MAX_OUTPUT - size);
          chunks.push(part);
          size += part.length;
        },
        onEnd: () => { done = true; if (timer) clearTimeout(timer); resolve(); },
      }).then(() => {
        if (done) return;
        timer = setTimeout(() => {
          timedOut = true;
          const pid = this.#x.inspect(Id).pid;
          if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
          resolve();
        }, Math.ceil(timeoutNs / 1e6));
        timer.unref();
      }, reject);
    });
    const end = new Date().toISOString();
    if (timedOut) return { Start: start, End: end, ExitCode: -1, Output: `Health check exceeded timeout (${goDuration(timeoutNs)})` };
    return { Start: start, End: end, ExitCode: this.#x.inspect(Id).exitCode ?? -1, Output: Buffer.concat(chunks).toString('utf8') };
  }
}
