import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../common/errors.ts';
import {
  parseIPv4, formatIPv4, parseCidr, formatCidr, normalizeCidr, cidrsOverlap, expandPools, DEFAULT_ADDRESS_POOLS,
  chooseSubnet, parseHostRoutes, NO_AVAILABLE_POOL, validateIpamConfigs, checkPoolOverlap,
  AddressPool, macFromIPv4, parseMacAddress, ERR_POOL_OVERLAP, ERR_ADDRESS_IN_USE, ERR_NO_AVAILABLE_IPS,
  parseIPv6, formatIPv6, parsePrefix, formatPrefix, canonicalAddr, ulaBasePrefix, chooseSubnet6, NO_MORE_SUBNETS,
} from './ipam.ts';

function err(msg: string, kind: ErrorKind = 'InvalidParameter') {
  return (e: unknown) => {
    assert.ok(isEngineError(e, kind), `expected ${kind}, got ${String(e)}`);
    assert.equal((e as Error).message, msg);
    return true;
  };
}

test('IPv4 parse and format', () => {
  assert.equal(parseIPv4('172.17.0.2'), 0xac110002);
  assert.equal(formatIPv4(0xac110002), '172.17.0.2');
  assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'a.b.c.d', '1.2.3.4 ', '']) assert.equal(parseIPv4(bad), undefined, bad);
});

test('CIDR parse masks host bits, formats, rejects junk with the Go text', () => {
  assert.deepEqual(parseCidr('172.17.0.0/16'), { base: 0xac110000, bits: 16 });
  assert.equal(formatCidr(parseCidr('172.17.5.9/16')), '172.17.0.0/16');
  assert.equal(normalizeCidr('10.1.2.3/8'), '10.0.0.0/8');
  assert.equal(normalizeCidr('0.0.0.0/0'), '0.0.0.0/0');
  assert.equal(normalizeCidr('10.0.0.7/32'), '10.0.0.7/32');
  for (const bad of ['foo', '10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '300.0.0.0/8']) {
    assert.throws(() => parseCidr(bad), err(`invalid CIDR address: ${bad}`));
  }
  assert.ok(cidrsOverlap(parseCidr('10.0.0.0/8'), parseCidr('10.5.0.0/16')));
  assert.ok(!cidrsOverlap(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
});

test('default pools: 172.17-31 /16, then 192.168.0.0/16 in /20 steps', () => {
  const all = expandPools(DEFAULT_ADDRESS_POOLS);
  assert.equal(all.length, 15 + 16);
  assert.equal(all[0], '172.17.0.0/16');
  assert.equal(all[14], '172.31.0.0/16');
  assert.equal(all[15], '192.168.0.0/20');
  assert.equal(all[16], '192.168.16.0/20');
  assert.equal(all[30], '192.168.240.0/20');
  assert.deepEqual(expandPools([{ base: '10.10.0.0/16', size: 24 }]).slice(0, 2), ['10.10.0.0/24', '10.10.1.0/24']);
  assert.throws(() => expandPools([{ base: '10.0.0.0/16', size: 8 }]), err('invalid pools configuration: size 8 is invalid for base pool 10.0.0.0/16'));
});

test('chooseSubnet skips networks in use and host routes', () => {
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, [], []), '172.17.0.0/16');
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, ['172.17.0.0/16'], []), '172.18.0.0/16');
  // A host route inside a candidate (a /24 in 172.18) rules the whole candidate out.
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, ['172.17.0.0/16'], ['172.18.3.0/24']), '172.19.0.0/16');
  // A wide host route (172.16.0.0/12) covers all of 172.17-31: first /20 of 192.168.
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, [], ['172.16.0.0/12']), '192.168.0.0/20');
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, ['192.168.0.0/20'], ['172.16.0.0/12']), '192.168.16.0/20');
  // A bare host address counts as a /32.
  assert.equal(chooseSubnet(['10.0.0.0/24', '10.0.1.0/24'], [], ['10.0.0.9']), '10.0.1.0/24');
  assert.throws(() => chooseSubnet(['10.0.0.0/24'], ['10.0.0.0/16'], []), err(NO_AVAILABLE_POOL, 'Unavailable'));
});

