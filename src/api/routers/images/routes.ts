// /images/*: thin handlers over the ImagesBackend.
import { invalid } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import { parseReference } from '../../../common/reference.ts';
import { Glob, lit, star } from '../../../common/glob.ts';
import type { ImageRecord } from '../../../engine/images.ts';
import type { ImageConfigFile } from '../../types/image.ts';
import { qBool, sendJson, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { ImagesBackend } from './backend.ts';
import { authOf, streamOperation } from '../registry/routes.ts';
import { pullReference } from '../../../engine/pull.ts';
import { versionBefore } from '../../version.ts';
import { imageInspectBody } from './inspect.ts';

const LIST_FILTERS = ['dangling', 'reference', 'label', 'before', 'since', 'until'];

function familiar(full: string): string {
  try { return parseReference(full).familiar(); } catch { return full; }
}

function created(c: ImageConfigFile): number { return c.created ? Math.floor(Date.parse(c.created) / 1000) : 0; }

/** An ImageSummary (`/images/json`, `system df`): its tags and digests familiar, SharedSize not counted (-1). */
export function imageSummaryJson(r: ImageRecord, c: ImageConfigFile, refs: string[], containers: number): Record<string, unknown> {
  return {
    Id: r.id,
    ParentId: r.parent ?? '',
    RepoTags: refs.map(familiar),
    RepoDigests: (r.repoDigests ?? []).map(familiar),
    Created: created(c),
    Size: r.size,
    SharedSize: -1,
    Labels: c.config?.Labels ?? {},
    Containers: containers,
  };
}

export async function imageSummary(b: Pick<ImagesBackend, 'config' | 'refsOf' | 'containersUsing'>, r: ImageRecord): Promise<Record<string, unknown>> {
  return imageSummaryJson(r, await b.config(r.id), b.refsOf(r.id), b.containersUsing(r.id));
}

/** An image summary (`/images/json`, `system df`) as a client before API 1.44 reads it: with `VirtualSize`. */
export function legacySummary(sum: Record<string, unknown>, ctx: { apiVersion: string }): Record<string, unknown> {
  return versionBefore(ctx, '1.44') ? { ...sum, VirtualSize: sum.Size } : sum;
}

/**
 * Docker's reference filter: a glob over the familiar name, with or without the tag. A Glob runs
 * in linear time, as Go's path.Match does; the regular expression this was never returned for
 * many stars against a long name (see src/common/glob.ts).
 */
export function refMatches(pattern: string, refs: string[]): boolean {
  const g = new Glob(Array.from(pattern).map((c) => (c === '*' ? star((x) => x !== '/') : lit(c))));
  return refs.some((r) => {
    const fam = familiar(r);
    const name = fam.replace(/:[^:/]+$/, '');
    return g.matches(fam) || g.matches(name) || g.matches(r);
  });
}

export function imageRoutes(b: ImagesBackend): Route[] {
  return [
    { method: 'POST', path: '/images/prune', handler: async (ctx) => sendJson(ctx, 200, await b.prune(ctx.query.get('filters') ?? undefined)) },
    {
      method: 'GET', path: '/images/json', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(LIST_FILTERS);
        // API 1.24 clients send the reference glob as `filter` (moby keeps it for them).
        const legacyFilter = ctx.query.get('filter');
        if (versionBefore(ctx, '1.25') && legacyFilter && !f.has('reference')) f.add('reference', legacyFilter);
        const all = qBool(ctx.query, 'all');
        const imgs = b.all();
        const ts = async (ref: string) => created(await b.config(b.resolve(ref).id));
        const before = f.get('before')[0] ? await ts(f.get('before')[0]) : undefined;
        const since = f.get('since')[0] ? await ts(f.get('since')[0]) : undefined;
        const out = [];
        for (const r of imgs) {
          const refs = b.refsOf(r.id);
          const c = await b.config(r.id);
          const t = created(c);
          if (f.has('dangling')) {
            const d = f.get('dangling')[0];
            if (!['true', 'false', '1', '0'].includes(d)) throw invalid(`invalid filter 'dangling=${d}'`);
            if ((d === 'true' || d === '1') !== (refs.length === 0)) continue;
          } else if (!all && refs.length === 0 && imgs.some((o) => o.parent === r.id)) continue;
          // With a reference filter Docker lists only the matching tags of each image.
          const shown = f.has('reference') ? refs.filter((r) => f.get('reference').some((p) => refMatches(p, [r]))) : refs;
          if (f.has('reference') && shown.length === 0) continue;
          if (f.has('label') && !f.matchKVList('label', c.config?.Labels ?? {})) continue;
          if (before !== undefined && !(t < before)) continue;
          if (since !== undefined && !(t > since)) continue;
          const sum = await imageSummary(b, r);
          if (f.has('reference')) sum.RepoTags = shown.map(familiar);
          // Not counted for a list (dockerd before API 1.51: -1, "not calculated"); system df counts.
          sum.Containers = -1;
          // Before API 1.43 an image with neither tags nor digests is listed as `<none>`.
          if (versionBefore(ctx, '1.43') && (sum.RepoTags as string[]).length === 0 && (sum.RepoDigests as string[]).length === 0) {
            sum.RepoTags = ['<none>:<none>'];
            sum.RepoDigests = ['<none>@<none>'];
          }
          out.push(legacySummary(sum, ctx));
        }
        out.sort((a, c) => (c.Created as number) - (a.Created as number));
        sendJson(ctx, 200, out);
      },
    },
    { method: 'POST', path: '/images/create', handler: (ctx) => create(ctx, b) },
    {
      method: 'GET', path: '/images/{name*}/json', handler: async (ctx) => {
        const img = await b.inspect(ctx.params.name);
        sendJson(ctx, 200, imageInspectBody(img, {
          repoTags: b.refsOf(img.id).map(familiar),
          repoDigests: (img.repoDigests ?? []).map(familiar),
          graphDriver: await b.graphDriver(img.id),
        }, ctx.apiVersion));
      },
    },
    {
      method: 'GET', path: '/images/{name*}/history', handler: async (ctx) => {
        const img = await b.inspect(ctx.params.name);
        const hist = img.config.history ?? [];
        const layers = [...img.layers];
        const out = hist.map((h) => {
          const l = h.empty_layer ? undefined : layers.shift();
          const size = l ? (l.unpackedSize ?? l.size) : 0;
          return { Id: '<missing>', Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0, CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
        }).reverse();
        if (out.length) { out[0].Id = img.id; out[0].Tags = b.refsOf(img.id).map(familiar); }
        sendJson(ctx, 200, out);
      },
    },
    {
      method: 'POST', path: '/images/{name*}/tag', handler: async (ctx) => {
        const repo = ctx.query.get('repo');
        if (!repo) throw invalid('repository name must have at least one component');
        const tag = ctx.query.get('tag');
        await b.tag(ctx.params.name, tag ? `${repo}:${tag}` : repo);
        ctx.res!.writeHead(201);
        ctx.res!.end();
      },
    },
    {
      method: 'DELETE', path: '/images/{name*}', handler: async (ctx) => {
        sendJson(ctx, 200, await b.remove(ctx.params.name, { force: qBool(ctx.query, 'force'), noprune: qBool(ctx.query, 'noprune') }));
      },
    },
  ];
}

async function create(ctx: Ctx, b: ImagesBackend): Promise<void> {
  const q = ctx.query;
  const fromSrc = q.get('fromSrc');
  const fromImage = q.get('fromImage');
  if (fromSrc !== null) {
    if (fromSrc !== '-') throw invalid('importing from a URL is not supported: send the archive as the request body (fromSrc=-)');
    const repo = q.get('repo') || undefined;
    if (repo) parseReference(q.get('tag') ? `${repo}:${q.get('tag')}` : repo); // 400 before streaming
    const res = startStream(ctx, 'application/json');
    try {
      const rec = await b.importImage(ctx.req, { repo, tag: q.get('tag') || undefined, changes: q.getAll('changes'), message: q.get('message') || undefined, platform: q.get('platform') || undefined });
      res.end(JSON.stringify({ status: rec.id }) + '\n');
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    }
    return;
  }
  if (!fromImage) throw invalid('Bad parameters: fromImage or fromSrc is required');
  const tag = q.get('tag') || undefined;
  pullReference(fromImage, tag); // 400 before streaming
  await streamOperation(ctx, (emit) => b.pull(fromImage, tag, emit, ctx.signal, { platform: q.get('platform') || undefined, auth: authOf(ctx) }));
}
