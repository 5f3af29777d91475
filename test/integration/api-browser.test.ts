// A web browser cannot drive berthd through a loopback TCP listener (--insecure-loopback-tcp):
// the cross-site "simple" POST (text/plain, no preflight) that created a privileged container
// with the host's / mounted is refused as moby's CheckForJSON refuses it; any request carrying an
// Origin header is refused, and so is one whose Host is not a loopback name (DNS rebinding).
// Each refusal must leave nothing behind. The docker CLI, the berth CLI and docker-py (the python
// library compose uses) go on working, over TCP and over the unix socket, which is unaffected.
// TLS listeners: tls.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { startDaemon, freePort, hasDocker, type Daemon } from './harness.ts';

let d: Daemon;
let port: number;


before(async () => {
  port = await freePort();
  d = await startDaemon({ extraArgs: ['--insecure-loopback-tcp', '-H', `tcp://127.0.0.1:${port}`] });
});
after(async () => { await d?.stop(); });

interface Res { status: number; body: string; json: () => any }
/** A request to the TCP listener with exactly these headers (Host defaults to what Node sends). */
function tcp(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers, timeout: 30_000 }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, json: () => JSON.parse(b) }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.end(body);
  });
}

/** What a page at another origin posts with fetch(url, {method: 'POST', body: string}) (no preflight). */
const EVIL = JSON.stringify({ Image: 'busybox', Cmd: ['sh', '-c', 'echo pwned > /host/tmp/pwned'], HostConfig: { Privileged: true, Binds: ['/:/host'] } });

async function containerNames(): Promise<string[]> {
  const r = await d.api('GET', '/containers/json?all=1');
  assert.equal(r.status, 200);
  return (r.json() as { Names: string[] }[]).flatMap((c) => c.Names);
}

test('a cross-site text/plain POST creates no container', async () => {
  for (const ct of ['text/plain;charset=UTF-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await tcp('POST', '/containers/create?name=csrf', { 'Content-Type': ct }, EVIL);
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json().message, `unsupported Content-Type header (${ct}): must be 'application/json'`);
  }
  // A body without any Content-Type: Go's mime parser's words.
  const none = await tcp('POST', '/containers/create?name=csrf', {}, EVIL);
  assert.equal(none.status, 400, none.body);
  assert.equal(none.json().message, 'malformed Content-Type header (): mime: no media type');
  assert.deepEqual(await containerNames(), []);
  // The other JSON endpoints: a volume, a network, an exec, a commit, an update, /auth.
  const json = { 'Content-Type': 'text/plain' };
  assert.equal((await tcp('POST', '/volumes/create', json, '{"Name":"csrfvol"}')).status, 400);
  assert.equal((await tcp('POST', '/networks/create', json, '{"Name":"csrfnet"}')).status, 400);
  assert.equal((await tcp('POST', '/auth', json, '{"username":"u","password":"p","serveraddress":"127.0.0.1:9"}')).status, 400);
  assert.equal((await d.api('GET', '/volumes')).json().Volumes.some((v: { Name: string }) => v.Name === 'csrfvol'), false);
  assert.equal((await d.api('GET', '/networks')).json().some((n: { Name: string }) => n.Name === 'csrfnet'), false);
  const c = await d.api('POST', '/containers/create?name=target', { Image: 'busybox', Cmd: ['sleep', '1000'] });
  assert.equal(c.status, 201, c.body.toString());
  try {
    assert.equal((await d.api('POST', '/containers/target/start')).status, 204);
    const ex = await tcp('POST', '/containers/target/exec', json, '{"Cmd":["touch","/pwned"]}');
    assert.equal(ex.status, 400, ex.body);
    assert.equal((await d.api('GET', '/containers/target/json')).json().ExecIDs, null);
    assert.equal((await tcp('POST', '/containers/target/update', json, '{"Memory":4194304}')).status, 400);
    assert.ok(!(await d.api('GET', '/containers/target/json')).json().HostConfig.Memory);
    assert.equal((await tcp('POST', '/commit?container=target&repo=csrfimg', json, '{"Cmd":["x"]}')).status, 400);
    assert.equal((await d.api('GET', '/images/csrfimg/json')).status, 404);
  } finally {
    await d.api('DELETE', '/containers/target?force=1');
  }
  // The same endpoints with application/json work (it is the type that was missing, nothing else).
  const ok = await tcp('POST', '/volumes/create', { 'Content-Type': 'application/json; charset=utf-8' }, '{"Name":"jsonvol"}');
  assert.equal(ok.status, 201, ok.body);
  await d.api('DELETE', '/volumes/jsonvol');
});

