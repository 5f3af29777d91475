import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortSpec, parseMount, parseUlimit, parseDevice, parseRestart, normalizeCaps, buildCreateRequest } from './run-config.ts';
import { resolveEnv } from './env-file.ts';
import { Ctx } from './context.ts';

test('port specs as go-connections parses them', () => {
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', hostIp: '', hostPort: '' }]);
  assert.deepEqual(parsePortSpec('8080:80'), [{ port: '80/tcp', hostIp: '', hostPort: '8080' }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:9000-9001:90-91/udp'), [
    { port: '90/udp', hostIp: '127.0.0.1', hostPort: '9000' },
    { port: '91/udp', hostIp: '127.0.0.1', hostPort: '9001' },
  ]);
  assert.deepEqual(parsePortSpec('[::1]::80'), [{ port: '80/tcp', hostIp: '::1', hostPort: '' }]);
  assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', hostIp: '', hostPort: '8000-8010' }]);
  assert.throws(() => parsePortSpec('abc'), /invalid containerPort: abc/);
  assert.throws(() => parsePortSpec('80/xyz'), /invalid proto: xyz/);
  // IPv6 host addresses, and go-connections' texts (each checked against the docker 28 CLI).
  const b = (hostIp: string, hostPort: string, port = '80/tcp') => ({ port, hostIp, hostPort });
  assert.deepEqual(parsePortSpec('[::1]:8080:80'), [b('::1', '8080')]);
  assert.deepEqual(parsePortSpec('[::]:8080:80/udp'), [b('::', '8080', '80/udp')]);
  assert.deepEqual(parsePortSpec('[fe80::1]::80'), [b('fe80::1', '')]);
  assert.deepEqual(parsePortSpec('::1:8080:80'), [b('::1', '8080')]);
  assert.deepEqual(parsePortSpec('8000-8001:80-81'), [b('', '8000'), b('', '8001', '81/tcp')]);
  assert.deepEqual(parsePortSpec('80-82').map((m) => m.port), ['80/tcp', '81/tcp', '82/tcp']);
  const texts: [string, string][] = [
    ['abc:80', 'invalid hostPort: abc'], ['80:abc', 'invalid containerPort: abc'], ['70000', 'invalid containerPort: 70000'],
    ['80:70000', 'invalid containerPort: 70000'], ['70000:80', 'invalid hostPort: 70000'], ['80/XYZ', 'invalid proto: XYZ'],
    ['x:80/XYZ', 'invalid hostPort: x'], ['1-3:4-5/XYZ', 'invalid ranges specified for container and host Ports: 4-5 and 1-3'],
    ['1.2.3:80:80', 'invalid IP address: 1.2.3'], ['localhost:80:80', 'invalid IP address: localhost'], ['[zz]:80:80', 'invalid IP address: zz'],
    ['1::2::3:80:80', 'invalid IP address: 1::2::3'],
    ['[::1:80:80', "invalid IP address [::1: address [::1:: missing ']' in address"],
    ['[a]b:80:80', 'invalid IP address [a]b: address [a]b:: missing port in address'],
    ['1-2:4-6', 'invalid ranges specified for container and host Ports: 4-6 and 1-2'],
    ['', 'no port specified: <empty>'], ['8080:', 'no port specified: 8080:<empty>'],
  ];
  for (const [spec, text] of texts) assert.throws(() => parsePortSpec(spec), (e: Error) => e.message === text, spec);
});

test('mounts, ulimits, devices, restart policies, capabilities, env', () => {
  assert.deepEqual(parseMount('type=bind,source=/tmp,target=/m1,readonly'), { Type: 'bind', Source: '/tmp', Target: '/m1', ReadOnly: true });
  assert.deepEqual(parseMount('type=tmpfs,target=/m2,tmpfs-size=1m'), { Type: 'tmpfs', Target: '/m2', TmpfsOptions: { SizeBytes: 1048576 } });
  assert.throws(() => parseMount('type=bind,source=/x'), /target is required/);
  assert.deepEqual(parseUlimit('nofile=100:200'), { Name: 'nofile', Hard: 200, Soft: 100 });
  assert.deepEqual(parseUlimit('nproc=5'), { Name: 'nproc', Hard: 5, Soft: 5 });
  assert.deepEqual(parseDevice('/dev/null:/dev/xnull:r'), { PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'r' });
  assert.deepEqual(parseDevice('/dev/fuse'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseRestart('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestart('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.deepEqual(normalizeCaps(['net_admin', 'CAP_SYS_ADMIN', 'all', 'net_admin']), ['ALL', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
  assert.equal(resolveEnv('A=1'), 'A=1');
  assert.equal(resolveEnv('HOME_X', { HOME_X: 'v' }), 'HOME_X=v');
  assert.equal(resolveEnv('UNSET_Y', {}), 'UNSET_Y');
});

test('the create body has docker\'s shape', () => {
  const ctx = new Ctx({}, 'berth run', 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const r = buildCreateRequest(['busybox', 'sh', '-c', 'echo hi'], {
    interactive: true, tty: true, rm: true, name: 'x', env: ['A=1'], label: ['a=b', 'c'], memory: '64m', cpus: '1.5',
    publish: ['8080:80'], expose: ['7000-7001'], volume: ['/anon', 'named:/named'], capAdd: ['net_admin'],
    healthCmd: 'true', healthInterval: '5s', entrypoint: '', stopTimeout: 5, addHost: ['bar=5.6.7.8'], restart: 'no',
  }, ctx, false);
  const b = r.body;
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(b.Entrypoint, ['']);
  assert.equal(b.AttachStdin, true);
  assert.equal(b.OpenStdin, true);
  assert.equal(b.StdinOnce, true);
  assert.deepEqual(b.Labels, { a: 'b', c: '' });
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {}, '7000/tcp': {}, '7001/tcp': {} });
  assert.deepEqual(b.Volumes, { '/anon': {} });
  assert.deepEqual(b.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 0, StartPeriod: 0, Retries: 0 });
  assert.equal(b.StopTimeout, 5);
  const h = b.HostConfig;
  assert.equal(h.AutoRemove, true);
  assert.equal(h.Memory, 67108864);
  assert.equal(h.NanoCpus, 1500000000);
  assert.deepEqual(h.Binds, ['named:/named']);
  assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(h.CapAdd, ['CAP_NET_ADMIN']);
  assert.deepEqual(h.ExtraHosts, ['bar:5.6.7.8']);
  assert.equal(h.NetworkMode, 'default');
  assert.deepEqual(r.query, { name: 'x', platform: undefined });
  const d = buildCreateRequest(['busybox'], { detach: true, interactive: true }, ctx, true).body;
  assert.equal(d.AttachStdout, false);
  assert.equal(d.StdinOnce, false);
  assert.equal(d.Cmd, null);
});

test('--userns: only host (the docker CLI refuses anything else before asking the daemon)', () => {
  const ctx = new Ctx({}, 'berth run', 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
  assert.equal(buildCreateRequest(['busybox'], { userns: 'host' }, ctx, true).body.HostConfig.UsernsMode, 'host');
  assert.equal(buildCreateRequest(['busybox'], {}, ctx, true).body.HostConfig.UsernsMode, '');
  for (const v of ['private', 'container:x', 'remap']) {
    assert.throws(() => buildCreateRequest(['busybox'], { userns: v }, ctx, true), /^Error: --userns: invalid USER mode$/, v);
  }
});
