import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../../common/errors.ts';
import { OVERLAY_ENCRYPTED_REFUSED } from '../../api/types/swarm.ts';
import type { NetworkCreateRequest } from '../../api/types/network.ts';
import { clusterNetworkSpec } from './network-spec.ts';

function refused(req: NetworkCreateRequest, kind: ErrorKind, message: string): void {
  assert.throws(() => clusterNetworkSpec(req), (e) => isEngineError(e, kind) && e.message === message, message);
}

test('an overlay create body becomes the cluster network spec', () => {
  assert.deepEqual(clusterNetworkSpec({
    Name: 'appnet', Driver: 'overlay', Attachable: true, Internal: true, Labels: { a: 'b' }, Options: { 'com.docker.network.driver.mtu': '1400' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.254', IPRange: '10.9.0.128/25' }, { Subnet: 'fd00::/64' }] },
  }), {
    Name: 'appnet', Labels: { a: 'b' }, DriverConfiguration: { Name: 'overlay', Options: { 'com.docker.network.driver.mtu': '1400' } },
    Attachable: true, Internal: true, Ingress: false,
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.9.0.0/24', Range: '10.9.0.128/25', Gateway: '10.9.0.254' }] },
  });
  assert.deepEqual(clusterNetworkSpec({ Name: 'n', Driver: 'overlay' }).IPAMOptions, { Driver: { Name: 'default' }, Configs: [] });
});

test('refusals: encryption (never plain text instead), swarmkit\'s IPAM and annotation texts', () => {
  refused({ Name: 'sec', Driver: 'overlay', Options: { encrypted: '' } }, 'InvalidParameter', OVERLAY_ENCRYPTED_REFUSED);
  refused({ Name: 'sec', Driver: 'overlay', Options: { encrypted: 'false' } }, 'InvalidParameter', OVERLAY_ENCRYPTED_REFUSED);
  refused({ Name: '', Driver: 'overlay' }, 'InvalidParameter', 'rpc error: code = InvalidArgument desc = meta: name must be provided');
  refused({ Name: 'i', Driver: 'overlay', Ingress: true, Attachable: true }, 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ingress network cannot be attachable');
  refused({ Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/33' }] } }, 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ipam configuration: invalid subnet 10.1.0.0/33');
  refused({ Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.2.0.1' }] } }, 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.1.0.0/24 does not contain gateway 10.2.0.1');
  refused({ Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24', IPRange: '10.3.0.0/25' }] } }, 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.1.0.0/24 does not contain range 10.3.0.0/25');
  refused({ Name: 'n', Labels: { 'com.docker.swarm.predefined': 'true' } }, 'Forbidden', 'rpc error: code = PermissionDenied desc = label com.docker.swarm.predefined is for internally created predefined networks and cannot be applied by users');
  refused({ Name: 'n', EnableIPv6: true }, 'NotImplemented', 'not yet: IPv6 on overlay networks');
});
