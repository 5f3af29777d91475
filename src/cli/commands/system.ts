// version, info, events, system df.
import type { OptionsOf, SYSTEM_COMMANDS } from '../spec.ts';
import { jsonMessages, RAW_JSON } from '../../client/streams.ts';
import { bytesSize, getTimestamp, humanSize, humanDuration } from '../../common/units.ts';
import { parseReference } from '../../common/reference.ts';
import { StatusError, type Ctx } from '../context.ts';
import { parseTemplate, TemplateError, GO_JSON, goJsonMarshal, type Template, type TemplateFunc } from '../format/template.ts';
import { normalizeFormat, goRow } from '../format/formatter.ts';
import { tabwrite } from '../format/tabwriter.ts';
import { truncateId, ago, goTimeString } from '../display.ts';
import { containerRow, type ContainerSummary } from './ps.ts';
import type { ImageSummary } from './images.ts';
import { encodeFilters } from '../filters.ts';
import { VERSION } from '../version.ts';
import { alias } from './version.ts';


export function runTemplate(format: string, data: unknown, what: string): string {
  const f = normalizeFormat(format);
  try {
    return `${parseTemplate(f === 'json' ? '{{json .}}' : f).execute(data)}\n`;
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`template: ${what}${e.message.replace(/^template: /, '')}`, 1);
    throw e;
  }
}

export async function info(ctx: Ctx, _args: string[], o: OptionsOf<typeof SYSTEM_COMMANDS.info>): Promise<number> {
  const c = ctx.client;
  if (o.format) {
    const data = await c.system.info<Record<string, any>>();
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
    i = await c.system.info<Record<string, any>>();
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

export async function events(ctx: Ctx, _args: string[], o: OptionsOf<typeof SYSTEM_COMMANDS.events>): Promise<number> {
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
  const res = await ctx.client.system.events({ since, until, filters: encodeFilters(o.filter, ctx) });
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

// ---------------------------------------------------------------------------------------------
// system df: GET /system/df rendered as docker's DiskUsageContext (cli/command/formatter/
// disk_usage.go, docker CLI 28): the four-line summary, or with -v the per-object tables.

export interface VolumeUsage {
  Name: string;
  Driver?: string;
  Mountpoint?: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
  ClusterVolume?: { Spec?: { Group?: string; AccessMode?: unknown; Availability?: string }; Info?: { VolumeID?: string } | null; PublishStatus?: unknown[] | null } | null;
}

export interface BuildCacheRecord {
  ID: string;
  Parent?: string;
  Parents?: string[] | null;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  Size?: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
}

export interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: VolumeUsage[] | null;
  BuildCache?: BuildCacheRecord[] | null;
}

/** go-units HumanSize (4 significant digits), what the summary and the volume table show. */
const human4 = (n: number) => humanSize(n, 4);

/** `1.2GB (45%)`: the percentage is Go's int64 division (truncated), nothing when the total is 0. */
export function reclaimableText(reclaimable: number, total: number): string {
  if (total > 0) return `${human4(reclaimable)} (${(BigInt(Math.trunc(reclaimable)) * 100n) / BigInt(Math.trunc(total))}%)`;
  return human4(reclaimable);
}

const ACTIVE_STATES = new Set(['running', 'paused', 'restarting']);

/** The summary rows (Images, Containers, Local Volumes, Build Cache) with docker's arithmetic. */
export function diskUsageSummary(du: DiskUsage): Record<string, string>[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const row = (Type: string, total: number, active: number, size: number, Reclaimable: string) =>
    goRow({ Active: String(active), Reclaimable, Size: human4(size), TotalCount: String(total), Type });

  // Images: the daemon's LayersSize; what images with containers use exclusively is not reclaimable.
  const layers = du.LayersSize ?? 0;
  let used = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) === 0 || i.Size === -1 || i.SharedSize === -1) continue;
    used += (i.Size ?? 0) - (i.SharedSize ?? 0);
  }
  const out = [row('Images', images.length, images.filter((i) => (i.Containers ?? 0) > 0).length, layers, reclaimableText(layers - used, layers))];

  // Containers: writable layers; those of running, paused and restarting containers stay.
  let csize = 0;
  let creclaim = 0;
  for (const c of containers) {
    csize += c.SizeRw ?? 0;
    if (!ACTIVE_STATES.has(c.State)) creclaim += c.SizeRw ?? 0;
  }
  out.push(row('Containers', containers.length, containers.filter((c) => ACTIVE_STATES.has(c.State)).length, csize, reclaimableText(creclaim, csize)));

  // Local volumes: unknown sizes (-1) are left out; referenced volumes stay.
  let vsize = 0;
  let vreclaim = 0;
  for (const v of volumes) {
    const size = v.UsageData?.Size ?? -1;
    if (size === -1) continue;
    if ((v.UsageData?.RefCount ?? 0) === 0) vreclaim += size;
    vsize += size;
  }
  out.push(row('Local Volumes', volumes.length, volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, vsize, reclaimableText(vreclaim, vsize)));

  // Build cache: shared records count elsewhere; in-use private ones are not reclaimable. No percentage.
  const bsize = builderSize(cache);
  const inUse = cache.filter((b) => b.InUse && !b.Shared).reduce((n, b) => n + (b.Size ?? 0), 0);
  out.push(row('Build Cache', cache.length, cache.filter((b) => b.InUse).length, bsize, human4(bsize - inUse)));
  return out;
}

