// Helpers shared by the runtime-*.test.ts files: run a busybox container through the real API
// (create, start, wait, logs) with every wait bounded, so a hung daemon fails one test instead
// of the whole run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { demux, type Daemon } from './harness.ts';

export type ApiResult = Awaited<ReturnType<Daemon['api']>>;

/** Rejects when `p` takes longer than `ms` (the daemon must answer every call promptly). */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export interface RunResult {
  id: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  inspect: any;
}

export class Runner {
  readonly d: Daemon;
  constructor(d: Daemon) { this.d = d; }

  api(method: string, path: string, body?: unknown, ms = 15_000): Promise<ApiResult> {
    return within(ms, `${method} ${path}`, this.d.api(method, path, body));
  }

  /** POST /containers/create; returns the raw response (for tests of refusals). */
  createRaw(body: Record<string, unknown>, name?: string): Promise<ApiResult> {
    return this.api('POST', `/v1.47/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  }

  async create(body: Record<string, unknown>, name?: string): Promise<string> {
    const r = await this.createRaw(body, name);
    assert.equal(r.status, 201, `create: ${r.body.toString()}`);
    return r.json().Id as string;
  }

  async start(id: string): Promise<void> {
    const r = await this.api('POST', `/containers/${id}/start`);
    assert.equal(r.status, 204, `start: ${r.body.toString()}`);
  }

  async wait(id: string, ms = 20_000): Promise<number> {
    const r = await this.api('POST', `/containers/${id}/wait`, undefined, ms);
    assert.equal(r.status, 200, `wait: ${r.body.toString()}`);
    return r.json().StatusCode as number;
  }

  async logs(id: string): Promise<{ stdout: string; stderr: string }> {
    const r = await this.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
    assert.equal(r.status, 200, `logs: ${r.body.toString()}`);
    return demux(r.body);
  }

  async inspect(id: string): Promise<any> {
    const r = await this.api('GET', `/containers/${id}/json`);
    assert.equal(r.status, 200, `inspect: ${r.body.toString()}`);
    return r.json();
  }

  /** Force-removes a container; ignores one that is already gone. */
  async remove(id: string): Promise<void> {
    const r = await this.api('DELETE', `/containers/${id}?force=1`);
    assert.ok(r.status === 204 || r.status === 404, `remove: ${r.status} ${r.body.toString()}`);
  }

  /**
   * Runs a container to completion and removes it. `sh -c script` when given a string.
   * The output is what the container itself printed.
   */
  async run(cmd: string | string[], extra: Record<string, unknown> = {}, o: { keep?: boolean } = {}): Promise<RunResult> {
    const id = await this.create({ Cmd: typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd, ...extra });
    try {
      await this.start(id);
      const exitCode = await this.wait(id);
      const { stdout, stderr } = await this.logs(id);
      const inspect = await this.inspect(id);
      return { id, exitCode, stdout, stderr, inspect };
    } finally {
      if (!o.keep) await this.remove(id);
    }
  }

  /** Runs and asserts exit 0; returns stdout. */
  async out(cmd: string | string[], extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.run(cmd, extra);
    assert.equal(r.exitCode, 0, `exit ${r.exitCode}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts a long-running container (removed by the caller). */
  async background(cmd: string | string[], extra: Record<string, unknown> = {}): Promise<{ id: string; pid: number }> {
    const id = await this.create({ Cmd: typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd, ...extra });
    await this.start(id);
    const i = await this.inspect(id);
    assert.equal(i.State.Running, true);
    return { id, pid: i.State.Pid as number };
  }
}

/** A 400 with a message matching `re`. */
export function assertBadRequest(r: ApiResult, re: RegExp): void {
  assert.equal(r.status, 400, `expected 400, got ${r.status}: ${r.body.toString()}`);
  assert.match(r.json().message, re);
}

/** Mount points under `dir` on the host right now. */
export function hostMountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(dir));
}

/** A process's file in cgroup controller `ctrl` (the v1 hierarchy of this host, or v2). */
export function cgroupFileOf(pid: number, ctrl: string, file: string): string {
  for (const l of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, path] = l.split(':');
    if (ctrls === undefined) continue;
    const dirs = ctrls === '' ? [`/sys/fs/cgroup${path}`, `/sys/fs/cgroup/unified${path}`] : ctrls.split(',').includes(ctrl) ? [`/sys/fs/cgroup/${ctrls}${path}`] : [];
    for (const dir of dirs) { try { return readFileSync(`${dir}/${file}`, 'utf8').trim(); } catch { /* next */ } }
  }
  throw new Error(`no ${ctrl}/${file} for pid ${pid}`);
}
