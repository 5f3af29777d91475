// Volume verbs: volume create, ls, inspect, rm, prune (docker CLI 28's flags, output and exit
// codes). The pure parts (option parsing, ordering, rows, inspect output) are exported for tests.
//
//   berth volume create -o type=tmpfs -o device=tmpfs --label a=b v1   → prints `v1`
//   berth volume ls -f dangling=true --format '{{.Name}} {{.Label "a"}}'
//   berth volume inspect -f '{{.Mountpoint}}' v1
//   berth volume rm v1 nosuch                                       → `v1`, an error, exit 1
//   berth volume prune -a -f
import type { OptionsOf, VOLUME_COMMANDS } from '../spec.ts';
import { ApiError } from '../../client/client.ts';
import { humanSize } from '../../common/units.ts';
import { StatusError, flagError, type Ctx } from '../context.ts';
import { renderList, goRow, normalizeFormat } from '../format/formatter.ts';
import { parseTemplate, TemplateError, GO_JSON, goJsonMarshal, type Template } from '../format/template.ts';
import { indentJson } from '../format/json-indent.ts';
import { encodeFilters } from '../filters.ts';
import { confirm as ask } from '../prompt.ts';
import { kvMap } from '../args.ts';


export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  Scope?: string;
  Status?: Record<string, unknown> | null;
  UsageData?: { Size: number; RefCount: number } | null;
  ClusterVolume?: unknown;
}

// ---------------------------------------------------------------------------------------------
// create

/** `-o key=value` (docker's MapOpts: no validation, `-o key` is key → ""; the last one wins). */
export const parseDriverOpts = kvMap;

/**
 * `--label key[=value]` (docker's ValidateLabel then ConvertKVStringsToMap). Returns the map, or
 * the offending value and reason for pflag's `invalid argument` message.
 */
export function parseLabels(items: string[] | undefined): { labels: Record<string, string> } | { bad: string; reason: string } {
  const labels: Record<string, string> = {};
  for (const it of items ?? []) {
    const eq = it.indexOf('=');
    const rawKey = eq < 0 ? it : it.slice(0, eq);
    const key = rawKey.replace(/^[ \t]+/, '');
    if (key === '') return { bad: it, reason: `invalid label '${it}': empty name` };
    if (/[ \t]/.test(key)) return { bad: it, reason: `label '${key}' contains whitespaces` };
    // The map is keyed by the untrimmed text before '=', as docker's is.
    labels[rawKey] = eq < 0 ? '' : it.slice(eq + 1);
  }
  return { labels };
}

/** The POST /volumes/create body as docker's client sends it (empty fields omitted). */
export function createBody(name: string | undefined, o: { driver?: string; opt?: string[] }, labels: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const driver = o.driver ?? 'local';
  if (driver) body.Driver = driver;
  const driverOpts = parseDriverOpts(o.opt);
  if (Object.keys(driverOpts).length) body.DriverOpts = driverOpts;
  if (Object.keys(labels).length) body.Labels = labels;
  if (name) body.Name = name;
  return body;
}

