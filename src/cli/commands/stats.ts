// `berth stats` and `berth update`. stats: docker-cli's table and numbers (CPU % from the
// cpu/system deltas against precpu, memory without the inactive file cache, decimal I/O sizes),
// one table with --no-stream, otherwise redrawn every second (clear screen on a terminal).
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { ApiError } from '../../client/client.ts';
import { bytesSize, humanSize, parseBytes, parseCpus } from '../../common/units.ts';
import { StatusError, flagError, type Ctx } from '../context.ts';
import { renderList, goRow } from '../format/formatter.ts';
import { truncateId } from '../display.ts';
import { parseRestart } from '../run-config.ts';


interface StatsJSON {
  read: string; name: string; id: string;
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

export const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const HEADERS = { Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };

/** docker-cli's numbers for one stats object (calculateCPUPercentUnix and friends). */
export function statsNumbers(s: StatsJSON): { cpu: number; mem: number; limit: number; memPct: number; rx: number; tx: number; blkRead: number; blkWrite: number; pids: number } {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const st = s.memory_stats?.stats ?? {};
  const usage = s.memory_stats?.usage ?? 0;
  const cache = st.total_inactive_file ?? st.inactive_file ?? 0;
  const mem = cache < usage ? usage - cache : usage;
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0; let tx = 0;
  for (const n of Object.values(s.networks ?? {})) { rx += n.rx_bytes; tx += n.tx_bytes; }
  let blkRead = 0; let blkWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') blkRead += e.value;
    else if (e.op.toLowerCase() === 'write') blkWrite += e.value;
  }
  return { cpu, mem, limit, memPct: limit ? (mem / limit) * 100 : 0, rx, tx, blkRead, blkWrite, pids: s.pids_stats?.current ?? 0 };
}

export function statsRow(arg: string, s: StatsJSON, noTrunc: boolean, running = true): Record<string, unknown> {
  const n = statsNumbers(s);
  const name = (s.name ?? '').replace(/^\//, '');
  // A container that is not running shows dashes, as docker stats -a does.
  const dash = '--';
  return goRow({
    BlockIO: running ? `${humanSize(n.blkRead)} / ${humanSize(n.blkWrite)}` : dash,
    CPUPerc: running ? `${n.cpu.toFixed(2)}%` : dash,
    Container: arg,
    ID: noTrunc ? s.id : truncateId(s.id),
    MemPerc: running ? `${n.memPct.toFixed(2)}%` : dash,
    MemUsage: running ? `${bytesSize(n.mem)} / ${bytesSize(n.limit)}` : '-- / --',
    Name: name || dash,
    NetIO: running ? `${humanSize(n.rx)} / ${humanSize(n.tx)}` : dash,
    PIDs: running ? String(n.pids) : dash,
  });
}

export async function stats(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.stats>): Promise<number> {
  const c = ctx.client;
  const pick = async (): Promise<{ arg: string; id: string; running: boolean }[]> => {
    if (args.length) {
      const out = [];
      for (const a of args) {
        try {
          const j = await c.containers.inspect<{ Id: string; State: { Running: boolean } }>(a);
          out.push({ arg: a, id: j.Id, running: j.State.Running });
        } catch (e) {
          if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
          throw e;
        }
      }
      return out;
    }
    const list = await c.containers.list<{ Id: string; State: string }>({ all: Boolean(o.all) });
    return list.map((x) => ({ arg: x.Id, id: x.Id, running: x.State === 'running' }));
  };
  const render = async (): Promise<string> => {
    const targets = await pick();
    const rows = await Promise.all(targets.map(async (t) => {
      const s = await c.containers.statsOnce<StatsJSON>(t.id).catch(() => undefined /* gone since the list: no row, as docker */);
      return s ? statsRow(t.arg, s, o.trunc === false, t.running && s.read !== '0001-01-01T00:00:00Z') : undefined;
    }));
    return renderList(o.format, STATS_TABLE, rows.filter((r): r is Record<string, unknown> => !!r), HEADERS, '*formatter.statsContext');
  };
  if (o.stream === false) {
    process.stdout.write(await render());
    return 0;
  }
  const tty = process.stdout.isTTY;
  for (;;) {
    const text = await render();
    process.stdout.write(tty ? `\x1b[2J\x1b[H${text}` : text);
  }
}

export async function update(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.update>): Promise<number> {
  const bytes = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined || v === '') return undefined;
    if (v === '-1' && flag === '--memory-swap') return -1;
    try { return parseBytes(v); } catch (e) { throw flagError(ctx, flag, v, (e as Error).message); }
  };
  let nanoCpus: number | undefined;
  if (o.cpus !== undefined) { try { nanoCpus = parseCpus(o.cpus); } catch (e) { throw flagError(ctx, '--cpus', o.cpus, (e as Error).message); } }
  const body: Record<string, unknown> = {
    Memory: bytes('-m, --memory', o.memory), MemorySwap: bytes('--memory-swap', o.memorySwap), MemoryReservation: bytes('--memory-reservation', o.memoryReservation),
    CpuShares: o.cpuShares, NanoCpus: nanoCpus, CpuPeriod: o.cpuPeriod, CpuQuota: o.cpuQuota,
    CpusetCpus: o.cpusetCpus, CpusetMems: o.cpusetMems, PidsLimit: o.pidsLimit, BlkioWeight: o.blkioWeight,
  };
  if (o.restart !== undefined) body.RestartPolicy = parseRestart(o.restart);
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  if (Object.keys(body).length === 0) throw new StatusError('you must provide one or more flags when using this command', 1);
  const failed: string[] = [];
  // As the docker CLI: each name as it is updated, then every warning, on stdout.
  const warnings: string[] = [];
  for (const name of args) {
    try {
      const r = await ctx.client.containers.update(name, body);
      warnings.push(...(r.Warnings ?? []));
      process.stdout.write(`${name}\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stderr.write(`Error response from daemon: ${e.message}\n`);
      failed.push(name);
    }
  }
  if (warnings.length) process.stdout.write(`${warnings.join('\n')}\n`);
  if (failed.length) throw new StatusError('', 1);
  return 0;
}
