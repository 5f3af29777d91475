// `berth network ls|inspect` (the daemon's networks are read-only for now: bridge, host, none).
import { StatusError, type Ctx } from '../context.ts';
import { renderList, goRow } from '../format/formatter.ts';
import { TemplateError } from '../format/template.ts';
import { encodeFilters } from '../filters.ts';
import { goTimeString } from '../display.ts';
import { networkInspect } from './inspect.ts';

type Opts = Record<string, any>;

interface Network { Name: string; Id: string; Created?: string; Scope?: string; Driver?: string; EnableIPv4?: boolean; EnableIPv6?: boolean; Internal?: boolean; Labels?: Record<string, string> | null }

/** Go's time.Time.String() of an RFC 3339 time: `2026-11-23 01:34:10.92 +0000 UTC`. */
function goTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const base = goTimeString(Math.floor(ms / 1000));
  const frac = /\.(\d+)/.exec(iso)?.[1]?.replace(/0+$/, '') ?? '';
  return frac ? base.replace(/^(\S+ \S+)/, `$1.${frac}`) : base;
}

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

/** A row shaped like docker's networkContext. */
export function networkRow(n: Network, noTrunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  return goRow({
    CreatedAt: n.Created ? goTime(n.Created) : '',
    Driver: n.Driver ?? '',
    ID: noTrunc ? n.Id : n.Id.slice(0, 12),
    IPv4: String(!!n.EnableIPv4),
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Name: n.Name,
    Scope: n.Scope ?? '',
  }, { Label: (k: string) => labels[k] ?? '' });
}

export function renderNetworks(list: Network[], format: string | undefined, quiet: boolean, noTrunc: boolean): string {
  const rows = [...list].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)).map((n) => networkRow(n, noTrunc));
  const f = quiet && (!format || format === 'table') ? '{{.ID}}' : format;
  return renderList(f, DEFAULT_TABLE, rows, HEADERS, '*formatter.networkContext');
}

export async function ls(ctx: Ctx, _args: string[], o: Opts): Promise<number> {
  const filters = (o.filter as string[] | undefined)?.filter((f) => f !== '');
  const list = await ctx.client.json<Network[]>('GET', '/networks', { query: { filters: encodeFilters(filters, ctx) } });
  try {
    process.stdout.write(renderNetworks(list ?? [], o.format, Boolean(o.quiet), o.trunc === false)); // --no-trunc sets trunc=false
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
  return 0;
}

export async function inspect(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  return networkInspect(ctx, args, o);
}
