// builder prune: POST /build/prune, with docker's confirmation prompt and report.
import type { OptionsOf, BUILDER_COMMANDS } from '../spec.ts';
import type { BuildCachePruneReport } from '../../api/types/responses.ts';
import { humanSize, parseBytes } from '../../common/units.ts';
import { flagError, type Ctx } from '../context.ts';
import { encodeFilters } from '../filters.ts';
import { confirm } from '../prompt.ts';

type Opts = OptionsOf<typeof BUILDER_COMMANDS.prune>;

export const PRUNE_WARNING = 'WARNING! This will remove all dangling build cache. Are you sure you want to continue?';
export const PRUNE_ALL_WARNING = 'WARNING! This will remove all build cache. Are you sure you want to continue?';

export type { BuildCachePruneReport };

/** What docker prints after a prune: the deleted IDs (if any), a blank line, the total (go-units HumanSize). */
export function pruneReport(r: BuildCachePruneReport): string {
  let out = '';
  if (r.CachesDeleted?.length) out += `Deleted build cache objects:\n${r.CachesDeleted.map((id) => `${id}\n`).join('')}\n`;
  out += `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0, 4)}\n`;
  return out;
}


export interface PruneIo {
  input: NodeJS.ReadableStream;
  out: NodeJS.WritableStream;
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof BUILDER_COMMANDS.prune>): Promise<number> {
  return runPrune(ctx, o, { input: process.stdin, out: process.stdout });
}

export async function runPrune(ctx: Ctx, o: Opts, io: PruneIo): Promise<number> {
  // Flag values are checked before anything else, as pflag does while parsing.
  let keepStorage = 0;
  if (o.keepStorage !== undefined) {
    try {
      keepStorage = parseBytes(String(o.keepStorage));
    } catch (e) {
      throw flagError(ctx, '--keep-storage', String(o.keepStorage), (e as Error).message);
    }
  }
  const filters = encodeFilters(o.filter, ctx, '--filter');
  // Declining is not an error: docker exits 0 without a request (and without another newline).
  if (!o.force && !(await confirm(o.all ? PRUNE_ALL_WARNING : PRUNE_WARNING, io.input, io.out))) return 0;
  const r = await ctx.client.build.prune({ all: Boolean(o.all), 'keep-storage': keepStorage || undefined, filters });
  io.out.write(pruneReport(r ?? {}));
  return 0;
}