export async function create(ctx: Ctx, args: string[], o: OptionsOf<typeof VOLUME_COMMANDS.create>): Promise<number> {
  let name: string | undefined = o.name;
  if (args.length === 1) {
    if (name) throw new StatusError('conflicting options: cannot specify a volume-name through both --name and as a positional arg', 1);
    name = args[0];
  }
  const l = parseLabels(o.label);
  if ('bad' in l) throw flagError(ctx, '--label', l.bad, l.reason);
  const v = await ctx.client.volumes.create<Volume>(createBody(name, o, l.labels));
  process.stdout.write(`${v?.Name ?? ''}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// ls

const DEFAULT_TABLE = 'table {{.Driver}}\t{{.Name}}';
const HEADERS = {
  ID: 'ID', Name: 'VOLUME NAME', Group: 'GROUP', Driver: 'DRIVER', Scope: 'SCOPE', Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Status: 'STATUS',
  // docker's SubHeaderContext.Label: the last dot-separated part, '-' and '_' as spaces.
  Label: (k: string) => String(k).split('.').pop()!.replace(/[-_]/g, ' '),
};

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** fvbommel/sortorder NaturalLess (docker sorts `volume ls` with it): digit runs compare as
 *  numbers, "abc2" < "abc12", fewer leading zeros first, digits before other bytes. */
export function naturalLess(s1: string, s2: string): boolean {
  const a = Buffer.from(s1);
  const b = Buffer.from(s2);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const d1 = isDigit(a[i]);
    const d2 = isDigit(b[j]);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (a[i] !== b[j]) return a[i] < b[j];
      i++;
      j++;
      continue;
    }
    while (i < a.length && a[i] === 0x30) i++;
    while (j < b.length && b[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < a.length && isDigit(a[i])) i++;
    while (j < b.length && isDigit(b[j])) j++;
    if (i - nz1 !== j - nz2) return i - nz1 < j - nz2;
    const n1 = a.subarray(nz1, i).toString('latin1');
    const n2 = b.subarray(nz2, j).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  return a.length < b.length;
}

export function sortVolumes<T extends { Name: string }>(list: T[]): T[] {
  return [...list].sort((x, y) => (naturalLess(x.Name, y.Name) ? -1 : naturalLess(y.Name, x.Name) ? 1 : 0));
}

/** A row shaped like docker's volumeContext (its methods are the JSON keys). */
export function volumeRow(v: Volume): Record<string, unknown> {
  const labels = v.Labels ?? {};
  const cluster = v.ClusterVolume as { Spec?: { Group?: string; Availability?: string } } | null | undefined;
  return goRow({
    Availability: cluster ? String(cluster.Spec?.Availability ?? '') : 'N/A',
    Driver: v.Driver ?? '',
    Group: cluster ? String(cluster.Spec?.Group ?? '') : 'N/A',
    // Go ranges over the map in random order; sorted here so output is stable.
    Labels: v.Labels ? Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',') : '',
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint ?? '',
    Name: v.Name ?? '',
    Scope: v.Scope ?? '',
    Size: v.UsageData ? humanSize(v.UsageData.Size, 4) : 'N/A',
    Status: cluster ? 'created' : 'N/A',
  }, { Label: (k: string) => labels[k] ?? '' });
}

/** docker's NewVolumeFormat: the format actually rendered for --format and -q. */
export function volumeFormat(format: string | undefined, quiet: boolean): string {
  const f = format || 'table';
  if (f === 'table') return quiet ? '{{.Name}}' : DEFAULT_TABLE;
  if (f === 'raw') return quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\\ndriver: {{.Driver}}\\n';
  return f;
}

export function renderVolumes(volumes: Volume[], format: string | undefined, quiet: boolean): string {
  const rows = sortVolumes(volumes).map(volumeRow);
  return renderList(volumeFormat(format, quiet), DEFAULT_TABLE, rows, HEADERS, '*formatter.volumeContext');
}

function templateFailure(e: unknown): never {
  if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 1);
  throw e;
}

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof VOLUME_COMMANDS.ls>): Promise<number> {
  const filters = (o.filter as string[] | undefined)?.filter((f) => f !== '');
  const r = await ctx.client.volumes.list<Volume>({ filters: encodeFilters(filters, ctx) });
  let out: string;
  try {
    out = renderVolumes(r?.Volumes ?? [], o.format, Boolean(o.quiet));
  } catch (e) {
    templateFailure(e);
  }
  process.stdout.write(out);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// inspect

/** Go's json.Marshal key order for a map: sorted (byte order), applied at every level. */
function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return Object.fromEntries(keys.map((k) => [k, sortKeysDeep(o[k])]));
  }
  return v;
}

const isEmptyMap = (m: unknown) => m === null || m === undefined || (typeof m === 'object' && Object.keys(m as object).length === 0);

/**
 * The daemon's volume decoded into docker's volume.Volume and marshalled again, as the docker CLI
 * does for `volume inspect`: struct field order, omitempty fields dropped, unknown fields gone,
 * map keys sorted.
 */
export function goVolumeJson(v: Volume): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v.ClusterVolume) out.ClusterVolume = v.ClusterVolume;
  if (v.CreatedAt) out.CreatedAt = v.CreatedAt;
  out.Driver = v.Driver ?? '';
  out.Labels = v.Labels ? sortKeysDeep(v.Labels) : null;
  out.Mountpoint = v.Mountpoint ?? '';
  out.Name = v.Name ?? '';
  out.Options = v.Options ? sortKeysDeep(v.Options) : null;
  out.Scope = v.Scope ?? '';
  if (!isEmptyMap(v.Status)) out.Status = sortKeysDeep(v.Status);
  if (v.UsageData) out.UsageData = { RefCount: v.UsageData.RefCount ?? 0, Size: v.UsageData.Size ?? 0 };
  return out;
}

/** What `-f TEMPLATE` sees: every field of the typed struct (nil maps print `map[]`); `{{json .}}`
 *  gives the omitempty form without HTML escaping, as docker's template `json` does. */
export function templateVolume(v: Volume): Record<string, unknown> {
  const j = goVolumeJson(v);
  const t: Record<string, unknown> = {
    ClusterVolume: v.ClusterVolume ?? null, CreatedAt: v.CreatedAt ?? '', Driver: j.Driver, Labels: j.Labels,
    Mountpoint: j.Mountpoint, Name: j.Name, Options: j.Options, Scope: j.Scope, Status: j.Status ?? null,
    UsageData: j.UsageData ?? null,
  };
  Object.defineProperty(t, GO_JSON, { value: () => JSON.stringify(j), enumerable: false });
  return t;
}

const VOLUME_MAPS = new Set(['Labels', 'Options', 'Status']);
const volumeNullText = (field: string | undefined) => (field && VOLUME_MAPS.has(field) ? 'map[]' : '<nil>');

/** The default output: json.MarshalIndent of the list (4 spaces, <>& escaped). */
export function inspectJson(vols: Volume[], compact = false): string {
  if (!vols.length) return '[]\n';
  const text = goJsonMarshal(vols.map(goVolumeJson));
  return `${compact ? text : indentJson(text, '    ')}\n`;
}

export async function inspect(ctx: Ctx, args: string[], o: OptionsOf<typeof VOLUME_COMMANDS.inspect>): Promise<number> {
  const format: string = o.format ?? '';
  let tmpl: Template | undefined;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = parseTemplate(normalizeFormat(format), { nullText: volumeNullText, rootType: 'volume.Volume' });
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
      throw e;
    }
  }
  const found: Volume[] = [];
  const errors: string[] = [];
  let out = '';
  for (const arg of args) {
    const name = arg.trim();
    if (!name) { errors.push('invalid volume name or ID: value is empty'); continue; }
    let v: Volume;
    try {
      v = await ctx.client.volumes.inspect<Volume>(name);
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
    if (!tmpl) { found.push(v); continue; }
    try {
      out += `${tmpl.execute(templateVolume(v))}\n`;
    } catch (e) {
      if (e instanceof TemplateError) { errors.push(`template parsing error: ${e.message}`); continue; }
      throw e;
    }
  }
  if (tmpl) process.stdout.write(out || '\n');
  else process.stdout.write(inspectJson(found, format === 'json'));
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rm

export async function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof VOLUME_COMMANDS.rm>): Promise<number> {
  const errors: string[] = [];
  for (const arg of args) {
    const name = arg.trim();
    if (!name) { errors.push('invalid volume name or ID: value is empty'); continue; }
    try {
      await ctx.client.volumes.remove(name, { force: Boolean(o.force) });
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
    process.stdout.write(`${arg}\n`);
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// prune

export const PRUNE_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.';
export const PRUNE_ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.';

/** docker's volume prune question: the warning, then `Are you sure you want to continue? [y/N] `. */
export function confirm(message: string, input?: NodeJS.ReadableStream, output?: NodeJS.WritableStream): Promise<boolean> {
  return ask(`${message}\nAre you sure you want to continue?`, input, output);
}

/** The prune filters as sent: --filter values, plus all=true for -a (which cannot be combined
 *  with an `all` filter). */
export function pruneFilters(filter: string[] | undefined, all: boolean): string[] {
  const filters = (filter ?? []).filter((f) => f !== '');
  if (all) {
    if (filters.some((f) => f.slice(0, f.indexOf('=') < 0 ? f.length : f.indexOf('=')).trim().toLowerCase() === 'all')) {
      throw new StatusError('conflicting options: cannot specify both --all and --filter all=1', 1);
    }
    filters.push('all=true');
  }
  return filters;
}

export function pruneOutput(r: { VolumesDeleted?: string[] | null; SpaceReclaimed?: number } | undefined): string {
  let out = '';
  let reclaimed = 0;
  if (r?.VolumesDeleted?.length) {
    out += `Deleted Volumes:\n${r.VolumesDeleted.map((n) => `${n}\n`).join('')}\n`;
    reclaimed = r.SpaceReclaimed ?? 0;
  }
  return `${out}Total reclaimed space: ${humanSize(reclaimed, 4)}\n`;
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof VOLUME_COMMANDS.prune>): Promise<number> {
  // A malformed --filter is a flag error (docker fails while parsing flags), then the --all
  // conflict; both before the prompt.
  encodeFilters(o.filter?.filter((f: string) => f !== ''), ctx, '--filter');
  const query = { filters: encodeFilters(pruneFilters(o.filter, Boolean(o.all)), ctx, '--filter') };
  // A declined prompt is docker's "cancelled" error: nothing more printed, exit 0.
  if (!o.force && !(await confirm(o.all ? PRUNE_ALL_WARNING : PRUNE_WARNING))) return 0;
  const r = await ctx.client.volumes.prune(query);
  process.stdout.write(pruneOutput(r));
  return 0;
}
