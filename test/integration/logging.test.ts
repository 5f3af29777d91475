// Logging drivers and options: json-file/local rotation at max-size across max-file files (conmon
// writes, berthd rotates and asks conmon to reopen), `none`, Docker's texts for bad options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startDaemon, demux, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const LINES = 45_000; // ~4.7 MB of k8s-file records: well over three 1 MB files, so rotation must discard
// ~107 bytes per k8s-file record (35-byte timestamp, " stdout F ", "line N ", 50 bytes of padding):
// 30 000 lines ≈ 3.2 MB.
// Paced (a 50 ms pause every 1000 lines): rotation is asynchronous (berthd renames, conmon
// reopens between reads), so a flat-out flood can overshoot max-size by what is written before
// conmon honours the reopen (seen: +28% under full-suite load). That burst bound is a known
// limitation, noted on the issue; these tests check the rotation semantics.
const WRITER = ['sh', '-c', `p=${'x'.repeat(50)}; i=0; while [ $i -lt ${LINES} ]; do echo "line $i $p"; i=$((i+1)); if [ $((i % 1000)) = 0 ]; then sleep 0.05; fi; done`];

async function runToEnd(hostConfig: Record<string, unknown>, cmd = WRITER): Promise<{ id: string; logPath: string }> {
  const cr = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: cmd, HostConfig: hostConfig });
  assert.equal(cr.status, 201, cr.body.toString());
  const id = cr.json().Id as string;
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  const w = await d.api('POST', `/containers/${id}/wait`);
  assert.equal(w.json().StatusCode, 0);
  return { id, logPath: (await d.api('GET', `/containers/${id}/json`)).json().LogPath as string };
}

/** The log's files in its directory: name → size. */
function logFilesOnDisk(logPath: string): Map<string, number> {
  const base = basename(logPath);
  const out = new Map<string, number>();
  for (const n of readdirSync(dirname(logPath))) if (n.startsWith(base)) out.set(n.slice(base.length), statSync(join(dirname(logPath), n)).size);
  return out;
}

async function logLines(id: string, query = ''): Promise<number[]> {
  const r = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1${query}`);
  assert.equal(r.status, 200);
  const { stdout, stderr } = demux(r.body);
  assert.equal(stderr, '');
  const lines = stdout.split('\n').filter(Boolean);
  // conmon writes a line cut by its pipe-buffer read as a partial (P) record plus the rest: when
  // rotation deleted the file with the first part, the oldest kept line is only a tail (Docker's
  // rotation can cut partial entries the same way).
  if (lines.length && /^(\d* )?x+$/.test(lines[0])) lines.shift();
  return lines.map((l) => {
    const m = /^line (\d+) x{50}$/.exec(l);
    assert.ok(m, `unexpected line ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
}

function assertConsecutiveTo(nums: number[], last: number): void {
  for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1, `gap or duplicate at ${i}: ${nums[i - 1]} → ${nums[i]}`);
  assert.equal(nums[nums.length - 1], last);
}

const SLACK = 256 * 1024;

test('json-file max-size=1m,max-file=3: at most 3 files of ≈1 MB; logs reads them in order, nothing twice', async () => {
  const { id, logPath } = await runToEnd({ LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '3' } } });
  const files = logFilesOnDisk(logPath);
  assert.ok([...files.keys()].every((s) => ['', '.1', '.2'].includes(s)), `files: ${[...files.keys()].join(' ')}`);
  for (const [s, size] of files) assert.ok(size <= 1_000_000 + SLACK, `${s || '(live)'}: ${size} bytes`);
  const kept = [...files.values()].reduce((a, b) => a + b, 0);
  assert.ok(kept >= 1_900_000, `only ${kept} bytes kept`); // two full files at least: rotation, not truncation
  const nums = await logLines(id);
  assertConsecutiveTo(nums, LINES - 1);
  assert.ok(nums[0] > 0, 'the oldest output was rotated away');
  assert.ok(nums.length >= 17_000, `${nums.length} lines`);
  assert.deepEqual(await logLines(id, '&tail=3'), [LINES - 3, LINES - 2, LINES - 1]);
  // inspect shows what is in effect.
  const hc = (await d.api('GET', `/containers/${id}/json`)).json().HostConfig;
  assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '3' } });
  assert.equal((await d.api('DELETE', `/containers/${id}`)).status, 204);
  assert.equal(existsSync(dirname(logPath)), false);
});

