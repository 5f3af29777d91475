// Sizes, durations, timestamps and CPU counts, parsed and printed exactly as docker does (the
// docker/go-units package, Go's time.ParseDuration and %g formatting, moby's api/types/time), so
// `berth ps`, `berth images`, `--memory 512m`, `--since 10m` read and behave like docker's.
//
//   parseBytes('512m')          → 536870912
//   humanSize(4_260_000)        → '4.26MB'
//   bytesSize(1536)             → '1.5KiB'
//   humanDuration(3 * 60_000)   → '3 minutes'
//   parseDuration('1h30m')      → 5_400_000_000_000 (nanoseconds)
//   parseTimestamp('10m', now)  → now − 600 s, truncated to whole seconds
//   parseCpus('1.5')            → 1_500_000_000 (NanoCpus)
import { invalid } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// Sizes

const KIB = 1024;
const BINARY_MULTIPLIERS: Record<string, number> = { k: KIB, m: KIB ** 2, g: KIB ** 3, t: KIB ** 4, p: KIB ** 5 };
const DECIMAL_MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/**
 * go-units RAMInBytes: `--memory`, `--shm-size`, `--memory-swap` and friends. Units b, k, m, g, t, p
 * (powers of 1024), case-insensitive, optionally followed by `b` or `ib`; one space may separate
 * number and unit; decimals are truncated to whole bytes.
 *
 *   parseBytes('512m') → 536870912   parseBytes('1.5 GiB') → 1610612736   parseBytes('32') → 32
 *
 * Errors (InvalidParameter): `invalid size: '…'` (no digit, negative), `invalid suffix: '…'`, or Go's
 * `strconv.ParseFloat: parsing "…": invalid syntax` for a malformed number.
 */
export function parseBytes(s: string): number {
  return parseSize(s, BINARY_MULTIPLIERS);
}

/** go-units FromHumanSize: like parseBytes but with powers of 1000 (`1kB` = 1000). */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL_MULTIPLIERS);
}

function parseSize(s: string, multipliers: Record<string, number>): number {
  // The number runs to the last digit, '.' or space; the rest is the unit (go-units v0.5 parser).
  let sep = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if (/[0-9. ]/.test(s[i])) { sep = i; break; }
  }
  if (sep < 0) throw invalid(`invalid size: '${s}'`);
  const num = s[sep] === ' ' ? s.slice(0, sep) : s.slice(0, sep + 1);
  let sfx = s.slice(sep + 1);
  let size = parseGoFloat(num);
  if (size < 0) throw invalid(`invalid size: '${s}'`);
  if (sfx.length === 0) return Math.trunc(size);
  if (sfx.length > 3) throw invalid(`invalid suffix: '${sfx}'`);
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw invalid(`invalid suffix: '${sfx}'`);
    return Math.trunc(size);
  }
  const mul = multipliers[sfx[0]];
  if (mul === undefined) throw invalid(`invalid suffix: '${sfx}'`);
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) {
    throw invalid(`invalid suffix: '${sfx}'`);
  }
  return Math.trunc(size);
}

/**
 * go-units HumanSizeWithPrecision: decimal units, `precision` significant digits, Go's %g
 * (trailing zeros dropped, exponent form when the value rounds up to 1000).
 * The default 3 is what docker's CLI shows in `images` and `ps --size` ("4.26MB");
 * go-units' own HumanSize uses 4 (`system df`): pass 4 for that.
 *
 *   humanSize(0) → '0B'   humanSize(1500) → '1.5kB'   humanSize(999_999) → '1e+03kB' (as docker)
 */
export function humanSize(bytes: number, precision = 3): string {
  const [size, unit] = sizeAndUnit(bytes, 1000, DECIMAL_ABBRS);
  return formatG(size, precision) + unit;
}

/** go-units BytesSize: binary units, 4 significant digits: '1.5KiB', '3.42GiB', '1MiB'. */
export function bytesSize(bytes: number, precision = 4): string {
  const [size, unit] = sizeAndUnit(bytes, 1024, BINARY_ABBRS);
  return formatG(size, precision) + unit;
}

function sizeAndUnit(size: number, base: number, abbrs: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return [size, abbrs[i]];
}

/**
 * Go's `%.<p>g` for a float64: correctly rounded to p significant digits (ties to even on exact
 * binary values, as strconv does), trailing zeros removed, exponent form when the decimal
 * exponent is < -4 or >= p. JavaScript's toPrecision differs on both ties and layout.
 */
