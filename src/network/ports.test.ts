import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../common/errors.ts';
import {
  parsePortSpec, parsePortSpecs, parsePortRange, isIPv6, splitProtoPort, publishAllBindings, PortAllocator,
  DEFAULT_EPHEMERAL_START, DEFAULT_EPHEMERAL_END, parseProcNetPorts, networkSettingsPorts, portSummaries,
  displayablePorts, formatPortCommand, naturalCompare, type PortSummary,
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

test('-p forms: container only, host:container, ip:host:container, ip::container, protocols', () => {
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: b('', '') }]);
  assert.deepEqual(parsePortSpec('8080:80'), [{ port: '80/tcp', binding: b('', '8080') }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), [{ port: '80/udp', binding: b('127.0.0.1', '8080') }]);
  assert.deepEqual(parsePortSpec('127.0.0.1::80'), [{ port: '80/tcp', binding: b('127.0.0.1', '') }]);
  assert.deepEqual(parsePortSpec(':80'), [{ port: '80/tcp', binding: b('', '') }]);
  assert.deepEqual(parsePortSpec('80/SCTP'), [{ port: '80/sctp', binding: b('', '') }]);
  assert.deepEqual(parsePortSpec('80/'), [{ port: '80/tcp', binding: b('', '') }]);
});

test('-p with IPv6 host addresses, bracketed or not', () => {
  assert.deepEqual(parsePortSpec('[::1]:8080:80'), [{ port: '80/tcp', binding: b('::1', '8080') }]);
  assert.deepEqual(parsePortSpec('[::]:8080:80/udp'), [{ port: '80/udp', binding: b('::', '8080') }]);
  assert.deepEqual(parsePortSpec('[fe80::1]::80'), [{ port: '80/tcp', binding: b('fe80::1', '') }]);
  assert.deepEqual(parsePortSpec('::1:8080:80'), [{ port: '80/tcp', binding: b('::1', '8080') }]);
  assert.ok(isIPv6('::') && isIPv6('2001:db8::1') && isIPv6('::ffff:1.2.3.4') && isIPv6('1:2:3:4:5:6:7:8'));
  assert.ok(!isIPv6('1:2:3:4:5:6:7:8:9') && !isIPv6('1::2::3') && !isIPv6('g::1') && !isIPv6('1.2.3.4'));
});

test('-p ranges: equal lengths map one to one; a single container port takes a host range', () => {
  assert.deepEqual(parsePortSpec('8000-8001:80-81'), [
    { port: '80/tcp', binding: b('', '8000') }, { port: '81/tcp', binding: b('', '8001') }]);
  assert.deepEqual(parsePortSpec('80-82').map((m) => m.port), ['80/tcp', '81/tcp', '82/tcp']);
  assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', binding: b('', '8000-8010') }]);
  assert.deepEqual(parsePortSpec('0.0.0.0:9000-9001:90-91/udp'), [
    { port: '90/udp', binding: b('0.0.0.0', '9000') }, { port: '91/udp', binding: b('0.0.0.0', '9001') }]);
});

test('-p errors with the docker CLI texts', () => {
  assert.throws(() => parsePortSpec('abc:80'), err('invalid hostPort: abc'));
  assert.throws(() => parsePortSpec('80:abc'), err('invalid containerPort: abc'));
  assert.throws(() => parsePortSpec('70000'), err('invalid containerPort: 70000'));
  assert.throws(() => parsePortSpec('80:70000'), err('invalid containerPort: 70000'));
  assert.throws(() => parsePortSpec('70000:80'), err('invalid hostPort: 70000'));
  assert.throws(() => parsePortSpec('80/xyz'), err('invalid proto: xyz'));
  assert.throws(() => parsePortSpec('1.2.3:80:80'), err('invalid IP address: 1.2.3'));
  assert.throws(() => parsePortSpec('localhost:80:80'), err('invalid IP address: localhost'));
  assert.throws(() => parsePortSpec('[::1:80:80'), err("invalid IP address [::1: address [::1: missing ']' in address"));
  assert.throws(() => parsePortSpec('1-3:4-5'), err('invalid ranges specified for container and host Ports: 4-5 and 1-3'));
  assert.throws(() => parsePortSpec('1-2:4-6'), err('invalid ranges specified for container and host Ports: 4-6 and 1-2'));
  assert.throws(() => parsePortSpec(''), err('no port specified: <empty>'));
  assert.throws(() => parsePortSpec('8080:'), err('no port specified: 8080:<empty>'));
});

