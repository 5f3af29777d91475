// Image verbs: images/image ls, import, tag, rmi, history, pull, image prune.
import type { OptionsOf, IMAGE_COMMANDS } from '../spec.ts';
import { authHeaderFor } from '../credentials.ts';
import { showProgress } from './registry-client.ts';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ApiError } from '../../client/client.ts';
import { displayJsonMessages, StreamError } from '../../client/streams.ts';
import { humanSize } from '../../common/units.ts';
import { StatusError, type Ctx, templateFailure } from '../context.ts';
import { renderList, goRow } from '../format/formatter.ts';
import { truncateId, ago, goTimeString, ellipsis } from '../display.ts';
import { encodeFilters } from '../filters.ts';
import { confirm } from './containers.ts';


export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers: number;
}

const IMAGE_HEADERS = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};

/** reference.FamiliarName: `docker.io/library/x` → `x`, `docker.io/u/x` → `u/x`. */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** `repo:tag` → [repo, tag]; the tag is after the last ':' past the last '/'. */
function splitTag(ref: string): [string, string] | undefined {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}

/** docker's image rows: one per repo:tag (× digest with --digests), `<none>` for the untagged. */
export function imageRows(images: ImageSummary[], o: { digests: boolean; trunc: boolean }, now = Date.now()): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const img of images) {
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const ref of img.RepoTags ?? []) {
      if (ref === '<none>:<none>') continue;
      const t = splitTag(ref.split('@')[0]);
      if (!t) continue;
      const repo = familiarName(t[0]);
      repoTags.set(repo, [...(repoTags.get(repo) ?? []), t[1]]);
    }
    for (const ref of img.RepoDigests ?? []) {
      const at = ref.indexOf('@');
      if (at < 0 || ref === '<none>@<none>') continue;
      const repo = familiarName(ref.slice(0, at));
      repoDigests.set(repo, [...(repoDigests.get(repo) ?? []), ref.slice(at + 1)]);
    }
    const make = (repo: string, tag: string, digest: string) => rows.push(imageRow(img, repo, tag, digest, o.trunc, now));
    for (const repo of [...repoTags.keys()].sort()) {
      const digests = o.digests ? repoDigests.get(repo) ?? [] : [];
      repoDigests.delete(repo);
      for (const tag of repoTags.get(repo)!) {
        if (!digests.length) make(repo, tag, '<none>');
        else for (const d of digests) make(repo, tag, d);
      }
    }
    for (const repo of [...repoDigests.keys()].sort()) {
      if (o.digests) for (const d of repoDigests.get(repo)!) make(repo, '<none>', d);
      else make(repo, '<none>', '<none>');
    }
    if (repoTags.size === 0 && (img.RepoDigests ?? []).filter((r) => r !== '<none>@<none>').length === 0) make('<none>', '<none>', '<none>');
  }
  return rows;
}

function imageRow(img: ImageSummary, repo: string, tag: string, digest: string, trunc: boolean, now: number): Record<string, unknown> {
  const size = img.Size ?? 0;
  const shared = img.SharedSize ?? -1;
  return goRow({
    Containers: img.Containers === -1 || img.Containers === undefined ? 'N/A' : String(img.Containers),
    CreatedAt: goTimeString(img.Created),
    CreatedSince: img.Created ? ago(img.Created, now) : 'N/A',
    Digest: digest || '<none>',
    ID: trunc ? truncateId(img.Id) : img.Id,
    Repository: repo,
    SharedSize: shared === -1 ? 'N/A' : humanSize(shared, 4),
    Size: humanSize(size),
    Tag: tag,
    UniqueSize: size === -1 || shared === -1 ? 'N/A' : humanSize(size - shared, 4),
    VirtualSize: humanSize(img.VirtualSize ?? size, 4),
  });
}

export async function images(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.ls>): Promise<number> {
  const filters = [...(o.filter ?? [])];
  if (args[0]) filters.push(`reference=${args[0]}`);
  const list = await ctx.client.images.list<ImageSummary>({ all: o.all, filters: encodeFilters(filters, ctx), 'shared-size': undefined });
  const trunc = o.trunc !== false;
  const rows = imageRows(list, { digests: Boolean(o.digests), trunc });
  if (o.quiet) {
    // One ID per row, as docker prints them (an image with two tags appears twice).
    process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
    return 0;
  }
  const table = o.digests
    ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
    : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  try {
    process.stdout.write(renderList(o.format, table, rows, IMAGE_HEADERS, '*formatter.imageContext'));
  } catch (e) {
    templateFailure(e);
  }
  return 0;
}

/** Streams a JSON-message response to stdout; an in-stream error exits 1 with its text. */
async function showStream(res: import('../../client/client.ts').Response, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  try {
    await displayJsonMessages(res, out as any);
  } catch (e) {
    if (e instanceof StreamError) throw new StatusError(e.message, 1);
    throw e;
  }
}

