// berthd's TCP listeners, as dockerd's: `--tlsverify` requires client certificates signed by the
// CA (and `--tls` alone does too, since Docker 20.10); `--tls --tlsverify=false` serves TLS without
// asking for one; plain HTTP over TCP only on a loopback address with --insecure-loopback-tcp;
// daemon.json keys work like the flags, and naming one in both places is dockerd's error. Proven
// with the real docker CLI (DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) and the berth CLI.
// Certificates are made with openssl for each run: a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a client certificate from a second CA. Loopback only.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, rmSync, existsSync, readFileSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import https from 'node:https';
import { startDaemon, freePort, cleanup, hasDocker, BERTHD, type Daemon, type RunOut } from './harness.ts';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const noOpenssl = hasOpenssl ? false : 'the openssl CLI is not installed (Debian package openssl)';
const skipDocker = noOpenssl || (hasDocker ? false : 'no docker client installed on this machine');

/** Certificates, and DOCKER_CERT_PATH-style directories of {ca,cert,key}.pem for each client. */
let certs: string;
const P = (...p: string[]) => join(certs, ...p);

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}
function makeCa(dir: string, cn: string): void {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${cn}`], dir);
}
function makeCert(caDir: string, out: string, name: string, cn: string, ext: string): void {
  writeFileSync(join(out, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], out);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', join(caDir, 'ca.pem'), '-CAkey', join(caDir, 'ca-key.pem'), '-CAcreateserial',
    '-out', `${name}-cert.pem`, '-days', '2', '-extfile', `${name}.ext`], out);
}
function certDir(name: string, files: { ca?: string; cert?: string; key?: string }): string {
  const dir = P(name);
  mkdirSync(dir, { recursive: true });
  for (const [k, src] of Object.entries(files)) if (src) copyFileSync(src, join(dir, `${k}.pem`));
  return dir;
}


/** Whether anything accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); r(true); });
    c.once('error', () => r(false));
  });
}

const serverTls = () => ['--tlscacert', P('ca.pem'), '--tlscert', P('server-cert.pem'), '--tlskey', P('server-key.pem')];

/**
 * The docker CLI over TCP with DOCKER_CERT_PATH=certPath: DOCKER_TLS_VERIFY=1 unless `noVerify`
 * (then pass `--tls` in flags for TLS without checking the server); no certPath: plain HTTP.
 */
function dockerTcp(d: Daemon, port: number, certPath: string | undefined, args: string[], o: { input?: string; flags?: string[]; noVerify?: boolean } = {}): RunOut {
  return d.docker([...(o.flags ?? []), ...args], {
    input: o.input,
    timeout: 30_000,
    env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: certPath && !o.noVerify ? '1' : '', DOCKER_CERT_PATH: certPath ?? '', DOCKER_CONTEXT: '' },
  });
}
const apiVersion = ['version', '--format', '{{.Server.APIVersion}}'];

/** A TLS handshake from Node that always sends the given client certificate (the Go client withholds one the server's CA list does not name). */
function handshake(port: number, o: { cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(P('ca.pem')), cert: o.cert && readFileSync(o.cert), key: o.key && readFileSync(o.key) });
    s.once('secureConnect', () => s.end('GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let out = '';
    s.on('data', (c: Buffer) => { out += c.toString(); });
    s.once('end', () => resolve(out.split('\r\n')[0] || 'closed'));
    s.once('error', (e) => resolve(`error: ${e.message}`));
  });
}

/** GET over TLS with exactly these headers (Origin, Host...), with or without the client certificate. */
function httpsGet(port: number, path: string, headers: Record<string, string>, clientCert: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path, headers, agent: false, servername: 'localhost', ca: readFileSync(P('ca.pem')),
      cert: clientCert ? readFileSync(P('client-cert.pem')) : undefined, key: clientCert ? readFileSync(P('client-key.pem')) : undefined,
    }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(() => {
  if (noOpenssl) return;
  certs = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  makeCa(certs, 'berth test CA');
  makeCert(certs, certs, 'server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeCert(certs, certs, 'client', 'berth-client', 'extendedKeyUsage=clientAuth\n');
  makeCa(P('other'), 'some other CA');
  makeCert(P('other'), P('other'), 'client', 'intruder', 'extendedKeyUsage=clientAuth\n');
  certDir('good', { ca: P('ca.pem'), cert: P('client-cert.pem'), key: P('client-key.pem') });
  certDir('nocert', { ca: P('ca.pem') });
  certDir('foreign', { ca: P('ca.pem'), cert: P('other', 'client-cert.pem'), key: P('other', 'client-key.pem') });
});
after(() => { if (certs) rmSync(certs, { recursive: true, force: true }); });

describe('--tlsverify', { skip: skipDocker }, () => {
  let d: Daemon;
  let port: number;
  before(async () => {
    port = await freePort();
    d = await startDaemon({ extraArgs: ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', ...serverTls()] });
  });
  after(async () => { await d?.stop(); });

  test('the docker CLI with a client certificate: version, run, piped stdin', () => {
    const v = dockerTcp(d, port, P('good'), apiVersion);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.47');
    const r = dockerTcp(d, port, P('good'), ['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    // The CLI half-closes the hijacked TLS connection when stdin ends; output must still arrive.
    const i = dockerTcp(d, port, P('good'), ['run', '--rm', '-i', 'busybox', 'cat'], { input: 'over tls\n' });
    assert.equal(i.status, 0, i.stderr);
    assert.equal(i.stdout, 'over tls\n');
    // The unix socket stays plain.
    assert.equal(d.docker(apiVersion).stdout.trim(), '1.47');
  });

  test('without a client certificate the handshake fails', async () => {
    const r = dockerTcp(d, port, P('nocert'), apiVersion);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /remote error: tls: certificate required/);
    // Not checking the server does not help either.
    const t = dockerTcp(d, port, P('nocert'), apiVersion, { flags: ['--tls'], noVerify: true });
    assert.notEqual(t.status, 0);
    assert.match(t.stderr, /tls: certificate required/);
    assert.match(await handshake(port, {}), /^error: .*certificate required|^closed$/);
  });

  test('a client certificate from another CA is refused', async () => {
    const r = dockerTcp(d, port, P('foreign'), apiVersion);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /remote error: tls: /);
    // Sent anyway (Node sends it; Go withholds it since the server names its CA): still refused.
    const h = await handshake(port, { cert: P('other', 'client-cert.pem'), key: P('other', 'client-key.pem') });
    assert.doesNotMatch(h, /^HTTP\/1\.1 200/);
    assert.match(await handshake(port, { cert: P('client-cert.pem'), key: P('client-key.pem') }), /^HTTP\/1\.1 200/);
    // A certificate for servers only (no clientAuth usage) is not a client certificate.
    assert.doesNotMatch(await handshake(port, { cert: P('server-cert.pem'), key: P('server-key.pem') }), /^HTTP\/1\.1 200/);
  });

  test('with client certificates, Origin and Host are not checked (a browser cannot connect)', async () => {
    const r = await httpsGet(port, '/_ping', { Origin: 'https://evil.example', Host: 'evil.example' }, true);
    assert.equal(r.status, 200, r.body);
  });

  test('a plain HTTP client gets nothing from the TLS port', () => {
    const r = dockerTcp(d, port, undefined, apiVersion);
    assert.notEqual(r.status, 0);
  });

  test('the berth CLI: --tlsverify flags and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH', () => {
    const host = `tcp://127.0.0.1:${port}`;
    const flags = ['--tlsverify', '--tlscacert', P('ca.pem'), '--tlscert', P('client-cert.pem'), '--tlskey', P('client-key.pem'), '-H', host];
    const clean = { BERTH_HOST: '', DOCKER_HOST: '', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' };
    const v = d.berth([...flags, ...apiVersion], { env: clean });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.47');
    const env = { ...clean, DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: P('good') };
    const e = d.berth(apiVersion, { env });
    assert.equal(e.status, 0, e.stderr);
    assert.equal(e.stdout.trim(), '1.47');
    const r = d.berth(['run', '--rm', 'busybox', 'echo', 'hi'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const n = d.berth(apiVersion, { env: { ...env, DOCKER_CERT_PATH: P('nocert') } });
    assert.notEqual(n.status, 0);
    assert.match(n.stderr, /certificate required/);
  });
});

