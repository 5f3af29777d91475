import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chain } from './testing/nft-chain.ts';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { isEngineError } from '../common/errors.ts';
import { renderRuleset, requiredSysctls, applyRuleset, deleteTable, listTable, checkTableName, type RulesetState } from './nft.ts';

const base: RulesetState = {
  table: 'berth-unit',
  bridges: [
    { name: 'berth0', subnet: '172.17.0.0/16' },
    { name: 'br-app', subnet: '172.18.0.0/16', icc: false },
    { name: 'br-int', subnet: '172.19.0.0/16', internal: true },
  ],
  ports: [
    { proto: 'tcp', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80, bridge: 'berth0' },
    { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8443, containerIp: '172.17.0.2', containerPort: 443, bridge: 'berth0' },
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '172.18.0.2', containerPort: 53, bridge: 'br-app' },
    { proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80, bridge: 'berth0' },
    { proto: 'tcp', hostPort: 9000, containerIp: '172.19.0.2', containerPort: 9000, bridge: 'br-int' },
  ],
  links: [{ bridge: 'br-app', srcIp: '172.18.0.3', dstIp: '172.18.0.2', proto: 'tcp', port: 5432 }],
};

function lines(text: string): string[] { return text.split('\n').map((l) => l.trim()); }

test('the file replaces only berth\'s own table atomically', () => {
  const t = renderRuleset(base);
  const L = lines(t);
  assert.equal(L[1], 'table ip berth-unit');
  assert.equal(L[2], 'delete table ip berth-unit');
  assert.equal(L[3], 'table ip berth-unit {');
  assert.ok(!/\btable (inet|bridge|netdev|arp)\b/.test(t));
  // Without IPv6 networks the ip6 table is made and deleted in the same transaction: gone.
  assert.deepEqual(L.filter((l) => /^(table|delete table) ip6 /.test(l)), ['table ip6 berth-unit', 'delete table ip6 berth-unit']);
  assert.equal(t.match(/^table /gm)!.length, 3);
  assert.equal(t.match(/^delete /gm)!.length, 2);
  // A kernel without IPv6: no ip6 table at all.
  assert.ok(!/ ip6 /.test(renderRuleset({ ...base, ipv6: false })));
});

const v6: RulesetState = {
  table: 'berth-unit6',
  bridges: [
    { name: 'berth0', subnet: '172.17.0.0/16' },
    { name: 'br-six', subnet: '172.18.0.0/16', subnet6: 'fd00:1:2:3::/64' },
    { name: 'br-six-int', subnet: '172.19.0.0/16', subnet6: 'fd00:1:2:4::/64', internal: true, icc: false },
  ],
  ports: [
    { proto: 'tcp', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, bridge: 'br-six' },
    { proto: 'tcp', hostPort: 8080, containerIp: 'fd00:1:2:3::2', containerPort: 80, bridge: 'br-six' },
    { proto: 'udp', hostIp: '::', hostPort: 5353, containerIp: 'fd00:1:2:3:0::2', containerPort: 53, bridge: 'br-six' },
    { proto: 'tcp', hostIp: 'fd00:9::1', hostPort: 9443, containerIp: 'fd00:1:2:3::2', containerPort: 443, bridge: 'br-six' },
    { proto: 'tcp', hostIp: '::1', hostPort: 9001, containerIp: 'fd00:1:2:3::2', containerPort: 1, bridge: 'br-six' },
    { proto: 'tcp', hostIp: '::', hostPort: 9002, containerIp: '172.17.0.2', containerPort: 2, bridge: 'berth0' },
    { proto: 'tcp', hostPort: 9003, containerIp: 'fd00:1:2:4::2', containerPort: 3, bridge: 'br-six-int' },
  ],
};

/** The part of the file for one family's table. */
function tableOf(text: string, family: 'ip' | 'ip6'): string {
  const all = text.split('\n');
  const i = all.findIndex((l) => l === `table ${family} ${v6.table} {`);
  assert.ok(i >= 0, `table ${family} missing`);
  const j = all.indexOf('}', i);
  return all.slice(i, j + 1).join('\n');
}