export function formatG(x: number, precision: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const p = precision <= 0 ? 1 : precision;
  const neg = x < 0 || Object.is(x, -0);
  const { digits, dp } = roundDecimal(exactDecimal(Math.abs(x)), p);
  const nd = digits.length;
  let eprec = p;
  if (eprec > nd && nd >= dp) eprec = nd;
  const exp = dp - 1;
  let out: string;
  if (nd === 0) {
    out = '0';
  } else if (exp < -4 || exp >= eprec) {
    const prec = Math.min(p, nd) - 1;
    out = digits[0] + (prec > 0 ? '.' + digits.slice(1, 1 + prec) : '');
    const e = Math.abs(exp);
    out += 'e' + (exp < 0 ? '-' : '+') + (e < 10 ? '0' : '') + e;
  } else {
    const prec = Math.max((p > dp ? nd : p) - dp, 0);
    let int = '';
    if (dp > 0) for (let i = 0; i < dp; i++) int += i < nd ? digits[i] : '0';
    else int = '0';
    let frac = '';
    for (let i = 1; i <= prec; i++) {
      const j = dp + i - 1;
      frac += j >= 0 && j < nd ? digits[j] : '0';
    }
    out = int + (prec > 0 ? '.' + frac : '');
  }
  return (neg ? '-' : '') + out;
}

/** The exact decimal value of a finite double ≥ 0: digits without leading/trailing zeros, and the
 *  position of the decimal point (value = 0.digits × 10^dp). */
