// Container statistics (`GET /containers/{id}/stats`): one sample read from the cgroups of the
// container's init process (v1 controllers or the v2 unified tree, found through
// /proc/<pid>/cgroup), /proc/stat for the host's CPU time, and /proc/<pid>/net/dev for the
// interfaces of its network namespace, in Docker's StatsJSON shape; containerStats (below) adds
// `precpu_stats` from the previous sample and paces the stream, as dockerd's stats collector does.
import os from 'node:os';
import { readFile } from 'node:fs/promises';

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

interface BlkioEntry { major: number; minor: number; op: string; value: number }

export interface StatsSample {
  read: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, BlkioEntry[] | null>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; limit?: number };
  networks?: Record<string, Record<string, number>>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const CLK_TCK = 100; // USER_HZ on Linux
const UNLIMITED_V1 = 0x7ffffffffffff000; // what memory.limit_in_bytes reads when unset (rounded to pages)

const num = (s: string | undefined) => (s === undefined || s === '' ? 0 : Number(s));
// A cgroup file this host's controllers lack (or one gone because the container stopped) reads as
// undefined, which the samplers show as Docker does for a missing controller (zeros or absent).
const readText = (p: string) => readFile(p, 'utf8').catch(() => undefined);

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of (text ?? '').split('\n')) {
    const [k, v] = l.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** blkio.throttle.io_service_bytes (v1): "8:0 Read 4096" lines, "Total" left out. */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const l of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(l.trim());
    if (m) out.push({ major: +m[1], minor: +m[2], op: m[3].toLowerCase(), value: +m[4] });
  }
  return out;
}

/** io.stat (v2): "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" → Docker's read/write entries. */
export function parseIoStatV2(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const l of (text ?? '').split('\n')) {
    const [dev, ...kvs] = l.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(kvs.map((x) => x.split('=')));
    const [major, minor] = [+m[1], +m[2]];
    bytes.push({ major, minor, op: 'read', value: num(kv.rbytes) }, { major, minor, op: 'write', value: num(kv.wbytes) });
    ios.push({ major, minor, op: 'read', value: num(kv.rios) }, { major, minor, op: 'write', value: num(kv.wios) });
  }
  return { bytes, ios };
}

/** /proc/<pid>/net/dev → Docker's per-interface counters (loopback left out). */
export function parseNetDev(text: string | undefined): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const l of (text ?? '').split('\n').slice(2)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim();
    if (name === 'lo') continue;
    const f = l.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}

/** The host's CPU time in nanoseconds (the first line of /proc/stat, as dockerd reads it). */
export function systemCpuNs(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const f = line.trim().split(/\s+/).slice(1, 8).map(Number);
  return (f.reduce((a, b) => a + b, 0) * 1e9) / CLK_TCK;
}

/** Where each controller of a process lives: v1 controller → dir, and the v2 dir. */
export async function cgroupDirs(pid: number, root = '/sys/fs/cgroup'): Promise<{ v1: Record<string, string>; v2?: string }> {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  for (const l of ((await readText(`/proc/${pid}/cgroup`)) ?? '').split('\n')) {
    const [, ctrls, path] = l.split(':');
    if (ctrls === undefined || path === undefined) continue;
    if (ctrls === '') {
      // Pure v2 at the root; on a hybrid host the unified tree is mounted below it.
      v2 = (await readText(`${root}/cgroup.controllers`)) !== undefined ? `${root}${path}` : `${root}/unified${path}`;
    } else {
      for (const c of ctrls.split(',')) v1[c.replace(/^name=/, '')] = `${root}/${ctrls}${path}`;
    }
  }
  return { v1, v2 };
}

/** One sample of a running container's init process `pid`. */
export async function sampleStats(pid: number): Promise<StatsSample> {
  const { v1, v2 } = await cgroupDirs(pid);
  const ncpu = os.cpus().length;
  const [procStat, netDev] = await Promise.all([readText('/proc/stat'), readText(`/proc/${pid}/net/dev`)]);
  const s: StatsSample = {
    read: new Date().toISOString(),
    pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: systemCpuNs(procStat ?? ''), online_cpus: ncpu, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {},
    networks: parseNetDev(netDev),
  };
  const hostMem = os.totalmem();
  if (v1.cpuacct || v1.memory || v1.pids) {
    const cpu = v1.cpuacct ?? v1.cpu;
    const [usage, percpu, acct, cpuStat] = await Promise.all([
      readText(`${cpu}/cpuacct.usage`), readText(`${cpu}/cpuacct.usage_percpu`), readText(`${cpu}/cpuacct.stat`), readText(`${v1.cpu ?? cpu}/cpu.stat`),
    ]);
    const a = parseKeyValues(acct);
    const t = parseKeyValues(cpuStat);
    s.cpu_stats.cpu_usage = {
      total_usage: num(usage?.trim()),
      percpu_usage: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
      usage_in_kernelmode: ((a.system ?? 0) * 1e9) / CLK_TCK,
      usage_in_usermode: ((a.user ?? 0) * 1e9) / CLK_TCK,
    };
    s.cpu_stats.throttling_data = { periods: t.nr_periods ?? 0, throttled_periods: t.nr_throttled ?? 0, throttled_time: t.throttled_time ?? 0 };
    if (v1.memory) {
      const [u, mx, lim, st] = await Promise.all(['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat'].map((f) => readText(`${v1.memory}/${f}`)));
      let limit = num(lim?.trim());
      if (!limit || limit >= UNLIMITED_V1 || limit > hostMem) limit = hostMem;
      s.memory_stats = { usage: num(u?.trim()), max_usage: num(mx?.trim()), stats: parseKeyValues(st), limit };
    }
    if (v1.pids) {
      const [cur, max] = await Promise.all([readText(`${v1.pids}/pids.current`), readText(`${v1.pids}/pids.max`)]);
      s.pids_stats = { current: num(cur?.trim()), ...(max && max.trim() !== 'max' ? { limit: num(max.trim()) } : {}) };
    }
    if (v1.blkio) {
      const [b, n] = await Promise.all([readText(`${v1.blkio}/blkio.throttle.io_service_bytes`), readText(`${v1.blkio}/blkio.throttle.io_serviced`)]);
      s.blkio_stats.io_service_bytes_recursive = parseBlkioV1(b);
      s.blkio_stats.io_serviced_recursive = parseBlkioV1(n);
    }
  } else if (v2) {
    const [cpuStat, cur, max, memStat, pc, pm, io] = await Promise.all(['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current', 'pids.max', 'io.stat'].map((f) => readText(`${v2}/${f}`)));
    const c = parseKeyValues(cpuStat);
    s.cpu_stats.cpu_usage = { total_usage: (c.usage_usec ?? 0) * 1000, usage_in_kernelmode: (c.system_usec ?? 0) * 1000, usage_in_usermode: (c.user_usec ?? 0) * 1000 };
    s.cpu_stats.throttling_data = { periods: c.nr_periods ?? 0, throttled_periods: c.nr_throttled ?? 0, throttled_time: (c.throttled_usec ?? 0) * 1000 };
    let limit = !max || max.trim() === 'max' ? hostMem : num(max.trim());
    if (limit > hostMem) limit = hostMem;
    s.memory_stats = { usage: num(cur?.trim()), stats: parseKeyValues(memStat), limit };
    s.pids_stats = { current: num(pc?.trim()), ...(pm && pm.trim() !== 'max' ? { limit: num(pm.trim()) } : {}) };
    const { bytes, ios } = parseIoStatV2(io);
    s.blkio_stats.io_service_bytes_recursive = bytes;
    s.blkio_stats.io_serviced_recursive = ios;
  }
  return s;
}