test('parsePortSpecs gives ExposedPorts and PortBindings shapes', () => {
  assert.deepEqual(parsePortSpecs(['8080:80', '127.0.0.1:8081:80', '53/udp', '9000-9001:9000-9001']), {
    exposedPorts: { '80/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} },
    portBindings: {
      '80/tcp': [b('', '8080'), b('127.0.0.1', '8081')],
      '53/udp': [b('', '')],
      '9000/tcp': [b('', '9000')],
      '9001/tcp': [b('', '9001')],
    },
  });
  assert.deepEqual(splitProtoPort('53/udp'), { port: 53, proto: 'udp' });
  assert.deepEqual(splitProtoPort('80'), { port: 80, proto: 'tcp' });
  assert.throws(() => splitProtoPort('x/tcp'), err('invalid containerPort: x'));
  assert.throws(() => splitProtoPort('80/foo'), err('invalid proto: foo'));
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
  assert.throws(() => a.reserve('tcp', 9090, '::'), err('Bind for [::]:9090 failed: port is already allocated', 'Conflict'));
  a.release('tcp', 9090, '127.0.0.1');
  a.release('tcp', 9090, '127.0.0.2');
  assert.equal(a.reserve('tcp', 9090, '::'), 9090);
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
  assert.deepEqual(portSummaries(ports), [
    { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 443, Type: 'tcp' },
  ]);
});

test('PORTS column as docker prints it', () => {
  const p = (PrivatePort: number, Type = 'tcp', IP?: string, PublicPort?: number): PortSummary => ({ PrivatePort, Type, IP, PublicPort });
  assert.equal(displayablePorts([]), '');
  assert.equal(displayablePorts([p(80, 'tcp', '::', 8080), p(80, 'tcp', '0.0.0.0', 8080)]), '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
  assert.equal(displayablePorts([p(80, 'tcp', '::', 8080), p(80, 'tcp', '0.0.0.0', 8080)], { bracketIPv6: false }), '0.0.0.0:8080->80/tcp, :::8080->80/tcp');
  assert.equal(displayablePorts([p(9988), p(9090, 'tcp', '0.0.0.0', 80)]), '9988/tcp, 0.0.0.0:80->9090/tcp');
  // Exposed-only consecutive ports collapse; same-numbered published ones collapse per address.
  assert.equal(displayablePorts([p(82), p(80), p(81), p(90), p(53, 'udp')]), '80-82/tcp, 53/udp, 90/tcp');
  assert.equal(displayablePorts([p(8000, 'tcp', '0.0.0.0', 8000), p(8001, 'tcp', '0.0.0.0', 8001), p(8002, 'tcp', '0.0.0.0', 8002)]),
    '0.0.0.0:8000-8002->8000-8002/tcp');
  assert.equal(displayablePorts([p(8000, 'tcp', '::', 8000), p(8001, 'tcp', '::', 8001)]), '[::]:8000-8001->8000-8001/tcp');
  assert.equal(displayablePorts([p(8000, 'tcp', '::', 8000), p(8001, 'tcp', '::', 8001)], { bracketIPv6: false }), ':::8000-8001->8000-8001/tcp');
  assert.equal(displayablePorts([p(80, 'tcp', '0.0.0.0', 8080), p(81, 'tcp', '0.0.0.0', 8081)]), '0.0.0.0:8080->80/tcp, 0.0.0.0:8081->81/tcp');
  assert.equal(displayablePorts([p(80, 'udp'), p(80, 'tcp')]), '80/tcp, 80/udp');
});

test('docker port output', () => {
  const ports = { '80/tcp': [b('0.0.0.0', '8080'), b('::', '8080')], '443/tcp': null, '9/udp': [b('127.0.0.1', '9999')] };
  assert.deepEqual(formatPortCommand(ports), ['9/udp -> 127.0.0.1:9999', '80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  assert.deepEqual(formatPortCommand(ports, undefined, '', { bracketIPv6: false }), ['9/udp -> 127.0.0.1:9999', '80/tcp -> 0.0.0.0:8080', '80/tcp -> :::8080']);
  assert.deepEqual(formatPortCommand(ports, '80'), ['0.0.0.0:8080', '[::]:8080']);
  assert.deepEqual(formatPortCommand(ports, '9/udp'), ['127.0.0.1:9999']);
  assert.throws(() => formatPortCommand(ports, '443', 'web'), err("No public port '443/tcp' published for web", 'NotFound'));
  assert.throws(() => formatPortCommand(ports, '80/udp', 'web'), err("No public port '80/udp' published for web", 'NotFound'));
  assert.ok(naturalCompare('9/udp', '80/tcp') < 0 && naturalCompare('a10', 'a9') > 0 && naturalCompare('x', 'x') === 0);
});