test('a request with an Origin header is refused (403), whatever it asks', async () => {
  for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port}`]) {
    const r = await tcp('POST', '/containers/create?name=csrf', { 'Content-Type': 'application/json', Origin: origin }, EVIL);
    assert.equal(r.status, 403, r.body);
    assert.match(r.json().message, /^request refused: it carries an Origin header .*web browser.*--tlsverify/);
  }
  assert.equal((await tcp('GET', '/_ping', { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await tcp('GET', '/containers/json', { Origin: 'http://evil.example' })).status, 403);
  assert.deepEqual(await containerNames(), []);
});

test('a Host that is not a loopback name is refused (403): DNS rebinding', async () => {
  for (const host of ['evil.example', `evil.example:${port}`, `10.1.2.3:${port}`, `localhost.evil.example:${port}`]) {
    const r = await tcp('POST', '/containers/create?name=rebound', { 'Content-Type': 'application/json', Host: host }, EVIL);
    assert.equal(r.status, 403, `${host}: ${r.body}`);
    assert.match(r.json().message, /^request refused: Host header .* is not a loopback name or address/);
    assert.equal((await tcp('GET', '/containers/json', { Host: host })).status, 403);
  }
  assert.deepEqual(await containerNames(), []);
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.2']) {
    assert.equal((await tcp('GET', '/_ping', { Host: host })).status, 200, host);
  }
});

test('a hijacked (upgrade) request from a browser is refused before it reaches the route', async () => {
  // A WebSocket to attach is how a page would get a container's stdin: it carries an Origin.
  const c = await d.api('POST', '/containers/create?name=ws', { Image: 'busybox', Cmd: ['cat'], OpenStdin: true });
  assert.equal(c.status, 201);
  try {
    const status = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let out = '';
      s.on('data', (b: Buffer) => { out += b.toString(); });
      s.on('end', () => resolve(out.split('\r\n')[0]));
      s.on('error', reject);
      s.setTimeout(20_000, () => { s.destroy(); reject(new Error('no answer')); });
      s.write(`POST /containers/ws/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
    });
    assert.equal(status, 'HTTP/1.1 403 Forbidden');
  } finally {
    await d.api('DELETE', '/containers/ws?force=1');
  }
});

test('the unix socket is unaffected by Origin and Host', async () => {
  const r = await d.api('GET', '/containers/json', undefined, { Origin: 'http://evil.example', Host: 'evil.example' });
  assert.equal(r.status, 200);
});

test('the docker CLI and the berth CLI work over the loopback TCP listener', { skip: hasDocker ? false : 'no docker client' }, () => {
  for (const host of [`tcp://127.0.0.1:${port}`, `tcp://localhost:${port}`]) {
    const env = { DOCKER_HOST: host, DOCKER_TLS_VERIFY: '', DOCKER_CONTEXT: '' };
    const r = d.docker(['run', '--rm', '-v', 'clivol:/v', 'busybox', 'sh', '-c', 'echo hi > /v/f && cat /v/f'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const e = d.docker(['run', '-d', '--name', 'cli-exec', 'busybox', 'sleep', '100'], { env });
    assert.equal(e.status, 0, e.stderr);
    assert.equal(d.docker(['exec', 'cli-exec', 'echo', 'in'], { env }).stdout, 'in\n');
    assert.equal(d.docker(['network', 'create', 'clinet'], { env }).status, 0);
    const con = d.docker(['network', 'connect', 'clinet', 'cli-exec'], { env });
    assert.equal(con.status, 0, con.stderr);
    assert.equal(d.docker(['commit', 'cli-exec', 'cli-img'], { env }).status, 0);
    assert.equal(d.docker(['update', '--memory', '64m', 'cli-exec'], { env }).status, 0);
    assert.equal(d.docker(['rm', '-f', 'cli-exec'], { env }).status, 0);
    d.docker(['network', 'rm', 'clinet'], { env });
    d.docker(['rmi', 'cli-img'], { env });
  }
  const berthEnv = { BERTH_HOST: '', DOCKER_HOST: '' };
  const b = d.berth(['-H', `tcp://127.0.0.1:${port}`, 'run', '--rm', '-v', 'clivol:/v', 'busybox', 'cat', '/v/f'], { env: berthEnv });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout, 'hi\n');
  const be = d.berth(['-H', `tcp://localhost:${port}`, 'run', '-d', '--name', 'berth-exec', 'busybox', 'sleep', '100'], { env: berthEnv });
  assert.equal(be.status, 0, be.stderr);
  assert.equal(d.berth(['-H', `tcp://localhost:${port}`, 'exec', 'berth-exec', 'echo', 'in'], { env: berthEnv }).stdout, 'in\n');
  assert.equal(d.berth(['-H', `tcp://localhost:${port}`, 'volume', 'create', 'bvol'], { env: berthEnv }).status, 0);
  assert.equal(d.berth(['-H', `tcp://localhost:${port}`, 'commit', 'berth-exec', 'berth-img'], { env: berthEnv }).status, 0);
  assert.equal(d.berth(['-H', `tcp://localhost:${port}`, 'rm', '-f', 'berth-exec'], { env: berthEnv }).status, 0);
  d.berth(['rmi', 'berth-img']);
});

const hasDockerPy = spawnSync('python3', ['-c', 'import docker']).status === 0;

test('docker-py (what compose uses) works over TCP and the unix socket', { skip: hasDockerPy ? false : 'python3-docker is not installed' }, () => {
  const script = `
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
v = c.volumes.create(name='pyvol')
n = c.networks.create('pynet')
out = c.containers.run('busybox', ['sh', '-c', 'echo py > /v/f && cat /v/f'], volumes={'pyvol': {'bind': '/v', 'mode': 'rw'}}, remove=True)
ctr = c.containers.run('busybox', ['sleep', '100'], detach=True, name='pyctr')
n.connect(ctr)
code, ex = ctr.exec_run(['echo', 'exec'])
ctr.update(mem_limit='64m', memswap_limit='128m')
img = ctr.commit(repository='pyimg')
ctr.remove(force=True)
n.remove()
v.remove()
c.images.remove(img.id)
print(out.decode().strip(), code, ex.decode().strip())
`;
  for (const url of [`tcp://127.0.0.1:${port}`, `unix://${d.sock}`]) {
    const r = spawnSync('python3', ['-c', script, url], { timeout: 120_000 });
    assert.equal(r.status, 0, `${url}: ${r.stderr}`);
    assert.equal(r.stdout.toString().trim(), 'py 0 exec', url);
  }
});
