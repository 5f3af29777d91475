// Helpers for the compose tests: a project directory from a file map, `berth compose` with its
// files, and bringing a project up and down. `up`/`down` are the runtime's commands: where this
// build has them, the tests use them; otherwise the project is brought up with the minimal
// creation `compose run` uses (src/compose/runtime/create-body.ts: networks, volumes, every
// service's containers started in dependency order, health conditions waited for) and taken down
// through the API, so the read and one-off commands are tested either way.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiClient } from '../../src/client/client.ts';
import { parseHost } from '../../src/client/host.ts';
import { loadComposeProject } from '../../src/compose/index.ts';
import { quietProgress } from '../../src/compose/progress-lite.ts';
import { startDependencies } from '../../src/compose/runtime/create-body.ts';
import { BERTH, type Daemon, type RunOut } from '../integration/harness.ts';

export function writeProject(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
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

export function hasRuntimeUp(d: Daemon): boolean {
  return d.berth(['compose', 'up', '--help']).status === 0;
}

export async function composeUp(d: Daemon, dir: string, project: string): Promise<void> {
  if (hasRuntimeUp(d)) {
    const r = composeCli(d, dir, project)(['up', '-d']);
    if (r.status !== 0) throw new Error(`compose up: ${r.stderr}`);
    return;
  }
  const p = loadComposeProject({ files: [join(dir, 'compose.yaml')], projectName: project, envFiles: [], profiles: [] }, { cwd: dir, env: process.env as Record<string, string>, warn: () => {} });
  const client = new ApiClient(parseHost(`unix://${d.sock}`));
  try {
    await startDependencies(client, p, '', quietProgress);
  } finally {
    client.close();
  }
}

/** The project's containers, networks and volumes gone (compose down -v, or the same through the API). */
export async function composeDown(d: Daemon, dir: string, project: string): Promise<void> {
  if (hasRuntimeUp(d)) {
    composeCli(d, dir, project)(['down', '-v', '-t', '1']);
    return;
  }
  const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  for (const c of (await d.api('GET', `/containers/json?all=1&filters=${label}`)).json()) await d.api('DELETE', `/containers/${c.Id}?force=1&v=1`);
  for (const n of (await d.api('GET', `/networks?filters=${label}`)).json()) await d.api('DELETE', `/networks/${n.Id}`);
  for (const v of (await d.api('GET', `/volumes?filters=${label}`)).json().Volumes ?? []) await d.api('DELETE', `/volumes/${v.Name}`);
}