function exactDecimal(x: number): { digits: string; dp: number } {
  if (x === 0) return { digits: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else { mant |= 1n << 52n; e2 = biased - 1075; }
  let s: string;
  let dp: number;
  if (e2 >= 0) {
    s = (mant << BigInt(e2)).toString();
    dp = s.length;
  } else {
    // m / 2^k = m·5^k / 10^k
    s = (mant * 5n ** BigInt(-e2)).toString();
    dp = s.length + e2;
  }
  const lead = s.length - s.replace(/^0+/, '').length;
  s = s.slice(lead).replace(/0+$/, '');
  return { digits: s, dp: dp - lead };
}

/** Rounds to n significant digits, ties to even (the input is exact), trailing zeros trimmed. */
function roundDecimal(d: { digits: string; dp: number }, n: number): { digits: string; dp: number } {
  let { digits, dp } = d;
  if (digits.length <= n) return d;
  const next = digits.charCodeAt(n) - 48;
  const rest = digits.slice(n + 1);
  const up = next > 5 || (next === 5 && (rest.length > 0 || (digits.charCodeAt(n - 1) - 48) % 2 === 1));
  let kept = digits.slice(0, n);
  if (up) {
    const arr = kept.split('').map(Number);
    let i = arr.length - 1;
    while (i >= 0 && arr[i] === 9) { arr[i] = 0; i--; }
    if (i < 0) { arr.unshift(1); arr.pop(); dp++; } else arr[i]++;
    kept = arr.join('');
  }
  digits = kept.replace(/0+$/, '');
  return { digits, dp };
}

/**
 * Go's strconv.ParseFloat(s, 64) for decimal input: optional sign, digits with an optional point,
 * optional exponent, `_` between digits. Errors carry Go's text.
 */
function parseGoFloat(s: string): number {
  const m = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/.exec(s);
  if (!m || !/[0-9]/.test(s) || (s.includes('_') && !underscoreOK(s))) {
    throw invalid(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  }
  const v = Number(s.replace(/_/g, ''));
  if (!Number.isFinite(v)) throw invalid(`strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`);
  return v;
}

/** Go's rule: an underscore must sit between two digits. */
function underscoreOK(s: string): boolean {
  const body = s.replace(/^[+-]/, '');
  return !/(^|[^0-9])_|_([^0-9]|$)/.test(body);
}

/** strconv.Quote for the ASCII-ish strings that reach error messages. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------
// Durations

/**
 * go-units HumanDuration, for "Up 3 minutes" / "Exited (0) 2 hours ago" / "CREATED 3 days ago".
 * Takes milliseconds.
 *
 *   < 1 s "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
 *   "About an hour", "N hours" (< 48 h, rounded), "N days" (< 2 weeks), "N weeks" (< 60 days),
 *   "N months" (< 2 years, 30-day months), "N years".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (!(seconds >= 1)) return 'Less than a second'; // also NaN
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Go's d.Round(time.Hour): halves away from zero.
  const hours = Math.floor((ms + 1_800_000) / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // U+00B5 micro sign
  '\u03bcs': 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Go's time.ParseDuration, in nanoseconds (Go's Duration unit; the API's Healthcheck.Interval and
 * friends are nanoseconds too). A sequence of decimal numbers with units ns, us, µs, ms, s, m, h:
 * `300ms`, `-1.5h`, `2h45m`, `1.000000001s`; a bare `0` is allowed.
 *
 * Errors (InvalidParameter, Go's texts): `time: invalid duration "x"`,
 * `time: missing unit in duration "1"`, `time: unknown unit "d" in duration "1d"`.
 */
export function parseDuration(s: string): number {
  return Number(parseDurationNs(s));
}

function parseDurationNs(orig: string): bigint {
  const bad = () => invalid(`time: invalid duration ${timeQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw bad();
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) throw bad();
    // Integer part; overflow past 2^63 is an error.
    let i = 0;
    let v = 0n;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > 1n << 63n) throw bad();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // Fraction: digits beyond what fits in 63 bits are ignored, as Go does.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (j < s.length && s[j] >= '0' && s[j] <= '9') {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (f > MAX_INT64 / 10n || y > 1n << 63n) overflow = true;
          else { f = y; scale *= 10; }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw bad();
    let u = 0;
    while (u < s.length && !(s[u] === '.' || (s[u] >= '0' && s[u] <= '9'))) u++;
    if (u === 0) throw invalid(`time: missing unit in duration ${timeQuote(orig)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) throw invalid(`time: unknown unit ${timeQuote(unitName)} in duration ${timeQuote(orig)}`);
    if (v > (1n << 63n) / unit) throw bad();
    v *= unit;
    if (f > 0n) {
      // Go computes the fraction in float64 (exact enough for hours to the nanosecond).
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > 1n << 63n) throw bad();
    }
    d += v;
    if (d > 1n << 63n) throw bad();
  }
  if (neg) return -d;
  if (d > MAX_INT64) throw bad();
  return d;
}

/** The time package's quote: non-ASCII and control bytes as \xNN, `"` and `\` escaped. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch)) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------
// Timestamps (`since`, `until`, `--since`, `--until`, `before`/`since` filters)

/**
 * moby's GetTimestamp: turns what a user typed into the string the API carries.
 *   a Go duration (`10m`, `1h30m`, `-5s`; not `0`) → now − duration, whole seconds: "1699999400"
 *   RFC 3339-like (`2006-01-02`, `2006-01-02T15`, `…T15:04`, `…T15:04:05`, with `.fraction`, with
 *   `Z` or `±hh:mm`; without a zone, in the zone of `now`) → "seconds.nanoseconds" (9 digits)
 *   a Unix timestamp (`1700000000`, `1700000000.5`) → unchanged
 * `now` is a Date or Unix seconds. Errors: Go's time parse error when the value contains '-',
 * otherwise `failed to parse value as time or duration: "…"`.
 */
export function getTimestamp(value: string, now: number | Date): string {
  if (value !== '0') {
    let d: bigint | undefined;
    try { d = parseDurationNs(value); } catch { d = undefined; }
    if (d !== undefined) return floorDiv(toNanos(now) - d, 1_000_000_000n).toString();
  }
  const local = !/[zZ+]/.test(value) && (value.match(/-/g) ?? []).length !== 3;
  let layout: string;
  if (value.includes('.')) {
    layout = local ? '2006-01-02T15:04:05.999999999' : '2006-01-02T15:04:05.999999999Z07:00';
  } else if (value.includes('T')) {
    let colons = (value.match(/:/g) ?? []).length;
    // A ±hh:mm zone brings one colon of its own.
    if (!local && !/[zZ]/.test(value) && colons > 0) colons--;
    const base = colons === 0 ? '2006-01-02T15' : colons === 1 ? '2006-01-02T15:04' : '2006-01-02T15:04:05';
    layout = local ? base : base + 'Z07:00';
  } else {
    layout = local ? '2006-01-02' : '2006-01-02Z07:00';
  }
  const offset = local ? localOffsetSeconds(now) : 0;
  const r = parseLayout(layout, value, offset);
  if (typeof r === 'string') {
    if (value.includes('-')) throw invalid(r);
    if (!parseUnix(value)) throw invalid(`failed to parse value as time or duration: ${goQuote(value)}`);
    return value;
  }
  return `${r.seconds}.${String(r.nanos).padStart(9, '0')}`;
}

/**
 * getTimestamp followed by moby's ParseTimestamps: Unix seconds as a float (nanoseconds beyond
 * float precision are lost). `now` is a Date or Unix seconds.
 *
 *   parseTimestamp('1700000000.123', now) → 1700000000.123
 *   parseTimestamp('2023-11-14T22:13:20Z', now) → 1700000000
 *   parseTimestamp('10m', 1700000000) → 1699999400
 */
export function parseTimestamp(value: string, now: number | Date): number {
  const s = getTimestamp(value, now);
  const p = parseUnix(s);
  if (!p) throw invalid(`failed to parse value as time or duration: ${goQuote(value)}`);
  return p.seconds + p.nanos / 1e9;
}

/** moby's parseTimestamp: "sec[.frac]" with Go ParseInt on both halves. */
function parseUnix(value: string): { seconds: number; nanos: number } | undefined {
  const dot = value.indexOf('.');
  const secPart = dot < 0 ? value : value.slice(0, dot);
  const sec = goParseInt(secPart);
  if (sec === undefined) return undefined;
  if (dot < 0) return { seconds: Number(sec), nanos: 0 };
  const fracPart = value.slice(dot + 1);
  const n = goParseInt(fracPart);
  if (n === undefined) return undefined;
  // "should already be in nanoseconds but just in case": scale by 10^(9 - len).
  const nanos = Math.trunc(Number(n) * Math.pow(10, 9 - fracPart.length));
  return { seconds: Number(sec), nanos };
}

function goParseInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v > MAX_INT64 || v < -(1n << 63n)) return undefined;
  return v;
}

