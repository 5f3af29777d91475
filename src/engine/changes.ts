// `import --change` / `commit --change`: the Dockerfile instructions that only alter the image
// config (CMD, ENTRYPOINT, ENV, EXPOSE, USER, WORKDIR, LABEL, VOLUME, STOPSIGNAL, ONBUILD).
import { invalid } from '../common/errors.ts';
import type { ContainerConfig } from '../api/types/container.ts';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'USER', 'WORKDIR', 'LABEL', 'VOLUME', 'STOPSIGNAL', 'ONBUILD']);

/** Exec form (`["a","b"]`) when the text is a JSON string array, else shell form (`sh -c`). */
function cmdForm(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch { /* shell form */ }
  }
  return ['/bin/sh', '-c', t];
}

/** Splits `k=v k2="v 2"` (or the legacy `k v`) into pairs, honouring quotes. */
export function parseKeyValues(rest: string, legacySep = true): [string, string][] {
  const t = rest.trim();
  if (legacySep && !/^[^\s=]+=/.test(t)) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(t);
    if (!m) throw invalid(`ENV names can not be blank`);
    return [[m[1], m[2]]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|(?:[^\s\\]|\\.)*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    let v = m[2];
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    else v = v.replace(/\\(.)/g, '$1');
    out.push([m[1], v]);
  }
  return out;
}

/**
 * The instructions in `changes`, one per entry. Docker joins the values with newlines and parses
 * the result as a Dockerfile (BuildFromConfig), so one value may hold several instructions (the
 * Testcontainers client sends `"ENV A=1\nLABEL b=2"` as a single `changes`), a trailing backslash
 * continues an instruction on the next line, and blank and comment lines are skipped.
 */
export function changeInstructions(changes: string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of changes.join('\n').split('\n')) {
    const line = raw.replace(/\r$/, '');
    // A comment line is dropped even inside a continuation, as in a Dockerfile.
    if (/^\s*#/.test(line)) continue;
    const cont = /\\\s*$/.test(line);
    cur += cont ? line.replace(/\\\s*$/, '') : line;
    if (cont) continue;
    if (cur.trim()) out.push(cur);
    cur = '';
  }
  if (cur.trim()) out.push(cur);
  return out;
}

export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config);
  for (const line of changeInstructions(changes)) {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(line);
    if (!m || !m[1]) continue;
    const ins = m[1].toUpperCase();
    const rest = m[2];
    if (!ALLOWED.has(ins)) throw invalid(`${ins} is not a valid change command`);
    switch (ins) {
      case 'CMD': c.Cmd = cmdForm(rest); break;
      case 'ENTRYPOINT': c.Entrypoint = cmdForm(rest); break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of parseKeyValues(rest)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL': {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of parseKeyValues(rest, false)) c.Labels[k] = v;
        break;
      }
      case 'EXPOSE': {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of rest.trim().split(/\s+/).filter(Boolean)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      }
      case 'VOLUME': {
        c.Volumes = { ...(c.Volumes ?? {}) };
        const t = rest.trim();
        const list = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
        for (const v of list.filter(Boolean)) c.Volumes[v] = {};
        break;
      }
      case 'USER': c.User = rest.trim(); break;
      case 'WORKDIR': c.WorkingDir = rest.trim(); break;
      case 'STOPSIGNAL': c.StopSignal = rest.trim(); break;
      case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), rest.trim()]; break;
    }
  }
  return c;
}
