// `berth ps` / `berth container ls`: GET /containers/json rendered like docker's ContainerContext.
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { humanSize } from '../../common/units.ts';
import { StatusError, type Ctx } from '../context.ts';
import { renderList, goRow } from '../format/formatter.ts';
import { TemplateError } from '../format/template.ts';
import { truncateId, ellipsis, goQuote, displayablePorts, ago, goTimeString, stripSlash, type ApiPort } from '../display.ts';
import { encodeFilters } from '../filters.ts';


export interface ContainerSummary {
  Id: string;
  Names: string[] | null;
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: ApiPort[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  ImageManifestDescriptor?: { platform?: { architecture?: string; os?: string; variant?: string } } | null;
}

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
const HEADERS = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS',
  Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
  // The header pass of `{{.Label "k"}}` shows the key itself.
  Label: (k: string) => k,
};

/** docker shows a repository reference without registry defaults, digest dropped when truncating. */
export function displayImage(image: string, imageId: string, trunc: boolean): string {
  if (!image) return '<no image>';
  if (!trunc) return image;
  if (truncateId(imageId) === truncateId(image)) return truncateId(image);
  let ref = image.replace(/@sha256:[0-9a-f]+$/, '');
  ref = ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
  return ref;
}

export function containerRow(c: ContainerSummary, trunc: boolean, now = Date.now()): Record<string, unknown> {
  let names = (c.Names ?? []).map(stripSlash);
  if (trunc) {
    // Link names (with a '/') are hidden unless --no-trunc.
    const own = names.find((n) => !n.includes('/'));
    names = own ? [own] : names.slice(0, 1);
  }
  const labels = c.Labels ?? {};
  const srw = humanSize(c.SizeRw ?? 0);
  const size = (c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${humanSize(c.SizeRootFs!)})` : srw;
  const mounts = (c.Mounts ?? []).map((m) => {
    const n = m.Name || m.Source || '';
    return trunc ? ellipsis(n, 15) : n;
  });
  const platform = c.ImageManifestDescriptor?.platform;
  return goRow({
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: goTimeString(c.Created),
    ID: trunc ? truncateId(c.Id) : c.Id,
    Image: displayImage(c.Image, c.ImageID, trunc),
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: mounts.join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: platform ? [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/') : null,
    Ports: displayablePorts(c.Ports),
    RunningFor: ago(c.Created, now),
    Size: size,
    State: c.State,
    Status: c.Status,
  }, { Label: (k: string) => labels[k] ?? '' });
}

function formatWantsSize(format: string | undefined): boolean {
  if (!format) return false;
  const f = format.trim();
  return f === 'json' || /\.Size\b/.test(f) || /\{\{\s*json\s+\.\s*\}\}/.test(f);
}

export async function ps(ctx: Ctx, _args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.ps>): Promise<number> {
  const last: number = o.last ?? -1;
  const query = {
    all: Boolean(o.all) || last > 0 || Boolean(o.latest),
    limit: last > 0 ? last : o.latest ? 1 : undefined,
    size: Boolean(o.size) || (!o.quiet && formatWantsSize(o.format)),
    filters: encodeFilters(o.filter, ctx),
  };
  const list = await ctx.client.containers.list<ContainerSummary>(query);
  const trunc = o.trunc !== false; // --no-trunc sets trunc=false
  if (o.quiet) {
    process.stdout.write(list.map((c) => `${trunc ? truncateId(c.Id) : c.Id}\n`).join(''));
    return 0;
  }
  const now = Date.now();
  const rows = list.map((c) => containerRow(c, trunc, now));
  const table = o.size ? `${DEFAULT_TABLE}\t{{.Size}}` : DEFAULT_TABLE;
  try {
    const probe = containerRow({ Id: '', Names: [], Image: '', ImageID: '', Command: '', Created: 0, Ports: [], Labels: {}, State: '', Status: '' }, trunc, now);
    process.stdout.write(renderList(o.format, table, rows, HEADERS, '*formatter.ContainerContext', probe));
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`${e.phase === 'parse' ? 'failed to parse template' : 'failed to execute template'}: ${e.message}`, 1);
    throw e;
  }
  return 0;
}
