import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import {
  parseBytes, fromHumanSize, humanSize, bytesSize, formatG, humanDuration, parseDuration,
  getTimestamp, parseTimestamp, parseCpus,
} from './units.ts';

function invalidWith(msg: string) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;
}

const KiB = 1024, MiB = KiB ** 2, GiB = KiB ** 3, TiB = KiB ** 4, PiB = KiB ** 5;

test('parseBytes follows RAMInBytes', () => {
  const cases: Array<[string, number]> = [
    ['32', 32], ['32b', 32], ['32B', 32], ['32k', 32 * KiB], ['32K', 32 * KiB], ['32kb', 32 * KiB],
    ['32Kb', 32 * KiB], ['32Kib', 32 * KiB], ['32KIB', 32 * KiB], ['32Mb', 32 * MiB], ['32Gb', 32 * GiB],
    ['32Tb', 32 * TiB], ['32Pb', 32 * PiB], ['32PB', 32 * PiB], ['32P', 32 * PiB], ['512m', 536870912],
    ['32.3', 32], ['32.3 mb', Math.trunc(32.3 * MiB)], ['0.3MB', Math.trunc(0.3 * MiB)],
    ['1.5g', 1.5 * GiB], ['.5k', 512], ['5.k', 5 * KiB], ['10 ', 10], ['1e3', 1000], ['1_000', 1000], ['0', 0],
  ];
  for (const [s, want] of cases) assert.equal(parseBytes(s), want, s);
});

test('parseBytes errors carry go-units and strconv texts', () => {
  assert.throws(() => parseBytes(''), invalidWith("invalid size: ''"));
  assert.throws(() => parseBytes('hello'), invalidWith("invalid size: 'hello'"));
  assert.throws(() => parseBytes('-32'), invalidWith("invalid size: '-32'"));
  assert.throws(() => parseBytes('32bm'), invalidWith("invalid suffix: 'bm'"));
  assert.throws(() => parseBytes('32x'), invalidWith("invalid suffix: 'x'"));
  assert.throws(() => parseBytes('32kbb'), invalidWith("invalid suffix: 'kbb'"));
  assert.throws(() => parseBytes('32mi'), invalidWith("invalid suffix: 'mi'"));
  assert.throws(() => parseBytes('32KIBB'), invalidWith("invalid suffix: 'KIBB'"));
  assert.throws(() => parseBytes(' 32 '), invalidWith('strconv.ParseFloat: parsing " 32": invalid syntax'));
  assert.throws(() => parseBytes('32m b'), invalidWith('strconv.ParseFloat: parsing "32m": invalid syntax'));
  assert.throws(() => parseBytes('1.5.5'), invalidWith('strconv.ParseFloat: parsing "1.5.5": invalid syntax'));
  assert.throws(() => parseBytes('1__0'), invalidWith('strconv.ParseFloat: parsing "1__0": invalid syntax'));
  assert.throws(() => parseBytes('1e999'), invalidWith('strconv.ParseFloat: parsing "1e999": value out of range'));
});

test('fromHumanSize uses powers of 1000', () => {
  assert.equal(fromHumanSize('32k'), 32_000);
  assert.equal(fromHumanSize('32.5 kB'), 32_500);
  assert.equal(fromHumanSize('32.5 B'), 32);
  assert.equal(fromHumanSize('0.3 K'), 300);
  assert.equal(fromHumanSize('32Pb'), 32e15);
});

test('formatG matches Go %g: rounding, trailing zeros, exponent form', () => {
  const cases: Array<[number, number, string]> = [
    [0, 3, '0'], [1, 3, '1'], [1.5, 3, '1.5'], [100, 3, '100'], [10.5, 3, '10.5'], [4.26, 3, '4.26'],
    [1.125, 3, '1.12'], [10.25, 3, '10.2'], [10.35, 3, '10.3'], [1.126, 3, '1.13'], [2.675, 3, '2.67'],
    [999.9, 3, '1e+03'], [999.4, 3, '999'], [123456, 3, '1.23e+05'], [0.000123456, 3, '0.000123'],
    [0.0000123, 3, '1.23e-05'], [9.995, 3, '9.99'], [9.9951, 3, '10'], [1e21, 4, '1e+21'],
    [1.0485760000000001, 4, '1.049'], [10000, 4, '1e+04'], [1048.576, 4, '1049'], [0.5, 1, '0.5'],
    [-1500, 3, '-1.5e+03'], [2.5, 1, '2'], [3.5, 1, '4'], [5e-324, 3, '4.94e-324'], [123.456, 0, '1e+02'],
  ];
  for (const [x, p, want] of cases) assert.equal(formatG(x, p), want, `${x} %.${p}g`);
  assert.equal(formatG(NaN, 3), 'NaN');
  assert.equal(formatG(Infinity, 3), '+Inf');
  assert.equal(formatG(-Infinity, 3), '-Inf');
});