describe('--tls without --tlsverify', { skip: skipDocker }, () => {
  test('--tls alone verifies client certificates (dockerd since 20.10)', async () => {
    const port = await freePort();
    const d = await startDaemon({ importBusybox: false, extraArgs: ['-H', `tcp://127.0.0.1:${port}`, '--tls', ...serverTls()] });
    try {
      assert.equal(dockerTcp(d, port, P('good'), apiVersion).stdout.trim(), '1.47');
      const r = dockerTcp(d, port, P('nocert'), apiVersion);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /tls: certificate required/);
    } finally { await d.stop(); }
  });

  test('--tls --tlsverify=false serves TLS to clients without a certificate', async () => {
    const port = await freePort();
    // No CA: none is needed when no client certificate is asked for.
    const d = await startDaemon({ importBusybox: false, extraArgs: ['-H', `tcp://127.0.0.1:${port}`, '--tls', '--tlsverify=false', '--tlscert', P('server-cert.pem'), '--tlskey', P('server-key.pem')] });
    try {
      const v = dockerTcp(d, port, P('nocert'), apiVersion);
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stdout.trim(), '1.47');
      const t = dockerTcp(d, port, P('nocert'), apiVersion, { flags: ['--tls'], noVerify: true });
      assert.equal(t.status, 0, t.stderr);
      assert.equal(dockerTcp(d, port, P('good'), apiVersion).stdout.trim(), '1.47');
      assert.match(d.log(), /Binding to IP address without --tlsverify is insecure/);
      // No client certificate, so a browser could connect: Origin is refused. Any Host is fine:
      // the certificate is what a DNS-rebound name fails on, and remote clients name this host.
      const o = await httpsGet(port, '/_ping', { Origin: 'https://evil.example' }, false);
      assert.equal(o.status, 403, o.body);
      assert.match(o.body, /Origin header/);
      assert.equal((await httpsGet(port, '/_ping', { Host: 'build-host.example:2376' }, false)).status, 200);
    } finally { await d.stop(); }
  });
});