test('IPv6 networks: the ip6 table mirrors DNAT, masquerade, hairpin and the forward filter; ::1 and IPv4 targets are left to the proxy', () => {
  const t = renderRuleset(v6);
  const four = tableOf(t, 'ip');
  const six = tableOf(t, 'ip6');
  assert.deepEqual(chain(four, 'publish'), ['tcp dport 8080 dnat to 172.18.0.2:80']);
  assert.deepEqual(chain(six, 'publish'), [
    'tcp dport 8080 dnat to [fd00:1:2:3::2]:80',
    'udp dport 5353 dnat to [fd00:1:2:3::2]:53',
    'ip6 daddr fd00:9::1 tcp dport 9443 dnat to [fd00:1:2:3::2]:443',
  ]);
  assert.deepEqual(chain(six, 'output'), ['type nat hook output priority -100; policy accept;', 'ip6 daddr != ::1 fib daddr type local jump publish']);
  assert.deepEqual(chain(six, 'postrouting'), [
    'type nat hook postrouting priority srcnat; policy accept;',
    'ip6 saddr fd00:1:2:3::/64 oifname != { "berth0", "br-six", "br-six-int" } masquerade',
    'iifname "br-six" oifname "br-six" ct status dnat masquerade comment "hairpin to a published port"',
  ]);
  assert.deepEqual(chain(six, 'forward'), [
    'type filter hook forward priority filter; policy accept;',
    'iifname "br-six-int" oifname != "br-six-int" drop comment "internal network"',
    'oifname "br-six-int" iifname != "br-six-int" drop comment "internal network"',
    'iifname "br-six" oifname { "berth0", "br-six-int" } drop comment "isolation between berth networks"',
    'iifname "br-six-int" oifname { "berth0", "br-six" } drop comment "isolation between berth networks"',
    'iifname "br-six-int" oifname "br-six-int" drop comment "icc=false"',
    'ct state established,related accept',
    'oifname "br-six" iifname != "br-six" ct status dnat accept comment "published port"',
    'oifname "br-six" iifname != "br-six" drop comment "unpublished port"',
  ]);
  assert.throws(() => renderRuleset({ ...v6, ports: [{ proto: 'tcp', hostPort: 1, containerIp: 'fd00:9::2', containerPort: 1, bridge: 'br-six' }] }),
    (e: unknown) => isEngineError(e, 'InvalidParameter') && /fd00:9::2 is not in fd00:1:2:3::\/64/.test((e as Error).message));
  assert.throws(() => renderRuleset({ ...v6, ports: [{ proto: 'tcp', hostPort: 1, containerIp: 'fd00::2', containerPort: 1, bridge: 'berth0' }] }),
    (e: unknown) => isEngineError(e, 'InvalidParameter'));
  assert.deepEqual(requiredSysctls(v6).map((x) => x.path).filter((x) => /ipv6|ip6/.test(x)), ['/proc/sys/net/ipv6/conf/all/forwarding', '/proc/sys/net/bridge/bridge-nf-call-ip6tables']);
});

