import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseClusterStore, parseDaemonHost, resolveTls, isLoopbackHost, type DaemonConfig } from './config.ts';

function withFile(json: unknown, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cfg-'));
  const p = join(dir, 'daemon.json');
  writeFileSync(p, JSON.stringify(json));
  return fn(p).finally(() => rmSync(dir, { recursive: true, force: true }));
}
const base = (f: string) => ['--config-file', f, '--exec-root', '/tmp/berth-cfg-x/exec', '--data-root', '/tmp/berth-cfg-x/data'];

test('-H values are parsed as dockerd parses them', () => {
  const valid: Record<string, string> = {
    'tcp://': 'tcp://localhost:2375',
    'tcp://:5555': 'tcp://localhost:5555',
    ':5555': 'tcp://localhost:5555',
    '0.0.0.1:5555': 'tcp://0.0.0.1:5555',
    '[::1]': 'tcp://[::1]:2375',
    'tcp://[0:0:0:0:0:0:0:1]:5555': 'tcp://[::1]:5555',
    'localhost:': 'tcp://localhost:2375',
    'unix://': 'unix:///run/berth/berth.sock',
    'unix:///tmp/x.sock': 'unix:///tmp/x.sock',
  };
  for (const [a, want] of Object.entries(valid)) assert.equal(parseDaemonHost(a), want, a);
  const invalid: Record<string, RegExp> = {
    'tcp://127.0.0.1/': /invalid bind address \(tcp:\/\/127\.0\.0\.1\/\): should not contain a path element$/,
    'udp://127.0.0.1:5555': /unsupported proto 'udp'/,
    'unix://tcp://127.0.0.1': /invalid unix address: tcp:\/\/127\.0\.0\.1/,
    'tcp://127.0.0.1:0': /invalid port: 0/,
    'tcp://127.0.0.1:99999': /invalid port/,
    'fd://': /not supported/,
  };
  for (const [a, re] of Object.entries(invalid)) assert.throws(() => parseDaemonHost(a), re, a);
});

test('loopback means 127.0.0.0/8, ::1 and localhost', () => {
  for (const h of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', 'localhost']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1', '::ffff:7f00:1']) assert.ok(!isLoopbackHost(h), h);
});

test('TLS: dockerd 20.10+ semantics of --tls and --tlsverify', () => {
  const all = () => true;
  const none = () => false;
  assert.deepEqual(resolveTls({}, {}, '/c', all), { tls: false, tlsverify: false, tlscacert: undefined, tlscert: undefined, tlskey: undefined });
  assert.deepEqual(resolveTls({ tlsverify: true }, {}, '/c', all), { tls: true, tlsverify: true, tlscacert: '/c/ca.pem', tlscert: '/c/cert.pem', tlskey: '/c/key.pem' });
  // --tls alone verifies too; --tlsverify=false (flag or file) means TLS without client certificates.
  assert.equal(resolveTls({ tls: true }, {}, '/c', all).tlsverify, true);
  assert.deepEqual(resolveTls({ tls: true, tlsverify: false }, {}, '/c', all), { tls: true, tlsverify: false, tlscacert: undefined, tlscert: '/c/cert.pem', tlskey: '/c/key.pem' });
  assert.deepEqual(resolveTls({}, { tlsverify: false }, '/c', all).tls, true);
  assert.deepEqual(resolveTls({ tls: false }, {}, '/c', all).tls, false);
  assert.deepEqual(resolveTls({}, { tls: true, tlscacert: '/x/ca', tlscert: '/x/c', tlskey: '/x/k' }, '/c', none), { tls: true, tlsverify: true, tlscacert: '/x/ca', tlscert: '/x/c', tlskey: '/x/k' });
  // The default CA path is kept even when missing (the error names it); cert and key are not.
  assert.throws(() => resolveTls({ tlsverify: true }, {}, '/c', none), /needs the server's certificate and key/);
});

test('plain tcp:// is refused unless loopback with --insecure-loopback-tcp', async () => {
  await withFile({}, async (f) => {
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://0.0.0.0:2375', '--insecure-loopback-tcp']), /^Error: refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without TLS/);
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2375']), /--insecure-loopback-tcp to allow plain HTTP/);
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2375', '--insecure-loopback-tcp=false']), /refusing/);
    const c = await loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2375', '-H', 'tcp://[::1]:2375', '--insecure-loopback-tcp=true']) as DaemonConfig;
    assert.deepEqual(c.hosts, ['tcp://127.0.0.1:2375', 'tcp://[::1]:2375']);
    assert.equal(c.tls, false);
  });
  await withFile({ hosts: ['tcp://localhost:2375'], 'insecure-loopback-tcp': true }, async (f) => {
    assert.deepEqual((await loadConfig(base(f)) as DaemonConfig).hosts, ['tcp://localhost:2375']);
  });
});

test('a directive given as a flag and in daemon.json is an error (dockerd text)', async () => {
  await withFile({ hosts: ['unix:///tmp/a.sock'], tlsverify: true, 'log-level': 'debug' }, async (f) => {
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2376', '-H', 'unix:///tmp/b.sock', '--tlsverify', '-l', 'info']), {
      message: `unable to configure the daemon with file ${f}: the following directives are specified both as a flag and in the configuration file: `
        + 'hosts: (from flag: [tcp://127.0.0.1:2376 unix:///tmp/b.sock], from file: [unix:///tmp/a.sock]), log-level: (from flag: info, from file: debug), tlsverify: (from flag: true, from file: true)',
    });
  });
  await withFile({ tls: 'yes' }, async (f) => {
    await assert.rejects(loadConfig(base(f)), /"tls" must be true or false/);
  });
});

