// Helpers for the compose tests: a project directory from a file map, `berth compose` with its
// files, and bringing a project up (`up -d`) and down (`down -v`, then whatever is left of the
// project removed through the API, so a failed test still cleans up).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { BERTH, startDaemon, type Daemon, type RunOut } from '../integration/harness.ts';

export function writeProject(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/**
 * A compose test file's own berthd and directory of projects, made in `before` and removed in
 * `after`; `write` makes a project (its compose.yaml and other files) in a directory of its own,
 * `compose` runs `berth compose --project-directory` on it.
 *
 *   const fx = composeFixture('deps');
 *   let d: Daemon;
 *   before(async () => { d = await fx.ready; });
 *   const p = fx.write('hc', yaml);  ok(fx.compose(p, ['up', '-d']));
 */
export function composeFixture(prefix: string) {
  let d: Daemon | undefined;
  let dir = '';
  // node:test runs a file's `before` hooks at the same time: a hook of the file that needs the
  // daemon awaits `ready`.
  let started!: (x: Daemon) => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<Daemon>((res, rej) => { started = res; failed = rej; });
  ready.catch(() => {}); // reported by the hook below
  before(async () => {
    try {
      dir = mkdtempSync(join(tmpdir(), `berth-compose-${prefix}-`));
      d = await startDaemon();
      started(d);
    } catch (e) { failed(e); throw e; }
  });
  after(async () => {
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    ready,
    write(name: string, yaml: string, files: Record<string, string> = {}): string {
      const p = join(dir, name);
      writeProject(p, { 'compose.yaml': yaml, ...files });
      return p;
    },
    compose: (p: string, args: string[], env?: Record<string, string>) => d!.berth(['compose', '--project-directory', p, ...args], { timeout: 120_000, env }),
  };
}

export interface ComposeRunner {
  (args: string[], o?: { input?: string; env?: Record<string, string>; timeout?: number }): RunOut;
}

/** `berth compose -f DIR/compose.yaml -p PROJECT ARGS` against the daemon. */
export function composeCli(d: Daemon, dir: string, project: string): ComposeRunner {
  return (args, o = {}) => d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', project, ...args], { timeout: 120_000, ...o });
}

/** The same, not blocking the test process (for long-running commands: logs -f, events, watch). */
export function composeAsync(d: Daemon, dir: string, project: string, args: string[], env: Record<string, string> = {}) {
  const p = spawn(process.execPath, ['--', BERTH, 'compose', '-f', join(dir, 'compose.yaml'), '-p', project, ...args], {
    env: { ...process.env, BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: '', BERTH_CONFIG: join(d.dir, 'berth-config'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  p.stdout.on('data', (c) => { out.stdout += c; });
  p.stderr.on('data', (c) => { out.stderr += c; });
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { proc: p, out, exited };
}

/** Polls `cond` (bounded) until it holds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function composeUp(d: Daemon, dir: string, project: string): Promise<void> {
  const r = composeCli(d, dir, project)(['up', '-d']);
  if (r.status !== 0) throw new Error(`compose up: ${r.stderr}`);
}

/** The project's containers, networks and volumes gone (compose down -v), even when compose cannot: through the API. */
export async function composeDown(d: Daemon, dir: string, project: string): Promise<void> {
  composeCli(d, dir, project)(['down', '-v', '-t', '1']);
  const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  for (const c of (await d.api('GET', `/containers/json?all=1&filters=${label}`)).json()) await d.api('DELETE', `/containers/${c.Id}?force=1&v=1`);
  for (const n of (await d.api('GET', `/networks?filters=${label}`)).json()) await d.api('DELETE', `/networks/${n.Id}`);
  for (const v of (await d.api('GET', `/volumes?filters=${label}`)).json().Volumes ?? []) await d.api('DELETE', `/volumes/${v.Name}`);
}
