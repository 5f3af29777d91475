// Reading conmon's k8s-file logs back for `logs`. Each line is
//   <RFC3339Nano time> <stdout|stderr> <P|F> <content>
// where P marks a partial line (no newline followed it) and F a full one.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { watch } from 'node:fs';

export interface LogEntry { stream: 1 | 2; timeNs: bigint; time: string; data: Buffer }

export function parseK8sLine(line: string): LogEntry | undefined {
  return parseK8sRecord(Buffer.from(line));
}

/**
 * One k8s-file record (the bytes between two newlines). The content is decoded as UTF-8 and
 * encoded again, as reading the whole file as text did: invalid bytes become U+FFFD, as they do
 * in Docker's JSON log files. A line is split only at '\n' bytes, which never occur inside a
 * multi-byte character, so decoding per line gives what decoding the whole file gives.
 */
export function parseK8sRecord(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0) return undefined;
  const time = line.toString('latin1', 0, s1);
  const stream = line.toString('latin1', s1 + 1, s2) === 'stderr' ? 2 : 1;
  const partial = s3 === s2 + 2 && line[s2 + 1] === 0x50; // 'P'
  const content = line.toString('utf8', s3 + 1);
  return { stream, time, timeNs: parseTimeNs(time), data: Buffer.from(partial ? content : content + '\n') };
}

/** RFC3339 with nanoseconds → unix nanoseconds (Date has only milliseconds). */
export function parseTimeNs(t: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return 0n;
  const secs = BigInt(Math.floor(Date.parse(m[1] + m[3]) / 1000));
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return secs * 1_000_000_000n + frac;
}

/** Docker prints log timestamps as RFC3339Nano in UTC. */
export function formatTimeNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  sinceNs?: bigint;
  untilNs?: bigint;
  tail?: number; // -1 = all
  follow: boolean;
  /** Resolves when following should stop (the container is no longer running). */
  stopped?: () => boolean;
  signal?: AbortSignal;
}

/** Bytes read from a log file at a time: what `logs` holds of a file, whatever its size. */
const CHUNK = 64 * 1024;
/**
 * The longest record kept whole. conmon splits what a container writes into records of at most
 * its buffer size (8 KiB), so only a damaged file gets near this; longer lines are cut here
 * rather than grown without bound.
 */
const MAX_LINE = 1 << 20;
/** Enough of a record to read its time and stream (the backward pass reads nothing else). */
const HEAD_BYTES = 256;

export interface LineAt {
  /** The bytes between two '\n' (or the file's start or end), at most `maxLine` of them. */
  line: Buffer;
  /** Offset in the file of the line's first byte. */
  start: number;
}

/** Reads n bytes at pos into buf[0, n); bytes a shrunk file no longer has read as '\n' (empty lines, skipped). */
async function readAt(fh: FileHandle, buf: Buffer, n: number, pos: number): Promise<void> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) { buf.fill(0x0a, got, n); return; }
    got += bytesRead;
  }
}

/**
 * The lines of bytes [0, end) of a file, last first, read backwards in chunks: memory is one
 * chunk and one line whatever the file's size. Lines are what splitting on '\n' gives, so a
 * trailing '\n' is followed by one empty line, and text after the last '\n' is a line of its own.
 * Of a line longer than `maxLine` only its first `maxLine` bytes are kept.
 *
 *   "a\nbc\n" → { '', 5 }, { 'bc', 2 }, { 'a', 0 }
 */
export async function* linesBackward(fh: FileHandle, end: number, o: { chunk?: number; maxLine?: number } = {}): AsyncGenerator<LineAt> {
  const chunk = o.chunk ?? CHUNK;
  const maxLine = o.maxLine ?? MAX_LINE;
  const buf = Buffer.alloc(chunk);
  // The current line's bytes found so far, leftmost first (copies: buf is read into again).
  let pieces: Buffer[] = [];
  let len = 0;
  const prepend = (b: Buffer) => {
    pieces.unshift(b);
    len += b.length;
    // Reading backwards, the bytes found last are the line's first: drop from the right.
    while (len - pieces[pieces.length - 1].length >= maxLine) len -= pieces.pop()!.length;
  };
  const take = (): Buffer => {
    const line = Buffer.concat(pieces, len).subarray(0, maxLine);
    pieces = [];
    len = 0;
    return line;
  };
  for (let pos = end; pos > 0;) {
    const n = Math.min(chunk, pos);
    pos -= n;
    await readAt(fh, buf, n, pos);
    for (let hi = n; ;) {
      const nl = hi > 0 ? buf.lastIndexOf(0x0a, hi - 1) : -1;
      if (nl < 0) {
        if (hi > 0) prepend(Buffer.from(buf.subarray(0, hi)));
        break;
      }
      prepend(Buffer.from(buf.subarray(nl + 1, hi)));
      yield { line: take(), start: pos + nl + 1 };
      hi = nl;
    }
  }
  yield { line: take(), start: 0 };
}