test('DNAT: published ports for traffic from outside and from the host, loopback included', () => {
  const t = renderRuleset(base);
  assert.deepEqual(chain(t, 'publish'), [
    'tcp dport 8080 dnat to 172.17.0.2:80',
    'tcp dport 8443 dnat to 172.17.0.2:443',
    'ip daddr 127.0.0.1 udp dport 5353 dnat to 172.18.0.2:53',
  ]); // IPv6 binding and the internal network's port are not in an `ip` table's DNAT
  assert.deepEqual(chain(t, 'prerouting'), ['type nat hook prerouting priority dstnat; policy accept;', 'fib daddr type local jump publish']);
  assert.deepEqual(chain(t, 'output'), ['type nat hook output priority -100; policy accept;', 'fib daddr type local jump publish']);
  assert.match(t, /# .*route_localnet=1/);
  const pr = chain(t, 'postrouting');
  assert.ok(pr.includes('oifname "berth0" ip saddr 127.0.0.0/8 masquerade comment "loopback DNAT; needs net.ipv4.conf.berth0.route_localnet=1"'));
  assert.ok(pr.includes('iifname "berth0" oifname "berth0" ct status dnat masquerade comment "hairpin to a published port"'));
});

test('userland proxy for loopback: output DNAT skips 127.0.0.0/8, no loopback masquerade', () => {
  const t = renderRuleset({ ...base, localhostDnat: false });
  assert.deepEqual(chain(t, 'output'), ['type nat hook output priority -100; policy accept;', 'ip daddr != 127.0.0.0/8 fib daddr type local jump publish']);
  assert.ok(!/127\.0\.0\.0\/8 masquerade/.test(t));
});

test('masquerade each bridge subnet leaving through a non-bridge interface; none for internal', () => {
  const pr = chain(renderRuleset(base), 'postrouting');
  const masq = pr.filter((l) => l.startsWith('ip saddr'));
  assert.deepEqual(masq, [
    'ip saddr 172.17.0.0/16 oifname != { "berth0", "br-app", "br-int" } masquerade',
    'ip saddr 172.18.0.0/16 oifname != { "berth0", "br-app", "br-int" } masquerade',
  ]);
  assert.ok(!pr.some((l) => l.includes('br-int') && !l.startsWith('ip saddr')));
  const one = chain(renderRuleset({ table: 'berth-x', bridges: [{ name: 'berth0', subnet: '172.17.0.5/16' }], ports: [] }), 'postrouting');
  assert.equal(one[1], 'ip saddr 172.17.0.0/16 oifname != "berth0" masquerade');
  const off = chain(renderRuleset({ table: 'berth-x', bridges: [{ name: 'berth0', subnet: '172.17.0.0/16', masquerade: false }], ports: [] }), 'postrouting');
  assert.ok(!off.some((l) => l.startsWith('ip saddr')));
});

test('filter: internal cut off, isolation between bridges, icc=false with link exceptions, then established', () => {
  assert.deepEqual(chain(renderRuleset(base), 'forward'), [
    'type filter hook forward priority filter; policy accept;',
    'iifname "br-int" oifname != "br-int" drop comment "internal network"',
    'oifname "br-int" iifname != "br-int" drop comment "internal network"',
    'iifname "berth0" oifname { "br-app", "br-int" } drop comment "isolation between berth networks"',
    'iifname "br-app" oifname { "berth0", "br-int" } drop comment "isolation between berth networks"',
    'iifname "br-int" oifname { "berth0", "br-app" } drop comment "isolation between berth networks"',
    'iifname "br-app" oifname "br-app" ip saddr 172.18.0.3 ip daddr 172.18.0.2 tcp dport 5432 accept',
    'iifname "br-app" oifname "br-app" ip saddr 172.18.0.2 ip daddr 172.18.0.3 tcp sport 5432 ct state established,related accept',
    'iifname "br-app" oifname "br-app" drop comment "icc=false"',
    'ct state established,related accept',
    'oifname "berth0" iifname != "berth0" ct status dnat accept comment "published port"',
    'oifname "berth0" iifname != "berth0" drop comment "unpublished port"',
    'oifname "br-app" iifname != "br-app" ct status dnat accept comment "published port"',
    'oifname "br-app" iifname != "br-app" drop comment "unpublished port"',
  ]);
  const single = chain(renderRuleset({ table: 'berth-x', bridges: [{ name: 'berth0', subnet: '172.17.0.0/16' }], ports: [] }), 'forward');
  assert.deepEqual(single.slice(1), [
    'ct state established,related accept',
    'oifname "berth0" iifname != "berth0" ct status dnat accept comment "published port"',
    'oifname "berth0" iifname != "berth0" drop comment "unpublished port"',
  ]);
});

test('raw prerouting: a port published on loopback only from lo; the host\'s loopback never from a bridge', () => {
  const ports: RulesetState['ports'] = [
    ...base.ports,
    { proto: 'tcp', hostIp: '127.0.0.2', hostPort: 8081, containerIp: '172.17.0.2', containerPort: 80, bridge: 'berth0' },
    { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 9001, containerIp: '172.19.0.2', containerPort: 9000, bridge: 'br-int' },
    { proto: 'tcp', hostIp: '192.0.2.7', hostPort: 8082, containerIp: '172.17.0.2', containerPort: 80, bridge: 'berth0' },
  ];
  const expect = [
    'type filter hook prerouting priority raw; policy accept;',
    'iifname != "lo" ip daddr 127.0.0.1 udp dport 5353 drop comment "published on loopback"',
    'iifname != "lo" ip daddr 127.0.0.2 tcp dport 8081 drop comment "published on loopback"',
    'iifname { "berth0", "br-app", "br-int" } ip daddr 127.0.0.0/8 drop comment "the host\'s loopback is not the containers\'"',
  ]; // every address, a non-loopback address, IPv6 and the internal network's port: no drop
  assert.deepEqual(chain(renderRuleset({ ...base, ports }), 'prerouting-raw'), expect);
  assert.deepEqual(chain(renderRuleset({ ...base, ports, localhostDnat: false }), 'prerouting-raw'), expect);
  assert.deepEqual(chain(renderRuleset({ table: 'berth-x', bridges: [], ports: [] }), 'prerouting-raw'), [expect[0]]);
});

test('empty state renders valid chains', () => {
  const t = renderRuleset({ table: 'berth-x', bridges: [], ports: [] });
  assert.deepEqual(chain(t, 'publish'), []);
  assert.deepEqual(chain(t, 'postrouting'), ['type nat hook postrouting priority srcnat; policy accept;']);
});

test('values that are unsafe or wrong are refused', () => {
  const inv = (m: RegExp) => (e: unknown) => isEngineError(e, 'InvalidParameter') && m.test((e as Error).message);
  assert.throws(() => renderRuleset({ ...base, table: 'berth x; flush ruleset' }), inv(/invalid nftables table name/));
  assert.throws(() => checkTableName(''), inv(/invalid nftables table name/));
  assert.throws(() => renderRuleset({ ...base, bridges: [{ name: 'a"b', subnet: '10.0.0.0/8' }], ports: [] }), inv(/invalid interface name/));
  assert.throws(() => renderRuleset({ ...base, bridges: [{ name: 'averyveryverylongname', subnet: '10.0.0.0/8' }], ports: [] }), inv(/invalid interface name/));
  assert.throws(() => renderRuleset({ ...base, bridges: [...base.bridges, { name: 'berth0', subnet: '10.0.0.0/8' }] }), inv(/duplicate bridge/));
  assert.throws(() => renderRuleset({ ...base, bridges: [{ name: 'b', subnet: 'x' }], ports: [] }), inv(/invalid CIDR address: x/));
  const port = base.ports[0];
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, bridge: 'nope' }] }), inv(/unknown bridge nope/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, containerIp: '10.0.0.1' }] }), inv(/not in 172.17.0.0\/16/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, containerIp: '1.2.3' }] }), inv(/invalid container address/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, hostPort: 0 }] }), inv(/invalid hostPort: 0/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, containerPort: 70000 }] }), inv(/invalid containerPort/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, hostIp: '1.2.3.4; drop' }] }), inv(/invalid host address/));
  assert.throws(() => renderRuleset({ ...base, ports: [{ ...port, proto: 'icmp' as 'tcp' }] }), inv(/invalid proto: icmp/));
  assert.throws(() => renderRuleset({ ...base, links: [{ ...base.links![0], bridge: 'zz' }] }), inv(/unknown bridge zz/));
});