function toNanos(now: number | Date): bigint {
  if (now instanceof Date) return BigInt(now.getTime()) * 1_000_000n;
  const sec = Math.floor(now);
  return BigInt(sec) * 1_000_000_000n + BigInt(Math.round((now - sec) * 1e9));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** Offset east of UTC, in seconds, of the local zone at `now` (Go: time.FixedZone(now.Zone())). */
function localOffsetSeconds(now: number | Date): number {
  const d = now instanceof Date ? now : new Date(now * 1000);
  return -d.getTimezoneOffset() * 60;
}

const LAYOUT_TOKENS = ['2006', '01', '02', '15', '04', '05', '.999999999', 'Z07:00'];

/**
 * A small port of Go's time.Parse for the layouts getTimestamp uses, with Go's error texts.
 * `offset` (seconds east of UTC) applies when the layout has no zone. Returns the error message
 * as a string on failure.
 */
function parseLayout(layout: string, value: string, offset: number): { seconds: number; nanos: number } | string {
  const avalue = value;
  const perr = (layoutElem: string, valueElem: string) =>
    `parsing time ${goQuote(avalue)} as ${goQuote(layout)}: cannot parse ${goQuote(valueElem)} as ${goQuote(layoutElem)}`;
  const rangeErr = (what: string) => `parsing time ${goQuote(avalue)}: ${what} out of range`;
  let year = 0, month = 1, day = 1, hour = 0, min = 0, sec = 0, nanos = 0;
  let zone: number | undefined; // seconds east of UTC, when the value carried one
  let rest = layout;
  while (rest !== '') {
    // Split off the literal prefix up to the next layout token.
    let at = rest.length;
    let tok = '';
    for (let i = 0; i < rest.length && !tok; i++) {
      for (const t of LAYOUT_TOKENS) if (rest.startsWith(t, i)) { at = i; tok = t; break; }
    }
    const prefix = rest.slice(0, at);
    rest = rest.slice(at + tok.length);
    for (let i = 0; i < prefix.length; i++) {
      if (value.length === 0 || value[0] !== prefix[i]) return perr(prefix, value);
      value = value.slice(1);
    }
    if (!tok) break;
    const hold = value;
    const num = (fixed: boolean): number | undefined => {
      if (!isDigit(value, 0)) return undefined;
      if (!isDigit(value, 1)) {
        if (fixed) return undefined;
        const n = value.charCodeAt(0) - 48;
        value = value.slice(1);
        return n;
      }
      const n = (value.charCodeAt(0) - 48) * 10 + value.charCodeAt(1) - 48;
      value = value.slice(2);
      return n;
    };
    let n: number | undefined;
    switch (tok) {
      case '2006':
        if (value.length < 4 || !/^[0-9]{4}/.test(value)) return perr(tok, hold);
        year = Number(value.slice(0, 4));
        value = value.slice(4);
        break;
      case '01':
        if ((n = num(true)) === undefined) return perr(tok, hold);
        if (n <= 0 || n > 12) return rangeErr('month');
        month = n;
        break;
      case '02':
        if ((n = num(true)) === undefined) return perr(tok, hold);
        day = n; // checked against the month below, as Go does
        break;
      case '15':
        if ((n = num(false)) === undefined) return perr(tok, hold);
        if (n >= 24) return rangeErr('hour');
        hour = n;
        break;
      case '04':
        if ((n = num(true)) === undefined) return perr(tok, hold);
        if (n >= 60) return rangeErr('minute');
        min = n;
        break;
      case '05': {
        if ((n = num(true)) === undefined) return perr(tok, hold);
        if (n >= 60) return rangeErr('second');
        sec = n;
        // A fraction in the value with none in the layout is still accepted (Go does).
        if (!rest.startsWith('.999999999') && value.length >= 2 && /[.,]/.test(value[0]) && isDigit(value, 1)) {
          let k = 2;
          while (k < value.length && isDigit(value, k)) k++;
          nanos = fracNanos(value.slice(1, k));
          value = value.slice(k);
        }
        break;
      }
      case '.999999999': {
        if (value.length < 2 || !/[.,]/.test(value[0]) || !isDigit(value, 1)) break; // omitted: fine
        let k = 1;
        while (k < value.length && isDigit(value, k)) k++;
        nanos = fracNanos(value.slice(1, k));
        value = value.slice(k);
        break;
      }
      case 'Z07:00': {
        if (value[0] === 'Z') { value = value.slice(1); zone = 0; break; }
        if (value.length < 6 || value[3] !== ':' || !/^[+-][0-9]{2}:[0-9]{2}/.test(value)) return perr(tok, hold);
        const hr = Number(value.slice(1, 3));
        const mm = Number(value.slice(4, 6));
        if (hr > 24) return rangeErr('time zone offset hour');
        if (mm > 60) return rangeErr('time zone offset minute');
        zone = (hr * 60 + mm) * 60 * (value[0] === '-' ? -1 : 1);
        value = value.slice(6);
        break;
      }
    }
  }
  if (value.length) return `parsing time ${goQuote(avalue)}: extra text: ${goQuote(value)}`;
  if (day < 1 || day > daysIn(month, year)) return `parsing time ${goQuote(avalue)}: day out of range`;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  return { seconds: d.getTime() / 1000 - (zone ?? offset), nanos };
}

function isDigit(s: string, i: number): boolean {
  return i < s.length && s[i] >= '0' && s[i] <= '9';
}

/** Go keeps at most 9 fractional digits and scales shorter ones up. */
function fracNanos(digits: string): number {
  return Number(digits.slice(0, 9).padEnd(9, '0'));
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// ---------------------------------------------------------------------------------------------
// CPUs

/**
 * docker's `--cpus`: a decimal (`1.5`, `.5`, `2e-1`) or a fraction (`3/2`) times 10^9, which must
 * come out whole. Errors: `failed to parse <v> as a rational number`, `value is too precise`.
 *
 *   parseCpus('1.5') → 1500000000   parseCpus('0.0000000001') → throws "value is too precise"
 */
export function parseCpus(value: string): number {
  const bad = () => invalid(`failed to parse ${value} as a rational number`);
  const NANO = 1_000_000_000n;
  let num: bigint;
  let den: bigint;
  const frac = /^([+-]?[0-9]+)\/([0-9]+)$/.exec(value);
  if (frac) {
    num = BigInt(frac[1]) * NANO;
    den = BigInt(frac[2]);
    if (den === 0n) throw bad();
  } else {
    const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(value);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw bad();
    const digits = m[2] + (m[3] ?? '');
    const exp = Number(m[4] ?? 0) - (m[3] ?? '').length + 9;
    if (Math.abs(exp) > 10_000) throw bad();
    num = BigInt((m[1] === '-' ? '-' : '') + digits) * (exp > 0 ? 10n ** BigInt(exp) : 1n);
    den = exp < 0 ? 10n ** BigInt(-exp) : 1n;
  }
  if (num % den !== 0n) throw invalid('value is too precise');
  // big.Int's Int64 keeps the low 64 bits of the magnitude and then applies the sign.
  const q = num / den;
  const mag = BigInt.asIntN(64, q < 0n ? -q : q);
  return Number(q < 0n ? -mag : mag);
}
