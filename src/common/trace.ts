// BERTH_TRACE=1 prints phase timings to stderr (performance work): `const T = trace('start');
// ...; T('mount'); ...; T('spec')` prints each phase's time since the previous one.
export function trace(what: string): (phase: string) => void {
  if (!process.env.BERTH_TRACE) return () => {};
  let t = process.hrtime.bigint();
  return (phase) => {
    const n = process.hrtime.bigint();
    process.stderr.write(`trace ${what} ${phase} ${(Number(n - t) / 1e6).toFixed(1)}ms\n`);
    t = n;
  };
}