test('requiredSysctls', () => {
  assert.deepEqual(requiredSysctls(base), [
    { path: '/proc/sys/net/ipv4/ip_forward', value: '1' },
    { path: '/proc/sys/net/ipv4/conf/berth0/route_localnet', value: '1' },
    { path: '/proc/sys/net/ipv4/conf/br-app/route_localnet', value: '1' },
    { path: '/proc/sys/net/bridge/bridge-nf-call-iptables', value: '1' },
  ]);
  assert.deepEqual(requiredSysctls({ ...base, localhostDnat: false, bridges: [base.bridges[0]] }), [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }]);
});

const haveNft = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0;

test('nft: check, apply for real, list and delete a unique table', { skip: !haveNft && 'needs root and nft' }, async () => {
  const table = `berth-test-${randomBytes(4).toString('hex')}`;
  const text = renderRuleset({ ...base, table });
  try {
    await applyRuleset(text, { check: true });
    await applyRuleset(text);
    await applyRuleset(text); // re-applying replaces the table in one transaction
    const listed = await listTable(table);
    assert.match(listed, new RegExp(`table ip ${table} \\{`));
    assert.match(listed, /tcp dport 8080 dnat to 172\.17\.0\.2:80/);
    assert.match(listed, /ip daddr 127\.0\.0\.1 udp dport 5353 dnat to 172\.18\.0\.2:53/);
    assert.match(listed, /iifname "br-app" oifname "br-app" drop comment "icc=false"/);
    assert.match(listed, /oifname "berth0" iifname != "berth0" ct status dnat accept comment "published port"/);
    assert.match(listed, /type filter hook prerouting priority raw; policy accept;\n\t\tiifname != "lo" ip daddr 127\.0\.0\.1 udp dport 5353 drop/);
    assert.equal(listed.match(/dnat to/g)!.length, 3, 'no duplicated rules after re-apply');
    // A broken ruleset is refused with nft's stderr in the error, and the table stays as it was.
    await assert.rejects(applyRuleset(text.replace('ct status dnat masquerade', 'ct status dnat masquerad')), (e: unknown) =>
      isEngineError(e, 'System') && /nft -f -: .*masquerad/s.test((e as Error).message));
    assert.equal(await listTable(table), listed);
    // With IPv6 networks the ip6 table is there too; without them again, it goes.
    await applyRuleset(renderRuleset({ ...v6, table }), { check: true });
    await applyRuleset(renderRuleset({ ...v6, table }));
    const six = await listTable(table, { family: 'ip6' });
    assert.match(six, /tcp dport 8080 dnat to \[fd00:1:2:3::2\]:80/);
    assert.match(six, /ip6 daddr != ::1 fib daddr type local jump publish/);
    await applyRuleset(text);
    await assert.rejects(listTable(table, { family: 'ip6' }));
  } finally {
    await deleteTable(table);
    await deleteTable(table, { family: 'ip6' });
  }
  await assert.rejects(listTable(table), (e: unknown) => isEngineError(e, 'System') && /No such file or directory/.test((e as Error).message));
  await deleteTable(table); // missing: ignored
  await assert.rejects(deleteTable(table, { ignoreMissing: false }), (e: unknown) =>
    isEngineError(e, 'System') && (e as Error).message.startsWith(`nft delete table ip ${table}: `));
});