test('humanSize: decimal units, 3 significant digits by default', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1500), '1.5kB');
  assert.equal(humanSize(1125), '1.12kB');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(4_265_000), '4.26MB');
  assert.equal(humanSize(999_999), '1e+03kB');
  assert.equal(humanSize(1.2e9), '1.2GB');
  assert.equal(humanSize(1e30), '1e+06YB');
});

test('humanSize with precision 4 is go-units HumanSize', () => {
  assert.equal(humanSize(1000, 4), '1kB');
  assert.equal(humanSize(1024, 4), '1.024kB');
  assert.equal(humanSize(1000000, 4), '1MB');
  assert.equal(humanSize(1048576, 4), '1.049MB');
  assert.equal(humanSize(2e6, 4), '2MB');
  assert.equal(humanSize(3.42e9, 4), '3.42GB');
  assert.equal(humanSize(5.372e12, 4), '5.372TB');
  assert.equal(humanSize(2.22e15, 4), '2.22PB');
  assert.equal(humanSize(1e13 * 1e15, 4), '1e+04YB');
});

test('bytesSize is go-units BytesSize', () => {
  assert.equal(bytesSize(0), '0B');
  assert.equal(bytesSize(1536), '1.5KiB');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1024 * 1024), '1MiB');
  assert.equal(bytesSize(2 * MiB), '2MiB');
  assert.equal(bytesSize(3.42 * GiB), '3.42GiB');
  assert.equal(bytesSize(5.372 * TiB), '5.372TiB');
  assert.equal(bytesSize(2.22 * PiB), '2.22PiB');
  assert.equal(bytesSize(KiB ** 5 * PiB), '1.049e+06YiB');
});

