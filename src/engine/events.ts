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
  constructor() { this.#em.setMaxListeners(0); }

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const ns = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime.bigint() % 1_000_000n);
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
