// Helpers for build tests: a context directory from a file map, its tar, and POST /build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Daemon } from './harness.ts';

export type FileSpec = string | { content?: string | Buffer; mode?: number; symlink?: string; dir?: boolean };

/** Context directories made by this test process, removed when it exits (even after a failure). */
const made: string[] = [];
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

/** Writes a context directory: `{ 'Dockerfile': '...', 'src/a.txt': 'x', 'l': { symlink: '/etc' } }`. */
export function contextDir(files: Record<string, FileSpec>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  made.push(dir);
  for (const [name, spec] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof spec === 'string') writeFileSync(p, spec);
    else if (spec.symlink !== undefined) symlinkSync(spec.symlink, p);
    else if (spec.dir) mkdirSync(p, { recursive: true });
    else writeFileSync(p, spec.content ?? '');
    if (typeof spec !== 'string' && spec.mode !== undefined) chmodSync(p, spec.mode);
  }
  return dir;
}

export function tarOf(dir: string): Buffer {
  const r = spawnSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 512 << 20 });
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  return r.stdout;
}

export interface BuildResult {
  status: number;
  /** Every `stream` text joined: what the legacy CLI prints. */
  output: string;
  messages: Record<string, any>[];
  id?: string;
  error?: string;
  errorCode?: number;
  /** The HTTP error message when the build failed before streaming. */
  httpError?: string;
}

export async function build(d: Daemon, files: Record<string, FileSpec> | Buffer, params: Record<string, string | string[]> = {}): Promise<BuildResult> {
  const body = Buffer.isBuffer(files) ? files : tarOf(contextDir(files));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const r = await d.api('POST', `/build?${q}`, body, { 'Content-Type': 'application/x-tar' });
  const text = r.body.toString();
  if (r.status !== 200) return { status: r.status, output: '', messages: [], httpError: JSON.parse(text).message };
  const messages = text.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>);
  const out: BuildResult = { status: r.status, output: messages.filter((m) => m.stream).map((m) => m.stream).join(''), messages };
  for (const m of messages) {
    if (m.aux?.ID) out.id = m.aux.ID;
    if (m.error) { out.error = m.error; out.errorCode = m.errorDetail?.code; }
  }
  return out;
}
