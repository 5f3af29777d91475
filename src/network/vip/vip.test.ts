import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chain } from '../testing/nft-chain.ts';
import { spawnSync } from 'node:child_process';
import { isEngineError } from '../../common/errors.ts';
import { normalizePorts, normalizeService, renderIngressTable, renderVipDelete, renderVipTable, type VipState } from './vip.ts';

const state: VipState = {
  table: 'berth-vip-unit',
  services: [
    { vip: '10.0.1.9', ports: 'all', backends: ['10.0.1.20'] },
    { vip: '10.0.1.2', ports: [{ protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 80 }, { protocol: 'tcp', port: 80 }], backends: ['10.0.1.6', '10.0.1.5', '10.0.1.10', '10.0.1.5'] },
    { vip: '10.0.1.3', ports: [{ protocol: 'tcp', port: 443 }], backends: [] },
  ],
};

test('the file replaces only its own table, in one transaction', () => {
  const t = renderVipTable(state);
  const L = t.split('\n');
  assert.deepEqual(L.slice(1, 4), ['table ip berth-vip-unit', 'delete table ip berth-vip-unit', 'table ip berth-vip-unit {']);
  assert.equal(t.match(/^table /gm)!.length, 2);
  assert.equal(t.match(/^delete /gm)!.length, 1);
  assert.ok(!/\btable (inet|ip6|bridge|netdev|arp)\b/.test(t));
  assert.equal(renderVipDelete('berth-vip-unit'), 'table ip berth-vip-unit\ndelete table ip berth-vip-unit\n');
});

test('each VIP with backends is matched on its ports and DNATed round robin over its backends', () => {
  const t = renderVipTable(state);
  assert.deepEqual(chain(t, 'services'), [
    'ip daddr 10.0.1.2 meta l4proto . th dport { tcp . 80, udp . 53 } jump vip-10-0-1-2',
    'ip daddr 10.0.1.9 jump vip-10-0-1-9',
  ]);
  // Backends deduplicated and in numeric order (10.0.1.10 after .6), so the same set renders the same text.
  assert.deepEqual(chain(t, 'vip-10-0-1-2'), ['dnat to numgen inc mod 3 map { 0 : 10.0.1.5, 1 : 10.0.1.6, 2 : 10.0.1.10 }']);
  assert.deepEqual(chain(t, 'vip-10-0-1-9'), ['dnat to 10.0.1.20']);
  assert.ok(!t.includes('chain vip-10-0-1-3'), 'no chain for a VIP without backends');
  assert.deepEqual(chain(t, 'nat-output'), ['type nat hook output priority -100; policy accept;', 'jump services']);
  assert.deepEqual(chain(t, 'nat-prerouting'), ['type nat hook prerouting priority dstnat; policy accept;', 'jump services']);
});

test('whatever still goes to a VIP after NAT is refused (no backend, unexposed port)', () => {
  const t = renderVipTable(state);
  assert.match(t, /set vips \{\n\t\ttype ipv4_addr\n\t\telements = \{ 10\.0\.1\.2, 10\.0\.1\.3, 10\.0\.1\.9 \}\n\t\}/);
  assert.deepEqual(chain(t, 'refuse'), ['ip daddr @vips meta l4proto tcp reject with tcp reset', 'ip daddr @vips reject']);
  for (const hook of ['output', 'input', 'forward']) {
    assert.deepEqual(chain(t, `filter-${hook}`), [`type filter hook ${hook} priority filter; policy accept;`, 'jump refuse']);
  }
  const empty = renderVipTable({ table: 'x', services: [] });
  assert.ok(!empty.includes('elements'), 'an empty set has no elements line (nft refuses `{ }`)');
  assert.deepEqual(chain(empty, 'services'), []);
});

test('masquerade (a load-balancer namespace): balanced connections leave with this namespace\'s address', () => {
  assert.ok(!renderVipTable(state).includes('nat-postrouting'), 'off by default');
  const t = renderVipTable({ ...state, masquerade: true });
  assert.deepEqual(chain(t, 'nat-postrouting'), [
    'type nat hook postrouting priority srcnat; policy accept;',
    'ct original ip daddr @vips ct status dnat masquerade comment "answers come back through this namespace"',
  ]);
});

