// docker's env and label files and -e's bare names, for run/create (run-config.ts), exec and
// service flags. A module of its own: exec loads it without run-config's parsers.
import { readFileSync } from 'node:fs';
import { StatusError } from './context.ts';

const err125 = (msg: string) => new StatusError(msg, 125);

/** docker's opts.ValidateEnv: `K=V` as is; a bare `K` takes the local value when there is one. */
export function resolveEnv(entry: string, env: NodeJS.ProcessEnv = process.env): string {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key === '') throw err125(`invalid environment variable: ${entry}`);
  if (eq >= 0) return entry;
  const v = env[key];
  return v === undefined ? entry : `${key}=${v}`;
}

/**
 * docker's env-file/label-file reader: blank lines and `#` comments skipped, leading whitespace
 * dropped, `K=V` kept verbatim, a bare `K` filled from the local environment (or left out when
 * unset, for env files).
 */
export function parseKeyValueFile(path: string, kind: 'env' | 'label', env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw err125(`open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^[ \t\n\v\f\r]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw err125(`invalid ${kind === 'env' ? 'environment variable' : 'label'}: ${line}`);
    if (/\s/.test(key)) throw err125(`variable '${key}' contains whitespaces`);
    if (eq >= 0) { out.push(line); continue; }
    if (kind === 'label') { out.push(line); continue; }
    const v = env[line.trim()];
    if (v !== undefined) out.push(`${line.trim()}=${v}`);
  }
  return out;
}
