// A `POST /networks/create` body for a cluster network (driver overlay on a manager), checked and
// converted as dockerd's convert.BasicNetworkCreateToGRPC and swarmkit's validateNetworkSpec do,
// with their texts (swarmkit's as the gRPC status dockerd passes on).
//
//   clusterNetworkSpec({ Name: 'appnet', Driver: 'overlay', Attachable: true, IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } })
//     → { Name: 'appnet', Labels: {}, DriverConfiguration: { Name: 'overlay', Options: {} }, Attachable: true,
//         Internal: false, Ingress: false, IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.9.0.0/24' }] } }
import { EngineError, invalid, notImplemented } from '../../common/errors.ts';
import type { NetworkCreateRequest } from '../../api/types/network.ts';
import { OVERLAY_ENCRYPTED_REFUSED, type ClusterNetwork } from '../../api/types/swarm.ts';
import { contains, parseCidr, parseIp } from '../allocator/ipv4.ts';

const rpcInvalid = (desc: string) => invalid(`rpc error: code = InvalidArgument desc = ${desc}`);

export function clusterNetworkSpec(req: NetworkCreateRequest): ClusterNetwork['Spec'] {
  const name = req.Name ?? '';
  if (!name.trim()) throw rpcInvalid('meta: name must be provided');
  const opts = { ...(req.Options ?? {}) };
  // Never accept encryption and send plain text.
  if (Object.prototype.hasOwnProperty.call(opts, 'encrypted')) throw invalid(OVERLAY_ENCRYPTED_REFUSED);
  if (req.Ingress && req.Attachable) throw rpcInvalid('ingress network cannot be attachable');
  if (req.ConfigOnly || req.ConfigFrom?.Network) throw notImplemented('config-only networks');
  if (req.EnableIPv6) throw notImplemented('not yet: IPv6 on overlay networks');
  if (req.EnableIPv4 === false) throw invalid('IPv4 cannot be disabled in a Swarm scoped network');
  const labels = { ...(req.Labels ?? {}) };
  if ('com.docker.swarm.predefined' in labels) {
    throw new EngineError('Forbidden', 'rpc error: code = PermissionDenied desc = label com.docker.swarm.predefined is for internally created predefined networks and cannot be applied by users');
  }
  const ipamDriver = req.IPAM?.Driver || 'default';
  if (ipamDriver !== 'default') throw new EngineError('NotFound', `rpc error: code = InvalidArgument desc = invalid IPAM driver ${ipamDriver}: plugin "${ipamDriver}" not found`);
  const configs = (req.IPAM?.Config ?? []).filter((c) => !(c.Subnet ?? '').includes(':'));
  for (const c of configs) {
    const subnet = parseCidr(c.Subnet ?? '');
    if (!subnet) throw rpcInvalid(`ipam configuration: invalid subnet ${c.Subnet ?? ''}`);
    if (c.IPRange) {
      const r = parseCidr(c.IPRange);
      if (!r) throw rpcInvalid(`ipam configuration: invalid range ${c.IPRange}`);
      if (!contains(subnet, r.base)) throw rpcInvalid(`ipam configuration: subnet ${c.Subnet} does not contain range ${c.IPRange}`);
    }
    if (c.Gateway) {
      const g = parseIp(c.Gateway);
      if (g === undefined) throw rpcInvalid(`ipam configuration: invalid gateway ${c.Gateway}`);
      if (!contains(subnet, g)) throw rpcInvalid(`ipam configuration: subnet ${c.Subnet} does not contain gateway ${c.Gateway}`);
    }
  }
  if (configs.length > 1) throw notImplemented('not yet: berth overlay networks take one IPv4 subnet');
  const cfg = configs[0];
  return {
    Name: name, Labels: labels,
    DriverConfiguration: { Name: 'overlay', Options: opts },
    Attachable: !!req.Attachable, Internal: !!req.Internal, Ingress: !!req.Ingress,
    IPAMOptions: {
      Driver: { Name: 'default', ...(req.IPAM?.Options ? { Options: req.IPAM.Options } : {}) },
      Configs: cfg ? [{ Subnet: cfg.Subnet, ...(cfg.IPRange ? { Range: cfg.IPRange } : {}), ...(cfg.Gateway ? { Gateway: cfg.Gateway } : {}) }] : [],
    },
  };
}
