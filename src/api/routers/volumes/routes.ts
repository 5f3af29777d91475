// /volumes/*: thin handlers over the VolumesBackend.
import { invalid } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import { qBool, readJsonBody, sendEmpty, sendJson } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { VolumesBackend } from './backend.ts';
import { versionBefore } from '../../version.ts';

const isStrMap = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => typeof x === 'string'));

export function volumeRoutes(b: VolumesBackend): Route[] {
  return [
    {
      method: 'GET', path: '/volumes', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(['name', 'label', 'dangling', 'driver']);
        sendJson(ctx, 200, { Volumes: b.list(f), Warnings: null });
      },
    },
    {
      method: 'POST', path: '/volumes/create', handler: async (ctx) => {
        const body = await readJsonBody<Record<string, unknown>>(ctx, { optional: true, schema: 'VolumeCreate' }) ?? {};
        if (body.Name !== undefined && typeof body.Name !== 'string') throw invalid('json: cannot unmarshal into Go struct field CreateOptions.Name of type string');
        if (body.Driver !== undefined && typeof body.Driver !== 'string') throw invalid('json: cannot unmarshal into Go struct field CreateOptions.Driver of type string');
        if (!isStrMap(body.DriverOpts) || !isStrMap(body.Labels)) throw invalid('json: cannot unmarshal into Go struct field of type map[string]string');
        const v = await b.create({ Name: body.Name as string | undefined, Driver: body.Driver as string | undefined, DriverOpts: body.DriverOpts as Record<string, string> | undefined, Labels: body.Labels as Record<string, string> | undefined });
        sendJson(ctx, 201, v);
      },
    },
    {
      method: 'POST', path: '/volumes/prune', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(['label', 'label!', 'all']);
        // Before API 1.42 prune took every unused volume, named ones too (moby adds all=true).
        if (versionBefore(ctx, '1.42')) f.add('all', 'true');
        sendJson(ctx, 200, await b.prune(f));
      },
    },
    { method: 'GET', path: '/volumes/{name}', handler: async (ctx) => sendJson(ctx, 200, b.get(ctx.params.name)) },
    {
      method: 'DELETE', path: '/volumes/{name}', handler: async (ctx) => {
        await b.remove(ctx.params.name, { force: qBool(ctx.query, 'force') });
        sendEmpty(ctx, 204);
      },
    },
  ];
}