function builderSize(cache: BuildCacheRecord[]): number {
  return cache.filter((b) => !b.Shared).reduce((n, b) => n + (b.Size ?? 0), 0);
}

/** An RFC 3339 time from the API: its nanoseconds since the epoch and Go's time.Time.String(). */
export function parseApiTime(s: string | null | undefined): { nanos: bigint; text: string } | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$/.exec(s ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
  const offset = zone === 'Z' || zone === 'z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) - offset * 60_000;
  const fracDigits = frac.slice(0, 9);
  const nanos = BigInt(utcMs) * 1_000_000n + BigInt(fracDigits.padEnd(9, '0') || '0');
  const trimmed = fracDigits.replace(/0+$/, '');
  let zoneText: string;
  if (zone === 'Z' || zone === 'z') {
    zoneText = '+0000 UTC';
  } else {
    const local = goTimeString(utcMs / 1000);
    const numeric = `${zone.slice(0, 3)}${zone.slice(4, 6)}`;
    // time.Parse uses the local zone when its offset matches, a nameless fixed zone otherwise.
    zoneText = local.split(' ')[2] === numeric ? local.split(' ').slice(2).join(' ') : `${numeric} ${numeric}`;
  }
  return { nanos, text: `${y}-${mo}-${d} ${h}:${mi}:${sec}${trimmed ? `.${trimmed}` : ''} ${zoneText}` };
}

function sinceText(t: { nanos: bigint } | undefined, now: number): string {
  // Go's time.Sub saturates: from the zero time it is ~292 years.
  if (!t) return '292 years ago';
  return `${humanDuration(now - Number(t.nanos / 1_000_000n))} ago`;
}

/** reference.ParseNormalizedNamed(RepoTags[0]) as docker's df -v uses it: repo and tag, or null to skip. */
function firstTag(img: ImageSummary): { repo: string; tag: string } | null {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  const dangling = (tags.length === 0 && digests.length === 0) ||
    (tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>');
  if (tags.length === 0 || dangling) return { repo: '<none>', tag: '<none>' };
  try {
    const ref = parseReference(tags[0]);
    if (ref.tag === undefined) return { repo: '<none>', tag: '<none>' };
    return { repo: ref.familiarName(), tag: ref.tag };
  } catch {
    // Not a reference docker can parse: null, the row docker's df -v skips.
    return null;
  }
}

function dfImageRow(img: ImageSummary, repo: string, tag: string, trunc: boolean, now: number): Record<string, unknown> {
  const size = img.Size ?? 0;
  const shared = img.SharedSize ?? 0;
  const containers = img.Containers ?? 0;
  return goRow({
    Containers: containers === -1 ? 'N/A' : String(containers),
    CreatedAt: goTimeString(img.Created ?? 0),
    CreatedSince: ago(img.Created ?? 0, now),
    Digest: '',
    ID: trunc ? truncateId(img.Id) : img.Id,
    Repository: repo,
    SharedSize: shared === -1 ? 'N/A' : human4(shared),
    Size: humanSize(size),
    Tag: tag,
    UniqueSize: size === -1 || shared === -1 ? 'N/A' : human4(size - shared),
    VirtualSize: human4(size),
  });
}

function dfVolumeRow(v: VolumeUsage): Record<string, unknown> {
  const labels = v.Labels ?? {};
  const cv = v.ClusterVolume;
  let status = 'N/A';
  if (cv) {
    const n = cv.PublishStatus?.length ?? 0;
    status = !cv.Info?.VolumeID ? 'pending creation' : n === 0 ? 'created' : n === 1 ? 'in use (1 node)' : `in use (${n} nodes)`;
  }
  return goRow({
    Availability: cv ? cv.Spec?.Availability ?? '' : 'N/A',
    Driver: v.Driver ?? '',
    Group: cv ? cv.Spec?.Group ?? '' : 'N/A',
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint ?? '',
    Name: v.Name,
    Scope: v.Scope ?? '',
    Size: v.UsageData ? human4(v.UsageData.Size) : 'N/A',
    Status: status,
  }, { Label: (k: string) => labels[k] ?? '' });
}

function dfBuildCacheRow(b: BuildCacheRecord, trunc: boolean, now: number): Record<string, unknown> {
  const created = parseApiTime(b.CreatedAt);
  const lastUsed = b.LastUsedAt ? parseApiTime(b.LastUsedAt) : undefined;
  // docker 28's CacheRecord tags Parents as `json:" Parents"` (sic), so the daemon's Parents never
  // reach it: the deprecated Parent is what it shows.
  const parent = b.Parent ?? '';
  return goRow({
    CacheType: b.Type ?? '',
    CreatedAt: created?.text ?? '0001-01-01 00:00:00 +0000 UTC',
    CreatedSince: sinceText(created, now),
    Description: b.Description ?? '',
    ID: (trunc ? truncateId(b.ID) : b.ID) + (b.InUse ? '*' : ''),
    InUse: String(Boolean(b.InUse)),
    LastUsedAt: b.LastUsedAt ? lastUsed?.text ?? '' : '',
    LastUsedSince: b.LastUsedAt ? sinceText(lastUsed, now) : '',
    Parent: trunc ? truncateId(parent) : parent,
    Shared: String(Boolean(b.Shared)),
    Size: humanSize(b.Size ?? 0),
    UsageCount: String(b.UsageCount ?? 0),
  });
}

/** buildCacheSort: least recently used first (never used before all), ties by ID. */
function sortBuildCache(cache: BuildCacheRecord[]): BuildCacheRecord[] {
  const key = (b: BuildCacheRecord) => (b.LastUsedAt ? parseApiTime(b.LastUsedAt)?.nanos ?? -(1n << 63n) : undefined);
  const byId = (a: BuildCacheRecord, b: BuildCacheRecord) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
  return [...cache].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === undefined && kb === undefined) return byId(a, b);
    if (ka === undefined) return -1;
    if (kb === undefined) return 1;
    return ka === kb ? byId(a, b) : ka < kb ? -1 : 1;
  });
}

