// `berth secret create|ls|inspect|rm` and `berth config create|ls|inspect|rm`: docker CLI 28's
// requests, tables and texts. The data of `create NAME FILE|-` is read whole and sent base64;
// `ls` sorts by name as docker does; `rm` leaves the reference to the daemon (ID, name or prefix).
//
//   printf s3cret | berth secret create db -     → <ID>
//   berth secret ls                              ID   NAME   DRIVER   CREATED   UPDATED
//   berth config create nginx.conf ./nginx.conf  → <ID>
import { readFileSync } from 'node:fs';
import type { CONFIG_COMMANDS, OptionsOf, SECRET_COMMANDS } from '../spec.ts';
import type { SecretObject } from '../../api/types/swarm.ts';
import { humanDuration } from '../../common/units.ts';
import { StatusError, removeEach, templateFailure, type Ctx } from '../context.ts';
import { kvMap } from '../args.ts';
import { encodeFilters } from '../filters.ts';
import { goRow, renderList } from '../format/formatter.ts';
import { inspectObjects } from './nodes.ts';
import { naturalLess } from './volumes.ts';

type Kind = 'secret' | 'config';
const api = (ctx: Ctx, kind: Kind) => (kind === 'secret' ? ctx.client.secrets : ctx.client.configs);

const TABLES: Record<Kind, string> = {
  secret: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}',
  config: 'table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}',
};
const HEADERS = { ID: 'ID', Name: 'NAME', Driver: 'DRIVER', CreatedAt: 'CREATED', UpdatedAt: 'UPDATED', Labels: 'LABELS' };

/** A row as docker's secretContext / configContext: times as "<duration> ago". */
export function secretRow(o: SecretObject, kind: Kind, now = Date.now()): Record<string, unknown> {
  const labels = o.Spec.Labels ?? {};
  const ago = (t: string) => `${humanDuration(now - Date.parse(t))} ago`;
  const fields: Record<string, unknown> = {
    ID: o.ID, Name: o.Spec.Name ?? '', CreatedAt: ago(o.CreatedAt), UpdatedAt: ago(o.UpdatedAt),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
  };
  if (kind === 'secret') fields.Driver = o.Spec.Driver?.Name ?? '';
  return goRow(fields, { Label: (k: string) => labels[k] ?? '' });
}

export function renderSecrets(kind: Kind, list: SecretObject[], format: string | undefined, quiet: boolean, now = Date.now()): string {
  const sorted = [...list].sort((a, b) => (naturalLess(a.Spec.Name ?? '', b.Spec.Name ?? '') ? -1 : naturalLess(b.Spec.Name ?? '', a.Spec.Name ?? '') ? 1 : 0));
  const f = quiet && (!format || format === 'table') ? '{{.ID}}' : format;
  return renderList(f, TABLES[kind], sorted.map((o) => secretRow(o, kind, now)), HEADERS);
}

/** The content of FILE, or stdin for `-` (docker: "Error reading content from …"). */
function readContent(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    throw new StatusError(`Error reading content from "${file}": ${(e as Error).message}`, 1);
  }
}

async function create(kind: Kind, ctx: Ctx, args: string[], o: { label?: string[]; driver?: string; templateDriver?: string }): Promise<number> {
  const [name, file] = args;
  if (o.driver) throw new StatusError(`berth ${kind} create: --driver is not supported (berth keeps the data in the cluster, encrypted)`, 1);
  if (file === undefined) throw new StatusError(`"berth ${kind} create" requires exactly 2 arguments.`, 1);
  const spec = { Name: name, Labels: kvMap(o.label), Data: readContent(file).toString('base64'), ...(o.templateDriver ? { Templating: { Name: o.templateDriver } } : {}) };
  const r = await api(ctx, kind).create(spec);
  process.stdout.write(`${r.ID}\n`);
  return 0;
}

async function ls(kind: Kind, ctx: Ctx, o: { filter?: string[]; format?: string; quiet?: boolean }): Promise<number> {
  const list = await api(ctx, kind).list<SecretObject>({ filters: encodeFilters(o.filter, ctx) });
  let out: string;
  try {
    out = renderSecrets(kind, list ?? [], o.format, Boolean(o.quiet));
  } catch (e) {
    templateFailure(e, 1);
  }
  process.stdout.write(out);
  return 0;
}

async function inspect(kind: Kind, ctx: Ctx, args: string[], o: { format?: string; pretty?: boolean }): Promise<number> {
  if (o.pretty) throw new StatusError(`berth ${kind} inspect: --pretty is not supported; use --format`, 1);
  return inspectObjects(ctx, args, o.format, (ref) => api(ctx, kind).inspect(ref));
}

const rm = (kind: Kind, ctx: Ctx, args: string[]) => removeEach(args, (ref) => api(ctx, kind).remove(ref));

export const secretCreate = (ctx: Ctx, a: string[], o: OptionsOf<typeof SECRET_COMMANDS.create>) => create('secret', ctx, a, o);
export const secretLs = (ctx: Ctx, _a: string[], o: OptionsOf<typeof SECRET_COMMANDS.ls>) => ls('secret', ctx, o);
export const secretInspect = (ctx: Ctx, a: string[], o: OptionsOf<typeof SECRET_COMMANDS.inspect>) => inspect('secret', ctx, a, o);
export const secretRm = (ctx: Ctx, a: string[]) => rm('secret', ctx, a);
export const configCreate = (ctx: Ctx, a: string[], o: OptionsOf<typeof CONFIG_COMMANDS.create>) => create('config', ctx, a, o);
export const configLs = (ctx: Ctx, _a: string[], o: OptionsOf<typeof CONFIG_COMMANDS.ls>) => ls('config', ctx, o);
export const configInspect = (ctx: Ctx, a: string[], o: OptionsOf<typeof CONFIG_COMMANDS.inspect>) => inspect('config', ctx, a, o);
export const configRm = (ctx: Ctx, a: string[]) => rm('config', ctx, a);
