// The read commands of `berth compose`, as compose v2 prints them: ps, ls, images, top, port,
// events, wait. Each finds the project's containers by label (src/compose/runtime/containers.ts) and needs the
// compose files only to know the project's name (or not at all, with -p).
//
//   berth compose ps -a --format json       one JSON object per container and line
//   berth compose ls -a                     NAME STATUS CONFIG FILES, from the containers' labels
//   berth compose top web                   SERVICE # UID PID PPID C STIME TTY TIME CMD
//   berth compose events --json             the project's container events as compose's JSON
//
// The pure pieces are exported for unit tests: psRow (cmd/formatter/container.go's
// ContainerContext: default table NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS), stacksOf
// and combinedStatus (ls), topTable, imagesTable, eventLine.
//
//   psRow({ summary, health: 'healthy', exitCode: 0 }, true)
//     → { Name: 'shop-web-1', Command: '"nginx -g \'daemon of…"', Service: 'web', Status: 'Up 4 seconds (healthy)', ... }
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { getTimestamp, humanDuration, humanSize } from '../../common/units.ts';
import { normalizeTagged } from '../../common/reference.ts';
import { RAW_JSON, jsonMessages } from '../../client/streams.ts';
import { readAll } from '../../client/client.ts';
import { ComposeError } from '../../compose/errors.ts';
import { LABELS } from '../../compose/model.ts';
import type { ContainerSummary } from '../../compose/runtime/api.ts';
import { byName, canonicalName, getContainers, getSpecifiedContainer, isService } from '../../compose/runtime/containers.ts';
import { ago, displayablePorts, ellipsis, goQuote, goTimeString, truncateId } from '../display.ts';
import { goRow, renderList } from '../format/formatter.ts';
import { tabwrite } from '../format/tabwriter.ts';
import { StatusError, type Ctx } from '../context.ts';
import { eachLimited } from '../../compose/runtime/graph.ts';
import { down } from '../../compose/runtime/commands.ts';
import { projectName, projectOrName, session, withWriter } from './compose-common.ts';


export const PS_TABLE = 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';

export const PS_HEADERS = {
  ID: 'CONTAINER ID', Name: 'NAME', Project: 'PROJECT', Service: 'SERVICE', Image: 'IMAGE', Command: 'COMMAND',
  CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE',
  Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS',
  Label: (k: string) => k,
};

export interface Publisher { URL: string; TargetPort: number; PublishedPort: number; Protocol: string }

export interface PsInput {
  summary: ContainerSummary;
  /** State.Health.Status of a running container ('' otherwise). */
  health: string;
  /** State.ExitCode of an exited or dead container (0 otherwise). */
  exitCode: number;
}

/** compose's PortPublishers: the summary's ports sorted by container port. */
export function publishers(c: ContainerSummary): Publisher[] {
  return [...(c.Ports ?? [])]
    .sort((a, b) => a.PrivatePort - b.PrivatePort)
    .map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type }));
}