test('parseHostRoutes reads ip -j route, skipping default, local and IPv6', () => {
  const json = JSON.stringify([
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', flags: [] },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2', flags: [] },
    { dst: '10.9.9.9', gateway: '192.0.2.1', dev: 'eth0', flags: [] },
    { type: 'local', dst: '127.0.0.0/8', dev: 'lo', table: 'local', flags: [] },
    { type: 'unicast', dst: '172.18.0.0/16', dev: 'br-x', flags: [] },
    { dst: 'fe80::/64', dev: 'eth0', flags: [] },
    { dst: 'garbage/99', dev: 'eth0' },
  ]);
  assert.deepEqual(parseHostRoutes(json), ['192.0.2.0/24', '10.9.9.9/32', '172.18.0.0/16']);
  assert.deepEqual(parseHostRoutes(''), []);
  assert.deepEqual(parseHostRoutes('{}'), []);
  assert.equal(chooseSubnet(DEFAULT_ADDRESS_POOLS, ['172.17.0.0/16'], parseHostRoutes(json)), '172.19.0.0/16');
});

test('daemon validation of IPAM.Config: moby texts, all problems reported', () => {
  validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: '10.1.2.0/24', Gateway: '10.1.0.1' }]);
  validateIpamConfigs([{ Subnet: 'fd00::/64' }]); // IPv6 skipped without EnableIPv6
  assert.throws(() => validateIpamConfigs([{ Subnet: 'foo' }]), err('invalid network config:\ninvalid subnet foo: invalid CIDR block notation'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.5/16' }]), err('invalid network config:\ninvalid subnet 10.1.0.5/16: it should be 10.1.0.0/16'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: 'bar' }]), err('invalid network config:\ninvalid ip-range bar: invalid CIDR block notation'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: '10.0.0.0/8' }]),
    err('invalid network config:\ninvalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.1.0.0/16'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: '10.2.0.0/24' }]),
    err("invalid network config:\ninvalid ip-range 10.2.0.0/24: parent subnet 10.1.0.0/16 doesn't contain ip-range"));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: '10.1.2.9/24' }]),
    err('invalid network config:\ninvalid ip-range 10.1.2.9/24: it should be 10.1.2.0/24'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', IPRange: 'fd00::/64' }]),
    err('invalid network config:\ninvalid ip-range fd00::/64: parent subnet is an IPv4 block'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', Gateway: '10.2.0.1' }]),
    err("invalid network config:\ninvalid gateway 10.2.0.1: parent subnet 10.1.0.0/16 doesn't contain this address"));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', Gateway: 'x' }]), err('invalid network config:\ninvalid gateway x: invalid address'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', Gateway: 'fd00::1' }]), err('invalid network config:\ninvalid gateway fd00::1: parent subnet is an IPv4 block'));
  assert.throws(() => validateIpamConfigs([{ Subnet: '10.1.0.0/16', AuxiliaryAddresses: { a: '10.9.0.1' } }]),
    err("invalid network config:\ninvalid auxiliary address a: parent subnet 10.1.0.0/16 doesn't contain this address"));
  assert.throws(() => validateIpamConfigs([{ Subnet: 'foo' }, { Subnet: '10.1.0.0/16', Gateway: '10.2.0.1' }]),
    err("invalid network config:\ninvalid subnet foo: invalid CIDR block notation\ninvalid gateway 10.2.0.1: parent subnet 10.1.0.0/16 doesn't contain this address"));
});

test('pool overlap with an existing network: Docker 403 text', () => {
  checkPoolOverlap('10.2.0.0/16', ['10.1.0.0/16', '172.17.0.0/16']);
  assert.throws(() => checkPoolOverlap('10.1.5.0/24', ['10.1.0.0/16']), err(ERR_POOL_OVERLAP, 'Forbidden'));
  assert.throws(() => checkPoolOverlap('10.0.0.0/8', ['10.1.0.0/16']), err('Pool overlaps with other one on this address space', 'Forbidden'));
});