test('--insecure-loopback-tcp serves plain HTTP on a loopback address', { skip: skipDocker }, async () => {
  const port = await freePort();
  const d = await startDaemon({ importBusybox: false, extraArgs: ['--insecure-loopback-tcp', '-H', `tcp://127.0.0.1:${port}`] });
  try {
    const v = d.docker(['-H', `tcp://127.0.0.1:${port}`, ...apiVersion], { env: { DOCKER_TLS_VERIFY: '', DOCKER_CONTEXT: '' } });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.47');
  } finally { await d.stop(); }
});

/** berthd started by hand with its own directories; resolves when it exits (or is still up after `ms`). */
function runBerthd(args: string[], ms = 15_000): Promise<{ code: number | null; stderr: string; dir: string; sock: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-d-'));
  const sock = join(dir, 'berth.sock');
  const logPath = join(dir, 'berthd.log');
  const fd = openSync(logPath, 'w');
  const p = spawn(process.execPath, [BERTHD, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), ...args.map((a) => a.replace('@SOCK', sock))],
    { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', (code) => { clearTimeout(t); resolve({ code, stderr: readFileSync(logPath, 'utf8'), dir, sock }); });
  });
}

describe('refused at start, nothing left listening', { skip: noOpenssl }, () => {
  const dirs: string[] = [];
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  const refused = async (args: string[], msg: RegExp, port?: number) => {
    const r = await runBerthd(['-H', 'unix://@SOCK', ...args]);
    dirs.push(r.dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, msg);
    assert.ok(!existsSync(r.sock), 'no unix socket');
    assert.ok(!existsSync(join(r.dir, 'data')), 'refused before any state is touched');
    if (port) assert.equal(await listening(port), false);
  };

  test('plain tcp on a non-loopback address, even with --insecure-loopback-tcp', async () => {
    const port = await freePort();
    await refused(['--insecure-loopback-tcp', '-H', `tcp://0.0.0.0:${port}`], new RegExp(`^berthd: refusing to listen on tcp://0\\.0\\.0\\.0:${port} without TLS: .*--tlsverify.*loopback`, 'm'), port);
    await refused(['-H', `tcp://10.255.255.1:${port}`], /refusing to listen on tcp:\/\/10\.255\.255\.1:\d+ without TLS/);
  });

  test('plain tcp on loopback without --insecure-loopback-tcp', async () => {
    const port = await freePort();
    await refused(['-H', `tcp://127.0.0.1:${port}`], /refusing to listen on tcp:\/\/127\.0\.0\.1:\d+ without TLS: .*--insecure-loopback-tcp/, port);
  });

  test('unreadable or mismatched TLS files', async () => {
    const port = await freePort();
    await refused(['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', P('nope.pem'), '--tlscert', P('server-cert.pem'), '--tlskey', P('server-key.pem')],
      /^berthd: invalid TLS configuration: could not read CA certificate ".*nope\.pem": open .*: no such file or directory$/m, port);
    await refused(['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', P('ca.pem'), '--tlscert', P('server-cert.pem'), '--tlskey', P('client-key.pem')],
      /invalid TLS configuration: error reading X509 key pair .*key values mismatch/, port);
  });

  test('a directive given as a flag and in daemon.json', async () => {
    const f = P('conflict.json');
    writeFileSync(f, JSON.stringify({ hosts: ['unix:///run/elsewhere.sock'], tlsverify: true }));
    await refused(['--config-file', f, '--tlsverify', ...serverTls()],
      new RegExp(`^berthd: unable to configure the daemon with file ${f}: the following directives are specified both as a flag and in the configuration file: hosts: \\(from flag: \\[unix://\\S+\\], from file: \\[unix:///run/elsewhere\\.sock\\]\\), tlsverify: \\(from flag: true, from file: true\\)$`, 'm'));
  });
});

