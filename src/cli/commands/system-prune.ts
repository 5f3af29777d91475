// `berth system prune`: docker's composition of the per-resource prunes, in its order
// (containers, networks, volumes with --volumes, images, build cache), one confirmation first,
// each section as the resource's own prune prints it, and the summed reclaimed space.
import type { OptionsOf, SYSTEM_COMMANDS } from '../spec.ts';
import { humanSize } from '../../common/units.ts';
import { StatusError, type Ctx } from '../context.ts';
import { encodeFilters } from '../filters.ts';
import { confirm } from '../prompt.ts';
import { pruneOutput as networkOutput } from './networks.ts';


/** docker-cli's confirmation text (system/prune.go's template, rendered). */
export function confirmationMessage(o: { all?: boolean; volumes?: boolean; filter?: string[] }): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (o.volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(o.all ? 'all images without at least one container associated to them' : 'all dangling images');
  warnings.push(o.all ? 'all build cache' : 'unused build cache');
  const shown: string[] = [];
  for (const name of ['label', 'label!', 'until']) {
    for (const f of o.filter ?? []) {
      const i = f.indexOf('=');
      if (i > 0 && f.slice(0, i).trim().toLowerCase() === name) shown.push(`${name}=${f.slice(i + 1)}`);
    }
  }
  shown.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  let s = 'WARNING! This will remove:';
  for (const w of warnings) s += `\n  - ${w}`;
  s += '\n';
  if (shown.length) {
    s += '\n  Items to be pruned will be filtered with:';
    for (const f of shown) s += `\n  - ${f}`;
    s += '\n';
  }
  return `${s}\nAre you sure you want to continue?`;
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof SYSTEM_COMMANDS.prune>): Promise<number> {
  const filter = ((o.filter as string[] | undefined) ?? []).filter((f) => f !== '');
  // Malformed filters fail as flag errors, before anything else.
  encodeFilters(filter, ctx, '--filter');
  if (o.volumes && filter.some((f) => f.split('=')[0].trim().toLowerCase() === 'until')) {
    throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
  }
  if (!o.force && !(await confirm(confirmationMessage({ all: o.all, volumes: o.volumes, filter })))) return 0;
  const c = ctx.client;
  const q = (extra: string[] = []) => ({ filters: encodeFilters([...filter, ...extra], ctx, '--filter') });
  let total = 0;
  const out = (s: string) => { if (s) process.stdout.write(s); };

  const cr = await c.containers.prune(q());
  total += cr.SpaceReclaimed ?? 0;
  if (cr.ContainersDeleted?.length) out(`Deleted Containers:\n${cr.ContainersDeleted.map((x) => `${x}\n`).join('')}\n`);

  const nr = await c.networks.prune(q());
  out(networkOutput(nr));

  if (o.volumes) {
    const vr = await c.volumes.prune(q());
    total += vr.SpaceReclaimed ?? 0;
    if (vr.VolumesDeleted?.length) out(`Deleted Volumes:\n${vr.VolumesDeleted.map((x) => `${x}\n`).join('')}\n`);
  }

  const ir = await c.images.prune(q([o.all ? 'dangling=false' : 'dangling=true']));
  total += ir.SpaceReclaimed ?? 0;
  if (ir.ImagesDeleted?.length) {
    let s = 'Deleted Images:\n';
    for (const d of ir.ImagesDeleted) {
      if (d.Untagged) s += `untagged: ${d.Untagged}\n`;
      if (d.Deleted) s += `deleted: ${d.Deleted}\n`;
    }
    out(`${s}\n`);
  }

  const br = await c.build.prune({ all: Boolean(o.all), ...q() });
  total += br.SpaceReclaimed ?? 0;
  if (br.CachesDeleted?.length) out(`Deleted build cache objects:\n${br.CachesDeleted.map((x) => `${x}\n`).join('')}\n`);

  process.stdout.write(`Total reclaimed space: ${humanSize(total, 4)}\n`);
  return 0;
}
