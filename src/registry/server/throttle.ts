// Failed logins, counted per client: after `failures` wrong passwords within `windowMs` of the
// first one, a client's further login attempts are refused (429 TOOMANYREQUESTS, Retry-After)
// until that window ends. Docker distribution has no throttle of its own; without one, an
// htpasswd password can be guessed as fast as bcrypt answers.
//
//   const t = new LoginThrottle({ failures: 10, windowMs: 60_000 })
//   if (t.retryAfter(client)) → 429
//   const refund = t.charge(client)      // before bcrypt, so concurrent guesses count too
//   if (await verify(…)) refund()        // a successful login does not count
//
// A client is its address; an IPv6 client is its /64, which one host usually holds whole (and so
// could otherwise change address per guess). The table holds at most `maxClients` entries, the
// oldest windows going first, so a flood of addresses cannot grow memory.
import { isIPv4, isIPv6 } from 'node:net';

export interface ThrottleOptions {
  /** Wrong passwords a client may send per window (default 10). */
  failures?: number;
  /** The window, from a client's first failure (default one minute). */
  windowMs?: number;
  /** Clients remembered at once (default 10000). */
  maxClients?: number;
  /** A monotonic clock in milliseconds (tests pass their own). */
  now?: () => number;
}

interface Entry {
  since: number;
  count: number;
}

export class LoginThrottle {
  readonly #failures: number;
  readonly #window: number;
  readonly #max: number;
  readonly #now: () => number;
  /** In order of `since` (an entry starting a new window is re-inserted), so stale ones lead. */
  readonly #clients = new Map<string, Entry>();

  constructor(opts: ThrottleOptions = {}) {
    this.#failures = opts.failures ?? 10;
    this.#window = opts.windowMs ?? 60_000;
    this.#max = Math.max(1, opts.maxClients ?? 10_000);
    this.#now = opts.now ?? (() => performance.now());
  }

  get size(): number { return this.#clients.size; }

  #live(client: string, now: number): Entry | undefined {
    const e = this.#clients.get(client);
    return e && now - e.since < this.#window ? e : undefined;
  }

  /** Seconds until this client may try again; 0 when it may now. */
  retryAfter(client: string): number {
    const now = this.#now();
    const e = this.#live(client, now);
    if (!e || e.count < this.#failures) return 0;
    return Math.max(1, Math.ceil((e.since + this.#window - now) / 1000));
  }

  /**
   * Counts one attempt as failed before it is checked (concurrent guesses thus count at once);
   * the returned function takes it back when the attempt succeeded after all.
   */
  charge(client: string): () => void {
    const now = this.#now();
    let e = this.#live(client, now);
    if (!e) {
      this.#clients.delete(client);
      this.#sweep(now);
      e = { since: now, count: 0 };
      this.#clients.set(client, e);
    }
    e.count++;
    const entry = e;
    let refunded = false;
    return () => {
      if (refunded) return;
      refunded = true;
      entry.count = Math.max(0, entry.count - 1);
    };
  }

  /** Drops ended windows from the front, then the oldest live ones while the table is full. */
  #sweep(now: number): void {
    for (const [k, e] of this.#clients) {
      if (now - e.since < this.#window && this.#clients.size < this.#max) break;
      this.#clients.delete(k);
    }
  }
}

/** The key a client's failures are counted under: its IPv4 address, or its IPv6 /64. */
export function clientKey(address: string | undefined): string {
  if (!address) return '-';
  const a = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1];
  if (isIPv4(a) || !isIPv6(a)) return a;
  // Expand `::` (a dotted IPv4 tail fills two groups) and keep the first four groups.
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - width(h) - width(t)).fill('0'), ...t];
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64';
}
