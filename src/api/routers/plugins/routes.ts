// /plugins: berth has no managed plugins (its volume and network drivers are built in, as
// `info` says under Plugins), so the list is Docker's answer for a daemon with none installed:
// an empty array, after the same filter validation. dockerode's listPlugins() and
// `docker plugin ls` get that instead of a 404.
import { parseFilters } from '../../../common/filters.ts';
import { sendJson } from '../../http.ts';
import type { Route } from '../../server.ts';

export function pluginRoutes(): Route[] {
  return [
    {
      method: 'GET', path: '/plugins', handler: async (ctx) => {
        parseFilters(ctx.query.get('filters') ?? undefined).validate(['capability', 'enable']);
        sendJson(ctx, 200, []);
      },
    },
  ];
}
