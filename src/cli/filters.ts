// `--filter key=value` (repeatable) → the API's `filters` query parameter, as docker's
// filters.ToJSON writes it: {"key": {"value": true}, …}.
//
//   encodeFilters(['status=exited', 'label=a=b']) → '{"status":{"exited":true},"label":{"a=b":true}}'
import { flagError, type Ctx } from './context.ts';

export function encodeFilters(items: string[] | undefined, ctx?: Ctx, flag = '-f, --filter'): string | undefined {
  if (!items?.length) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq <= 0) {
      if (ctx) throw flagError(ctx, flag, it, 'bad format of filter (expected name=value)');
      throw new Error(`bad format of filter (expected name=value): ${it}`);
    }
    const key = it.slice(0, eq).trim().toLowerCase();
    const value = it.slice(eq + 1).trim();
    (out[key] ??= {})[value] = true;
  }
  return JSON.stringify(out);
}