/** What a stopped container streams: Docker's zero-valued object. */
export function zeroStats(): StatsSample {
  return {
    read: ZERO_TIME, pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0, storage_stats: {},
    cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {},
  };
}

/** Docker's StatsJSON: a sample with the previous one's CPU as `precpu_stats`, in Go's field order. */
export function statsJson(cur: StatsSample, pre: StatsSample, name: string, id: string): Record<string, unknown> {
  const { networks, ...rest } = cur;
  return {
    read: rest.read, preread: pre.read, pids_stats: rest.pids_stats, blkio_stats: rest.blkio_stats,
    num_procs: rest.num_procs, storage_stats: rest.storage_stats, cpu_stats: rest.cpu_stats, precpu_stats: pre.cpu_stats,
    memory_stats: rest.memory_stats, name, id, ...(networks ? { networks } : {}),
  };
}

/** A container as stats reads it: its init process while it runs. */
export interface StatsTarget { id: string; name: string; running: boolean; pid: number }

/** What the stats service reads of the engine. */
export interface StatsSource {
  /** Resolves a reference (throws NotFound); called again at every sample to see the container stop. */
  statsTarget(ref: string): StatsTarget;
}

export interface StatsOptions {
  /** One object a second until the container stops (Docker's default); else one object. */
  stream: boolean;
  /** With `stream: false`: a single sample at once, without the second-long CPU baseline. */
  oneShot: boolean;
  /** The client went away: the stream ends. */
  signal: AbortSignal;
}

/**
 * One stats object (`once`: a stopped container, `stream=false`, `one-shot`), or a stream of them
 * that ends when the container stops (with Docker's zeroed object) or the signal aborts.
 */
export type StatsReport = { once: Record<string, unknown> } | { stream: AsyncGenerator<Record<string, unknown>> };

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((r) => {
  const t = setTimeout(r, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
});

/**
 * `GET /containers/{id}/stats`, as dockerd's collector: one sample (`one-shot`), two a second
 * apart so that CPU% means something (`stream=false`), or one per second with the previous sample
 * as `precpu_stats` (the stream; its first `precpu_stats` is zero). A container not running gets
 * Docker's zeroed object at once. The reference is resolved before anything is returned, so an
 * unknown container is a 404 and not an error inside a stream.
 */
export async function containerStats(src: StatsSource, ref: string, o: StatsOptions, sample: (pid: number) => Promise<StatsSample> = sampleStats): Promise<StatsReport> {
  const t = src.statsTarget(ref);
  const zero = zeroStats();
  if (!t.running) return { once: statsJson(zero, zero, t.name, t.id) };
  // Undefined once the container has stopped (or its cgroup is gone mid-read: it is stopping).
  const next = async (): Promise<StatsSample | undefined> => {
    const now = src.statsTarget(t.id);
    if (!now.running) return undefined;
    return sample(now.pid).catch(() => undefined);
  };
  if (!o.stream) {
    let pre = zero;
    if (!o.oneShot) {
      pre = (await next()) ?? zero;
      await sleep(1000, o.signal);
    }
    const cur = (await next()) ?? zero;
    return { once: statsJson(cur, pre, t.name, t.id) };
  }
  async function* stream(): AsyncGenerator<Record<string, unknown>> {
    let pre: StatsSample = { ...zero, read: ZERO_TIME };
    while (!o.signal.aborted) {
      const cur = await next();
      if (!cur) {
        // Stopped: Docker sends a zeroed object and ends the stream.
        yield statsJson(zero, zero, t.name, t.id);
        return;
      }
      yield statsJson(cur, pre, t.name, t.id);
      pre = cur;
      await sleep(1000, o.signal);
    }
  }
  return { stream: stream() };
}