/**
 * The lines of bytes [from, end) of a file, first first, read forwards in chunks (the same
 * splitting as linesBackward, `from` taken as a line start).
 */
export async function* linesForward(fh: FileHandle, from: number, end: number, o: { chunk?: number; maxLine?: number } = {}): AsyncGenerator<LineAt> {
  const chunk = o.chunk ?? CHUNK;
  const maxLine = o.maxLine ?? MAX_LINE;
  const buf = Buffer.alloc(chunk);
  let pieces: Buffer[] = [];
  let len = 0;
  let start = from;
  const append = (b: Buffer) => {
    if (len >= maxLine) return;
    pieces.push(b);
    len += b.length;
  };
  const take = (): Buffer => {
    const line = (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, len)).subarray(0, maxLine);
    pieces = [];
    len = 0;
    return line;
  };
  for (let pos = from; pos < end;) {
    const n = Math.min(chunk, end - pos);
    await readAt(fh, buf, n, pos);
    let lo = 0;
    for (let nl = buf.indexOf(0x0a, lo); nl >= 0 && nl < n; nl = buf.indexOf(0x0a, lo)) {
      append(buf.subarray(lo, nl));
      // Copied: the caller may keep it while buf is read into again.
      yield { line: Buffer.from(take()), start };
      lo = nl + 1;
      start = pos + lo;
    }
    if (lo < n) append(Buffer.from(buf.subarray(lo, n)));
    pos += n;
  }
  yield { line: Buffer.from(take()), start };
}

/** Offset just after the last '\n' in bytes [0, size), 0 when there is none (read backwards in chunks). */
async function afterLastNewline(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(Math.min(CHUNK, size));
  for (let pos = size; pos > 0;) {
    const n = Math.min(buf.length, pos);
    pos -= n;
    await readAt(fh, buf, n, pos);
    const nl = buf.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) return pos + nl + 1;
  }
  return 0;
}

/**
 * Yields the log entries of `files` (oldest first; rotated files before the live one), then,
 * with `follow`, the entries appended to the last file until the container stops.
 *
 * Memory stays flat whatever the logs' size (a 600 MB log once took 2 GB to `logs --tail 1`):
 * files are read in chunks of 64 KiB and entries go out one at a time. `tail` N is found
 * backwards from the end: the last file is read backwards, then the one before, counting the
 * entries that pass the filters until N are behind; from that entry on, the files are read
 * forwards as without `tail`. So `--tail 1` of a 1 GB log reads one chunk, and a large N reads
 * the part it shows twice instead of holding it. Like Docker, `tail` counts records (a line
 * conmon split into P records is several), after the stream and since/until filters.
 */