test('AddressPool: gateway defaults to the first host, reserved addresses never handed out', () => {
  const p = new AddressPool({ subnet: '172.17.0.0/16' });
  assert.equal(p.gatewayText, '172.17.0.1');
  assert.equal(p.prefixLen, 16);
  assert.equal(p.allocate(), '172.17.0.2');
  assert.equal(p.allocate(), '172.17.0.3');
  assert.ok(p.isAllocated('172.17.0.1') && p.isAllocated('172.17.0.0') && p.isAllocated('172.17.255.255'));
  assert.throws(() => p.allocate('172.17.0.1'), err(ERR_ADDRESS_IN_USE, 'Forbidden'));
  assert.throws(() => p.allocate('172.17.0.0'), err('Address already in use', 'Forbidden'));
  assert.throws(() => p.allocate('172.17.255.255'), err('Address already in use', 'Forbidden'));
  assert.throws(() => p.allocate('172.17.0.2'), err('Address already in use', 'Forbidden'));
  assert.throws(() => p.allocate('10.0.0.5'), err("Invalid address 10.0.0.5: It does not belong to any of this network's subnets"));
  assert.throws(() => p.allocate('nonsense'), err("Invalid address nonsense: It does not belong to any of this network's subnets"));
  assert.equal(p.allocate('172.17.9.9'), '172.17.9.9');
  const g = new AddressPool({ subnet: '10.5.0.0/24', gateway: '10.5.0.254' });
  assert.equal(g.gatewayText, '10.5.0.254');
  assert.equal(g.allocate(), '10.5.0.1');
  assert.throws(() => new AddressPool({ subnet: '10.5.0.0/24', gateway: '10.6.0.1' }),
    err("invalid network config:\ninvalid gateway 10.6.0.1: parent subnet 10.5.0.0/24 doesn't contain this address"));
  assert.throws(() => new AddressPool({ subnet: '10.5.0.4/31' }), err('invalid subnet 10.5.0.4/31: too small for a bridge network'));
});

