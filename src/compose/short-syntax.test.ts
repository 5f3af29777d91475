import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortShort, parseVolumeShort } from './short-syntax.ts';
import { ComposeError } from './errors.ts';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
const port = (target: number, more: Record<string, unknown> = {}) => ({ mode: 'ingress', ...('host_ip' in more ? { host_ip: more.host_ip } : {}), target, ...('published' in more ? { published: more.published } : {}), protocol: more.protocol ?? 'tcp' });

test('ports: container only, host:container, ip, ranges, protocols, IPv6', () => {
  assert.deepEqual(plain(parsePortShort('80')), [port(80)]);
  assert.deepEqual(plain(parsePortShort('8080:80')), [port(80, { published: '8080' })]);
  assert.deepEqual(plain(parsePortShort('127.0.0.1:8080:80/udp')), [port(80, { host_ip: '127.0.0.1', published: '8080', protocol: 'udp' })]);
  assert.deepEqual(plain(parsePortShort('127.0.0.1::80')), [port(80, { host_ip: '127.0.0.1' })]);
  assert.deepEqual(plain(parsePortShort('9000-9001:90-91')), [port(90, { published: '9000' }), port(91, { published: '9001' })]);
  assert.deepEqual(plain(parsePortShort('8000-8010:80')), [port(80, { published: '8000-8010' })]);
  assert.deepEqual(plain(parsePortShort('[::1]:8080:80')), [port(80, { host_ip: '::1', published: '8080' })]);
  assert.deepEqual(plain(parsePortShort('::1:8080:80')), [port(80, { host_ip: '::1', published: '8080' })]);
  // nat.ParsePortSpecs keys sort as strings: 100 before 99.
  assert.deepEqual(plain(parsePortShort('99-100')).map((p: { target: number }) => p.target), [100, 99]);
});

test('bad ports: go-connections messages', () => {
  const cases: Array<[string, string]> = [
    ['abc', 'invalid containerPort: abc'], ['x:80', 'invalid hostPort: x'], ['80/xyz', 'invalid proto: xyz'],
    ['1.2.3:80:80', 'invalid IP address: 1.2.3'], ['1-2:4-6', 'invalid ranges specified for container and host Ports: 4-6 and 1-2'],
    ['8080:', 'no port specified: 8080:<empty>'], ['70000', 'invalid containerPort: 70000'],
  ];
  for (const [spec, msg] of cases) assert.throws(() => parsePortShort(spec), (e: Error) => e instanceof ComposeError && e.message === msg, spec);
});

test('volumes: bind, named, anonymous, options', () => {
  assert.deepEqual(plain(parseVolumeShort('./data:/var/lib/data:ro')), { type: 'bind', source: './data', target: '/var/lib/data', read_only: true, bind: { create_host_path: true } });
  assert.deepEqual(plain(parseVolumeShort('/host:/ctr:rw,rshared,z')), { type: 'bind', source: '/host', target: '/ctr', bind: { propagation: 'rshared', selinux: 'z', create_host_path: true } });
  assert.deepEqual(plain(parseVolumeShort('~/x:/x')), { type: 'bind', source: '~/x', target: '/x', bind: { create_host_path: true } });
  assert.deepEqual(plain(parseVolumeShort('db:/var/lib/db')), { type: 'volume', source: 'db', target: '/var/lib/db', volume: {} });
  assert.deepEqual(plain(parseVolumeShort('db:/var/lib/db:nocopy')), { type: 'volume', source: 'db', target: '/var/lib/db', volume: { nocopy: true } });
  assert.deepEqual(plain(parseVolumeShort('/cache')), { type: 'volume', target: '/cache', volume: {} });
  assert.deepEqual(plain(parseVolumeShort('/a')), { type: 'volume', target: '/a', volume: {} });
  // ${...} may hold colons; a one-letter source is a Windows drive, as compose reads it.
  assert.deepEqual(plain(parseVolumeShort('${X:-a}:/t')), { type: 'volume', source: '${X:-a}', target: '/t', volume: {} });
  assert.deepEqual(plain(parseVolumeShort('c:\\data:/t')), { type: 'bind', source: 'c:\\data', target: '/t', bind: { create_host_path: true } });
});

test('bad volumes: compose messages', () => {
  assert.throws(() => parseVolumeShort(''), /^ComposeError: invalid empty volume spec$|invalid empty volume spec/);
  assert.throws(() => parseVolumeShort('/a:/b:ro:x'), /invalid spec: \/a:\/b:ro:x: too many colons/);
  assert.throws(() => parseVolumeShort('/a::/b'), /invalid spec: \/a::\/b: empty section between colons/);
});
