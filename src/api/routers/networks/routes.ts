// /networks: list (filters), inspect, create, remove, prune, connect, disconnect, in Docker's
// shape (spec: Network, NetworkCreateRequest, NetworkConnectRequest, NetworkDisconnectRequest).
// On a swarm manager, list and inspect show the cluster's networks (Scope swarm) beside the local ones.
import { invalid, isEngineError, notFound } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import type { NetworkInfo } from '../../../engine/engine.ts';
import type { EndpointConfig, NetworkCreateRequest } from '../../types/network.ts';
import { readJsonBody, sendEmpty, sendJson } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { NetworksBackend } from './backend.ts';
import type { ClusterNetwork } from '../../types/swarm.ts';
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

/** A cluster network as dockerd shows it (convert.BasicNetworkFromGRPC): Scope swarm, its allocation in IPAM and Options. */
export function clusterWire(n: ClusterNetwork): Record<string, unknown> {
  return {
    Name: n.Spec.Name, Id: n.ID, Created: goTime(n.CreatedAt), Scope: 'swarm', Driver: n.DriverState?.Name ?? 'overlay', EnableIPv4: true, EnableIPv6: !!n.Spec.EnableIPv6,
    IPAM: {
      Driver: n.IPAMOptions?.Driver?.Name ?? 'default', Options: n.Spec.IPAMOptions?.Driver?.Options ?? null,
      Config: (n.IPAMOptions?.Configs ?? []).map((c) => ({ Subnet: c.Subnet, Gateway: c.Gateway })),
    },
    Internal: !!n.Spec.Internal, Attachable: !!n.Spec.Attachable, Ingress: !!n.Spec.Ingress, ConfigFrom: { Network: '' }, ConfigOnly: false,
    // A manager's view of the cluster: the containers on it are the nodes' business.
    Containers: null,
    Options: n.DriverState?.Options ?? {}, Labels: n.Spec.Labels ?? {},
  };
}

/** What the list filters look at, for local and cluster networks alike. */
interface Listed { name: string; id: string; driver: string; labels: Record<string, string>; predefined: boolean; dangling: boolean; scope: string; wire: (detailed: boolean) => Record<string, unknown> }

async function listed(b: NetworksBackend): Promise<Listed[]> {
  const cluster = (await b.clusterNetworks?.()) ?? [];
  const clusterIds = new Set(cluster.map((n) => n.ID));
  return [
    ...b.list().filter((n) => !clusterIds.has(n.id)).map((n): Listed => ({
      name: n.name, id: n.id, driver: n.driver, labels: n.labels, predefined: n.predefined,
      dangling: !n.predefined && n.containers.length === 0, scope: n.scope ?? 'local', wire: (d) => wire(n, d),
    })),
    ...cluster.map((n): Listed => ({
      name: n.Spec.Name, id: n.ID, driver: 'overlay', labels: n.Spec.Labels ?? {}, predefined: false, dangling: !n.Spec.Ingress,
      scope: 'swarm', wire: () => clusterWire(n),
    })),
  ];
}

/**
 * dockerd's network lookup over local and cluster networks: a full ID, then a full name, then a
 * unique ID prefix; a scope narrows it. 404 when nothing matches.
 */
async function inspectOne(b: NetworksBackend, ref: string, scope: string | null): Promise<Record<string, unknown>> {
  const cluster = !scope || scope === 'swarm' ? (await b.clusterNetworks?.()) ?? [] : [];
  const local = !scope || scope === 'local' ? b.list() : undefined;
  const c = cluster.find((n) => n.ID === ref) ?? cluster.find((n) => n.Spec.Name === ref);
  const l = local?.find((n) => n.id === ref || n.name === ref);
  if (l && !(c && c.ID === ref && l.id !== ref)) return wire(l, true);
  if (c) return clusterWire(c);
  if (local) {
    try {
      return wire(b.get(ref), true);
    } catch (e) {
      if (!isEngineError(e, 'NotFound')) throw e;
    }
  }
  const byPrefix = cluster.filter((n) => n.ID.startsWith(ref));
  if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  if (byPrefix.length === 1) return clusterWire(byPrefix[0]!);
  throw notFound(`network ${ref} not found`);
}

export function networkRoutes(b: NetworksBackend): Route[] {
  return [
    {
      method: 'GET', path: '/networks', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(['name', 'id', 'driver', 'type', 'label', 'scope', 'dangling']);
        for (const t of f.get('type')) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
        for (const v of f.get('dangling')) if (!/^(true|false|1|0)$/.test(v)) throw invalid(`invalid filter 'dangling=${v}'`);
        const list = (await listed(b)).filter((n) => {
          if (f.has('name') && !f.get('name').some((v) => n.name.includes(v))) return false;
          if (f.has('id') && !f.get('id').some((v) => n.id.startsWith(v))) return false;
          if (f.has('driver') && !f.get('driver').includes(n.driver)) return false;
          if (f.has('type') && !f.get('type').includes(n.predefined ? 'builtin' : 'custom')) return false;
          if (f.has('scope') && !f.get('scope').includes(n.scope)) return false;
          if (f.has('label') && !f.matchKVList('label', n.labels)) return false;
          if (f.has('dangling')) {
            const want = /^(true|1)$/.test(f.get('dangling')[0]);
            if (want !== n.dangling) return false;
          }
          return true;
        });
        // Before API 1.28 the list was detailed: each network with its containers (moby's router).
        sendJson(ctx, 200, list.map((n) => n.wire(versionBefore(ctx, '1.28'))));
      },
    },
    {
      method: 'GET', path: '/networks/{id}', handler: async (ctx) => {
        const scope = ctx.query.get('scope');
        const verbose = ctx.query.get('verbose');
        if (verbose && !/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(verbose)) throw invalid(`invalid value for verbose: ${verbose}`);
        // A scope is a filter: a network asked for in another scope is not found (404).
        sendJson(ctx, 200, await inspectOne(b, ctx.params.id, scope));
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
