// /networks: the daemon's networks in Docker's shape. Read-only for now: `bridge` (with -b),
// `host` and `none`; creating user-defined networks is the networking issue's remaining work.
import { EngineError, notFound, notImplemented } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import type { NetworkInfo } from '../../../engine/engine.ts';
import { sendJson } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { NetworksBackend } from './backend.ts';

function wire(n: NetworkInfo, withContainers: boolean): Record<string, unknown> {
  const options: Record<string, string> = n.driver === 'bridge' ? {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': n.bridgeName ?? '',
    'com.docker.network.driver.mtu': '1500',
  } : {};
  const out: Record<string, unknown> = {
    Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver, EnableIPv4: n.driver === 'bridge', EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: n.subnet ? [{ Subnet: n.subnet, Gateway: n.gateway }] : [] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: {}, Options: options, Labels: {},
  };
  if (withContainers) {
    out.Containers = Object.fromEntries(n.containers.map((c) => [c.id, {
      Name: c.name, EndpointID: '', MacAddress: c.mac, IPv4Address: c.ip ? `${c.ip}/${c.prefixLen}` : '', IPv6Address: '',
    }]));
  }
  return out;
}

export function networkRoutes(b: NetworksBackend): Route[] {
  const find = (ref: string): NetworkInfo => {
    const all = b.list();
    const n = all.find((x) => x.name === ref || x.id === ref) ?? (ref.length >= 1 ? all.filter((x) => x.id.startsWith(ref)) : []).at(0);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  };
  const unsupported = async () => { throw notImplemented('user-defined networks are not supported yet by berth (only bridge, host and none)'); };
  return [
    {
      method: 'GET', path: '/networks', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        f.validate(['name', 'id', 'driver', 'type', 'label', 'scope', 'dangling']);
        const list = b.list().filter((n) => {
          if (f.has('name') && !f.get('name').some((v) => n.name.includes(v))) return false;
          if (f.has('id') && !f.get('id').some((v) => n.id.startsWith(v))) return false;
          if (f.has('driver') && !f.get('driver').includes(n.driver)) return false;
          if (f.has('type') && !f.get('type').includes('builtin')) return false;
          if (f.has('scope') && !f.get('scope').includes('local')) return false;
          if (f.has('label')) return false;
          return true;
        });
        sendJson(ctx, 200, list.map((n) => wire(n, false)));
      },
    },
    { method: 'GET', path: '/networks/{id}', handler: async (ctx) => sendJson(ctx, 200, wire(find(ctx.params.id), true)) },
    { method: 'POST', path: '/networks/create', handler: unsupported },
    { method: 'POST', path: '/networks/prune', handler: async (ctx) => sendJson(ctx, 200, { NetworksDeleted: null }) },
    {
      method: 'DELETE', path: '/networks/{id}', handler: async (ctx) => {
        find(ctx.params.id);
        throw new EngineError('Forbidden', `${ctx.params.id} is a pre-defined network and cannot be removed`);
      },
    },
    { method: 'POST', path: '/networks/{id}/connect', handler: unsupported },
    { method: 'POST', path: '/networks/{id}/disconnect', handler: unsupported },
  ];
}