export async function* readLogs(files: string[], o: ReadLogsOptions): AsyncGenerator<LogEntry> {
  const want = (e: LogEntry) =>
    ((e.stream === 1 && o.stdout) || (e.stream === 2 && o.stderr)) &&
    (o.sinceNs === undefined || e.timeNs >= o.sinceNs) &&
    (o.untilNs === undefined || e.timeNs <= o.untilNs);
  let offset = 0;
  const live = files[files.length - 1];
  // Every file is opened first: a rotation during the dump renames files, and a handle keeps
  // reading the file it opened.
  const opened: { fh: FileHandle; end: number }[] = [];
  try {
    for (const f of files) {
      let fh: FileHandle;
      try { fh = await open(f, 'r'); } catch { continue; } // rotated away or removed since listed: nothing to read
      opened.push({ fh, end: 0 });
      const size = (await fh.stat()).size;
      // The live file's last line may still be being written; it is left for the follow phase.
      const end = f === live ? await afterLastNewline(fh, size) : size;
      opened[opened.length - 1].end = end;
      if (f === live) offset = end;
    }
    // Where the dump starts: file index and offset.
    let first = 0;
    let from = 0;
    const tail = o.tail !== undefined && o.tail >= 0 ? o.tail : -1;
    if (tail === 0) first = opened.length;
    else if (tail > 0) {
      let left = tail;
      search: for (let i = opened.length - 1; i >= 0; i--) {
        for await (const { line, start } of linesBackward(opened[i].fh, opened[i].end, { maxLine: HEAD_BYTES })) {
          if (!line.length) continue;
          const e = parseK8sRecord(line);
          if (e && want(e) && --left === 0) { first = i; from = start; break search; }
        }
      }
    }
    for (let i = first; i < opened.length; i++) {
      for await (const { line } of linesForward(opened[i].fh, i === first ? from : 0, opened[i].end)) {
        if (!line.length) continue;
        const e = parseK8sRecord(line);
        if (e && want(e)) yield e;
      }
    }
  } finally {
    // Read-only handles: a failed close loses nothing.
    for (const { fh } of opened) await fh.close().catch(() => {});
  }
  if (!o.follow || !live) return;

  // Follow: read what is appended, woken by inotify, with a slow poll as a safety net. Reading
  // goes through an open handle: when rotation renames the live file away, the handle still
  // reaches the rest of it, and only after draining it do we switch to the new file (a new
  // inode at the same path), so no line is lost or read twice across a rotation. Appended data
  // is read a chunk at a time, however much arrived since the last look.
  let wake: (() => void) | undefined;
  const poke = () => { const w = wake; wake = undefined; w?.(); };
  let watcher: ReturnType<typeof watch> | undefined;
  try { watcher = watch(dirname(live), poke); } catch { /* directory gone */ }
  const timer = setInterval(poke, 250);
  o.signal?.addEventListener('abort', poke);
  let fh: FileHandle | undefined;
  let ino = -1;
  const openLive = async (at: number) => {
    try {
      const h = await open(live, 'r');
      fh = h; ino = (await h.stat()).ino; offset = at;
    } catch { fh = undefined; } // not there (between rotation and reopen): the loop tries again
  };
  const buf = Buffer.alloc(CHUNK);
  // The start of a record whose '\n' has not been read yet.
  let pending: Buffer[] = [];
  let pendingLen = 0;
  await openLive(offset);
  if (fh && (await fh.stat()).size < offset) offset = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      if (!fh) await openLive(0);
      let grew = false;
      if (fh) {
        const size = (await fh.stat()).size;
        const { bytesRead } = size > offset ? await fh.read(buf, 0, Math.min(CHUNK, size - offset), offset) : { bytesRead: 0 };
        if (bytesRead > 0) {
          offset += bytesRead;
          grew = true;
          const view = buf.subarray(0, bytesRead);
          let lo = 0;
          for (let nl = view.indexOf(0x0a); nl >= 0; nl = view.indexOf(0x0a, lo)) {
            const piece = view.subarray(lo, nl);
            const line = pendingLen ? Buffer.concat([...pending, piece]) : piece;
            pending = [];
            pendingLen = 0;
            lo = nl + 1;
            if (!line.length) continue;
            const e = parseK8sRecord(line);
            if (e && want(e)) yield e;
            if (e && o.untilNs !== undefined && e.timeNs > o.untilNs) return;
          }
          if (lo < bytesRead && pendingLen < MAX_LINE) {
            pending.push(Buffer.from(view.subarray(lo)));
            pendingLen += bytesRead - lo;
          }
        } else {
          // Drained: has the path moved on to a new file (rotation)?
          const now = await stat(live).catch(() => undefined); // absent mid-rotation: keep the handle, look again
          if (now && now.ino !== ino) { await fh.close(); fh = undefined; pending = []; pendingLen = 0; await openLive(0); continue; }
        }
      }
      if (grew) continue;
      if (o.stopped?.()) {
        // One more look after the stop was observed: conmon may have flushed the last lines.
        const s2 = fh ? await fh.stat().catch(() => undefined) : undefined; // unreadable: nothing more to follow
        if (!s2 || s2.size <= offset) return;
        continue;
      }
      await new Promise<void>((r) => { wake = r; });
    }
  } finally {
    // Read-only handle: a failed close loses nothing.
    await fh?.close().catch(() => {});
    clearInterval(timer);
    watcher?.close();
    o.signal?.removeEventListener('abort', poke);
  }
}