test('TLS files are checked before anything listens, with dockerd\'s wording', async () => {
  await withFile({}, async (f) => {
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2376', '--tlsverify', '--tlscacert', '/nonexistent/ca.pem', '--tlscert', f, '--tlskey', f]),
      /^Error: invalid TLS configuration: error reading X509 key pair - make sure the key is not encrypted/);
    await assert.rejects(loadConfig([...base(f), '-H', 'tcp://127.0.0.1:2376', '--tls', '--tlscert', '/nonexistent/c.pem', '--tlskey', '/nonexistent/k.pem']),
      { message: 'invalid TLS configuration: could not load X509 key pair (cert: "/nonexistent/c.pem", key: "/nonexistent/k.pem"): open /nonexistent/c.pem: no such file or directory' });
    await assert.rejects(loadConfig([...base(f), '--tlsverify=maybe']), /invalid argument "maybe" for "--tlsverify" flag/);
  });
});

test('ADD <url> bounds: builder-add-url-max-size and builder-add-url-idle-timeout, as flags or in daemon.json', async () => {
  await withFile({}, async (f) => {
    const d = await loadConfig(base(f)) as DaemonConfig;
    assert.deepEqual(d.downloadLimits, { maxBytes: 10 * 1024 ** 3, idleTimeoutMs: 60_000 });
    const c = await loadConfig([...base(f), '--builder-add-url-max-size', '64m', '--builder-add-url-idle-timeout', '1.5s']) as DaemonConfig;
    assert.deepEqual(c.downloadLimits, { maxBytes: 64 * 1024 ** 2, idleTimeoutMs: 1500 });
    const off = await loadConfig([...base(f), '--builder-add-url-max-size', '0', '--builder-add-url-idle-timeout', '0']) as DaemonConfig;
    assert.deepEqual(off.downloadLimits, { maxBytes: 0, idleTimeoutMs: 0 });
    await assert.rejects(loadConfig([...base(f), '--builder-add-url-max-size', 'lots']), /invalid builder-add-url-max-size "lots": invalid size: 'lots'/);
    await assert.rejects(loadConfig([...base(f), '--builder-add-url-idle-timeout', '10']), /invalid builder-add-url-idle-timeout "10": time: missing unit in duration "10"/);
    await assert.rejects(loadConfig([...base(f), '--builder-add-url-idle-timeout=-1s']), /must not be negative/);
  });
  await withFile({ 'builder-add-url-max-size': '2GiB', 'builder-add-url-idle-timeout': '5m' }, async (f) => {
    assert.deepEqual((await loadConfig(base(f)) as DaemonConfig).downloadLimits, { maxBytes: 2 * 1024 ** 3, idleTimeoutMs: 300_000 });
  });
  await withFile({ 'builder-add-url-max-size': 5 }, async (f) => {
    await assert.rejects(loadConfig(base(f)), /"builder-add-url-max-size" must be a string/);
  });
});

test('--cluster-store and --cluster-store-opt: etcd URLs, TLS only with all three files', () => {
  assert.equal(parseClusterStore(undefined), undefined);
  assert.deepEqual(parseClusterStore('etcd://10.0.0.1:2379,10.0.0.2:2379'), { endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] });
  assert.deepEqual(parseClusterStore('etcd://e:2379', ['kv.cacertfile=/c,kv.certfile=/n', 'kv.keyfile=/k']),
    { endpoints: ['https://e:2379'], tls: { caFile: '/c', certFile: '/n', keyFile: '/k' } });
  assert.throws(() => parseClusterStore('consul://x:1'), /etcd:\/\/host:port/);
  assert.throws(() => parseClusterStore('etcd://x'), /bad member address/);
  assert.throws(() => parseClusterStore('etcd://x:1', ['kv.certfile=/n']), /go together/);
  assert.throws(() => parseClusterStore('etcd://x:1', ['kv.path=/n']), /kv.cacertfile, kv.certfile or kv.keyfile expected/);
  assert.throws(() => parseClusterStore(undefined, ['kv.certfile=/n']), /needs --cluster-store/);
});
