// The event bus behind GET /events. Events are kept in a bounded ring so `since` can replay
// recent history, as Docker does (it keeps the last 256 in memory).
import { EventEmitter } from 'node:events';

export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'builder';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

const RING = 1024;

export class EventBus {
  #ring: EngineEvent[] = [];
  #em = new EventEmitter();
  /** The wall clock in ns at #hr0 on the monotonic clock: event times are these plus elapsed time. */
  #wall0 = BigInt(Date.now()) * 1_000_000n;
  #hr0 = process.hrtime.bigint();
  #last = 0n;
  constructor() { this.#em.setMaxListeners(0); }

  /**
   * Nanoseconds since the epoch, strictly increasing: events are ordered by their times (clients
   * sort and replay by them), so two events in one millisecond must not swap, as they did when the
   * sub-millisecond part came from another clock. Re-anchored to the wall clock when it has moved
   * more than a second away (the host's time was set).
   */
  #now(): bigint {
    let ns = this.#wall0 + (process.hrtime.bigint() - this.#hr0);
    const wall = BigInt(Date.now()) * 1_000_000n;
    if (ns - wall > 1_000_000_000n || wall - ns > 1_000_000_000n) {
      this.#wall0 = wall;
      this.#hr0 = process.hrtime.bigint();
      ns = wall;
    }
    // timeNano is a JS number (a double: 256 ns apart at today's values), so step past the last
    // event until the number itself is larger.
    if (ns <= this.#last) ns = this.#last + 1n;
    while (Number(ns) <= Number(this.#last)) ns += 256n;
    this.#last = ns;
    return ns;
  }

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const ns = this.#now();
    const ev: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(ns / 1_000_000_000n), timeNano: Number(ns),
    };
    this.#ring.push(ev);
    if (this.#ring.length > RING) this.#ring.shift();
    this.#em.emit('event', ev);
    return ev;
  }

  /** Past events with timeNano in [sinceNs, untilNs]. */
  history(sinceNs: number, untilNs: number): EngineEvent[] {
    return this.#ring.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.#em.on('event', fn);
    return () => this.#em.off('event', fn);
  }
}