test('AddressPool: sequential from the last one given, wraps around, release is not reused at once', () => {
  const p = new AddressPool({ subnet: '10.0.0.0/29' }); // .0 net, .1 gw, .7 bcast: .2-.6 usable
  assert.deepEqual([p.allocate(), p.allocate(), p.allocate()], ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  p.release('10.0.0.2');
  assert.equal(p.allocate(), '10.0.0.5'); // not the one just released
  assert.equal(p.allocate(), '10.0.0.6');
  assert.equal(p.allocate(), '10.0.0.2'); // wrapped past broadcast/network/gateway
  assert.throws(() => p.allocate(), err(ERR_NO_AVAILABLE_IPS, 'Unavailable'));
  p.release('10.0.0.4');
  p.release('10.0.0.4'); // idempotent
  p.release('garbage');
  assert.equal(p.allocate(), '10.0.0.4');
  assert.equal(p.allocatedCount, 5);
});

test('AddressPool: ip-range limits dynamic allocation, --ip may use the whole subnet', () => {
  const p = new AddressPool({ subnet: '10.5.0.0/16', ipRange: '10.5.3.0/30' });
  assert.equal(p.gatewayText, '10.5.0.1');
  assert.equal(p.ipRangeText, '10.5.3.0/30');
  assert.deepEqual([p.allocate(), p.allocate(), p.allocate(), p.allocate()], ['10.5.3.0', '10.5.3.1', '10.5.3.2', '10.5.3.3']);
  assert.throws(() => p.allocate(), err(ERR_NO_AVAILABLE_IPS, 'Unavailable'));
  assert.equal(p.allocate('10.5.7.7'), '10.5.7.7');
  const a = new AddressPool({ subnet: '10.6.0.0/29', auxAddresses: ['10.6.0.2'] });
  assert.equal(a.allocate(), '10.6.0.3');
  assert.throws(() => a.allocate('10.6.0.2'), err(ERR_ADDRESS_IN_USE, 'Forbidden'));
});

test('AddressPool: serialize/restore round-trips through plain JSON', () => {
  const p = new AddressPool({ subnet: '10.7.0.0/24', ipRange: '10.7.0.128/25', gateway: '10.7.0.1', auxAddresses: ['10.7.0.200'] });
  p.allocate();
  p.allocate('10.7.0.50');
  p.allocate();
  p.release('10.7.0.128');
  const s = JSON.parse(JSON.stringify(p.serialize()));
  assert.deepEqual(s, { subnet: '10.7.0.0/24', ipRange: '10.7.0.128/25', gateway: '10.7.0.1', allocated: ['10.7.0.50', '10.7.0.129'], reserved: ['10.7.0.200'], last: '10.7.0.129' });
  const q = AddressPool.restore(s);
  assert.deepEqual(q.serialize(), s);
  assert.equal(q.allocate(), '10.7.0.130'); // resumes after `last`
  assert.throws(() => q.allocate('10.7.0.50'), err(ERR_ADDRESS_IN_USE, 'Forbidden'));
  assert.deepEqual(new AddressPool({ subnet: '10.8.0.0/24' }).serialize(), { subnet: '10.8.0.0/24', gateway: '10.8.0.1', allocated: [] });
});

test('MAC address from IP as Docker does', () => {
  assert.equal(macFromIPv4('172.17.0.2'), '02:42:ac:11:00:02');
  assert.equal(macFromIPv4('192.168.16.255'), '02:42:c0:a8:10:ff');
  assert.throws(() => macFromIPv4('x'), err('invalid IP address: x'));
  assert.equal(parseMacAddress('02:42:AC:11:00:02'), '02:42:ac:11:00:02');
  assert.equal(parseMacAddress('02-42-ac-11-00-02'), '02:42:ac:11:00:02');
  assert.throws(() => parseMacAddress('02:42:ac:11:00'), err('02:42:ac:11:00 is not a valid mac address'));
});

test('IPv6 parse and format as Go\'s netip (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['::', '::'], ['::1', '::1'], ['fd00::', 'fd00::'], ['FD00:0:0:0:0:0:0:1', 'fd00::1'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'], ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'], ['fd12:3456:789a:1::2', 'fd12:3456:789a:1::2'],
    ['::ffff:1.2.3.4', '::ffff:102:304'], ['1::', '1::'], ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ];
  for (const [a, b] of cases) assert.equal(formatIPv6(parseIPv6(a)!), b, a);
  for (const bad of ['', '1.2.3.4', ':::', '1::2::3', '12345::', 'fd00::1%eth0', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7', '::1.2.3']) assert.equal(parseIPv6(bad), undefined, bad);
  assert.equal(formatPrefix(parsePrefix('fd00:1:2:3:4::9/64')), 'fd00:1:2:3::/64');
  assert.equal(canonicalAddr('FD00:0::0:2'), 'fd00::2');
  assert.equal(canonicalAddr('10.0.0.1'), '10.0.0.1');
});