test('daemon.json: hosts, tlsverify, tlscacert, tlscert, tlskey', { skip: skipDocker }, async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-json-'));
  const sock = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, JSON.stringify({
    hosts: [`unix://${sock}`, `tcp://127.0.0.1:${port}`], tlsverify: true,
    tlscacert: P('ca.pem'), tlscert: P('server-cert.pem'), tlskey: P('server-key.pem'),
  }));
  const logPath = join(dir, 'berthd.log');
  const fd = openSync(logPath, 'a');
  const proc = spawn(process.execPath, [BERTHD, '--config-file', cfg, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--log-level', 'debug',
    // No default bridge: cleanup() deletes the bridges in the daemon's state, and the default name
    // (berth0) is the host's own berthd's.
    '-b', 'none'],
    { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  const d = { dir, dataRoot: join(dir, 'data'), execRoot: join(dir, 'exec'), sock, proc, log: () => readFileSync(logPath, 'utf8'),
    docker: (a: string[], o: { input?: string; env?: Record<string, string>; timeout?: number } = {}) => {
      const r = spawnSync('docker', a, { input: o.input, timeout: o.timeout ?? 30_000, env: { ...process.env, DOCKER_CONFIG: join(dir, 'docker-config'), ...o.env } });
      return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
    } } as unknown as Daemon;
  try {
    for (let i = 0; i < 200 && !(await ping(sock)); i++) {
      if (proc.exitCode !== null) assert.fail(`berthd exited: ${d.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const v = dockerTcp(d, port, P('good'), apiVersion);
    assert.equal(v.status, 0, `${v.stderr}\n${d.log()}`);
    assert.equal(v.stdout.trim(), '1.47');
    const n = dockerTcp(d, port, P('nocert'), apiVersion);
    assert.notEqual(n.status, 0);
    assert.match(n.stderr, /tls: certificate required/);
  } finally {
    await cleanup(d);
  }
});

function ping(sock: string): Promise<boolean> {
  return new Promise((r) => {
    const req = http.request({ socketPath: sock, path: '/_ping' }, (res) => { res.resume(); r(res.statusCode === 200); });
    req.once('error', () => r(false));
    req.end();
  });
}