/** The data `system df -v` templates see: docker's diskUsageContext, rows as its typed contexts. */
export function diskUsageDetails(du: DiskUsage, trunc: boolean, now = Date.now()) {
  const Images: Record<string, unknown>[] = [];
  for (const img of du.Images ?? []) {
    const t = firstTag(img);
    if (t) Images.push(dfImageRow(img, t.repo, t.tag, trunc, now));
  }
  // The virtual size is not shown.
  const Containers = (du.Containers ?? []).map((c) => containerRow({ ...c, SizeRootFs: 0 }, trunc, now));
  const Volumes = (du.Volumes ?? []).map(dfVolumeRow);
  const BuildCache = sortBuildCache(du.BuildCache ?? []).map((b) => dfBuildCacheRow(b, trunc, now));
  const duc = { Images, Containers, Volumes, BuildCache };
  Object.defineProperty(duc, GO_JSON, { value: () => goJsonMarshal(duc), enumerable: false });
  return duc;
}

const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const DF_RAW = 'type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n';
const DF_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const DF_SECTIONS = {
  images: {
    table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
    raw: 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n',
    headers: { ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE' },
  },
  containers: {
    table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
    raw: 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\nsize: {{.Size}}\\n',
    headers: { ID: 'CONTAINER ID', Names: 'NAMES', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM' },
  },
  volumes: {
    table: 'table {{.Name}}\t{{.Links}}\t{{.Size}}',
    raw: 'name: {{.Name}}\\ndriver: {{.Driver}}\\n',
    headers: { ID: 'ID', Name: 'VOLUME NAME', Group: 'GROUP', Driver: 'DRIVER', Scope: 'SCOPE', Availability: 'AVAILABILITY', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Status: 'STATUS' },
  },
  buildCache: {
    table: 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}',
    raw: 'build_cache_id: {{.ID}}\nparent_id: {{.Parent}}\nbuild_cache_type: {{.CacheType}}\ndescription: {{.Description}}\ncreated_at: {{.CreatedAt}}\ncreated_since: {{.CreatedSince}}\nlast_used_at: {{.LastUsedAt}}\nlast_used_since: {{.LastUsedSince}}\nusage_count: {{.UsageCount}}\nin_use: {{.InUse}}\nshared: {{.Shared}}\n',
    headers: { ID: 'CACHE ID', Parent: 'PARENT', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', InUse: 'IN USE', Shared: 'SHARED', Description: 'DESCRIPTION' },
  },
};
const DF_VERBOSE_RAW =
  `{{range .Images}}type: Image\n${DF_SECTIONS.images.raw}\n{{end -}}\n` +
  `{{range .Containers}}type: Container\n${DF_SECTIONS.containers.raw}\n{{end -}}\n` +
  `{{range .Volumes}}type: Volume\n${DF_SECTIONS.volumes.raw}\n{{end -}}\n` +
  `{{range .BuildCache}}type: Build Cache\n${DF_SECTIONS.buildCache.raw}\n{{end -}}`;

/** docker's padWithSpace: an empty string stays empty (raw formats rely on it: `labels: {{- pad .Labels 1 0}}`). */
const pad: TemplateFunc = (s: unknown, before: number, after: number) => {
  const v = typeof s === 'string' ? s : String(s ?? '');
  return v === '' ? '' : ' '.repeat(before) + v + ' '.repeat(after);
};
const DF_FUNCS: Record<string, TemplateFunc> = { pad };
/** templates.HeaderFunctions: the header pass keeps column titles intact (pad is not replaced). */
const first: TemplateFunc = (v: unknown) => v;
const DF_HEADER_FUNCS: Record<string, TemplateFunc> = { json: first, split: first, join: first, title: first, lower: first, upper: first, truncate: first, pad };

/** formatter.Context.preFormat: the `table` prefix goes, `json` is `{{json .}}`, spaces trimmed, `\t` `\n` unescaped. */
function preFormat(format: string): string {
  let f = format;
  if (f.startsWith('table')) f = f.slice('table'.length);
  else if (f === 'json') f = '{{json .}}';
  return f.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function templateError(e: unknown): never {
  if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 1);
  throw e;
}

function parseDfTemplate(src: string, rootType: string): Template {
  try {
    return parseTemplate(src, { rootType, funcs: DF_FUNCS });
  } catch (e) {
    templateError(e);
  }
}

/** formatter.Context: each row then a newline; a table gets its header and goes through the tabwriter. */
function renderContext(format: string, rows: object[], headers: Record<string, string>, rootType: string): string {
  const src = preFormat(format);
  const tmpl = parseDfTemplate(src, rootType);
  let buf = '';
  for (const r of rows) {
    try {
      buf += `${tmpl.execute(r)}\n`;
    } catch (e) {
      templateError(e);
    }
  }
  if (!format.startsWith('table')) return buf;
  let header = '';
  try {
    header = parseTemplate(src, { funcs: DF_HEADER_FUNCS }).execute(headers);
  } catch {
    // docker ignores a failing header pass.
  }
  return tabwrite(`${header}\n${buf}`);
}

/** `system df` output for a /system/df reply: what docker prints, given its -v and --format. */
export function renderDiskUsage(du: DiskUsage, o: { verbose?: boolean; format?: string }, now = Date.now()): string {
  const source = o.format || 'table';
  if (!o.verbose) {
    const format = source === 'table' ? DF_TABLE : source === 'raw' ? DF_RAW : source;
    return renderContext(format, diskUsageSummary(du), DF_HEADERS, '*formatter.diskUsageImagesContext');
  }
  const format = source === 'raw' ? DF_VERBOSE_RAW : source;
  const duc = diskUsageDetails(du, format.startsWith('table'), now);
  if (format !== 'table') {
    // A custom template sees the whole diskUsageContext once, and gets no newline of its own.
    const tmpl = parseDfTemplate(preFormat(format), '*formatter.diskUsageContext');
    try {
      return tmpl.execute(duc);
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(e.message, 1);
      throw e;
    }
  }
  const s = DF_SECTIONS;
  let out = 'Images space usage:\n\n';
  out += renderContext(s.images.table, duc.Images, s.images.headers, '*formatter.imageContext');
  out += '\nContainers space usage:\n\n';
  out += renderContext(s.containers.table, duc.Containers, s.containers.headers, '*formatter.ContainerContext');
  out += '\nLocal Volumes space usage:\n\n';
  out += renderContext(s.volumes.table, duc.Volumes, s.volumes.headers, '*formatter.volumeContext');
  out += `\nBuild cache usage: ${human4(builderSize(du.BuildCache ?? []))}\n\n`;
  out += renderContext(s.buildCache.table, duc.BuildCache, s.buildCache.headers, '*formatter.buildCacheContext');
  return out;
}

export async function df(ctx: Ctx, _args: string[], o: OptionsOf<typeof SYSTEM_COMMANDS.df>): Promise<number> {
  const du = await ctx.client.system.df<DiskUsage>();
  process.stdout.write(renderDiskUsage(du, { verbose: Boolean(o.verbose), format: o.format }));
  return 0;
}
