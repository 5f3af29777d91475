// Gives memory back once berthd goes quiet after a burst of work.
//
// berthd runs with a 1 MiB young generation (bin/berthd), so objects that live across a few
// requests (every container start has several in flight) are promoted, and V8 grows the old
// space to hold them. After 200 starts 20 at a time, the live heap was 13 MB but V8 held 45 MB
// of old space and a 24 MB pool of free pages, and its own memory reducer never gave them back:
// each time it looked, the last interval's allocation rate was "high", and it waited 8 s more.
// That was the whole of berthd's "RSS growth per running container" (0.29 MiB): its records are
// about 5 KB each. So: once no API request has come for `quietMs` after some, one full collection
// that also releases the pooled pages (V8's last-resort flavour, as a low-memory notification),
// at most once per burst. It costs ~10–20 ms of the main thread at a moment nobody is waiting.
// Needs `--expose-gc` (bin/berthd); without it this does nothing.

export interface IdleGc {
  /** An API request arrived: the daemon is busy; compact after the next quiet period. */
  touch(): void;
  stop(): void;
}

type GcFn = (o?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => unknown;

export function idleGc(o: { quietMs?: number; gc?: GcFn | undefined } = {}): IdleGc {
  const gc = o.gc ?? ((globalThis as { gc?: GcFn }).gc);
  const quiet = o.quietMs ?? 3000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = () => {
    timer = undefined;
    try { gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' }); } catch { /* an older node's gc() takes no options */ }
  };
  return {
    touch() {
      if (!gc || stopped) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, quiet);
      timer.unref?.();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