test('local driver rotates too; max-file=1 keeps one file', async () => {
  const local = await runToEnd({ LogConfig: { Type: 'local', Config: { 'max-size': '500k', 'max-file': '2' } } });
  const lf = logFilesOnDisk(local.logPath);
  assert.ok([...lf.keys()].every((s) => ['', '.1'].includes(s)), `files: ${[...lf.keys()].join(' ')}`);
  for (const [s, size] of lf) assert.ok(size <= 500_000 + SLACK, `${s || '(live)'}: ${size} bytes`);
  assertConsecutiveTo(await logLines(local.id), LINES - 1);

  const one = await runToEnd({ LogConfig: { Type: 'json-file', Config: { 'max-size': '500k' } } });
  // max-file=1: the live file, plus the part of the last rotated file after its last max-size
  // boundary (<log>.keep), so the latest lines are never all dropped by an after-the-fact rotation.
  const of = logFilesOnDisk(one.logPath);
  assert.ok([...of.keys()].every((s) => ['', '.keep'].includes(s)), `files: ${[...of.keys()].join(' ')}`);
  for (const [s, size] of of) assert.ok(size <= 500_000 + SLACK, `${s || '(live)'}: ${size} bytes`);
  assertConsecutiveTo(await logLines(one.id), LINES - 1);
  for (const id of [local.id, one.id]) await d.api('DELETE', `/containers/${id}`);
});

test('default json-file keeps everything in one file', async () => {
  const { id, logPath } = await runToEnd({});
  const files = logFilesOnDisk(logPath);
  assert.deepEqual([...files.keys()], ['']);
  assert.ok(files.get('')! > 3_000_000, `${files.get('')} bytes`);
  const nums = await logLines(id);
  assert.equal(nums.length, LINES);
  assertConsecutiveTo(nums, LINES - 1);
  assert.deepEqual((await d.api('GET', `/containers/${id}/json`)).json().HostConfig.LogConfig, { Type: 'json-file', Config: {} });
  await d.api('DELETE', `/containers/${id}`);
});

test('none: no log file, and logs says the driver cannot read (501, Docker\'s text)', async () => {
  const { id, logPath } = await runToEnd({ LogConfig: { Type: 'none', Config: {} } }, ['sh', '-c', 'echo hidden; echo hidden >&2']);
  assert.equal(logPath, '');
  const dir = join(d.dataRoot, 'containers', id);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.log')), []);
  const r = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal(r.status, 501);
  assert.equal(r.json().message, 'configured logging driver does not support reading');
  await d.api('DELETE', `/containers/${id}`);
});

test('bad log options fail create with 400 and Docker\'s texts', async () => {
  const before = (await d.api('GET', '/containers/json?all=1')).json().length;
  const cases: [Record<string, unknown>, string][] = [
    [{ Type: 'json-file', Config: { foo: 'bar' } }, `unknown log opt 'foo' for json-file log driver`],
    [{ Type: 'local', Config: { foo: 'bar' } }, `unknown log opt 'foo' for log driver local`],
    [{ Type: 'nope' }, `logger: no log driver named 'nope' is registered`],
    [{ Config: { 'max-size': 'lots' } }, `invalid size: 'lots'`],
    [{ Config: { 'max-size': '0' } }, 'max-size must be a positive number'],
    [{ Config: { 'max-size': '1m', 'max-file': '0' } }, 'max-file cannot be less than 1'],
    [{ Config: { 'max-size': '1m', 'max-file': 'two' } }, 'strconv.Atoi: parsing "two": invalid syntax'],
    [{ Type: 'local', Config: { 'max-file': '1' } }, 'compression cannot be enabled when max file count is 1'],
    [{ Config: { mode: 'sometimes' } }, 'logger: logging mode not supported: sometimes'],
  ];
  for (const [lc, msg] of cases) {
    const r = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: lc } });
    assert.equal(r.status, 400, `${JSON.stringify(lc)}: ${r.body}`);
    assert.equal(r.json().message, msg);
  }
  assert.equal((await d.api('GET', '/containers/json?all=1')).json().length, before);
});

test('a berthd restart keeps rotating the logs of running containers', async () => {
  const cr = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sh', '-c', `sleep 2; ${WRITER[2]}`], HostConfig: { LogConfig: { Config: { 'max-size': '1m', 'max-file': '2' } } } });
  const id = cr.json().Id as string;
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  await d.restart({ kill9: true }); // the container writes only once the new berthd is up
  assert.equal((await d.api('POST', `/containers/${id}/wait`)).json().StatusCode, 0);
  const logPath = (await d.api('GET', `/containers/${id}/json`)).json().LogPath as string;
  const files = logFilesOnDisk(logPath);
  assert.ok([...files.keys()].every((s) => ['', '.1'].includes(s)), `files: ${[...files.keys()].join(' ')}`);
  for (const [s, size] of files) assert.ok(size <= 1_000_000 + SLACK, `${s || '(live)'}: ${size} bytes`);
  assertConsecutiveTo(await logLines(id), LINES - 1);
  await d.api('DELETE', `/containers/${id}`);
});
