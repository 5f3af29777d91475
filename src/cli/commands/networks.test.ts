// `berth network` and `berth port`: Go's CIDR/IP parsing, docker's IPAM pairing and its errors,
// the create/connect request bodies, prune's report, and port's lines and errors (the daemon side
// is covered by test/compat/berth-network.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs } from '../args.ts';
import { GROUPS, TOP_LEVEL } from '../spec.ts';
import { Ctx, StatusError } from '../context.ts';
import {
  parseIP, parseCIDR, netContains, subnetMatches, createIpamConfig, createBody, csvSlice, connectBody,
  convertDriverOpts, linkProblem, pruneOutput, PRUNE_WARNING, type IpamOptions,
} from './networks.ts';
import { portOutput, portSyntaxError, joinHostPort } from './port.ts';

const ctx = new Ctx({}, 'berth network create', 'berth network create [OPTIONS] NETWORK');

/** The error a call throws: its message and exit status. */
function failure(fn: () => unknown): { message: string; status: number } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return { message: e.message, status: e.status };
  }
  assert.fail('no error thrown');
}

const ipam = (o: Partial<IpamOptions>): IpamOptions => ({ driver: 'default', subnets: [], ipRanges: [], gateways: [], auxAddresses: [], driverOpts: {}, ...o });

test('spec: the network group, its aliases and flags; port at the top level', () => {
  const g = GROUPS.network;
  assert.deepEqual(Object.keys(g.commands).sort(), ['connect', 'create', 'disconnect', 'inspect', 'ls', 'prune', 'rm']);
  assert.equal(g.aliases.list, 'ls');
  assert.equal(g.aliases.remove, 'rm');
  const c = parseCommandArgs(g.commands.create, ['-d', 'bridge', '--subnet', '10.1.0.0/24,10.2.0.0/24', '--gateway=10.1.0.1', '-o', 'a=b', '--label', 'x', '--ipv6', 'n1']);
  assert.deepEqual(c.args, ['n1']);
  assert.deepEqual([c.opts.driver, c.opts.subnet, c.opts.gateway, c.opts.opt, c.opts.label, c.opts.ipv6], ['bridge', ['10.1.0.0/24,10.2.0.0/24'], ['10.1.0.1'], ['a=b'], ['x'], true]);
  // --ipv4 is "not given" unless given: docker sends EnableIPv4 only then.
  assert.equal(c.opts.ipv4, undefined);
  assert.equal(parseCommandArgs(g.commands.create, ['--ipv4=false', 'n']).opts.ipv4, false);
  assert.equal(c.opts.ipamDriver, 'default');
  const k = parseCommandArgs(g.commands.connect, ['--alias', 'a,b', '--ip', '10.1.0.9', '--link-local-ip', '169.254.1.1', '--driver-opt', 'x=y', 'n', 'c']);
  assert.deepEqual([k.opts.alias, k.opts.ip, k.opts.linkLocalIp, k.opts.driverOpt, k.args], [['a,b'], '10.1.0.9', ['169.254.1.1'], ['x=y'], ['n', 'c']]);
  assert.equal(parseCommandArgs(g.commands.disconnect, ['-f', 'n', 'c']).opts.force, true);
  assert.equal(parseCommandArgs(g.commands.rm, ['-f', 'a', 'b']).opts.force, true);
  assert.deepEqual(parseCommandArgs(g.commands.prune, ['-f', '--filter', 'label=a']).opts.filter, ['label=a']);
  assert.equal(TOP_LEVEL.port.usage, 'CONTAINER [PRIVATE_PORT[/PROTO]]');
});

