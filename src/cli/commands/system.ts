// version, info, events.
import { jsonMessages, RAW_JSON } from '../../client/streams.ts';
import { MAX_API_VERSION, compareVersions } from '../../client/client.ts';
import { bytesSize, getTimestamp } from '../../common/units.ts';
import { StatusError, type Ctx } from '../context.ts';
import { parseTemplate, TemplateError, GO_JSON } from '../format/template.ts';
import { normalizeFormat } from '../format/formatter.ts';
import { encodeFilters } from '../filters.ts';
import { VERSION } from '../version.ts';

type Opts = Record<string, any>;

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * Go templates name struct fields, JSON names them by tag: give the Go names as hidden aliases.
 * A field the daemon omitted (omitempty) reads as the Go zero value, `zero`.
 */
function alias<T extends object>(obj: T, names: Record<string, string>, zero: Record<string, unknown> = {}): T {
  for (const [goName, jsonName] of Object.entries(names)) {
    if (goName in obj) continue;
    Object.defineProperty(obj, goName, { get: () => (obj as any)[jsonName] ?? zero[goName], enumerable: false });
  }
  return obj;
}

function runTemplate(format: string, data: unknown, what: string): string {
  const f = normalizeFormat(format);
  try {
    return `${parseTemplate(f === 'json' ? '{{json .}}' : f).execute(data)}\n`;
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`template: ${what}${e.message.replace(/^template: /, '')}`, 1);
    throw e;
  }
}