test('IPv6 IPAM: Docker 27\'s default ULA /48 per daemon, /64s not in use; validation texts', () => {
  const base = ulaBasePrefix('daemon-a');
  assert.match(base, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
  assert.equal(ulaBasePrefix('daemon-a'), base);
  assert.notEqual(ulaBasePrefix('daemon-b'), base);
  const first = chooseSubnet6(base, []);
  assert.equal(first, base.replace('/48', '/64'));
  const second = chooseSubnet6(base, [first, '172.17.0.0/16']);
  assert.notEqual(second, first);
  assert.equal(chooseSubnet6('fd00:1:2::/63', ['fd00:1:2::/64']), 'fd00:1:2:1::/64');
  assert.throws(() => chooseSubnet6('fd00:1:2::/64', ['fd00:1:2::/64']), err(NO_MORE_SUBNETS, 'Unavailable'));
  validateIpamConfigs([{ Subnet: 'fd00::/64', Gateway: 'zz' }]); // not looked at without EnableIPv6
  validateIpamConfigs([{ Subnet: 'fd00:9::/64', IPRange: 'fd00:9::/80', Gateway: 'fd00:9::fe' }], true);
  assert.throws(() => validateIpamConfigs([{ Subnet: 'fd00:9::1/64', IPRange: '10.0.0.0/24', Gateway: '10.0.0.1', AuxiliaryAddresses: { a: 'fd01::1' } }], true),
    err('invalid network config:\ninvalid subnet fd00:9::1/64: it should be fd00:9::/64\ninvalid ip-range 10.0.0.0/24: parent subnet is an IPv6 block\n'
      + "invalid gateway 10.0.0.1: parent subnet is an IPv6 block\ninvalid auxiliary address a: parent subnet fd00:9::/64 doesn't contain this address"));
  assert.throws(() => validateIpamConfigs([{ Subnet: 'fd00:9::/64', IPRange: 'fd00:8::/48' }], true),
    err("invalid network config:\ninvalid ip-range fd00:8::/48: CIDR block is bigger than its parent subnet fd00:9::/64\ninvalid ip-range fd00:8::/48: parent subnet fd00:9::/64 doesn't contain ip-range"));
  assert.throws(() => checkPoolOverlap('fd00:9::/80', ['fd00:9::/64', '10.0.0.0/8']), err(ERR_POOL_OVERLAP, 'Forbidden'));
  checkPoolOverlap('fd00:a::/64', ['fd00:9::/64', '10.0.0.0/8']);
});

test('AddressPool for IPv6: ::1 the gateway, ::2 on; the last address is a host; --ip6 anywhere in the subnet', () => {
  const p = new AddressPool({ subnet: 'fd00:77::/64' });
  assert.equal(p.gatewayText, 'fd00:77::1');
  assert.equal(p.prefixLen, 64);
  assert.deepEqual([p.allocate(), p.allocate()], ['fd00:77::2', 'fd00:77::3']);
  assert.equal(p.allocate('FD00:77::ffff:ffff:ffff:ffff'), 'fd00:77::ffff:ffff:ffff:ffff');
  assert.throws(() => p.allocate('fd00:77::1'), err(ERR_ADDRESS_IN_USE, 'Forbidden'));
  assert.throws(() => p.allocate('fd00:77::'), err(ERR_ADDRESS_IN_USE, 'Forbidden'));
  assert.throws(() => p.allocate('fd00:78::5'), err("Invalid address fd00:78::5: It does not belong to any of this network's subnets"));
  assert.throws(() => p.allocate('10.0.0.5'), err("Invalid address 10.0.0.5: It does not belong to any of this network's subnets"));
  p.release('fd00:77::2');
  assert.equal(p.allocate(), 'fd00:77::4');
  const s = JSON.parse(JSON.stringify(p.serialize()));
  assert.deepEqual(s, { subnet: 'fd00:77::/64', gateway: 'fd00:77::1', allocated: ['fd00:77::3', 'fd00:77::4', 'fd00:77::ffff:ffff:ffff:ffff'], last: 'fd00:77::4' });
  assert.equal(AddressPool.restore(s).allocate(), 'fd00:77::5');
  const small = new AddressPool({ subnet: 'fd00:5::/126', gateway: 'fd00:5::3' }); // ::0 reserved, ::3 gateway
  assert.deepEqual([small.allocate(), small.allocate()], ['fd00:5::1', 'fd00:5::2']);
  assert.throws(() => small.allocate(), err(ERR_NO_AVAILABLE_IPS, 'Unavailable'));
  const r = new AddressPool({ subnet: 'fd00:6::/64', ipRange: 'fd00:6::100/120' });
  assert.equal(r.allocate(), 'fd00:6::100');
  assert.throws(() => new AddressPool({ subnet: 'fd00:6::/127' }), err('invalid subnet fd00:6::/127: too small for a bridge network'));
});