test('humanDuration is go-units HumanDuration', () => {
  const s = 1000, min = 60 * s, h = 60 * min, day = 24 * h, week = 7 * day, month = 30 * day, year = 365 * day;
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'], [-5 * s, 'Less than a second'], [450, 'Less than a second'],
    [s, '1 second'], [1999, '1 second'], [45 * s, '45 seconds'], [59 * s, '59 seconds'],
    [60 * s, 'About a minute'], [119 * s, 'About a minute'], [3 * min, '3 minutes'],
    [35 * min + 40 * s, '35 minutes'], [59 * min, '59 minutes'], [h, 'About an hour'],
    [h + 29 * min, 'About an hour'], [h + 30 * min, '2 hours'], [h + 31 * min, '2 hours'],
    [3 * h + 29 * min, '3 hours'], [3 * h + 31 * min, '4 hours'], [24 * h, '24 hours'],
    [day + 12 * h, '36 hours'], [2 * day, '2 days'], [7 * day, '7 days'], [13 * day + 5 * h, '13 days'],
    [2 * week, '2 weeks'], [2 * week + 4 * day, '2 weeks'], [3 * week, '3 weeks'], [4 * week + 3 * day, '4 weeks'],
    [month, '4 weeks'], [month + 2 * week, '6 weeks'], [2 * month, '2 months'], [3 * month + week, '3 months'],
    [5 * month + 2 * week, '5 months'], [13 * month, '13 months'], [24 * month, '24 months'],
    [24 * month + 2 * week, '2 years'], [3 * year + 2 * month, '3 years'], [NaN, 'Less than a second'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

test('parseDuration is time.ParseDuration, in nanoseconds', () => {
  const cases: Array<[string, number]> = [
    ['0', 0], ['+0', 0], ['-0', 0], ['1h30m', 5.4e12], ['300ms', 3e8], ['-1.5h', -5.4e12], ['2h45m', 9.9e12],
    ['1.000000001s', 1_000_000_001], ['.5s', 5e8], ['5.s', 5e9], ['1ns', 1], ['1us', 1000],
    ['1\u00b5s', 1000], ['1\u03bcs', 1000], ['1.5ms', 1_500_000], ['10s', 1e10], ['1m0s', 6e10],
    ['0.1ns', 0], ['1h1m1s1ms1us1ns', 3_661_001_001_001], ['9007199254740992ns', 9007199254740992],
  ];
  for (const [s, want] of cases) assert.equal(parseDuration(s), want, s);
  assert.equal(parseDuration('-9223372036854775808ns'), -9223372036854775808);
  assert.equal(parseDuration('9223372036854775807ns'), 9223372036854775807);
});

test('parseDuration errors carry Go texts', () => {
  assert.throws(() => parseDuration(''), invalidWith('time: invalid duration ""'));
  assert.throws(() => parseDuration('-'), invalidWith('time: invalid duration "-"'));
  assert.throws(() => parseDuration('.s'), invalidWith('time: invalid duration ".s"'));
  assert.throws(() => parseDuration('s'), invalidWith('time: invalid duration "s"'));
  assert.throws(() => parseDuration('1'), invalidWith('time: missing unit in duration "1"'));
  assert.throws(() => parseDuration('1.5.5s'), invalidWith('time: missing unit in duration "1.5.5s"'));
  assert.throws(() => parseDuration('1d'), invalidWith('time: unknown unit "d" in duration "1d"'));
  assert.throws(() => parseDuration('1\u00b5'), invalidWith('time: unknown unit "\\xc2\\xb5" in duration "1\\xc2\\xb5"'));
  assert.throws(() => parseDuration('9223372036854775808ns'), invalidWith('time: invalid duration "9223372036854775808ns"'));
  assert.throws(() => parseDuration('3000000h'), invalidWith('time: invalid duration "3000000h"'));
  assert.throws(() => parseDuration('99999999999999999999s'), invalidWith('time: invalid duration "99999999999999999999s"'));
});

const NOW = 1700000000; // 2023-11-14T22:13:20Z

test('timestamps: durations count back from now, in whole seconds', () => {
  assert.equal(parseTimestamp('10m', NOW), NOW - 600);
  assert.equal(parseTimestamp('1h30m', NOW), NOW - 5400);
  assert.equal(parseTimestamp('-10m', NOW), NOW + 600);
  assert.equal(parseTimestamp('1ns', NOW), NOW - 1);
  assert.equal(parseTimestamp('1ms', NOW + 0.5), NOW);
  assert.equal(parseTimestamp('10m', new Date(NOW * 1000)), NOW - 600);
  assert.equal(getTimestamp('10m', NOW), '1699999400');
});

test('timestamps: Unix seconds pass through', () => {
  assert.equal(parseTimestamp('0', NOW), 0);
  assert.equal(parseTimestamp('1700000000', NOW), 1700000000);
  assert.equal(parseTimestamp('1700000000.123', NOW), 1700000000.123);
  assert.equal(parseTimestamp('1700000000.5', NOW), 1700000000.5);
  assert.equal(parseTimestamp('1700000000.000000001', NOW), 1700000000 + 1e-9);
  assert.equal(parseTimestamp('+5', NOW), 5);
  assert.equal(getTimestamp('1700000000.5', NOW), '1700000000.5');
  assert.equal(getTimestamp('0', NOW), '0');
});

test('timestamps: RFC 3339 forms with a zone', () => {
  process.env.TZ = 'UTC';
  assert.equal(parseTimestamp('2023-11-14T22:13:20Z', NOW), NOW);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.5Z', NOW), NOW + 0.5);
  assert.equal(parseTimestamp('2023-11-14T22:13:20,25Z', NOW), NOW + 0.25);
  assert.equal(parseTimestamp('2023-11-14T23:13:20+01:00', NOW), NOW);
  assert.equal(parseTimestamp('2023-11-14T17:13:20-05:00', NOW), NOW);
  assert.equal(parseTimestamp('2023-11-14T17:13:20.250-05:00', NOW), NOW + 0.25);
  assert.equal(parseTimestamp('2023-11-14T22:13Z', NOW), NOW - 20);
  assert.equal(parseTimestamp('2023-11-14T23+01:00', NOW), NOW - 800);
  assert.equal(parseTimestamp('2023-11-14Z', NOW), 1699920000);
  assert.equal(parseTimestamp('2023-11-14+01:00', NOW), 1699920000 - 3600);
  assert.equal(getTimestamp('2023-11-14T22:13:20.5Z', NOW), '1700000000.500000000');
  assert.equal(getTimestamp('2023-11-14T22:13:20.1234567891Z', NOW), '1700000000.123456789');
  assert.equal(getTimestamp('1969-12-31T23:59:00Z', NOW), '-60.000000000');
  assert.equal(getTimestamp('0001-01-01T00:00:00Z', NOW), '-62135596800.000000000');
});

test('timestamps: forms without a zone are in the zone of now', () => {
  process.env.TZ = 'UTC';
  assert.equal(parseTimestamp('2023-11-14', NOW), 1699920000);
  assert.equal(parseTimestamp('2023-11-14T22', NOW), NOW - 800);
  assert.equal(parseTimestamp('2023-11-14T22:13', NOW), NOW - 20);
  assert.equal(parseTimestamp('2023-11-14T22:13:20', NOW), NOW);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.75', NOW), NOW + 0.75);
  assert.equal(parseTimestamp('2023-11-14T2:13', NOW), 1699927980, 'Go accepts a one-digit hour');
  process.env.TZ = 'Asia/Kolkata'; // +05:30, no DST
  try {
    assert.equal(parseTimestamp('2023-11-14T22:13:20', NOW), NOW - 19800);
    assert.equal(parseTimestamp('2023-11-14', NOW), 1699920000 - 19800);
    assert.equal(parseTimestamp('2023-11-14T22:13:20Z', NOW), NOW, 'an explicit zone wins');
  } finally {
    process.env.TZ = 'UTC';
  }
});

test('timestamps: errors', () => {
  assert.throws(() => parseTimestamp('abc', NOW), invalidWith('failed to parse value as time or duration: "abc"'));
  assert.throws(() => parseTimestamp('1700000000.', NOW),
    invalidWith('failed to parse value as time or duration: "1700000000."'));
  assert.throws(() => parseTimestamp('2023-13-01', NOW), invalidWith('parsing time "2023-13-01": month out of range'));
  assert.throws(() => parseTimestamp('2023-02-29', NOW), invalidWith('parsing time "2023-02-29": day out of range'));
  assert.doesNotThrow(() => parseTimestamp('2024-02-29', NOW));
  assert.throws(() => parseTimestamp('2023-11-14T24:00', NOW), invalidWith('parsing time "2023-11-14T24:00": hour out of range'));
  assert.throws(() => parseTimestamp('2023-11-14T22:60', NOW), invalidWith('parsing time "2023-11-14T22:60": minute out of range'));
  assert.throws(() => parseTimestamp('2023-1-01', NOW),
    invalidWith('parsing time "2023-1-01" as "2006-01-02": cannot parse "1-01" as "01"'));
  assert.throws(() => parseTimestamp('23-11-14', NOW),
    invalidWith('parsing time "23-11-14" as "2006-01-02": cannot parse "23-11-14" as "2006"'));
  assert.throws(() => parseTimestamp('2023/11/14', NOW),
    invalidWith('failed to parse value as time or duration: "2023/11/14"'));
  assert.throws(() => parseTimestamp('2023-11-14 22:13:20', NOW),
    invalidWith('parsing time "2023-11-14 22:13:20": extra text: " 22:13:20"'));
  assert.throws(() => parseTimestamp('2023-11-14T22:13:20Zjunk', NOW),
    invalidWith('parsing time "2023-11-14T22:13:20Zjunk": extra text: "junk"'));
  assert.throws(() => parseTimestamp('2023-11-14T22:13:20+0100', NOW),
    // The zone's missing colon makes docker pick the HH:MM layout, as Go's code does.
    invalidWith('parsing time "2023-11-14T22:13:20+0100" as "2006-01-02T15:04Z07:00": cannot parse ":20+0100" as "Z07:00"'));
});

test('parseCpus gives NanoCpus', () => {
  assert.equal(parseCpus('1.5'), 1_500_000_000);
  assert.equal(parseCpus('2'), 2_000_000_000);
  assert.equal(parseCpus('0.5'), 500_000_000);
  assert.equal(parseCpus('.5'), 500_000_000);
  assert.equal(parseCpus('1.'), 1_000_000_000);
  assert.equal(parseCpus('3/2'), 1_500_000_000);
  assert.equal(parseCpus('1e-3'), 1_000_000);
  assert.equal(parseCpus('2E1'), 20_000_000_000);
  assert.equal(parseCpus('0.000000001'), 1);
  assert.equal(parseCpus('+0.25'), 250_000_000);
  assert.equal(parseCpus('-1'), -1_000_000_000);
  assert.equal(parseCpus('0'), 0);
  assert.throws(() => parseCpus('0.0000000001'), invalidWith('value is too precise'));
  assert.throws(() => parseCpus('1/3'), invalidWith('value is too precise'));
  for (const bad of ['', 'abc', '.', '1/0', '1.5.5', 'e5', '1/-2', ' 1']) {
    assert.throws(() => parseCpus(bad), invalidWith(`failed to parse ${bad} as a rational number`), bad);
  }
});