/** docker shows the daemon's RFC 3339 build time as Go's time.ANSIC in the local zone. */
function ansic(s: string): string {
  const t = Date.parse(s);
  if (!s || Number.isNaN(t)) return s;
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export async function version(ctx: Ctx, _args: string[], o: Opts): Promise<number> {
  const c = ctx.client;
  let server: Record<string, any> | undefined;
  let serverErr: unknown;
  try {
    server = await c.json<Record<string, any>>('GET', '/version');
  } catch (e) {
    serverErr = e;
  }
  const apiVersion = await c.version().catch(() => MAX_API_VERSION);
  const client = alias({
    Version: VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: MAX_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: process.platform,
    Arch: GOARCH[process.arch] ?? process.arch,
    BuildTime: '',
    Context: 'default',
  }, { APIVersion: 'ApiVersion' });
  if (server) alias(server, { APIVersion: 'ApiVersion' });
  const data = { Client: client, Server: server ?? null };
  if (o.format) {
    let text = '';
    try {
      text = runTemplate(o.format, data, 'version');
    } catch (e) {
      // Without a server the template may well fail on .Server: the connection error matters.
      if (!serverErr) throw e;
    }
    process.stdout.write(text);
    if (serverErr) throw serverErr;
    return 0;
  }
  const downgraded = compareVersions(apiVersion, MAX_API_VERSION) < 0 ? ` (downgraded from ${MAX_API_VERSION})` : '';
  let out = 'Client:\n';
  out += ` Version:           ${client.Version}\n`;
  out += ` API version:       ${apiVersion}${downgraded}\n`;
  out += ` Node version:      ${client.GoVersion}\n`;
  out += ` OS/Arch:           ${client.Os}/${client.Arch}\n`;
  out += ` Context:           ${client.Context}\n`;
  if (server) {
    out += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
    const components: Array<{ Name: string; Version: string; Details?: Record<string, string> }> = server.Components ?? [
      { Name: 'Engine', Version: server.Version, Details: server },
    ];
    for (const comp of components) {
      out += ` ${comp.Name}:\n`;
      const d = comp.Details ?? {};
      if (comp.Name === 'Engine') {
        out += `  Version:          ${comp.Version}\n`;
        out += `  API version:      ${d.ApiVersion ?? server.ApiVersion} (minimum version ${d.MinAPIVersion ?? server.MinAPIVersion})\n`;
        if (d.GoVersion ?? server.GoVersion) out += `  Go version:       ${d.GoVersion ?? server.GoVersion}\n`;
        out += `  Git commit:       ${d.GitCommit ?? server.GitCommit ?? ''}\n`;
        out += `  Built:            ${ansic(d.BuildTime ?? server.BuildTime ?? '')}\n`;
        out += `  OS/Arch:          ${d.Os ?? server.Os}/${d.Arch ?? server.Arch}\n`;
        out += `  Experimental:     ${d.Experimental ?? server.Experimental ?? false}\n`;
      } else {
        out += `  Version:          ${comp.Version}\n`;
        for (const k of Object.keys(d).sort()) out += `  ${`${k}:`.padEnd(18)}${d[k]}\n`;
      }
    }
  }
  process.stdout.write(out);
  if (serverErr) throw serverErr;
  return 0;
}

export async function info(ctx: Ctx, _args: string[], o: Opts): Promise<number> {
  const c = ctx.client;
  if (o.format) {
    const data = await c.json<Record<string, any>>('GET', '/info');
    alias(data, { HTTPProxy: 'HttpProxy', HTTPSProxy: 'HttpsProxy' });
    process.stdout.write(runTemplate(o.format, data, ''));
    return 0;
  }
  let out = 'Client:\n';
  out += ` Version:    ${VERSION}\n`;
  out += ' Context:    default\n';
  out += ` Debug Mode: ${Boolean(ctx.globals.debug)}\n`;
  process.stdout.write(out);
  let i: Record<string, any>;
  try {
    i = await c.json<Record<string, any>>('GET', '/info');
  } catch (e) {
    process.stdout.write('\nServer:\n');
    throw e;
  }
  out = '\nServer:\n';
  out += ` Containers: ${i.Containers ?? 0}\n`;
  out += `  Running: ${i.ContainersRunning ?? 0}\n  Paused: ${i.ContainersPaused ?? 0}\n  Stopped: ${i.ContainersStopped ?? 0}\n`;
  out += ` Images: ${i.Images ?? 0}\n`;
  out += ` Server Version: ${i.ServerVersion ?? ''}\n`;
  out += ` Storage Driver: ${i.Driver ?? ''}\n`;
  for (const [k, v] of i.DriverStatus ?? []) out += `  ${k}: ${v}\n`;
  out += ` Logging Driver: ${i.LoggingDriver ?? ''}\n`;
  out += ` Cgroup Driver: ${i.CgroupDriver ?? ''}\n`;
  if (i.CgroupVersion) out += ` Cgroup Version: ${i.CgroupVersion}\n`;
  if (i.Plugins) {
    out += ' Plugins:\n';
    out += `  Volume: ${(i.Plugins.Volume ?? []).join(' ')}\n`;
    out += `  Network: ${(i.Plugins.Network ?? []).join(' ')}\n`;
    if (i.Plugins.Authorization?.length) out += `  Authorization: ${i.Plugins.Authorization.join(' ')}\n`;
    out += `  Log: ${(i.Plugins.Log ?? []).join(' ')}\n`;
  }
  out += ` Swarm: ${i.Swarm?.LocalNodeState || 'inactive'}\n`;
  if (i.Runtimes) out += ` Runtimes: ${Object.keys(i.Runtimes).sort().join(' ')}\n`;
  out += ` Default Runtime: ${i.DefaultRuntime ?? ''}\n`;
  if (i.InitBinary !== undefined) out += ` Init Binary: ${i.InitBinary}\n`;
  if (i.ContainerdCommit) out += ` containerd version: ${i.ContainerdCommit.ID ?? ''}\n`;
  if (i.RuncCommit) out += ` runc version: ${i.RuncCommit.ID ?? ''}\n`;
  if (i.InitCommit) out += ` init version: ${i.InitCommit.ID ?? ''}\n`;
  if (i.SecurityOptions?.length) {
    out += ' Security Options:\n';
    for (const so of i.SecurityOptions as string[]) {
      // "name=seccomp,profile=default" → "seccomp" + "  Profile: default"
      const kv = Object.fromEntries(so.split(',').map((p) => { const e = p.indexOf('='); return e < 0 ? [p, ''] : [p.slice(0, e), p.slice(e + 1)]; }));
      out += `  ${kv.name ?? so}\n`;
      for (const [k, v] of Object.entries(kv)) if (k !== 'name') out += `   ${k[0].toUpperCase()}${k.slice(1)}: ${v}\n`;
    }
  }
  out += ` Kernel Version: ${i.KernelVersion ?? ''}\n`;
  out += ` Operating System: ${i.OperatingSystem ?? ''}\n`;
  out += ` OSType: ${i.OSType ?? ''}\n`;
  out += ` Architecture: ${i.Architecture ?? ''}\n`;
  out += ` CPUs: ${i.NCPU ?? 0}\n`;
  out += ` Total Memory: ${bytesSize(i.MemTotal ?? 0)}\n`;
  out += ` Name: ${i.Name ?? ''}\n`;
  out += ` ID: ${i.ID ?? ''}\n`;
  out += ` Docker Root Dir: ${i.DockerRootDir ?? ''}\n`;
  out += ` Debug Mode: ${Boolean(i.Debug)}\n`;
  if (i.HttpProxy) out += ` HTTP Proxy: ${i.HttpProxy}\n`;
  if (i.HttpsProxy) out += ` HTTPS Proxy: ${i.HttpsProxy}\n`;
  if (i.NoProxy) out += ` No Proxy: ${i.NoProxy}\n`;
  if (i.Labels?.length) out += ` Labels:\n${i.Labels.map((l: string) => `  ${l}\n`).join('')}`;
  out += ` Experimental: ${Boolean(i.ExperimentalBuild)}\n`;
  const cidrs: string[] = i.RegistryConfig?.InsecureRegistryCIDRs ?? [];
  const insecure = [...Object.values(i.RegistryConfig?.IndexConfigs ?? {}).filter((x: any) => x && x.Secure === false).map((x: any) => x.Name), ...cidrs];
  if (insecure.length) out += ` Insecure Registries:\n${insecure.map((r) => `  ${r}\n`).join('')}`;
  const mirrors: string[] = i.RegistryConfig?.Mirrors ?? [];
  if (mirrors.length) out += ` Registry Mirrors:\n${mirrors.map((r) => `  ${r}\n`).join('')}`;
  out += ` Live Restore Enabled: ${Boolean(i.LiveRestoreEnabled)}\n`;
  out += '\n';
  process.stdout.write(out);
  for (const w of i.Warnings ?? []) process.stderr.write(`${w}\n`);
  return 0;
}

/** RFC3339Nano with fixed 9 digits, in the local zone (jsonmessage.RFC3339NanoFixed). */
export function rfc3339NanoFixed(timeNano: bigint): string {
  const ms = Number(timeNano / 1_000_000n);
  const nanos = Number(timeNano % 1_000_000_000n);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const l = new Date(ms + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${p(Math.trunc(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${p(l.getUTCFullYear(), 4)}-${p(l.getUTCMonth() + 1)}-${p(l.getUTCDate())}T${p(l.getUTCHours())}:${p(l.getUTCMinutes())}:${p(l.getUTCSeconds())}.${p(nanos, 9)}${zone}`;
}

/** An event's timeNano exactly (from its JSON text: the parsed number is rounded). */
function eventNanos(ev: Record<string | symbol, any>): bigint {
  const raw = ev[RAW_JSON] as string | undefined;
  const m = raw ? /"timeNano":\s*(\d+)/.exec(raw) : null;
  if (m) return BigInt(m[1]);
  return ev.timeNano ? BigInt(Math.round(ev.timeNano)) : BigInt(ev.time ?? 0) * 1_000_000_000n;
}

export function formatEvent(ev: Record<string, any>): string {
  const nano = eventNanos(ev);
  let line = `${rfc3339NanoFixed(nano)} ${ev.Type} ${ev.Action} ${ev.Actor?.ID ?? ''}`;
  const attrs = ev.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) line += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${line}\n`;
}

export async function events(ctx: Ctx, _args: string[], o: Opts): Promise<number> {
  const now = new Date();
  let since: string | undefined;
  let until: string | undefined;
  try {
    if (o.since) since = getTimestamp(o.since, now);
    if (o.until) until = getTimestamp(o.until, now);
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
  let tmpl;
  if (o.format) {
    const f = normalizeFormat(o.format);
    try {
      tmpl = parseTemplate(f === 'json' ? '{{json .}}' : f);
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(e.message, 64);
      throw e;
    }
  }
  const res = await ctx.client.request('GET', '/events', { query: { since, until, filters: encodeFilters(o.filter, ctx) } });
  for await (const ev of jsonMessages(res)) {
    if (tmpl) {
      alias(ev, { Status: 'status', ID: 'id', From: 'from', Scope: 'scope', Time: 'time' },
        { Status: '', ID: '', From: '', Scope: '', Time: 0 });
      Object.defineProperty(ev, 'TimeNano', { get: () => eventNanos(ev), enumerable: false });
      // `{{json .}}` is the daemon's own text: exact integers, the daemon's field order.
      Object.defineProperty(ev, GO_JSON, { value: () => ((ev as any)[RAW_JSON] as string).trim(), enumerable: false });
      process.stdout.write(`${tmpl.execute(ev)}\n`);
    } else {
      process.stdout.write(formatEvent(ev));
    }
  }
  return 0;
}
