// `GET /containers/{id}/top`: Docker's way: run the host's `ps` with the caller's options (default
// `-ef`), find the PID column in its header, and keep the rows of processes in the container's
// cgroup. The last column (the command) keeps its spaces.
import { readFile } from 'node:fs/promises';
import { invalid, system } from '../common/errors.ts';
import { run } from '../sys/index.ts';

/** The pids in the cgroup of process `pid` (cgroup v2's unified path, or v1's pids/memory controller). */
export async function cgroupPids(pid: number): Promise<Set<number>> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').filter(Boolean);
  const candidates: string[] = [];
  for (const l of lines) {
    const [, ctrls, path] = l.split(':');
    if (ctrls === '') candidates.push(`/sys/fs/cgroup${path}`, `/sys/fs/cgroup/unified${path}`);
    else for (const c of ['pids', 'memory', 'cpu,cpuacct', 'freezer']) if (ctrls.split(',').includes(c.split(',')[0])) candidates.push(`/sys/fs/cgroup/${ctrls}${path}`);
  }
  for (const dir of candidates) {
    try {
      const text = await readFile(`${dir}/cgroup.procs`, 'utf8');
      const set = new Set(text.split('\n').filter(Boolean).map(Number));
      if (set.has(pid)) return set;
    } catch { /* not this hierarchy */ }
  }
  return new Set([pid]);
}

/** Splits ps output into Docker's {Titles, Processes}, keeping the rows whose PID is in `pids`. */
export function parsePs(out: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) throw system('ps printed nothing');
  const titles = lines[0].trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw system(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const l of lines.slice(1)) {
    const fields = l.trim().split(/\s+/);
    if (fields.length < titles.length) continue;
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    const p = Number(row[pidIndex]);
    if (!Number.isInteger(p)) throw system(`Unexpected pid '${row[pidIndex]}': invalid pid`);
    if (pids.has(p)) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

export async function top(pid: number, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const pids = await cgroupPids(pid);
  const r = await run('ps', args, { allowFail: true });
  if (r.code !== 0) throw invalid(`ps: ${r.stderr.trim() || `exit status ${r.code}`}`);
  return parsePs(r.stdout, pids);
}
