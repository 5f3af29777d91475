// /networks: list (filters), inspect, create, remove, prune, connect, disconnect, in Docker's
// shape (spec: Network, NetworkCreateRequest, NetworkConnectRequest, NetworkDisconnectRequest).
import { invalid, notFound } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import type { NetworkInfo } from '../../../engine/engine.ts';
import type { EndpointConfig, NetworkCreateRequest } from '../../types/network.ts';
import { readJsonBody, sendEmpty, sendJson } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { NetworksBackend } from './backend.ts';
import { goTime } from '../../types/go-json.ts';
import { versionBefore } from '../../version.ts';

/** network.Inspect in Go's order (Peers, omitempty, only on overlay networks). */
function wire(n: NetworkInfo, withContainers: boolean): Record<string, unknown> {
  return {
    Name: n.name, Id: n.id, Created: goTime(n.created), Scope: n.scope ?? 'local', Driver: n.driver, EnableIPv4: n.driver === 'bridge' || n.driver === 'overlay', EnableIPv6: n.enableIPv6,
    IPAM: { Driver: 'default', Options: n.ipamOptions, Config: n.ipamConfig },
    Internal: n.internal, Attachable: n.attachable, Ingress: !!n.ingress, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: withContainers ? Object.fromEntries(n.containers.map((c) => [c.id, {
      Name: c.name, EndpointID: c.endpointId, MacAddress: c.mac, IPv4Address: c.ipv4, IPv6Address: c.ipv6,
    }])) : {},
    Options: n.options, Labels: n.labels,
  };
}

export function networkRoutes(b: NetworksBackend): Route[] {
  return [
    {
      method: 'GET', path: '/networks', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(['name', 'id', 'driver', 'type', 'label', 'scope', 'dangling']);
        for (const t of f.get('type')) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
        for (const v of f.get('dangling')) if (!/^(true|false|1|0)$/.test(v)) throw invalid(`invalid filter 'dangling=${v}'`);
        const list = b.list().filter((n) => {
          if (f.has('name') && !f.get('name').some((v) => n.name.includes(v))) return false;
          if (f.has('id') && !f.get('id').some((v) => n.id.startsWith(v))) return false;
          if (f.has('driver') && !f.get('driver').includes(n.driver)) return false;
          if (f.has('type') && !f.get('type').includes(n.predefined ? 'builtin' : 'custom')) return false;
          if (f.has('scope') && !f.get('scope').includes('local')) return false;
          if (f.has('label') && !f.matchKVList('label', n.labels)) return false;
          if (f.has('dangling')) {
            const want = /^(true|1)$/.test(f.get('dangling')[0]);
            const dangling = !n.predefined && n.containers.length === 0;
            if (want !== dangling) return false;
          }
          return true;
        });
        // Before API 1.28 the list was detailed: each network with its containers (moby's router).
        sendJson(ctx, 200, list.map((n) => wire(n, versionBefore(ctx, '1.28'))));
      },
    },
    {
      method: 'GET', path: '/networks/{id}', handler: async (ctx) => {
        const scope = ctx.query.get('scope');
        const verbose = ctx.query.get('verbose');
        if (verbose && !/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(verbose)) throw invalid(`invalid value for verbose: ${verbose}`);
        // A scope is a filter: a local network asked for in another scope is not found (404).
        if (scope && scope !== 'local') throw notFound(`network ${ctx.params.id} not found`);
        const n = b.get(ctx.params.id);
        sendJson(ctx, 200, wire(n, true));
      },
    },
    {
      method: 'POST', path: '/networks/create', handler: async (ctx) => {
        const body = await readJsonBody<NetworkCreateRequest>(ctx, { schema: 'NetworkCreate' });
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('invalid JSON: network create body must be an object');
        sendJson(ctx, 201, await b.create(body));
      },
    },
    {
      method: 'POST', path: '/networks/prune', handler: async (ctx) => {
        const deleted = await b.prune(ctx.query.get('filters') ?? undefined);
        sendJson(ctx, 200, { NetworksDeleted: deleted.length ? deleted : null });
      },
    },
    {
      method: 'DELETE', path: '/networks/{id}', handler: async (ctx) => {
        await b.remove(ctx.params.id);
        sendEmpty(ctx, 204);
      },
    },
    {
      method: 'POST', path: '/networks/{id}/connect', handler: async (ctx) => {
        const body = await readJsonBody<{ Container?: string; EndpointConfig?: EndpointConfig | null }>(ctx, { schema: 'NetworkConnect' });
        if (!body?.Container) throw invalid('no container specified');
        await b.connect(ctx.params.id, body.Container, body.EndpointConfig ?? {});
        sendEmpty(ctx, 200);
      },
    },
    {
      method: 'POST', path: '/networks/{id}/disconnect', handler: async (ctx) => {
        const body = await readJsonBody<{ Container?: string; Force?: boolean }>(ctx, { schema: 'NetworkDisconnect' });
        if (!body?.Container) throw invalid('no container specified');
        await b.disconnect(ctx.params.id, body.Container, !!body.Force);
        sendEmpty(ctx, 200);
      },
    },
  ];
}