export function psRow(x: PsInput, trunc: boolean, now = Date.now()): Record<string, unknown> {
  const c = x.summary;
  const labels = c.Labels ?? {};
  const pubs = publishers(c);
  const mounts = (c.Mounts ?? []).map((m) => {
    const n = m.Name || m.Source || '';
    return trunc ? ellipsis(n, 15) : n;
  });
  const srw = humanSize(c.SizeRw ?? 0);
  return goRow({
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: goTimeString(c.Created ?? 0),
    ExitCode: x.exitCode,
    Health: x.health,
    ID: trunc ? truncateId(c.Id) : c.Id,
    Image: c.Image,
    // Go ranges over a map here: the order is unspecified; sorted keeps it stable.
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: mounts.join(','),
    Name: canonicalName(c),
    Names: (() => {
      const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
      if (!trunc) return names.join(',');
      const own = names.find((n) => !n.includes('/'));
      return own ?? names.join(',');
    })(),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    Ports: displayablePorts(pubs.map((p) => ({ IP: p.URL, PrivatePort: p.TargetPort, PublicPort: p.PublishedPort, Type: p.Protocol }))),
    Project: labels[LABELS.project] ?? '',
    Publishers: pubs,
    RunningFor: ago(c.Created ?? 0, now),
    Service: labels[LABELS.service] ?? '',
    Size: (c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${humanSize(c.SizeRootFs!)})` : srw,
    State: c.State,
    Status: c.Status,
  }, { Label: (k: string) => labels[k] ?? '' });
}

/** `ps --status x`: compose compares the summary's State. */
export function hasStatus(c: ContainerSummary, statuses: string[]): boolean {
  return statuses.includes(c.State);
}

/** compose's `ls` STATUS: `running(2), exited(1)`, states sorted. */
export function combinedStatus(states: string[]): string {
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.keys()].sort().map((s) => `${s}(${counts.get(s)})`).join(', ');
}

export interface Stack { Name: string; Status: string; ConfigFiles: string }

/** compose's containersToStacks: one entry per project label value, sorted by name. */
export function stacksOf(containers: ContainerSummary[], warn: (m: string) => void = () => {}): Stack[] {
  const by = new Map<string, ContainerSummary[]>();
  for (const c of containers) {
    const p = c.Labels?.[LABELS.project];
    if (p === undefined) continue;
    if (!by.has(p)) by.set(p, []);
    by.get(p)!.push(c);
  }
  return [...by.keys()].sort().map((name) => {
    const cs = by.get(name)!;
    let files: string;
    const missing = cs.find((c) => c.Labels?.[LABELS.configFiles] === undefined);
    if (missing) {
      warn(`no label ${JSON.stringify(LABELS.configFiles)} set on container ${JSON.stringify(missing.Id)} of compose project`);
      files = 'N/A';
    } else {
      const all: string[] = [];
      for (const c of cs) for (const f of c.Labels![LABELS.configFiles].split(',')) if (!all.includes(f)) all.push(f);
      files = all.join(',');
    }
    return { Name: name, Status: combinedStatus(cs.map((c) => c.State)), ConfigFiles: files };
  });
}

// ------------------------------------------------------------------------------------------ ps

interface InspectState { State?: { Status?: string; ExitCode?: number; Health?: { Status?: string } | null } }

export async function ps(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.ps>): Promise<number> {
  const { s: sess } = session(ctx, { readOnly: true });
  const statuses: string[] = [...(o.status ?? [])];
  if (o.filter) {
    const i = String(o.filter).indexOf('=');
    if (i < 0) throw new ComposeError('arguments to --filter should be in form KEY=VAL');
    const [k, v] = [o.filter.slice(0, i), o.filter.slice(i + 1)];
    if (k === 'status') statuses.push(v);
    else if (k === 'source') throw new ComposeError('not implemented');
    else throw new ComposeError(`unknown filter ${k}`);
  }
  let services = args;
  const { project, name } = projectOrName(ctx, args);
  if (project) {
    for (const s of services) if (!project.services[s]) throw new ComposeError(`no such service: ${s}`);
    if (services.length === 0 && o.orphans === false) services = Object.keys(project.services).sort();
  }
  const all = Boolean(o.all) || statuses.length > 0;
  let cs = await getContainers(sess.api, name, all ? 'include' : 'exclude', all, services);
  if (services.length) cs = cs.filter(isService(...services));
  if (statuses.length) cs = cs.filter((c) => statuses.includes(c.State));
  cs.sort(byName);
  if (o.quiet) {
    for (const c of cs) ctx.out(`${c.Id}\n`);
    return 0;
  }
  if (o.services) {
    const seen: string[] = [];
    for (const c of cs) {
      const sv = c.Labels?.[LABELS.service] ?? '';
      if (!seen.includes(sv)) seen.push(sv);
    }
    // compose prints the joined list with Println: an empty line when there is none.
    ctx.out(`${seen.join('\n')}\n`);
    return 0;
  }
  const inputs: PsInput[] = cs.map((summary) => ({ summary, health: '', exitCode: 0 }));
  await eachLimited(inputs, sess.parallel, async (x) => {
    const i = await ctx.client.containers.inspect<InspectState>(x.summary.Id);
    const st = i.State ?? {};
    if (st.Status === 'running') x.health = st.Health?.Status ?? '';
    else if (st.Status === 'exited' || st.Status === 'dead') x.exitCode = st.ExitCode ?? 0;
  });
  const trunc = o.trunc !== false;
  const rows = inputs.map((x) => psRow(x, trunc));
  ctx.out(renderList(o.format, PS_TABLE, rows, PS_HEADERS));
  return 0;
}

// ------------------------------------------------------------------------------------------ ls

/** Go's regexp.MatchString for filter values (an invalid pattern matches nothing). */
function reMatch(pattern: string, s: string): boolean {
  try { return new RegExp(pattern).test(s); } catch { return false; }
}

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.ls>): Promise<number> {
  const { s: sess } = session(ctx, { readOnly: true });
  const names: string[] = [];
  for (const f of o.filter ?? []) {
    const i = String(f).indexOf('=');
    const k = i < 0 ? f : f.slice(0, i);
    if (k !== 'name') throw new StatusError(`invalid filter '${k}'`, 1);
    if (i < 0) throw new StatusError(`bad format of filter (expected name=value)`, 1);
    names.push(f.slice(i + 1));
  }
  const format = (o.format ?? 'table').toLowerCase();
  if (!['table', 'pretty', '', 'json', '{{json.}}'].includes(format)) {
    throw new ComposeError(`format value ${JSON.stringify(o.format)} could not be parsed: parsing failed`);
  }
  const cs = await sess.api.listContainers({ label: [LABELS.project, LABELS.configHash] }, Boolean(o.all));
  let stacks = stacksOf(cs, (m) => process.stderr.write(`WARN[0000] ${m}\n`));
  if (names.length) stacks = stacks.filter((st) => names.some((n) => reMatch(n, st.Name)));
  if (o.quiet) {
    for (const st of stacks) ctx.out(`${st.Name}\n`);
    return 0;
  }
  if (format === 'json') { ctx.out(`${goJson(stacks)}\n`); return 0; }
  if (format === '{{json.}}') { for (const st of stacks) ctx.out(`${goJson(st)}\n`); return 0; }
  ctx.out(prettyTable(['NAME', 'STATUS', 'CONFIG FILES'], stacks.map((st) => [st.Name, st.Status, st.ConfigFiles])));
  return 0;
}

/** Go's json encoder without HTML escaping (compose's ToJSON). */
function goJson(v: unknown): string {
  return JSON.stringify(v);
}

/** compose's PrintPrettySection: tabwriter(20, 1, 3). */
export function prettyTable(headers: string[], rows: string[][]): string {
  return tabwrite([headers, ...rows].map((r) => `${r.join('\t')}\n`).join(''), { minWidth: 20, padding: 3 });
}

// -------------------------------------------------------------------------------------- images

export interface ImageRow {
  container: string;
  id: string;
  repository: string;
  tag: string;
  platform: string;
  size: number;
  lastTagTime: string;
  created: string;
}

/** Go's zero time as the Engine API sends it for an image never tagged here. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** compose's images table: CONTAINER REPOSITORY TAG PLATFORM IMAGE ID SIZE CREATED, by container. */
export function imagesTable(rows: ImageRow[], now = Date.now()): string {
  const sorted = [...rows].sort((a, b) => (a.container < b.container ? -1 : a.container > b.container ? 1 : 0));
  return prettyTable(
    ['CONTAINER', 'REPOSITORY', 'TAG', 'PLATFORM', 'IMAGE ID', 'SIZE', 'CREATED'],
    sorted.map((r) => {
      // A zero LastTagTime is Go's year 1: time.Since saturates at ~292 years.
      const t = r.lastTagTime && r.lastTagTime !== ZERO_TIME ? Date.parse(r.lastTagTime) : Number.NaN;
      const age = Number.isNaN(t) ? 292 * 365 * 24 * 3600_000 : now - t;
      return [r.container, r.repository || '<none>', r.tag || '<none>', r.platform, truncateId(r.id), humanSize(r.size), `${humanDuration(age)} ago`];
    }),
  );
}

interface ImageInspect { Id: string; Architecture?: string; Os?: string; Variant?: string; Size: number; Created?: string; Metadata?: { LastTagTime?: string } }

export async function images(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.images>): Promise<number> {
  const { s: sess } = session(ctx, { readOnly: true });
  const name = projectName(ctx);
  let cs = await sess.api.listContainers({ label: [`${LABELS.project}=${name}`] }, true);
  if (args.length) cs = cs.filter(isService(...args));
  const rows: ImageRow[] = [];
  await eachLimited(cs, sess.parallel, async (c) => {
    const image = c.Image ?? '';
    const img = await ctx.client.images.inspect<ImageInspect>(image);
    let repository = '';
    let tag = '';
    try {
      const ref = normalizeTagged(image);
      repository = ref.familiarName();
      tag = ref.tag ?? '';
    } catch { /* an image ID: no repository */ }
    rows.push({
      container: canonicalName(c), id: img.Id, repository, tag,
      platform: [img.Os, img.Architecture, img.Variant].filter(Boolean).join('/'),
      size: img.Size, lastTagTime: img.Metadata?.LastTagTime ?? '', created: img.Created ?? '',
    });
  });
  if (o.quiet) {
    const ids: string[] = [];
    for (const r of rows) {
      const id = r.id.includes(':') ? r.id.slice(r.id.indexOf(':') + 1) : r.id;
      if (!ids.includes(id)) ids.push(id);
    }
    for (const id of ids) ctx.out(`${id}\n`);
    return 0;
  }
  const format = (o.format ?? 'table').toLowerCase();
  if (format === 'json') {
    const list = rows.sort((a, b) => (a.container < b.container ? -1 : 1)).map((r) => ({
      ID: r.id, ContainerName: r.container, Repository: r.repository, Tag: r.tag, Platform: r.platform, Size: r.size,
      LastTagTime: r.lastTagTime && r.lastTagTime !== ZERO_TIME ? r.lastTagTime : r.created,
    }));
    ctx.out(`${list.length ? JSON.stringify(list) : 'null'}\n`);
    return 0;
  }
  if (!['table', 'pretty', ''].includes(format)) throw new ComposeError(`format value ${JSON.stringify(o.format)} could not be parsed: parsing failed`);
  ctx.out(imagesTable(rows));
  return 0;
}

// ----------------------------------------------------------------------------------------- top

export interface TopSummary { name: string; service: string; replica: string; titles: string[]; processes: string[][] }

/** compose's collectTop + topPrint: SERVICE, #, the ps titles in order met, CMD last; '-' where a row lacks a title. */
export function topTable(containers: TopSummary[]): string {
  const sorted = [...containers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: string[] = ['SERVICE', '#'];
  const rows: Record<string, string>[] = [];
  for (const c of sorted) {
    for (const p of c.processes) {
      const row: Record<string, string> = { SERVICE: c.service, '#': c.replica };
      c.titles.forEach((t, i) => {
        if (!header.includes(t)) header.push(t);
        row[t] = p[i];
      });
      rows.push(row);
    }
  }
  if (rows.length === 0) return '';
  const cmd = header.indexOf('CMD');
  if (cmd >= 0) header.push(...header.splice(cmd, 1));
  const lines = [header, ...rows.map((r) => header.map((h) => r[h] ?? '-'))];
  return tabwrite(lines.map((l) => `${l.join('\t')}\n`).join(''), { minWidth: 4, padding: 2 });
}

export async function top(ctx: Ctx, args: string[]): Promise<number> {
  const { s: sess } = session(ctx, { readOnly: true });
  const name = projectName(ctx);
  let cs = await getContainers(sess.api, name, 'include', false);
  if (args.length) cs = cs.filter(isService(...args));
  const out: TopSummary[] = [];
  await eachLimited(cs, sess.parallel, async (c) => {
    const t = await ctx.client.containers.top(c.Id);
    const n = canonicalName(c);
    out.push({ name: n, service: c.Labels?.[LABELS.service] ?? n, replica: c.Labels?.[LABELS.containerNumber] ?? '', titles: t.Titles ?? [], processes: t.Processes ?? [] });
  });
  ctx.out(topTable(out));
  return 0;
}

// ---------------------------------------------------------------------------------------- port

export async function port(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.port>): Promise<number> {
  const { s: sess } = session(ctx, { readOnly: true });
  const [service, portArg] = args;
  if (!/^\d+$/.test(portArg) || Number(portArg) > 65535) {
    throw new StatusError(/^\d+$/.test(portArg) ? `strconv.ParseUint: parsing ${JSON.stringify(portArg)}: value out of range` : `strconv.ParseUint: parsing ${JSON.stringify(portArg)}: invalid syntax`, 1);
  }
  const privatePort = Number(portArg);
  const protocol = String(o.protocol ?? 'tcp').toLowerCase();
  const name = projectName(ctx);
  const c = await getSpecifiedContainer(sess.api, name, 'include', false, service, o.index ?? 0);
  for (const p of c.Ports ?? []) {
    if (p.PrivatePort === privatePort && p.Type === protocol) {
      ctx.out(`${p.IP ?? ''}:${p.PublicPort ?? 0}\n`);
      return 0;
    }
  }
  const have = (c.Ports ?? []).map((p) => `${p.PublicPort ?? 0}/${p.Type}`).join(', ');
  throw new ComposeError(`no port ${privatePort}/${protocol} for container ${canonicalName(c)}: ${have}`);
}

// -------------------------------------------------------------------------------------- events

export interface ComposeEvent { timeNano: bigint; service: string; id: string; action: string; attributes: Record<string, string> }

/** Go's time.Format(RFC3339Nano) of a Unix time in nanoseconds, in the local zone (trailing zeros dropped). */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = String(ns % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.trunc(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}${frac ? `.${frac}` : ''}${tz}`;
}

/** compose's Event.String() ("2006-01-02 15:04:05.000000 container ACTION ID (k=v, ...)") or its --json line. */
export function eventLine(e: ComposeEvent, json: boolean): string {
  const attrs = Object.keys(e.attributes).sort();
  if (json) {
    const o = { action: e.action, attributes: Object.fromEntries(attrs.map((k) => [k, e.attributes[k]])), id: e.id, service: e.service, time: rfc3339Nano(e.timeNano), type: 'container' };
    return `${JSON.stringify(o)}\n`;
  }
  const t = rfc3339Nano(e.timeNano);
  const frac = (/\.(\d+)/.exec(t)?.[1] ?? '').padEnd(6, '0').slice(0, 6);
  const stamp = `${t.slice(0, 10)} ${t.slice(11, 19)}.${frac}`;
  // String() ends in a newline and compose prints it with Println: a blank line follows.
  return `${stamp} container ${e.action} ${e.id} (${attrs.map((k) => `${k}=${e.attributes[k]}`).join(', ')})\n\n`;
}

export async function events(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.events>): Promise<number> {
  const name = projectName(ctx);
  const since = o.since ? getTimestamp(o.since, new Date()) : undefined;
  const until = o.until ? getTimestamp(o.until, new Date()) : undefined;
  const res = await ctx.client.system.events({ since, until, filters: JSON.stringify({ label: [`${LABELS.project}=${name}`] }) });
  for await (const m of jsonMessages(res)) {
    const ev = m as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; time?: number };
    if (ev.Type !== 'container') continue;
    const a = ev.Actor?.Attributes ?? {};
    if (a[LABELS.oneoff] === 'True') continue;
    const service = a[LABELS.service] ?? '';
    if (args.length && !args.includes(service)) continue;
    const attributes = Object.fromEntries(Object.entries(a).filter(([k]) => !k.startsWith('com.docker.compose.')));
    // timeNano past 2^53: read from the message's own text.
    const raw = (m as Record<symbol, string>)[RAW_JSON] ?? '';
    const nano = /"timeNano":\s*(\d+)/.exec(raw)?.[1];
    const timeNano = nano ? BigInt(nano) : BigInt(ev.time ?? 0) * 1_000_000_000n;
    ctx.out(eventLine({ timeNano, service, id: ev.Actor?.ID ?? '', action: ev.Action ?? '', attributes }, Boolean(o.json)));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------- wait

export async function wait(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.wait>): Promise<number> {
  const { s: sess, ui } = session(ctx, { readOnly: !o.downProject });
  const { name } = projectOrName(ctx);
  const cs = await getContainers(sess.api, name, 'include', false, args);
  if (cs.length === 0) throw new ComposeError(`no containers for project ${JSON.stringify(name)}`);
  let status = 0;
  try {
    await Promise.all(cs.map(async (c) => {
      const res = await ctx.client.containers.wait(c.Id);
      const r = JSON.parse((await readAll(res)).toString()) as { StatusCode: number };
      ctx.out(`container ${JSON.stringify(c.Id)} exited with status code ${r.StatusCode}\n`);
      status = r.StatusCode;
    }));
  } catch (e) {
    // compose ignores the exit codes when a wait fails.
    process.stderr.write(`${(e as Error).message}\n`);
    return 42;
  }
  // compose's Down of the project by its name (what its labels say), orphans included.
  if (o.downProject) await withWriter(sess, ui, 'Running', (w) => down(sess, name, undefined, { services: [], removeOrphans: true, volumes: false }, w));
  return status;
}
