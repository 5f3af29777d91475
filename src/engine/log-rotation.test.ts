import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, constants, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogRotator, logFiles, parseLogConfig, sendConmonReopen, CONMON_REOPEN_MESSAGE, LOCAL_DEFAULT_MAX_SIZE } from './log-rotation.ts';

// ------------------------------------------------------------------------------ parseLogConfig

test('parseLogConfig: drivers, defaults and Docker units (max-size is decimal: FromHumanSize)', () => {
  assert.deepEqual(parseLogConfig({}), { driver: 'json-file', maxFile: 1 });
  assert.deepEqual(parseLogConfig(undefined), { driver: 'json-file', maxFile: 1 });
  assert.deepEqual(parseLogConfig({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } }), { driver: 'json-file', maxSize: 10_000_000, maxFile: 3 });
  assert.deepEqual(parseLogConfig({ Config: { 'max-size': '1k' } }), { driver: 'json-file', maxSize: 1000, maxFile: 1 });
  // max-file without max-size: accepted, never rotates (Docker).
  assert.deepEqual(parseLogConfig({ Config: { 'max-file': '3' } }), { driver: 'json-file', maxFile: 3 });
  assert.deepEqual(parseLogConfig({ Type: 'local' }), { driver: 'local', maxSize: LOCAL_DEFAULT_MAX_SIZE, maxFile: 5 });
  assert.deepEqual(parseLogConfig({ Type: 'local', Config: { 'max-size': '1m', 'max-file': '2' } }), { driver: 'local', maxSize: 1_000_000, maxFile: 2 });
  assert.deepEqual(parseLogConfig({ Type: 'local', Config: { 'max-file': '1', compress: 'false' } }), { driver: 'local', maxSize: LOCAL_DEFAULT_MAX_SIZE, maxFile: 1 });
  // `none` takes any option (Docker's ValidateLogOpts returns at once).
  assert.deepEqual(parseLogConfig({ Type: 'none', Config: { foo: 'bar' } }), { driver: 'none', maxFile: 1 });
  // Options every driver accepts.
  assert.equal(parseLogConfig({ Config: { mode: 'non-blocking', 'max-buffer-size': '4m', tag: '{{.Name}}', labels: 'a', env: 'B' } }).driver, 'json-file');
  assert.equal(parseLogConfig({ Config: { compress: 'true', 'max-size': '1m', 'max-file': '2' } }).maxFile, 2);
});

test('parseLogConfig: Docker error texts', () => {
  const bad: [Parameters<typeof parseLogConfig>[0], string][] = [
    [{ Type: 'syslogx' }, `logger: no log driver named 'syslogx' is registered`],
    [{ Config: { foo: 'bar' } }, `unknown log opt 'foo' for json-file log driver`],
    [{ Type: 'local', Config: { tag: 'x' } }, `unknown log opt 'tag' for log driver local`],
    [{ Config: { 'max-size': 'abc' } }, `invalid size: 'abc'`],
    [{ Config: { 'max-size': '10x' } }, `invalid suffix: 'x'`],
    [{ Config: { 'max-size': '0' } }, 'max-size must be a positive number'],
    [{ Config: { 'max-size': '1m', 'max-file': '0' } }, 'max-file cannot be less than 1'],
    [{ Config: { 'max-size': '1m', 'max-file': 'x' } }, 'strconv.Atoi: parsing "x": invalid syntax'],
    [{ Config: { 'max-size': '1m', 'max-file': '99999999999999999999' } }, 'strconv.Atoi: parsing "99999999999999999999": value out of range'],
    [{ Config: { compress: 'yes' } }, 'strconv.ParseBool: parsing "yes": invalid syntax'],
    [{ Config: { compress: 'true', 'max-size': '1m' } }, 'compress cannot be true when max-file is less than 2 or max-size is not set'],
    [{ Config: { compress: 'true', 'max-file': '3' } }, 'compress cannot be true when max-file is less than 2 or max-size is not set'],
    [{ Type: 'local', Config: { 'max-size': 'abc' } }, `invalid value for max-size: abc: invalid size: 'abc'`],
    [{ Type: 'local', Config: { 'max-file': 'x' } }, 'invalid value for max-file: x: strconv.Atoi: parsing "x": invalid syntax'],
    [{ Type: 'local', Config: { 'max-file': '-1', compress: 'false' } }, 'max file count cannot be less than 0'],
    [{ Type: 'local', Config: { 'max-file': '1' } }, 'compression cannot be enabled when max file count is 1'],
    [{ Type: 'local', Config: { compress: 'nope' } }, 'error reading compress log option: strconv.ParseBool: parsing "nope": invalid syntax'],
    [{ Config: { mode: 'fast' } }, 'logger: logging mode not supported: fast'],
    [{ Config: { 'max-buffer-size': '1m' } }, `logger: max-buffer-size option is only supported with 'mode=non-blocking'`],
    [{ Config: { mode: 'non-blocking', 'max-buffer-size': 'lots' } }, `error parsing option max-buffer-size: invalid size: 'lots'`],
    [{ Config: { 'cache-disabled': 'maybe' } }, 'invalid value for option cache-disabled: maybe'],
  ];
  for (const [lc, msg] of bad) {
    assert.throws(() => parseLogConfig(lc), (e: Error & { kind?: string }) => {
      assert.equal(e.message, msg, JSON.stringify(lc));
      assert.equal(e.kind, 'InvalidParameter');
      return true;
    });
  }
});

