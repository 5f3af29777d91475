import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import {
  attachLines, checkSpec, createOverlayLines, createUnderlayLines, endpointMac, endpointPort, ENCRYPTED_REFUSED, inSubnet,
  overlayNames, peerAddLines, peerRemoveLines, refuseEncrypted, type OverlaySpec,
} from './plan.ts';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const spec: OverlaySpec = { id: ID, vni: 4097, subnet: '10.0.1.0/24', localVtep: '192.168.5.1', instance: 't7' };

function invalidWith(re: RegExp) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter') && re.test((e as Error).message);
}

test('names: libnetwork vxlan name, a per-instance namespace no bridge reconciliation claims, IFNAMSIZ', () => {
  const n = overlayNames(spec);
  assert.equal(n.vxlan, 'vx-001001-a1b2c');
  assert.equal(n.netns, 'berthov-t7-a1b2c3d4e5f6');
  assert.equal(overlayNames({ ...spec, instance: '' }).netns, 'berthov-a1b2c3d4e5f6');
  assert.ok(!n.netns.startsWith('berth-'));
  assert.match(n.vxlanTmp, /^vt[0-9a-f]{12}$/);
  // Two daemons (instances) with the same network never share the underlay's temporary name.
  assert.notEqual(overlayNames({ ...spec, instance: 't8' }).vxlanTmp, n.vxlanTmp);
  for (const x of [n.vxlan, n.vxlanTmp, endpointPort('255.255.255.254')]) assert.ok(x.length <= 15, x);
  assert.equal(endpointPort('10.0.1.2'), 'veth0a000102');
});

test('MAC from the IP as Docker does, or the one given (normalised)', () => {
  assert.equal(endpointMac('10.0.1.2'), '02:42:0a:00:01:02');
  assert.equal(endpointMac('10.0.1.2', '02-AA-bb-cc-dd-ee'), '02:aa:bb:cc:dd:ee');
  assert.throws(() => endpointMac('10.0.1.2', 'zz'), invalidWith(/not a valid mac address/));
});

test('checkSpec refuses bad input with clear errors', () => {
  assert.deepEqual(checkSpec(spec), { bits: 24 });
  assert.throws(() => checkSpec({ ...spec, vni: 0 }), invalidWith(/invalid VXLAN id 0/));
  assert.throws(() => checkSpec({ ...spec, vni: 1 << 24 }), invalidWith(/invalid VXLAN id/));
  assert.throws(() => checkSpec({ ...spec, vni: 1.5 }), invalidWith(/invalid VXLAN id/));
  assert.throws(() => checkSpec({ ...spec, subnet: '10.0.1.0' }), invalidWith(/invalid overlay subnet/));
  assert.throws(() => checkSpec({ ...spec, subnet: '10.0.1.0/31' }), invalidWith(/invalid overlay subnet/));
  assert.throws(() => checkSpec({ ...spec, localVtep: 'node1' }), invalidWith(/invalid VTEP/));
  assert.throws(() => checkSpec({ ...spec, id: 'ab' }), invalidWith(/invalid overlay network id/));
  assert.throws(() => checkSpec({ ...spec, id: 'abcde fgh' }), invalidWith(/invalid overlay network id/));
  assert.throws(() => checkSpec({ ...spec, instance: 'a/b' }), invalidWith(/invalid daemon instance/));
});

test('inSubnet excludes the network and broadcast addresses', () => {
  assert.ok(inSubnet('10.0.1.2', '10.0.1.0/24'));
  assert.ok(inSubnet('10.0.1.254', '10.0.1.0/24'));
  assert.ok(!inSubnet('10.0.1.0', '10.0.1.0/24'));
  assert.ok(!inSubnet('10.0.1.255', '10.0.1.0/24'));
  assert.ok(!inSubnet('10.0.2.2', '10.0.1.0/24'));
  assert.ok(!inSubnet('bogus', '10.0.1.0/24'));
});

