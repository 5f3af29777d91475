import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatTimeNs, linesBackward, linesForward, parseK8sLine, parseTimeNs, readLogs, type LineAt, type ReadLogsOptions } from './logs.ts';

test('k8s-file lines: full and partial lines, streams, nanosecond times', () => {
  const full = parseK8sLine('2026-11-22T21:06:32.533644671+00:00 stdout F hello world');
  assert.equal(full?.stream, 1);
  assert.equal(full?.data.toString(), 'hello world\n');
  assert.equal(full?.timeNs, 1795381592533644671n);
  const partial = parseK8sLine('2026-11-22T21:06:32.5+00:00 stderr P no newline');
  assert.equal(partial?.stream, 2);
  assert.equal(partial?.data.toString(), 'no newline');
  const empty = parseK8sLine('2026-11-22T21:06:32Z stdout F ');
  assert.equal(empty?.data.toString(), '\n');
  assert.equal(parseK8sLine('garbage'), undefined);
});

test('timestamps print as RFC3339Nano UTC like docker', () => {
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T21:06:32.533644671+00:00')), '2026-11-22T21:06:32.533644671Z');
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T23:06:32.5+02:00')), '2026-11-22T21:06:32.5Z');
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T21:06:32Z')), '2026-11-22T21:06:32Z');
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

async function collect(gen: AsyncGenerator<LineAt>): Promise<{ line: string; start: number }[]> {
  const out: { line: string; start: number }[] = [];
  for await (const l of gen) out.push({ line: l.line.toString('latin1'), start: l.start });
  return out;
}

/** What splitting on '\n' gives, with each piece's offset. */
function split(s: string): { line: string; start: number }[] {
  let start = 0;
  return s.split('\n').map((line) => { const r = { line, start }; start += line.length + 1; return r; });
}

test('line readers: backwards and forwards in small chunks give exactly the split of the file', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'f');
    const check = async (content: string, chunk: number) => {
      await writeFile(p, Buffer.from(content, 'latin1'));
      const fh = await open(p, 'r');
      try {
        const want = split(content);
        assert.deepEqual(await collect(linesBackward(fh, content.length, { chunk })), [...want].reverse(), `backward ${JSON.stringify(content)} chunk ${chunk}`);
        assert.deepEqual(await collect(linesForward(fh, 0, content.length, { chunk })), want, `forward ${JSON.stringify(content)} chunk ${chunk}`);
        // From any line start, forwards gives the rest.
        for (const w of want) assert.deepEqual(await collect(linesForward(fh, w.start, content.length, { chunk })), want.filter((x) => x.start >= w.start));
      } finally {
        await fh.close();
      }
    };
    await check('', 4);
    await check('\n', 4);
    await check('a\nbc\n', 1);
    await check('no newline at all', 4);
    await check('line one\nline two spans chunks\nlast without newline', 5);
    await check('\n\n\nx\n\n', 2);
    await check('crlf\r\nkept\r\n', 3);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.constantFrom('a', 'b', '\n', '\r', '\u00e9'), { maxLength: 60 }).map((a) => a.join('')),
      fc.integer({ min: 1, max: 9 }),
      check,
    ), { numRuns: 200 });
  });
});

test('line readers: a line longer than maxLine keeps its first maxLine bytes, memory stays bounded', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'f');
    const long = 'H'.repeat(10) + 'x'.repeat(5000);
    await writeFile(p, `${long}\nshort\n${long}`);
    const fh = await open(p, 'r');
    try {
      const size = (await fh.stat()).size;
      const back = await collect(linesBackward(fh, size, { chunk: 64, maxLine: 16 }));
      assert.deepEqual(back.map((l) => l.line), [long.slice(0, 16), 'short', long.slice(0, 16)]);
      assert.deepEqual(back.map((l) => l.start), [long.length + 7, long.length + 1, 0]);
      const fwd = await collect(linesForward(fh, 0, size, { chunk: 64, maxLine: 16 }));
      assert.deepEqual(fwd.map((l) => l.line), [long.slice(0, 16), 'short', long.slice(0, 16)]);
    } finally {
      await fh.close();
    }
  });
});

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** A conmon k8s-file record: `<RFC3339Nano> <stream> <P|F> <content>`. */
const rec = (sec: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', msg: string) =>
  `${new Date(T0 + sec * 1000).toISOString().replace('Z', '000000+00:00')} ${stream} ${tag} ${msg}\n`;
const secNs = (sec: number) => BigInt(T0 + sec * 1000) * 1_000_000n;

async function read(files: string[], o: Partial<ReadLogsOptions> = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readLogs(files, { stdout: true, stderr: true, follow: false, ...o })) out.push(`${e.stream}:${e.data.toString()}`);
  return out;
}