// ------------------------------------------------------------------------------ logFiles

test('logFiles: rotated files that exist, oldest first, then always the live file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  try {
    const log = join(dir, 'c-json.log');
    assert.deepEqual(logFiles(log, 3), [log]);
    writeFileSync(`${log}.1`, '');
    writeFileSync(`${log}.2`, '');
    writeFileSync(`${log}.5`, ''); // beyond max-file: not ours to read
    assert.deepEqual(logFiles(log, 3), [`${log}.2`, `${log}.1`, log]);
    assert.deepEqual(logFiles(log, 1), [log]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

// ------------------------------------------------------------------------------ rotation

/** Writes the way conmon does: whole k8s-file records on one fd; reopen = conmon's reopen_k8s_file. */
class FakeConmon {
  fd: number;
  seq = 0;
  reopens = 0;
  constructor(readonly path: string) { this.fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600); }
  write(lines: number, pad = 60): void {
    let s = '';
    for (let i = 0; i < lines; i++) s += `2026-01-02T03:04:05.000000001+00:00 stdout F line ${this.seq++} ${'x'.repeat(pad)}\n`;
    writeSync(this.fd, s);
  }
  reopen(): void {
    this.reopens++;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_TRUNC | constants.O_CREAT, 0o600);
    closeSync(this.fd);
    this.fd = fd;
    renameSync(tmp, this.path);
  }
  close(): void { closeSync(this.fd); }
}

function seqs(files: string[]): number[] {
  const out: number[] = [];
  for (const f of files) {
    let t = '';
    try { t = readFileSync(f, 'utf8'); } catch { continue; }
    for (const l of t.split('\n')) if (l) out.push(Number(/ line (\d+) /.exec(l)![1]));
  }
  return out;
}

function assertConsecutive(s: number[], last: number): void {
  assert.ok(s.length > 0);
  for (let i = 1; i < s.length; i++) assert.equal(s[i], s[i - 1] + 1, `gap or duplicate at ${i}: ${s[i - 1]} → ${s[i]}`);
  assert.equal(s[s.length - 1], last);
}

const tick = () => new Promise((r) => setTimeout(r, 1));

async function writeMegabytes(c: FakeConmon, mb: number): Promise<void> {
  // ~100-byte records in 8 KiB bursts, like conmon draining a pipe buffer.
  const records = Math.ceil((mb * 1_000_000) / 100);
  for (let n = 0; n < records; n += 80) { c.write(80); await tick(); }
}