test('the rendering does not depend on the order of services, ports or backends', () => {
  const a = renderVipTable(state);
  const b = renderVipTable({ ...state, services: [...state.services].reverse().map((s) => ({ ...s, backends: [...s.backends].reverse(), ports: s.ports === 'all' ? 'all' : [...s.ports].reverse() })) });
  assert.equal(a, b);
});

test('bad input is refused before anything is rendered', () => {
  const bad: Array<[string, () => unknown]> = [
    ['table name', () => renderVipTable({ table: 'x;flush ruleset', services: [] })],
    ['VIP', () => normalizeService({ vip: '10.0.1.300', ports: 'all', backends: [] })],
    ['IPv6 VIP', () => normalizeService({ vip: 'fd00::1', ports: 'all', backends: [] })],
    ['backend', () => normalizeService({ vip: '10.0.1.2', ports: 'all', backends: ['10.0.1.5; flush ruleset'] })],
    ['protocol', () => normalizePorts([{ protocol: 'icmp' as 'tcp', port: 1 }])],
    ['port 0', () => normalizePorts([{ protocol: 'tcp', port: 0 }])],
    ['port 65536', () => normalizePorts([{ protocol: 'tcp', port: 65536 }])],
    ['no ports', () => renderVipTable({ table: 'x', services: [{ vip: '10.0.1.2', ports: [], backends: ['10.0.1.3'] }] })],
    ['own backend', () => normalizeService({ vip: '10.0.1.2', ports: 'all', backends: ['10.0.1.2'] })],
    ['duplicate VIP', () => renderVipTable({ table: 'x', services: [{ vip: '10.0.1.2', ports: 'all', backends: [] }, { vip: '10.0.1.2', ports: 'all', backends: [] }] })],
    ['backend is a VIP', () => renderVipTable({ table: 'x', services: [{ vip: '10.0.1.2', ports: 'all', backends: ['10.0.1.3'] }, { vip: '10.0.1.3', ports: 'all', backends: [] }] })],
  ];
  for (const [what, fn] of bad) assert.throws(fn, (e) => isEngineError(e, 'InvalidParameter'), what);
});

// The kernel's own parser is the last word on the syntax: `nft -c` in a fresh network namespace
// checks the file against this kernel without changing anything (skipped where unshare or nft is missing or not root).
const canCheck = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'nft', '--version']).status === 0;
test('nft -c accepts the rendered table', { skip: !canCheck && 'needs root, unshare and nft' }, () => {
  for (const s of [state, { ...state, masquerade: true }, { table: 'berth-vip-unit', services: [] }]) {
    const r = spawnSync('unshare', ['-n', 'nft', '-c', '-f', '-'], { input: renderVipTable(s), timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr.toString());
  }
});

test('the ingress table balances each published port over its backends at the target port, masquerades, and refuses a port with none', () => {
  const text = renderIngressTable('berth-ingress', [
    { protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.5', '10.0.0.6'] },
    { protocol: 'udp', published: 53, target: 5353, backends: ['10.0.0.7'] },
    { protocol: 'tcp', published: 9090, target: 90, backends: [] },
  ]);
  assert.match(text, /tcp dport 8080 dnat to numgen inc mod 2 map \{ 0 : 10\.0\.0\.5, 1 : 10\.0\.0\.6 \} : 80/);
  assert.match(text, /udp dport 53 dnat to 10\.0\.0\.7 : 5353/);
  assert.match(text, /ct status dnat masquerade/);
  assert.match(text, /tcp dport 9090 reject with tcp reset/);
  assert.throws(() => renderIngressTable('berth-ingress', [{ protocol: 'tcp', published: 0, target: 80, backends: [] }]), /invalid ingress port/);
  assert.throws(() => renderIngressTable('berth-ingress', [{ protocol: 'tcp', published: 80, target: 80, backends: ['x; flush ruleset'] }]), /invalid ingress backend/);
});