test("Go's ParseIP and ParseCIDR: strict IPv4, IPv6 with :: and embedded IPv4, the mask", () => {
  assert.deepEqual(parseIP('10.1.2.3')?.slice(12), [10, 1, 2, 3]);
  for (const bad of ['010.1.2.3', '10.1.2', '10.1.2.256', '1.2.3.4.5', '', 'foo', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '1::2::3', '::1.2.3']) {
    assert.equal(parseIP(bad), undefined, bad);
  }
  assert.deepEqual(parseIP('::1'), [...new Array(15).fill(0), 1]);
  assert.deepEqual(parseIP('::ffff:1.2.3.4')?.slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual(parseIP('2001:db8::'), [0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]);
  assert.ok(parseIP('1:2:3:4:5:6:7::'));
  const c = parseCIDR('10.1.2.3/16');
  assert.deepEqual(c.net, { ip: [10, 1, 0, 0], mask: [255, 255, 0, 0] });
  assert.deepEqual(c.ip.slice(12), [10, 1, 2, 3]);
  assert.deepEqual(parseCIDR('10.1.0.0/016').net.mask, [255, 255, 0, 0]);
  assert.equal(parseCIDR('2001:db8::/33').net.mask.slice(0, 6).join(), '255,255,255,255,128,0');
  for (const bad of ['10.1.0.0', '10.1.0.0/33', '10.1.0.0/', '10.1.0.0/+8', '::/129', 'foo/8', '010.1.0.0/8']) {
    assert.throws(() => parseCIDR(bad), { message: `invalid CIDR address: ${bad}` });
  }
  assert.ok(netContains(parseCIDR('10.1.0.0/16').net, parseIP('10.1.255.1')));
  assert.ok(!netContains(parseCIDR('10.1.0.0/16').net, parseIP('10.2.0.1')));
  assert.ok(!netContains(parseCIDR('10.1.0.0/16').net, undefined));
  assert.ok(!netContains(parseCIDR('2001:db8::/64').net, parseIP('10.1.0.1')));
  // An IPv4-mapped IPv6 network holds IPv4 addresses, as in Go.
  assert.ok(subnetMatches('::ffff:10.1.0.0/112', '10.1.0.1'));
  assert.ok(subnetMatches('10.1.0.0/16', '10.1.4.0/24'));
  assert.throws(() => subnetMatches('foo', '10.1.0.1'), { message: 'invalid subnet: invalid CIDR address: foo' });
  assert.throws(() => subnetMatches('10.1.0.0/16', '10.1.0.1/40'), { message: 'invalid CIDR address: 10.1.0.1/40' });
});

test("IPAM pairing: docker's createIPAMConfig, its texts and exit 1", () => {
  assert.deepEqual(createIpamConfig(ipam({})), { Driver: 'default', Options: {}, Config: [] });
  assert.deepEqual(createIpamConfig(ipam({
    driver: 'x', subnets: ['10.1.0.0/16', 'fd00:1::/64'], ipRanges: ['10.1.4.0/24'], gateways: ['fd00:1::1', '10.1.0.1'],
    auxAddresses: [['host1', '10.1.0.5'], ['host2', 'fd00:1::5'], ['host1', '10.1.0.6']], driverOpts: { o: 'v' },
  })), {
    Driver: 'x', Options: { o: 'v' },
    Config: [
      { Subnet: '10.1.0.0/16', IPRange: '10.1.4.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { host1: '10.1.0.6' } },
      { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1', AuxiliaryAddresses: { host2: 'fd00:1::5' } },
    ],
  });
  const cases: Array<[Partial<IpamOptions>, string]> = [
    [{ gateways: ['10.1.0.1'] }, 'every ip-range or gateway must have a corresponding subnet'],
    [{ subnets: ['10.1.0.0/16'], ipRanges: ['10.1.0.0/24', '10.1.1.0/24'] }, 'every ip-range or gateway must have a corresponding subnet'],
    [{ subnets: ['10.1.0.0/16', '10.1.2.0/24'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.1.2.0/24', '10.1.0.0/16'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.1.0.0/16', '10.1.0.0/16'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.1.0.0/16'], gateways: ['10.2.0.1'] }, 'no matching subnet for gateway 10.2.0.1'],
    [{ subnets: ['10.1.0.0/16'], gateways: ['nonsense'] }, 'no matching subnet for gateway nonsense'],
    [{ subnets: ['10.1.0.0/16'], gateways: ['10.1.0.1/33'] }, 'invalid CIDR address: 10.1.0.1/33'],
    [{ subnets: ['10.1.0.0/16'], ipRanges: ['10.2.0.0/24'] }, 'no matching subnet for range 10.2.0.0/24'],
    [{ subnets: ['10.1.0.0/16'], ipRanges: ['foo'] }, 'invalid CIDR address: foo'],
    [{ subnets: ['10.1.0.0/16', '10.3.0.0/16'], ipRanges: ['10.1.0.0/24', '10.1.1.0/24'] }, 'cannot configure multiple ranges (10.1.1.0/24, 10.1.0.0/24) on the same subnet (10.1.0.0/16)'],
    [{ subnets: ['10.1.0.0/16', '10.3.0.0/16'], gateways: ['10.1.0.1', '10.1.0.2'] }, 'cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/16)'],
    [{ subnets: ['10.1.0.0/16'], auxAddresses: [['a', '10.5.0.1']] }, 'no matching subnet for aux-address 10.5.0.1'],
    [{ subnets: ['10.1.0.0/16'], auxAddresses: [['10.1.0.1', '']] }, 'no matching subnet for aux-address '],
    [{ subnets: ['foo', '10.1.0.0/16'] }, 'invalid subnet: invalid CIDR address: foo'],
    [{ subnets: ['010.1.0.0/16'], gateways: ['10.1.0.1'] }, 'invalid subnet: invalid CIDR address: 010.1.0.0/16'],
  ];
  for (const [o, message] of cases) assert.deepEqual(failure(() => createIpamConfig(ipam(o))), { message, status: 1 }, message);
  // A lone malformed subnet is not the CLI's to judge: the daemon gets it.
  assert.deepEqual(createIpamConfig(ipam({ subnets: ['foo'] })).Config, [{ Subnet: 'foo' }]);
});

test("create: the body in Go's field order; StringSlice CSV; flag errors exit 125", () => {
  const body = createBody(ctx, 'n1', {
    driver: 'bridge', subnet: ['10.1.0.0/24,10.2.0.0/24'], gateway: ['10.2.0.1'], label: ['a=b', 'c'], opt: ['com.docker.network.bridge.name=br1'],
    ipamDriver: 'default', ipamOpt: ['k=v'], internal: true, ipv6: false, configFrom: 'base',
  });
  assert.equal(JSON.stringify(body), JSON.stringify({
    Driver: 'bridge', Scope: '', EnableIPv6: false,
    IPAM: { Driver: 'default', Options: { k: 'v' }, Config: [{ Subnet: '10.1.0.0/24' }, { Subnet: '10.2.0.0/24', Gateway: '10.2.0.1' }] },
    Internal: true, Attachable: false, Ingress: false, ConfigOnly: false, ConfigFrom: { Network: 'base' },
    Options: { 'com.docker.network.bridge.name': 'br1' }, Labels: { a: 'b', c: '' }, Name: 'n1',
  }));
  const plain = createBody(ctx, 'n2', { driver: 'bridge', ipamDriver: 'default' });
  assert.equal(JSON.stringify(plain), '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"n2"}');
  assert.equal(createBody(ctx, 'n3', { ipv4: true }).EnableIPv4, true);
  // Maps go out with their keys in byte order, as Go's encoding/json writes them.
  const sorted = createBody(ctx, 'n4', { label: ['tier=db', 'com.example.x', 'Z'], opt: ['b=1', 'a=2'], subnet: ['10.1.0.0/16'], auxAddress: ['y=10.1.0.2', 'x=10.1.0.1'] });
  assert.equal(JSON.stringify(sorted.Labels), '{"Z":"","com.example.x":"","tier":"db"}');
  assert.equal(JSON.stringify(sorted.Options), '{"a":"2","b":"1"}');
  assert.equal(JSON.stringify((sorted.IPAM as { Config: unknown[] }).Config), '[{"Subnet":"10.1.0.0/16","AuxiliaryAddresses":{"x":"10.1.0.1","y":"10.1.0.2"}}]');

  const usage = '\n\nUsage:  berth network create [OPTIONS] NETWORK\n\nRun \'berth network create --help\' for more information';
  assert.deepEqual(failure(() => createBody(ctx, 'n', { subnet: ['a"b'] })), { message: `invalid argument "a\\"b" for "--subnet" flag: parse error on line 1, column 2: bare " in non-quoted-field${usage}`, status: 125 });
  assert.deepEqual(failure(() => createBody(ctx, 'n', { label: ['=x'] })), { message: `invalid argument "=x" for "--label" flag: invalid label '=x': empty name${usage}`, status: 125 });
  assert.deepEqual(failure(() => createBody(ctx, 'n', { gateway: ['10.1.0.1'] })), { message: 'every ip-range or gateway must have a corresponding subnet', status: 1 });

  assert.deepEqual(csvSlice(['a,b', '', '"c,d",e', 'f,', '"x""y"']), { values: ['a', 'b', 'c,d', 'e', 'f', '', 'x"y'] });
  assert.deepEqual(csvSlice(undefined), { values: [] });
  assert.deepEqual(csvSlice(['"open']), { bad: '"open', reason: 'parse error on line 1, column 6: extraneous or missing " in quoted-field' });
  assert.deepEqual(csvSlice(['"a"b']), { bad: '"a"b', reason: 'parse error on line 1, column 3: extraneous or missing " in quoted-field' });
});

test('connect: the EndpointSettings body, driver options and links as docker checks them', () => {
  const cctx = new Ctx({}, 'berth network connect', 'berth network connect [OPTIONS] NETWORK CONTAINER');
  assert.equal(JSON.stringify(connectBody(cctx, 'c1', {})), JSON.stringify({
    Container: 'c1',
    EndpointConfig: {
      IPAMConfig: {}, Links: null, Aliases: [], MacAddress: '', DriverOpts: {}, GwPriority: 0, NetworkID: '', EndpointID: '', Gateway: '',
      IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    },
  }));
  const b = connectBody(cctx, 'c1', { alias: ['db,cache', 'x'], ip: '10.1.0.9', ip6: 'fd00::9', linkLocalIp: ['169.254.0.9'], link: ['web:w'], driverOpt: [' k = v '], gwPriority: -3 }) as { EndpointConfig: Record<string, unknown> };
  assert.deepEqual(b.EndpointConfig.IPAMConfig, { IPv4Address: '10.1.0.9', IPv6Address: 'fd00::9', LinkLocalIPs: ['169.254.0.9'] });
  assert.deepEqual([b.EndpointConfig.Aliases, b.EndpointConfig.Links, b.EndpointConfig.DriverOpts, b.EndpointConfig.GwPriority], [['db', 'cache', 'x'], ['web:w'], { k: 'v' }, -3]);
  for (const bad of [['foo'], ['=v'], [' =v']]) {
    assert.deepEqual(failure(() => convertDriverOpts(bad)), { message: 'invalid key/value pair format in driver options', status: 1 });
  }
  assert.equal(linkProblem('a'), undefined);
  assert.equal(linkProblem('a:b'), undefined);
  assert.equal(linkProblem('a:b:c'), 'bad format for links: a:b:c');
  assert.equal(linkProblem(''), 'empty string specified for links');
  assert.deepEqual(failure(() => connectBody(cctx, 'c', { link: ['a:b:c'] })), {
    message: 'invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c\n\nUsage:  berth network connect [OPTIONS] NETWORK CONTAINER\n\nRun \'berth network connect --help\' for more information',
    status: 125,
  });
});

test("prune: docker's question and report (a blank line after the names; nothing when none)", () => {
  assert.equal(PRUNE_WARNING, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?');
  assert.equal(pruneOutput({ NetworksDeleted: null }), '');
  assert.equal(pruneOutput(undefined), '');
  assert.equal(pruneOutput({ NetworksDeleted: ['n1', 'n2'] }), 'Deleted Networks:\nn1\nn2\n\n');
});

test('port: all bindings as sorted lines, one private port, IPv6 brackets, errors', () => {
  const ports = {
    '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '9080' }],
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
    '81/udp': [{ HostIp: '127.0.0.1', HostPort: '32768' }],
    '9/tcp': [{ HostIp: '', HostPort: '10' }],
    '443/tcp': null,
    '82/tcp': [],
  };
  // Natural order of the whole lines: 9 before 80 before 81 before 8080.
  assert.equal(portOutput(ports, 'web'), '9/tcp -> :10\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n81/udp -> 127.0.0.1:32768\n8080/tcp -> 0.0.0.0:9080\n');
  assert.equal(portOutput(ports, 'web', '80'), '0.0.0.0:8080\n[::]:8080\n');
  assert.equal(portOutput(ports, 'web', '80/tcp'), '0.0.0.0:8080\n[::]:8080\n');
  assert.equal(portOutput(ports, 'web', '81/udp'), '127.0.0.1:32768\n');
  assert.equal(portOutput(ports, 'web', ''), portOutput(ports, 'web'));
  assert.equal(portOutput({}, 'web'), '');
  assert.equal(portOutput(null, 'web'), '');
  assert.deepEqual(failure(() => portOutput(ports, 'web', '81')), { message: "Error: No public port '81' published for web", status: 1 });
  assert.deepEqual(failure(() => portOutput(ports, 'web', '443')), { message: "Error: No public port '443' published for web", status: 1 });
  assert.deepEqual(failure(() => portOutput(ports, 'web', '82/tcp')), { message: "Error: No public port '82/tcp' published for web", status: 1 });
  assert.deepEqual(failure(() => portOutput(ports, 'web', 'http')), { message: 'Error: invalid port (http): strconv.ParseUint: parsing "http": invalid syntax', status: 1 });
  assert.deepEqual(failure(() => portOutput(ports, 'web', '/udp')), { message: 'Error: invalid port (): strconv.ParseUint: parsing "": invalid syntax', status: 1 });
  assert.deepEqual(failure(() => portOutput(ports, 'web', '70000/tcp')), { message: 'Error: invalid port (70000): strconv.ParseUint: parsing "70000": value out of range', status: 1 });
  assert.equal(portSyntaxError('65535'), undefined);
  assert.equal(portSyntaxError('99999x'), 'strconv.ParseUint: parsing "99999x": value out of range');
  assert.equal(portSyntaxError('+1'), 'strconv.ParseUint: parsing "+1": invalid syntax');
  assert.equal(joinHostPort('fe80::1', '80'), '[fe80::1]:80');
});