test('create: the vxlan is made in the underlay (no learning, proxy ARP, VTEP, 4789, MTU 1450), moved, renamed, put on br0', () => {
  assert.deepEqual(createUnderlayLines(spec), [
    ['link', 'add', 'name', overlayNames(spec).vxlanTmp, 'mtu', '1450', 'type', 'vxlan', 'id', '4097', 'local', '192.168.5.1', 'dstport', '4789', 'nolearning', 'proxy'],
    ['link', 'set', 'dev', overlayNames(spec).vxlanTmp, 'netns', 'berthov-t7-a1b2c3d4e5f6'],
  ]);
  assert.deepEqual(createOverlayLines(spec), [
    ['link', 'set', 'dev', 'lo', 'up'],
    ['link', 'add', 'name', 'br0', 'mtu', '1450', 'type', 'bridge'],
    ['link', 'set', 'dev', overlayNames(spec).vxlanTmp, 'name', 'vx-001001-a1b2c'],
    ['link', 'set', 'dev', 'vx-001001-a1b2c', 'master', 'br0'],
    ['link', 'set', 'dev', 'vx-001001-a1b2c', 'up'],
    ['link', 'set', 'dev', 'br0', 'up'],
  ]);
});

test('attach: veth on br0, the peer renamed in the container with the subnet prefix and the derived MAC', () => {
  const l = attachLines(spec, { ip: '10.0.1.2', ifname: 'eth1' }, '/run/netns/c1');
  assert.deepEqual(l.overlay, [
    ['link', 'add', 'name', 'veth0a000102', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'ovt0a000102', 'netns', '/run/netns/c1'],
    ['link', 'set', 'dev', 'veth0a000102', 'master', 'br0'],
    ['link', 'set', 'dev', 'veth0a000102', 'up'],
  ]);
  assert.deepEqual(l.container, [
    ['link', 'set', 'dev', 'lo', 'up'],
    ['link', 'set', 'dev', 'ovt0a000102', 'name', 'eth1'],
    ['link', 'set', 'dev', 'eth1', 'address', '02:42:0a:00:01:02'],
    ['link', 'set', 'dev', 'eth1', 'mtu', '1450'],
    ['addr', 'add', '10.0.1.2/24', 'dev', 'eth1'],
    ['link', 'set', 'dev', 'eth1', 'up'],
  ]);
  assert.throws(() => attachLines(spec, { ip: '10.0.9.2', ifname: 'eth0' }, '/run/netns/c1'), invalidWith(/not in the overlay subnet 10.0.1.0\/24/));
  assert.throws(() => attachLines(spec, { ip: '10.0.1.2', ifname: 'eth 0' }, '/run/netns/c1'), invalidWith(/invalid interface name/));
  assert.throws(() => attachLines(spec, { ip: '10.0.1.2', ifname: 'eth0' }, 'c1'), invalidWith(/invalid network namespace path/));
  assert.throws(() => attachLines(spec, { ip: '10.0.1.2', ifname: 'eth0' }, '/run/netns/a b'), invalidWith(/invalid network namespace path/));
});

test('peers: permanent neighbour and static FDB entries on the vxlan, and their removal', () => {
  assert.deepEqual(peerAddLines(spec, { ip: '10.0.1.3', vtep: '192.168.5.2' }), {
    ip: [['neigh', 'replace', '10.0.1.3', 'lladdr', '02:42:0a:00:01:03', 'dev', 'vx-001001-a1b2c', 'nud', 'permanent']],
    bridge: [['fdb', 'replace', '02:42:0a:00:01:03', 'dev', 'vx-001001-a1b2c', 'dst', '192.168.5.2', 'self', 'permanent']],
  });
  assert.deepEqual(peerRemoveLines(spec, { ip: '10.0.1.3', mac: '02:42:AA:00:01:03', vtep: '192.168.5.2' }), {
    ip: [['neigh', 'del', '10.0.1.3', 'dev', 'vx-001001-a1b2c']],
    bridge: [['fdb', 'del', '02:42:aa:00:01:03', 'dev', 'vx-001001-a1b2c', 'dst', '192.168.5.2', 'self']],
  });
  assert.throws(() => peerAddLines(spec, { ip: '10.0.1.3', vtep: 'x' }), invalidWith(/invalid peer VTEP/));
  assert.throws(() => peerAddLines(spec, { ip: '10.0.1.3 dev lo', vtep: '192.168.5.2' }), invalidWith(/invalid peer address/));
});

test('encrypted overlays are refused, never accepted and sent in plain text', () => {
  refuseEncrypted(undefined);
  refuseEncrypted({ 'com.docker.network.driver.mtu': '1400' });
  for (const v of ['', 'true', 'false']) {
    assert.throws(() => refuseEncrypted({ encrypted: v }), (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === ENCRYPTED_REFUSED);
  }
  assert.equal(ENCRYPTED_REFUSED, 'encrypted overlay networks are not supported by berth: refusing rather than sending plain text');
});
