// Linux signal names and numbers as docker accepts them (moby/sys/signal's SignalMap and
// ParseSignal, plus the daemon's ValidSignalForPlatform check), for `kill --signal`, StopSignal
// and `stop --signal`.
//
//   parseSignal('SIGKILL') → 9   parseSignal('kill') → 9   parseSignal('9') → 9
//   parseSignal('SIGRTMIN+3') → 37   parseSignal('RTMAX') → 64
//   signalName(15) → 'SIGTERM'   signalName(37) → 'SIGRTMIN+3'
import { invalid } from './errors.ts';

const SIGRTMIN = 34; // glibc reserves 32 and 33 for itself; docker's map starts at 34 too
const SIGRTMAX = 64;

// Canonical names first: signalName returns the first name listed for a number (IOT, CLD and POLL
// are aliases of ABRT, CHLD and IO).
const BASE: Array<[string, number]> = [
  ['HUP', 1], ['INT', 2], ['QUIT', 3], ['ILL', 4], ['TRAP', 5], ['ABRT', 6], ['IOT', 6], ['BUS', 7],
  ['FPE', 8], ['KILL', 9], ['USR1', 10], ['SEGV', 11], ['USR2', 12], ['PIPE', 13], ['ALRM', 14],
  ['TERM', 15], ['STKFLT', 16], ['CHLD', 17], ['CLD', 17], ['CONT', 18], ['STOP', 19], ['TSTP', 20],
  ['TTIN', 21], ['TTOU', 22], ['URG', 23], ['XCPU', 24], ['XFSZ', 25], ['VTALRM', 26], ['PROF', 27],
  ['WINCH', 28], ['IO', 29], ['POLL', 29], ['PWR', 30], ['SYS', 31],
];

const BY_NAME = new Map<string, number>(BASE);
const BY_NUMBER = new Map<number, string>();
for (const [name, n] of BASE) if (!BY_NUMBER.has(n)) BY_NUMBER.set(n, name);
// Real-time signals: RTMIN, RTMIN+1..+15, RTMAX-14..-1, RTMAX, as in moby's map (so SIGRTMIN+16 is
// spelled SIGRTMAX-14, and "RTMIN+16" is refused like docker refuses it).
BY_NAME.set('RTMIN', SIGRTMIN);
for (let i = 1; i <= 15; i++) BY_NAME.set(`RTMIN+${i}`, SIGRTMIN + i);
for (let i = 14; i >= 1; i--) BY_NAME.set(`RTMAX-${i}`, SIGRTMAX - i);
BY_NAME.set('RTMAX', SIGRTMAX);
for (const [name, n] of BY_NAME) if (!BY_NUMBER.has(n)) BY_NUMBER.set(n, name);

/** Default signal of `docker stop` and of containers without StopSignal. */
export const SIGTERM = 15;
export const SIGKILL = 9;

/**
 * A signal given by name (with or without `SIG`, any case) or by number.
 * Errors (InvalidParameter): `invalid signal: <s>` (unknown name, 0, empty) as moby/sys/signal
 * says it, and `the linux daemon does not support signal <n>` for a number that is not a Linux
 * signal (the check docker's kill and stop endpoints add).
 */
export function parseSignal(s: string): number {
  // strconv.Atoi: optional sign, decimal digits.
  if (/^[+-]?[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n === 0) throw invalid(`invalid signal: ${s}`);
    if (!BY_NUMBER.has(n)) throw invalid(`the linux daemon does not support signal ${Number.isSafeInteger(n) ? n : s}`);
    return n;
  }
  const upper = s.toUpperCase();
  const n = BY_NAME.get(upper.startsWith('SIG') ? upper.slice(3) : upper);
  if (n === undefined) throw invalid(`invalid signal: ${s}`);
  return n;
}

/** `SIGKILL` for 9, `SIGRTMIN+3` for 37; undefined for numbers that are not Linux signals. */
export function signalName(n: number): string | undefined {
  const name = BY_NUMBER.get(n);
  return name === undefined ? undefined : `SIG${name}`;
}

/** Whether n is a signal the daemon accepts (1–31, 34–64). */
export function isValidSignal(n: number): boolean {
  return BY_NUMBER.has(n);
}
