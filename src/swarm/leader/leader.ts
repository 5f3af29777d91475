// The leader's control loop: runs pass.ts over the store whenever the cluster changes (coalesced
// by a short debounce) and when one of its own deadlines comes (a restart delay, an update's
// delay or monitor, the nodes' grace), one pass at a time. A pass whose transaction fails a
// version check is run again on a fresh view; one whose writes committed is followed by another,
// so the loop only rests once a pass finds nothing to do (what settle() waits for).
//
// The leader's memory (restart histories, rolling updates in progress, delayed starts) lives in
// this object only, as swarmkit's does in its orchestrator goroutines: a new leader starts afresh,
// gives the nodes a grace period and starts delayed tasks without their remaining delay.
//
// Worked example (the lead's wiring, once this manager won the election):
//   const leader = new Leader({ store: etcdLeaderStore, log: (lvl, msg) => logger[lvl](msg) });
//   leader.start();            // first pass at once, then on every change
//   ... lost the election ...
//   await leader.stop();       // no pass runs and no timer fires after this resolves
import { newMemory, newTaskId, runPass, type LeaderMemory } from './pass.ts';
import type { LeaderStore } from './store.ts';

export type { ClusterView, LeaderStore, Write } from './store.ts';

/** Changes closer together than this make one pass. */
const DEBOUNCE_MS = 20;
/** After a store error (not a version conflict), wait this long before the next try. */
const ERROR_RETRY_MS = 1000;
/** Version conflicts in a row before the loop slows down (someone else keeps writing). */
const FAST_RETRIES = 5;

export interface LeaderOptions {
  store: LeaderStore;
  /** The clock, ms since the epoch (Date.now). */
  now?: () => number;
  log?: (level: string, msg: string) => void;
  /** New task IDs (swarmkit's 25 characters of [0-9a-z]). */
  newId?: () => string;
}

export class Leader {
  private readonly store: LeaderStore;
  private readonly now: () => number;
  private readonly log: (level: string, msg: string) => void;
  private readonly newId: () => string;
  private memory: LeaderMemory;
  private stopped = true;
  private unsubscribe?: () => void;
  private kickTimer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  /** A pass loop is on (set and cleared synchronously, so no kick falls between two). */
  private busy = false;
  private running?: Promise<void>;
  private again = false;
  private settlers: (() => void)[] = [];

  constructor(o: LeaderOptions) {
    this.store = o.store;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
    this.newId = o.newId ?? newTaskId;
    this.memory = newMemory(this.now());
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.memory = newMemory(this.now());
    this.unsubscribe = this.store.onChange(() => this.kick(DEBOUNCE_MS));
    this.kick(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.kickTimer);
    clearTimeout(this.wakeTimer);
    this.kickTimer = this.wakeTimer = undefined;
    await this.running;
    for (const s of this.settlers.splice(0)) s();
  }

  /** For tests: resolves once a pass found nothing to do (or the leader stopped). */
  settle(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.settlers.push(resolve));
    this.kick(0);
    return p;
  }

  /** Asks for a pass after `delay` ms; a pass in progress is followed by another. */
  private kick(delay: number): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.kickTimer) {
      if (delay > 0) return;
      clearTimeout(this.kickTimer);
    }
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      this.busy = true;
      this.running = this.loop();
    }, delay);
  }

  private async loop(): Promise<void> {
    try {
      await this.passes();
    } finally {
      this.busy = false;
      // A change seen after the last pass decided to stop (settle()'s caller runs between the two).
      if (this.again) this.kick(0);
    }
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      let idle = false;
      try {
        idle = await this.pass();
      } catch (err) {
        this.log('error', `swarm leader: pass failed: ${(err as Error).message}`);
        this.arm(this.now() + ERROR_RETRY_MS);
        continue;
      }
      if (!idle) this.again = true;
      else if (!this.again) for (const s of this.settlers.splice(0)) s();
    } while (this.again && !this.stopped);
  }

  /** One pass, retried on version conflicts; true when it had nothing to write. */
  private async pass(): Promise<boolean> {
    for (let attempt = 1; !this.stopped; attempt++) {
      const view = await this.store.view();
      if (this.stopped) break;
      const r = runPass(view, this.memory, this.now(), this.newId);
      if (r.writes.length > 0) {
        const ok = await this.store.apply(r.writes);
        if (!ok) {
          this.log('debug', `swarm leader: version conflict (attempt ${attempt}), re-reading`);
          if (attempt >= FAST_RETRIES) await new Promise((res) => setTimeout(res, 50 * attempt));
          continue;
        }
        for (const line of r.log) this.log('info', `swarm leader: ${line}`);
      }
      this.memory = r.memory;
      this.arm(r.wakeAt);
      return r.writes.length === 0;
    }
    return true;
  }

  /** One timer for the earliest deadline the last pass saw. */
  private arm(at: number | undefined): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (at === undefined || this.stopped) return;
    // A few ms late, so the pass at the deadline sees it passed.
    const delay = Math.max(0, at - this.now()) + 5;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick(0);
    }, Math.min(delay, 2 ** 31 - 1));
  }
}