test('readLogs: tail counts records from the end over rotated files, with the stream and since/until filters', async () => {
  await withDir(async (dir) => {
    const log = join(dir, 'ctr.log');
    await writeFile(`${log}.2`, rec(1, 'stdout', 'F', 'one') + rec(2, 'stderr', 'F', 'two'));
    // A rotated file's last line without '\n' is a line (conmon wrote it whole; rotation cut after it).
    await writeFile(`${log}.1`, rec(3, 'stdout', 'P', 'thr') + rec(3, 'stdout', 'F', 'ee') + rec(4, 'stdout', 'F', 'four\r').slice(0, -1));
    // The live file's last line without '\n' is still being written: left for follow.
    await writeFile(log, rec(5, 'stderr', 'F', 'five') + rec(6, 'stdout', 'F', 'six') + rec(7, 'stdout', 'F', 'partial').slice(0, -1));
    const files = [`${log}.2`, `${log}.1`, log];
    const all = ['1:one\n', '2:two\n', '1:thr', '1:ee\n', '1:four\r\n', '2:five\n', '1:six\n'];
    assert.deepEqual(await read(files), all);
    assert.deepEqual(await read(files, { tail: -1 }), all);
    assert.deepEqual(await read(files, { tail: 0 }), []);
    assert.deepEqual(await read(files, { tail: 1 }), ['1:six\n']);
    assert.deepEqual(await read(files, { tail: 3 }), ['1:four\r\n', '2:five\n', '1:six\n']);
    // P and F records count one each, as Docker counts partial messages.
    assert.deepEqual(await read(files, { tail: 4 }), ['1:ee\n', '1:four\r\n', '2:five\n', '1:six\n']);
    assert.deepEqual(await read(files, { tail: 100 }), all);
    assert.deepEqual(await read(files, { tail: 2, stderr: false }), ['1:four\r\n', '1:six\n']);
    assert.deepEqual(await read(files, { tail: 2, stdout: false }), ['2:two\n', '2:five\n']);
    assert.deepEqual(await read(files, { sinceNs: secNs(3), untilNs: secNs(5) }), ['1:thr', '1:ee\n', '1:four\r\n', '2:five\n']);
    assert.deepEqual(await read(files, { tail: 2, untilNs: secNs(4) }), ['1:ee\n', '1:four\r\n']);
    assert.deepEqual(await read(files, { tail: 10, sinceNs: secNs(6) }), ['1:six\n']);
    // Missing rotated files and an empty live file.
    await writeFile(log, '');
    assert.deepEqual(await read([join(dir, 'gone.log.1'), log], { tail: 1 }), []);
    assert.deepEqual(await read([`${log}.1`, log], { tail: 1 }), ['1:four\r\n']);
  });
});

test('readLogs: records spanning the 64 KiB read chunks, multi-byte characters on the boundaries', async () => {
  await withDir(async (dir) => {
    const log = join(dir, 'ctr.log');
    const lines: string[] = [];
    let text = '';
    for (let i = 0; text.length < 300_000; i++) {
      const msg = `${i} ${'é€😀'.repeat(i % 97)}${'x'.repeat(i % 13)}`;
      lines.push(`1:${msg}\n`);
      text += rec(i, 'stdout', 'F', msg);
    }
    await writeFile(log, text);
    assert.deepEqual(await read([log]), lines);
    for (const n of [1, 2, 500, lines.length - 1]) assert.deepEqual(await read([log], { tail: n }), lines.slice(-n), `tail ${n}`);
  });
});

test('readLogs with follow: appended records are read in chunks, a record split across writes comes whole', async () => {
  await withDir(async (dir) => {
    const log = join(dir, 'ctr.log');
    await writeFile(log, rec(1, 'stdout', 'F', 'before') + rec(2, 'stdout', 'F', 'half'));
    let stopped = false;
    const ac = new AbortController();
    const it = readLogs([log], { stdout: true, stderr: true, follow: true, tail: 1, stopped: () => stopped, signal: ac.signal });
    const got: string[] = [];
    const first = await it.next();
    got.push(first.value!.data.toString());
    const fh = await open(log, 'a');
    const big = 'y'.repeat(200_000);
    const r = rec(3, 'stderr', 'F', big);
    await fh.write(r.slice(0, 100));
    await new Promise((res) => setTimeout(res, 50));
    await fh.write(r.slice(100) + rec(4, 'stdout', 'F', 'after'));
    await fh.close();
    stopped = true;
    for await (const e of it) got.push(e.data.toString());
    assert.deepEqual(got, ['half\n', `${big}\n`, 'after\n']);
  });
});
