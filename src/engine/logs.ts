// Reading conmon's k8s-file logs back for `logs`. Each line is
//   <RFC3339Nano time> <stdout|stderr> <P|F> <content>
// where P marks a partial line (no newline followed it) and F a full one.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { watch } from 'node:fs';

export interface LogEntry { stream: 1 | 2; timeNs: bigint; time: string; data: Buffer }

export function parseK8sLine(line: string): LogEntry | undefined {
  const s1 = line.indexOf(' ');
  const s2 = line.indexOf(' ', s1 + 1);
  const s3 = line.indexOf(' ', s2 + 1);
  if (s1 < 0 || s2 < 0 || s3 < 0) return undefined;
  const time = line.slice(0, s1);
  const stream = line.slice(s1 + 1, s2) === 'stderr' ? 2 : 1;
  const tag = line.slice(s2 + 1, s3);
  const content = line.slice(s3 + 1);
  return { stream, time, timeNs: parseTimeNs(time), data: Buffer.from(tag === 'P' ? content : content + '\n') };
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

/**
 * Yields the log entries of `files` (oldest first; rotated files before the live one), then,
 * with `follow`, the entries appended to the last file until the container stops.
 */
export async function* readLogs(files: string[], o: ReadLogsOptions): AsyncGenerator<LogEntry> {
  const want = (e: LogEntry) =>
    ((e.stream === 1 && o.stdout) || (e.stream === 2 && o.stderr)) &&
    (o.sinceNs === undefined || e.timeNs >= o.sinceNs) &&
    (o.untilNs === undefined || e.timeNs <= o.untilNs);
  const entries: LogEntry[] = [];
  let offset = 0;
  let pending = '';
  const live = files[files.length - 1];
  for (const f of files) {
    let buf: Buffer;
    try {
      const fh = await open(f, 'r');
      try { buf = await fh.readFile(); } finally { await fh.close(); }
    } catch { continue; }
    const text = buf.toString('utf8');
    let lines = text.split('\n');
    if (f === live) {
      // The last line may still be being written; keep it for the follow phase.
      const lastNl = buf.lastIndexOf(0x0a);
      offset = lastNl + 1;
      pending = '';
      lines = buf.subarray(0, offset).toString('utf8').split('\n');
    }
    for (const l of lines) {
      if (!l) continue;
      const e = parseK8sLine(l);
      if (e && want(e)) entries.push(e);
    }
  }
  const start = o.tail !== undefined && o.tail >= 0 ? Math.max(0, entries.length - o.tail) : 0;
  for (let i = start; i < entries.length; i++) yield entries[i];
  if (!o.follow || !live) return;

  // Follow: read what is appended, woken by inotify, with a slow poll as a safety net. Reading
  // goes through an open handle: when rotation renames the live file away, the handle still
  // reaches the rest of it, and only after draining it do we switch to the new file (a new
  // inode at the same path), so no line is lost or read twice across a rotation.
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
    } catch { fh = undefined; }
  };
  await openLive(offset);
  if (fh && (await fh.stat()).size < offset) offset = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      if (!fh) await openLive(0);
      let grew = false;
      if (fh) {
        const size = (await fh.stat()).size;
        if (size > offset) {
          const chunk = Buffer.alloc(size - offset);
          await fh.read(chunk, 0, chunk.length, offset);
          offset = size;
          grew = true;
          const lines = (pending + chunk.toString('utf8')).split('\n');
          pending = lines.pop() ?? '';
          for (const l of lines) {
            if (!l) continue;
            const e = parseK8sLine(l);
            if (e && want(e)) yield e;
            if (e && o.untilNs !== undefined && e.timeNs > o.untilNs) return;
          }
        } else {
          // Drained: has the path moved on to a new file (rotation)?
          const now = await stat(live).catch(() => undefined);
          if (now && now.ino !== ino) { await fh.close(); fh = undefined; pending = ''; await openLive(0); continue; }
        }
      }
      if (grew) continue;
      if (o.stopped?.()) {
        // One more look after the stop was observed: conmon may have flushed the last lines.
        const s2 = fh ? await fh.stat().catch(() => undefined) : undefined;
        if (!s2 || s2.size <= offset) return;
        continue;
      }
      await new Promise<void>((r) => { wake = r; });
    }
  } finally {
    await fh?.close().catch(() => {});
    clearInterval(timer);
    watcher?.close();
    o.signal?.removeEventListener('abort', poke);
  }
}