test('rotation: 3 MB with max-size 1m, max-file 3 keeps 3 files ≤ ~1 MB, in order, nothing lost within', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  const log = join(dir, 'c-json.log');
  const c = new FakeConmon(log);
  const errors: unknown[] = [];
  const r = new LogRotator({ reopen: async () => { setImmediate(() => c.reopen()); return true; }, onError: (_id, e) => errors.push(e) });
  try {
    r.watch('c', log, join(dir, 'ctl'), { maxSize: 1_000_000, maxFile: 3 });
    await writeMegabytes(c, 3.5);
    await r.unwatch('c');
    assert.deepEqual(errors, []);
    assert.ok(c.reopens >= 3, `reopens ${c.reopens}`);
    const names = readdirSync(dir).sort();
    assert.ok(names.every((n) => /^c-json\.log(\.[12])?$/.test(n)), names.join(' '));
    for (const n of names) assert.ok(statSync(join(dir, n)).size <= 1_000_000 + 64 * 1024, `${n}: ${statSync(join(dir, n)).size}`);
    const s = seqs(logFiles(log, 3));
    assertConsecutive(s, c.seq - 1);
    const kept = names.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.ok(kept > 1_900_000, `kept ${kept} bytes`);
  } finally { r.close(); c.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('rotation: max-file 1 keeps only what follows the last max-size boundary, and the newest output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  const log = join(dir, 'c-json.log');
  const c = new FakeConmon(log);
  const r = new LogRotator({ reopen: async () => { setImmediate(() => c.reopen()); return true; } });
  try {
    r.watch('c', log, join(dir, 'ctl'), { maxSize: 500_000, maxFile: 1 });
    await writeMegabytes(c, 2);
    await r.unwatch('c');
    assert.ok(readdirSync(dir).every((n) => n === 'c-json.log' || n === 'c-json.log.keep'), readdirSync(dir).join(' '));
    assert.ok(statSync(log).size <= 500_000 + 64 * 1024);
    if (existsSync(`${log}.keep`)) assert.ok(statSync(`${log}.keep`).size <= 500_000);
    assertConsecutive(seqs(logFiles(log, 1)), c.seq - 1);
  } finally { r.close(); c.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('rotation: a lost reopen message is sent again; conmon gone means renames only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  const log = join(dir, 'c-json.log');
  const c = new FakeConmon(log);
  let calls = 0;
  const r = new LogRotator({ reopenTimeoutMs: 50, reopen: async () => { if (++calls > 1) setImmediate(() => c.reopen()); return true; } });
  try {
    c.write(12_000);
    r.watch('c', log, join(dir, 'ctl'), { maxSize: 1_000_000, maxFile: 2 });
    for (let i = 0; i < 200 && c.reopens === 0; i++) await tick();
    assert.equal(calls, 2);
    assert.equal(c.reopens, 1);
    assert.equal(statSync(log).size, 0);
    await r.unwatch('c');

    // The container has exited: its conmon no longer reads ctl (reopen reports false).
    c.write(12_000);
    const gone = new LogRotator({ reopen: async () => false });
    gone.watch('c', log, join(dir, 'ctl'), { maxSize: 1_000_000, maxFile: 2 });
    await gone.unwatch('c'); // waits for the check that watch() started
    assert.deepEqual(readdirSync(dir).sort(), ['c-json.log.1']);
  } finally { r.close(); c.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('unwatch rotates a live file left over the limit (conmon drained it before exiting), except with max-file 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  const log = join(dir, 'c-json.log');
  const big = '2026-01-02T03:04:05Z stdout F '.padEnd(99, 'x') + '\n';
  const r = new LogRotator({ pollMs: 3_600_000, reopen: async () => false });
  try {
    for (const [maxFile, expect] of [[3, ['c-json.log.1']], [1, ['c-json.log']]] as const) {
      rmSync(log, { force: true });
      rmSync(`${log}.1`, { force: true });
      r.watch('c', log, join(dir, 'ctl'), { maxSize: 1_000_000, maxFile });
      await new Promise((res) => setTimeout(res, 20)); // the first check finds no file
      // One synchronous stretch: no inotify event is handled before unwatch, only its final check acts.
      writeFileSync(log, big.repeat(12_000));
      await r.unwatch('c');
      assert.deepEqual(readdirSync(dir).sort(), expect);
      assert.equal(r.watching('c'), false);
    }
  } finally { r.close(); rmSync(dir, { recursive: true, force: true }); }
});

// ------------------------------------------------------------------------------ conmon's ctl fifo

test('sendConmonReopen writes "2 0 0\\n" (conmon 2.1.6 needs three integers) and reports a missing reader', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logrot-'));
  try {
    const fifo = join(dir, 'ctl');
    assert.equal(await sendConmonReopen(fifo), false); // no such file
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assert.equal(await sendConmonReopen(fifo), false); // nobody reading: ENXIO, no hang
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      assert.equal(await sendConmonReopen(fifo), true);
      const buf = Buffer.alloc(64);
      const n = readSync(rd, buf);
      assert.equal(buf.subarray(0, n).toString(), CONMON_REOPEN_MESSAGE);
      assert.equal(CONMON_REOPEN_MESSAGE, '2 0 0\n');
    } finally { closeSync(rd); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
