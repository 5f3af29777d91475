import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../common/errors.ts';
import {
  parsePortRange, splitProtoPort, publishAllBindings, PortAllocator,
  DEFAULT_EPHEMERAL_START, DEFAULT_EPHEMERAL_END, parseProcNetPorts, networkSettingsPorts,
} from './ports.ts';

function err(msg: string, kind: ErrorKind = 'InvalidParameter') {
  return (e: unknown) => {
    assert.ok(isEngineError(e, kind), `expected ${kind}, got ${String(e)}`);
    assert.equal((e as Error).message, msg);
    return true;
  };
}
const b = (HostIp: string, HostPort: string) => ({ HostIp, HostPort });

test('parsePortRange', () => {
  assert.deepEqual(parsePortRange('80'), [80, 80]);
  assert.deepEqual(parsePortRange('8000-8010'), [8000, 8010]);
  assert.deepEqual(parsePortRange('0'), [0, 0]);
  for (const bad of ['', 'x', '70000', '10-5', '1-', '-1', '1-2-3', ' 80']) assert.equal(parsePortRange(bad), undefined, bad);
});

test('-P publishes every exposed port not already bound', () => {
  assert.deepEqual(publishAllBindings({ '80/tcp': {}, '443/tcp': {} }, { '80/tcp': [b('', '8080')] }),
    { '80/tcp': [b('', '8080')], '443/tcp': [b('', '')] });
  assert.deepEqual(publishAllBindings(['53/udp']), { '53/udp': [b('', '')] });
});

test('PortAllocator: Docker default range, sequential, wraps, skips ports in use', () => {
  const a = new PortAllocator();
  assert.equal(a.start, DEFAULT_EPHEMERAL_START);
  assert.equal(a.end, DEFAULT_EPHEMERAL_END);
  assert.equal(a.allocate('tcp'), 49153);
  assert.equal(a.allocate('tcp'), 49154);
  assert.equal(a.allocate('udp'), 49153); // per protocol
  const busy = new Set([5001]);
  const s = new PortAllocator({ start: 5000, end: 5003, inUse: (p) => busy.has(p) });
  assert.equal(s.allocate('tcp'), 5000);
  assert.equal(s.allocate('tcp'), 5002); // 5001 in use on the host
  assert.equal(s.allocate('tcp'), 5003);
  s.release('tcp', 5000);
  assert.equal(s.allocate('tcp'), 5000); // wrapped
  assert.throws(() => s.allocate('tcp'), err('all ports are allocated', 'Unavailable'));
  assert.throws(() => new PortAllocator({ start: 10, end: 5 }), err('invalid port range: 10-5'));
});

test('PortAllocator: explicit ports, address conflicts, host ranges', () => {
  const a = new PortAllocator({ start: 6000, end: 6010 });
  assert.equal(a.allocateBinding('tcp', b('', '8080')), 8080);
  assert.throws(() => a.allocateBinding('tcp', b('', '8080')), err('Bind for 0.0.0.0:8080 failed: port is already allocated', 'Conflict'));
  assert.throws(() => a.reserve('tcp', 8080, '127.0.0.1'), err('Bind for 127.0.0.1:8080 failed: port is already allocated', 'Conflict'));
  assert.equal(a.reserve('udp', 8080), 8080); // other protocol
  assert.equal(a.reserve('tcp', 9090, '127.0.0.1'), 9090);
  assert.equal(a.reserve('tcp', 9090, '127.0.0.2'), 9090); // two specific addresses
  assert.throws(() => a.reserve('tcp', 9090, '0.0.0.0'), err('Bind for 0.0.0.0:9090 failed: port is already allocated', 'Conflict'));
  // The other family's unspecified address is another socket (v6-only), '' is both families.
  assert.equal(a.reserve('tcp', 9090, '::'), 9090);
  assert.throws(() => a.reserve('tcp', 9090, '::1'), err('Bind for [::1]:9090 failed: port is already allocated', 'Conflict'));
  assert.throws(() => a.reserve('tcp', 9090, ''), err('Bind for 0.0.0.0:9090 failed: port is already allocated', 'Conflict'));
  a.release('tcp', 9090, '127.0.0.1');
  a.release('tcp', 9090, '127.0.0.2');
  a.release('tcp', 9090, '::');
  assert.equal(a.reserve('tcp', 9090, '::1'), 9090);
  assert.equal(a.reserve('tcp', 9090, '0.0.0.0'), 9090);
  assert.equal(a.allocateBinding('tcp', b('', '')), 6000);
  assert.equal(a.allocateBinding('tcp', b('', '7000-7001')), 7000);
  assert.equal(a.allocateBinding('tcp', b('', '7000-7001')), 7001);
  assert.throws(() => a.allocateBinding('tcp', b('', '7000-7001')), err('Bind for 0.0.0.0:7000 failed: port is already allocated', 'Conflict'));
  assert.throws(() => a.allocateBinding('tcp', b('', 'x')), err('invalid hostPort: x'));
});

test('parseProcNetPorts finds listening TCP and bound UDP ports', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0100007F:C001 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
  ].join('\n');
  assert.deepEqual([...parseProcNetPorts(tcp, 'tcp')], [8080]);
  const tcp6 = 'header\n   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0:0 0 0 0 0 1';
  assert.deepEqual([...parseProcNetPorts(tcp6, 'tcp')], [80]);
  const udp = 'header\n  1: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 3 2';
  assert.deepEqual([...parseProcNetPorts(udp, 'udp')], [53]);
});

test('NetworkSettings.Ports: exposed-only ports are null, keys sorted', () => {
  const ports = networkSettingsPorts({ '443/tcp': {}, '80/tcp': {}, '53/udp': {} }, {
    '80/tcp': [b('0.0.0.0', '8080'), b('::', '8080')],
    '53/udp': [b('127.0.0.1', '5353')],
  });
  assert.deepEqual(ports, {
    '53/udp': [b('127.0.0.1', '5353')],
    '80/tcp': [b('0.0.0.0', '8080'), b('::', '8080')],
    '443/tcp': null,
  });
  assert.deepEqual(Object.keys(ports), ['53/udp', '80/tcp', '443/tcp']);
});