export async function importImage(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.import>): Promise<number> {
  const [source, ref] = args;
  const query: Record<string, string | undefined> = { message: o.message, platform: o.platform };
  if (ref) {
    const t = splitTag(ref);
    if (t) { query.repo = t[0]; query.tag = t[1]; } else query.repo = ref;
  }
  // The API takes repeated `changes=` parameters (the query builder repeats a list's key).
  const changes: string[] = o.change ?? [];
  let raw: NodeJS.ReadableStream | undefined;
  if (source === '-') {
    query.fromSrc = '-';
    raw = process.stdin;
  } else if (/^https?:\/\//.test(source)) {
    query.fromSrc = source;
  } else {
    query.fromSrc = '-';
    raw = createReadStream(source);
    await new Promise<void>((resolve, reject) => {
      (raw as any).once('open', () => resolve());
      (raw as any).once('error', (e: NodeJS.ErrnoException) => reject(new StatusError(`open ${source}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`, 1)));
    });
  }
  const res = await ctx.client.images.create({ ...query, changes }, { raw: raw as Readable | undefined });
  await showStream(res);
  return 0;
}

export async function tag(ctx: Ctx, args: string[]): Promise<number> {
  const [source, target] = args;
  const t = splitTag(target.split('@')[0]);
  const query = t ? { repo: t[0], tag: t[1] } : { repo: target, tag: undefined };
  await ctx.client.images.tag(source, query);
  return 0;
}

export async function rmi(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.rm>): Promise<number> {
  let failed = false;
  for (const name of args) {
    try {
      const r = await ctx.client.images.remove(name, { force: o.force, noprune: o.prune === false });
      let out = '';
      for (const item of r ?? []) {
        if (item.Untagged) out += `Untagged: ${item.Untagged}\n`;
        if (item.Deleted) out += `Deleted: ${item.Deleted}\n`;
      }
      process.stdout.write(out);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stderr.write(`Error response from daemon: ${e.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

interface HistoryItem { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

export async function history(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.history>): Promise<number> {
  const items = await ctx.client.images.history<HistoryItem>(args[0]);
  const trunc = o.trunc !== false;
  const human = o.human !== false;
  const now = Date.now();
  const rows = items.map((h) => {
    let createdBy = h.CreatedBy.replace(/\t/g, ' ');
    if (trunc) createdBy = ellipsis(createdBy, 45);
    const missing = !h.Id || h.Id === '<missing>';
    return goRow({
      Comment: h.Comment,
      CreatedAt: human ? goTimeString(h.Created) : new Date(h.Created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      CreatedBy: createdBy,
      CreatedSince: human ? ago(h.Created, now) : new Date(h.Created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ID: missing ? '<missing>' : trunc ? truncateId(h.Id) : h.Id,
      Size: human ? humanSize(h.Size) : String(h.Size),
    });
  });
  if (o.quiet) {
    process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
    return 0;
  }
  // docker's non-human table shows CreatedAt (headed CREATED AT) where the human one has CreatedSince.
  const table = `table {{.ID}}\t{{.${human ? 'CreatedSince' : 'CreatedAt'}}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}`;
  const headers = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };
  try {
    process.stdout.write(renderList(o.format, table, rows, headers, '*formatter.historyContext'));
  } catch (e) {
    templateFailure(e);
  }
  return 0;
}

export async function pull(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.pull>): Promise<number> {
  const image = args[0];
  const at = image.indexOf('@');
  let fromImage = image;
  let tagName: string | undefined;
  if (at < 0) {
    const t = splitTag(image);
    if (t) [fromImage, tagName] = t;
    else if (!o.allTags) tagName = 'latest';
  }
  if (!o.quiet && at < 0 && !o.allTags && !splitTag(image)) process.stdout.write('Using default tag: latest\n');
  const res = await ctx.client.images.create({ fromImage, tag: tagName, platform: o.platform }, { headers: authHeaderFor(fromImage) });
  await showProgress(res, process.stdout, Boolean(o.quiet));
  // docker pull ends with the fully qualified reference (the only line with -q).
  const shown = at >= 0 ? image : `${fromImage}:${tagName ?? 'latest'}`;
  const full = /^[^/]+\.[^/]+\/|^localhost[:/]/.test(shown) ? shown : shown.includes('/') ? `docker.io/${shown}` : `docker.io/library/${shown}`;
  process.stdout.write(`${full}\n`);
  return 0;
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.prune>): Promise<number> {
  const warning = o.all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!o.force && !(await confirm(warning))) return 0;
  const filters = [...(o.filter ?? [])];
  if (o.all) filters.push('dangling=false'); else filters.push('dangling=true');
  const r = await ctx.client.images.prune({ filters: encodeFilters(filters, ctx, '--filter') });
  let out = '';
  if (r.ImagesDeleted?.length) {
    out += 'Deleted Images:\n';
    for (const d of r.ImagesDeleted) {
      if (d.Untagged) out += `untagged: ${d.Untagged}\n`;
      if (d.Deleted) out += `deleted: ${d.Deleted}\n`;
    }
    out += '\n';
  }
  out += `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`;
  process.stdout.write(out);
  return 0;
}
