// The npm testcontainers library (11.x, on dockerode) driving berthd unchanged: a busybox
// GenericContainer with a random host port, every wait strategy (listening ports with its
// in-container probes, log message, health check, HTTP, shell command, one-shot), exec, copying
// files in and out, a network with aliases, restart, host-gateway extra hosts, and an image with
// an EXPOSEd port it does not publish.
//
// Hermetic: Ryuk is disabled (no public image can be pulled here), HOME, DOCKER_CONFIG and TMPDIR
// point into the test's own directory (so no ~/.testcontainers.properties, registry auths or lock
// files of the machine are read or left), and DOCKER_HOST is the private berthd's socket. These
// are set before testcontainers is loaded: it reads DOCKER_CONFIG at import and caches the
// runtime it finds on first use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import http from 'node:http';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import bcrypt from 'bcryptjs';
import { startDaemon, type Daemon } from '../integration/harness.ts';
import { startRegistry, type RunningRegistry } from '../../src/registry/server/server.ts';

type TC = typeof import('testcontainers');
type Started = Awaited<ReturnType<InstanceType<TC['GenericContainer']>['start']>>;

let d: Daemon;
let tc: TC;
// A private registry on loopback with basic auth, whose credentials are in the docker config
// Testcontainers reads (it reads that file when it is loaded, so the registry starts first).
let reg: RunningRegistry;
let regHost: string;
// Everything started is stopped in `after`, even when a test fails half-way.
const containers: Started[] = [];
const networks: { stop(): Promise<unknown> }[] = [];
// Testcontainers' own default timeouts are 60 s per wait strategy: a failure here should fail
// well inside the test's own timeout.
const STARTUP_MS = 45_000;
const T = { timeout: 120_000 };

before(async () => {
  d = await startDaemon();
  const home = join(d.dir, 'home');
  mkdirSync(join(home, '.docker'), { recursive: true });
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('TESTCONTAINERS_') || k.startsWith('DOCKER_') || k === 'RYUK_CONTAINER_IMAGE' || k === 'SSHD_CONTAINER_IMAGE') delete process.env[k];
  }
  writeFileSync(join(d.dir, 'htpasswd'), `tc:${bcrypt.hashSync('tc-pass', 5)}\n`);
  reg = await startRegistry({ root: join(d.dir, 'registry'), addr: '127.0.0.1:0', htpasswd: join(d.dir, 'htpasswd'), log: () => {} });
  regHost = new URL(reg.url).host;
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [regHost]: { auth: Buffer.from('tc:tc-pass').toString('base64') } } }));
  Object.assign(process.env, {
    DOCKER_HOST: `unix://${d.sock}`,
    DOCKER_CONFIG: join(home, '.docker'),
    HOME: home,
    TMPDIR: d.dir,
    TESTCONTAINERS_RYUK_DISABLED: 'true',
  });
  tc = await import('testcontainers');
});

after(async () => {
  try {
    // withReuse hands out the same container more than once: stop each one once.
    const seen = new Set<string>();
    for (const c of containers.reverse()) {
      if (seen.has(c.getId())) continue;
      seen.add(c.getId());
      await c.stop({ timeout: 0 }).catch((e: unknown) => console.error('stop:', e));
    }
    for (const n of networks.reverse()) await n.stop().catch((e: unknown) => console.error('network stop:', e));
    if (tc) {
      // Testcontainers' stop removed what it started (the harness would clean up anyway).
      const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
      const left = await docker.listContainers({ all: true, filters: { label: ['org.testcontainers=true'] } });
      assert.deepEqual(left.map((c) => c.Names), []);
      assert.deepEqual((await docker.listNetworks({ filters: { label: ['org.testcontainers=true'] } })).map((n) => n.Name), []);
    }
  } finally {
    await reg?.close();
    await d?.stop();
  }
});

async function start(c: InstanceType<TC['GenericContainer']>): Promise<Started> {
  const s = await c.withStartupTimeout(STARTUP_MS).start();
  containers.push(s);
  return s;
}

/** An HTTP GET from the host to localhost:port (the published port Testcontainers mapped). */
function get(port: number, path = '/', host = 'localhost'): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get({ host, port, path, agent: false, timeout: 5000 }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => { body += c.toString(); });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

async function untar(stream: NodeJS.ReadableStream): Promise<Map<string, { type: string; mode: number; body: string }>> {
  const out = new Map<string, { type: string; mode: number; body: string }>();
  const ex = tarStream.extract();
  ex.on('entry', (h, s, next) => {
    let body = '';
    s.on('data', (c: unknown) => { body += String(c); });
    s.on('end', () => { out.set(h.name, { type: h.type ?? 'file', mode: h.mode ?? 0, body }); next(); });
  });
  await new Promise<void>((res, rej) => {
    ex.on('finish', () => res());
    ex.on('error', rej);
    (stream as Readable).on('error', rej);
    (stream as Readable).pipe(ex);
  });
  return out;
}

const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hello from berth > /www/index.html && exec httpd -f -p 8080 -h /www'];

test('a GenericContainer with an exposed port gets a random host port and waits for it (forListeningPorts)', T, async () => {
  const c = await start(new tc.GenericContainer('busybox').withExposedPorts(8080).withCommand(HTTPD));
  const port = c.getMappedPort(8080);
  assert.ok(port > 0 && port < 65536, `mapped port ${port}`);
  // Inside a container (/.dockerenv), Testcontainers takes the host from the default bridge's IPAM
  // gateway (GET /networks/bridge); elsewhere it is localhost. Either must reach the port.
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const gw = (await docker.getNetwork('bridge').inspect()).IPAM?.Config?.[0]?.Gateway;
  assert.equal(c.getHost(), existsSync('/.dockerenv') ? gw : 'localhost');
  assert.equal((await get(port, '/', c.getHost())).body, 'hello from berth\n');
  const r = await get(port);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'hello from berth\n');
  // What Testcontainers read: the binding's HostIp is a literal address, never empty or a name.
  const info = await docker.getContainer(c.getId()).inspect();
  const bindings = info.NetworkSettings.Ports['8080/tcp'];
  assert.ok(bindings && bindings.length > 0, JSON.stringify(info.NetworkSettings.Ports));
  for (const b of bindings) {
    assert.notEqual(isIP(b.HostIp), 0, `HostIp ${JSON.stringify(b.HostIp)}`);
    assert.equal(Number(b.HostPort), port);
  }
  assert.deepEqual(info.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '', HostPort: '0' }] });
  // Labels Testcontainers sets (the ones Ryuk would select by).
  assert.equal(c.getLabels()['org.testcontainers'], 'true');
  assert.match(c.getLabels()[tc.LABEL_TESTCONTAINERS_SESSION_ID] ?? '', /^[0-9a-f-]{8,}$/);
});

test('the listening-port wait runs its in-container probes and waits until the port is bound', T, async () => {
  // The server binds only after 2 s: the host port answers at once through the proxy but the
  // internal probe (/proc/net/tcp via sh, awk and grep) must hold the start until the bind.
  const t0 = Date.now();
  const c = await start(new tc.GenericContainer('busybox').withExposedPorts(8080)
    .withCommand(['sh', '-c', 'sleep 2; mkdir -p /www && echo late > /www/index.html && exec httpd -f -p 8080 -h /www'])
    .withWaitStrategy(tc.Wait.forListeningPorts()));
  assert.ok(Date.now() - t0 >= 2000, 'start returned before the port was bound');
  const r = await get(c.getMappedPort(8080));
  assert.equal(r.body, 'late\n');
  // The probes Testcontainers runs, as it runs them: the /proc/net/tcp one succeeds in busybox, the
  // bash one cannot start (no /bin/bash): 126, as dockerd reports any exec it could not start.
  // Testcontainers takes 126 and 127 alike for "no shell", as opposed to "not bound".
  const probe = await c.exec(['/bin/sh', '-c', `cat /proc/net/tcp* | awk '{print $2}' | grep -i :${(8080).toString(16).padStart(4, '0')}`]);
  assert.equal(probe.exitCode, 0, probe.output);
  const bash = await c.exec(['/bin/bash', '-c', '</dev/tcp/localhost/8080']);
  assert.equal(bash.exitCode, 126, bash.output);
});

test('forLogMessage waits for a line (and for the n-th one)', T, async () => {
  const t0 = Date.now();
  const c = await start(new tc.GenericContainer('busybox')
    .withCommand(['sh', '-c', 'echo starting; sleep 1; echo "ready to serve" >&2; for i in 1 2 3; do sleep 0.3; echo tick $i; done; exec sleep 600'])
    .withWaitStrategy(tc.Wait.forLogMessage(/tick \d/, 3)));
  assert.ok(Date.now() - t0 >= 1900, 'returned before the third tick');
  const logs: string[] = [];
  const stream = await c.logs();
  await new Promise<void>((res) => {
    stream.on('data', (l: string) => { logs.push(l); if (logs.join('').includes('tick 3')) res(); });
    setTimeout(res, 10_000);
  });
  stream.destroy();
  assert.match(logs.join(''), /starting\n[\s\S]*ready to serve\n[\s\S]*tick 3/);
  // stderr lines count too.
  const c2 = await start(new tc.GenericContainer('busybox')
    .withCommand(['sh', '-c', 'sleep 0.5; echo "up on stderr" >&2; exec sleep 600'])
    .withWaitStrategy(tc.Wait.forLogMessage('up on stderr')));
  assert.ok(c2.getId());
});

test('forLogMessage fails when the container exits without the line', T, async () => {
  await assert.rejects(
    start(new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'echo nope']).withWaitStrategy(tc.Wait.forLogMessage('never'))),
    /Log stream ended and message "never" was not received/,
  );
});

test('forHealthCheck waits for healthy and fails on unhealthy', T, async () => {
  const c = await start(new tc.GenericContainer('busybox')
    .withCommand(['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 600'])
    .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/ready'], interval: 300, timeout: 2000, retries: 20, startPeriod: 0 })
    .withWaitStrategy(tc.Wait.forHealthCheck()));
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const info = await docker.getContainer(c.getId()).inspect();
  assert.equal(info.State.Health?.Status, 'healthy');
  assert.deepEqual(info.Config.Healthcheck?.Test, ['CMD-SHELL', 'test -f /tmp/ready']);
  assert.equal(info.Config.Healthcheck?.Interval, 300_000_000);

  await assert.rejects(
    start(new tc.GenericContainer('busybox').withCommand(['sleep', '600'])
      .withHealthCheck({ test: ['CMD', 'false'], interval: 200, timeout: 1000, retries: 2 })
      .withWaitStrategy(tc.Wait.forHealthCheck())),
    /Health check failed: unhealthy/,
  );
});

test('forHttp, forSuccessfulCommand, forOneShotStartup and forAll', T, async () => {
  const web = await start(new tc.GenericContainer('busybox').withExposedPorts(8080).withCommand(HTTPD)
    .withWaitStrategy(tc.Wait.forAll([
      tc.Wait.forHttp('/index.html', 8080).forStatusCode(200).forResponsePredicate((b) => b.includes('hello')),
      tc.Wait.forSuccessfulCommand('test -f /www/index.html'),
    ])));
  assert.equal((await get(web.getMappedPort(8080))).status, 200);
  const once = await start(new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'sleep 1; echo done'])
    .withWaitStrategy(tc.Wait.forOneShotStartup()));
  assert.ok(once.getId());
  await assert.rejects(
    start(new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'exit 3']).withWaitStrategy(tc.Wait.forOneShotStartup())),
    /Container failed to start/,
  );
});

test('exec: output, stdout/stderr apart, exit code, env, working dir, user', T, async () => {
  const c = await start(new tc.GenericContainer('busybox').withCommand(['sleep', '600']).withWaitStrategy(tc.Wait.forSuccessfulCommand('true')));
  const r = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.match(r.output, /out\n/);
  const e = await c.exec(['sh', '-c', 'echo "$FOO $(pwd) $(id -u)"'], { env: { FOO: 'bar' }, workingDir: '/tmp', user: 'nobody' });
  assert.equal(e.exitCode, 0, e.output);
  assert.equal(e.stdout, 'bar /tmp 65534\n');
  const s = await c.exec('echo split on spaces');
  assert.equal(s.stdout, 'split on spaces\n');
});

test('copying files in (at creation and later) and archives out', T, async () => {
  const src = join(d.dir, 'copy-src');
  mkdirSync(join(src, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(src, 'file.txt'), 'from a file\n');
  writeFileSync(join(src, 'dir', 'a'), 'A\n');
  writeFileSync(join(src, 'dir', 'sub', 'b'), 'B\n');
  const c = await start(new tc.GenericContainer('busybox').withCommand(['sleep', '600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true'))
    .withCopyContentToContainer([{ content: 'created with me\n', target: '/etc/at-create.txt', mode: 0o640 }])
    .withCopyFilesToContainer([{ source: join(src, 'file.txt'), target: '/opt/file.txt' }]));
  assert.equal((await c.exec(['cat', '/etc/at-create.txt'])).stdout, 'created with me\n');
  assert.equal((await c.exec(['stat', '-c', '%a', '/etc/at-create.txt'])).stdout, '640\n');
  assert.equal((await c.exec(['cat', '/opt/file.txt'])).stdout, 'from a file\n');

  await c.copyFilesToContainer([{ source: join(src, 'file.txt'), target: '/data/copied.txt', mode: 0o600 }]);
  await c.copyContentToContainer([{ content: 'some content\n', target: '/data/content.txt' }, { content: Buffer.from('bytes\n'), target: '/data/bytes.txt' }]);
  await c.copyDirectoriesToContainer([{ source: join(src, 'dir'), target: '/data/dir' }]);
  const pack = tarStream.pack();
  pack.entry({ name: 'from-archive.txt', mode: 0o644 }, 'archived\n');
  pack.finalize();
  await c.copyArchiveToContainer(pack as unknown as Readable, '/data');
  const ls = await c.exec(['sh', '-c', 'cd /data && for f in copied.txt content.txt bytes.txt dir/a dir/sub/b from-archive.txt; do printf "%s=" $f; cat $f; done; stat -c %a copied.txt']);
  assert.equal(ls.stdout, 'copied.txt=from a file\ncontent.txt=some content\nbytes.txt=bytes\ndir/a=A\ndir/sub/b=B\nfrom-archive.txt=archived\n600\n');

  const out = await untar(await c.copyArchiveFromContainer('/data'));
  assert.equal(out.get('data/copied.txt')?.body, 'from a file\n');
  assert.equal(out.get('data/dir/sub/b')?.body, 'B\n');
  assert.equal(out.get('data/dir/')?.type, 'directory');
  const one = await untar(await c.copyArchiveFromContainer('/data/content.txt'));
  assert.deepEqual([...one.keys()], ['content.txt']);
  await assert.rejects(c.copyArchiveFromContainer('/no/such/path'), /no such file|not found|404/i);
});

test('a network with aliases: another container reaches the server by its alias', T, async () => {
  const net = await new tc.Network().start();
  networks.push(net);
  const server = await start(new tc.GenericContainer('busybox').withNetwork(net).withNetworkAliases('web', 'www.example')
    .withExposedPorts(8080).withCommand(HTTPD));
  const client = await start(new tc.GenericContainer('busybox').withNetwork(net).withCommand(['sleep', '600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true')));
  assert.ok(server.getNetworkNames().includes(net.getName()), JSON.stringify(server.getNetworkNames()));
  assert.deepEqual(client.getNetworkNames(), [net.getName()]);
  const serverIp = server.getIpAddress(net.getName());
  assert.notEqual(isIP(serverIp), 0);
  // busybox's static libc has no DNS resolver: nslookup asks the embedded DNS itself, then nc
  // speaks HTTP to the address it gave.
  for (const alias of ['web', 'www.example']) {
    const r = await client.exec(['sh', '-c', `ip=$(nslookup ${alias} | awk '/^Address/ && !/#53/ {print $NF}' | tail -n1); echo "ip=$ip"; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "$ip" 8080`]);
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.stdout, new RegExp(`ip=${serverIp.replace(/\./g, '\\.')}\\n`));
    assert.match(r.stdout, /hello from berth/);
  }
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const ni = await docker.getNetwork(net.getId()).inspect();
  assert.equal(ni.Labels?.[tc.LABEL_TESTCONTAINERS_SESSION_ID], server.getLabels()[tc.LABEL_TESTCONTAINERS_SESSION_ID]);
  const si = await docker.getContainer(server.getId()).inspect();
  const aliases: string[] = si.NetworkSettings.Networks[net.getName()].Aliases ?? [];
  for (const a of ['web', 'www.example']) assert.ok(aliases.includes(a), JSON.stringify(aliases));
  // A network with containers on it is not removed: libnetwork's 403 (the `after` hook stops the
  // containers first, then the network).
  await assert.rejects(net.stop(), /HTTP code 403\).*error while removing network: network \S+ has active endpoints/);
});

test('restart: the container comes back, is waited for again and keeps serving', T, async () => {
  const c = await start(new tc.GenericContainer('busybox').withExposedPorts(8080)
    .withCommand(['sh', '-c', 'date +%s%N >> /tmp/boots; mkdir -p /www && wc -l < /tmp/boots > /www/index.html && exec httpd -f -p 8080 -h /www']));
  assert.equal((await get(c.getMappedPort(8080))).body.trim(), '1');
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const before = (await docker.getContainer(c.getId()).inspect()).State.StartedAt;
  await c.restart();
  const info = await docker.getContainer(c.getId()).inspect();
  assert.equal(info.State.Running, true);
  assert.notEqual(info.State.StartedAt, before);
  assert.equal((await get(c.getMappedPort(8080))).body.trim(), '2');
});

test('ExtraHosts host-gateway resolves to the default bridge gateway (host.docker.internal)', T, async () => {
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const bridge = await docker.getNetwork('bridge').inspect();
  // Testcontainers (inside a container) reads the host's address from here.
  const gw = bridge.IPAM?.Config?.find((cfg: { Gateway?: string }) => cfg.Gateway !== undefined)?.Gateway;
  assert.ok(gw && isIP(gw) === 4, JSON.stringify(bridge.IPAM));
  const c = await start(new tc.GenericContainer('busybox').withCommand(['sleep', '600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true'))
    .withExtraHosts([{ host: 'host.docker.internal', ipAddress: 'host-gateway' }, { host: 'other.internal', ipAddress: '10.1.2.3' }]));
  const hosts = (await c.exec(['cat', '/etc/hosts'])).stdout;
  assert.match(hosts, new RegExp(`^${gw.replace(/\./g, '\\.')}\\s+host\\.docker\\.internal$`, 'm'));
  assert.match(hosts, /^10\.1\.2\.3\s+other\.internal$/m);
});

test('an image that EXPOSEs a port it does not publish: the port is null and start works', T, async () => {
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  // An image with EXPOSE 9000 (as most service images have) made by commit with a change.
  const base = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
  try {
    await base.commit({ repo: 'exposing', tag: 'latest', changes: 'EXPOSE 9000' });
  } finally {
    await base.remove();
  }
  const c = await start(new tc.GenericContainer('exposing:latest').withExposedPorts(8080).withCommand(HTTPD));
  const info = await docker.getContainer(c.getId()).inspect();
  assert.equal(info.NetworkSettings.Ports['9000/tcp'], null);
  assert.ok(info.NetworkSettings.Ports['8080/tcp']?.length);
  assert.equal((await get(c.getMappedPort(8080))).status, 200);
  // ps shows the unpublished port without a public side, as Docker does.
  const [summary] = await docker.listContainers({ filters: { id: [c.getId()] } });
  assert.deepEqual(summary.Ports.filter((p) => p.PrivatePort === 9000), [{ PrivatePort: 9000, Type: 'tcp' }]);
});

test('stop removes the container (autoRemove) and a stopped container can be stopped again', T, async () => {
  const c = await new tc.GenericContainer('busybox').withCommand(['sleep', '600']).withWaitStrategy(tc.Wait.forSuccessfulCommand('true')).withStartupTimeout(STARTUP_MS).start();
  const id = c.getId();
  await c.stop();
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  await assert.rejects(docker.getContainer(id).inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  // Stop without removal, then a second stop: 304 is treated as "already stopped".
  const k = await new tc.GenericContainer('busybox').withCommand(['sleep', '600']).withWaitStrategy(tc.Wait.forSuccessfulCommand('true')).withStartupTimeout(STARTUP_MS).start();
  try {
    await k.stop({ remove: false });
    assert.equal((await docker.getContainer(k.getId()).inspect()).State.Running, false);
    await docker.getContainer(k.getId()).stop().then(() => assert.fail('expected 304'), (e: { statusCode?: number }) => assert.equal(e.statusCode, 304));
  } finally {
    await docker.getContainer(k.getId()).remove({ force: true });
  }
});

test('restart with a log wait only counts lines of the new run (logs since a fractional time)', T, async () => {
  const c = await start(new tc.GenericContainer('busybox')
    .withCommand(['sh', '-c', 'if [ -f /tmp/booted ]; then sleep 2; fi; touch /tmp/booted; echo ready; exec sleep 600'])
    .withWaitStrategy(tc.Wait.forLogMessage('ready')));
  const t0 = Date.now();
  await c.restart();
  // A `since` Testcontainers sends as seconds with a fraction (StartedAt / 1000): the first run's
  // "ready" must not satisfy the wait.
  assert.ok(Date.now() - t0 >= 1900, `restart returned after ${Date.now() - t0} ms, before the second "ready"`);
  const tail = await c.logs({ tail: 1 });
  const line = await new Promise<string>((res) => { tail.once('data', (l: string) => res(l)); setTimeout(() => res(''), 5000); });
  tail.destroy();
  assert.equal(line.trim(), 'ready');
});

test('withReuse finds the running container by its hash label (limit=1, several status filters)', T, async () => {
  const mk = () => new tc.GenericContainer('busybox').withCommand(['sleep', '600']).withLabels({ purpose: 'reuse' })
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true')).withReuse();
  const a = await start(mk());
  const b = await start(mk());
  assert.equal(b.getId(), a.getId());
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const hash = a.getLabels()['org.testcontainers.container-hash'];
  assert.ok(hash);
  const byHash = await docker.listContainers({ limit: 1, filters: { label: [`org.testcontainers.container-hash=${hash}`], status: ['created', 'running', 'paused', 'exited'] } });
  assert.deepEqual(byHash.map((x) => x.Id), [a.getId()]);
  // A stopped reusable container is started again rather than duplicated.
  await docker.getContainer(a.getId()).stop({ t: 0 });
  const c = await start(mk());
  assert.equal(c.getId(), a.getId());
  assert.equal((await docker.getContainer(c.getId()).inspect()).State.Running, true);
});

test('commit with changes (multi-line, a label emptied) and deleteOnExit', T, async () => {
  const c = await start(new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'echo committed > /marker; exec sleep 600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('test -f /marker')));
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const kept = await c.commit({ repo: 'tc-commit', tag: 'kept', deleteOnExit: false, changes: ['ENV COMMITTED=yes', 'LABEL extra=1'], comment: 'by testcontainers', author: 'tc' });
  const ki = await docker.getImage(kept).inspect();
  assert.deepEqual(ki.RepoTags, ['tc-commit:kept']);
  assert.ok(ki.Config.Env?.includes('COMMITTED=yes'), JSON.stringify(ki.Config.Env));
  assert.equal(ki.Config.Labels?.extra, '1');
  // deleteOnExit: false empties the session label (LABEL k=), as Docker keeps it with an empty value.
  assert.equal(ki.Config.Labels?.[tc.LABEL_TESTCONTAINERS_SESSION_ID], '');
  assert.equal(ki.Comment, 'by testcontainers');
  assert.equal(ki.Author, 'tc');
  const gone = await c.commit({ repo: 'tc-commit', tag: 'session' });
  const gi = await docker.getImage(gone).inspect();
  assert.equal(gi.Config.Labels?.[tc.LABEL_TESTCONTAINERS_SESSION_ID], c.getLabels()[tc.LABEL_TESTCONTAINERS_SESSION_ID]);
  const run = await start(new tc.GenericContainer('tc-commit:kept').withCommand(['sh', '-c', 'cat /marker; echo "env=$COMMITTED"; exec sleep 600'])
    .withWaitStrategy(tc.Wait.forLogMessage('env=yes')));
  assert.match((await run.exec(['cat', '/marker'])).stdout, /committed/);
});

test('GenericContainer.fromDockerfile builds (labels, build args, a target) and the image starts', T, async () => {
  const ctx = join(d.dir, 'build-ctx');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), [
    'FROM busybox AS base',
    'ARG GREETING=hi',
    'RUN echo "$GREETING from the build" > /greeting',
    'COPY served.txt /www/index.html',
    'EXPOSE 8080',
    'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
    'FROM base AS final',
    'RUN echo final > /stage',
  ].join('\n') + '\n');
  writeFileSync(join(ctx, 'served.txt'), 'built and served\n');
  writeFileSync(join(ctx, '.dockerignore'), 'ignored*\n');
  writeFileSync(join(ctx, 'ignored.txt'), 'x');
  const gc = await tc.GenericContainer.fromDockerfile(ctx).withBuildArgs({ GREETING: 'hello' }).withTarget('base').build('tc-built:1', { deleteOnExit: true });
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const img = await docker.getImage('tc-built:1').inspect();
  assert.equal(img.Config.Labels?.['org.testcontainers'], 'true');
  assert.match(img.Config.Labels?.[tc.LABEL_TESTCONTAINERS_SESSION_ID] ?? '', /^[0-9a-f-]{8,}$/);
  const c = await start(gc.withExposedPorts(8080));
  assert.equal((await get(c.getMappedPort(8080))).body, 'built and served\n');
  assert.equal((await c.exec(['cat', '/greeting'])).stdout, 'hello from the build\n');
  assert.equal((await c.exec(['sh', '-c', 'test -e /stage || echo no-final-stage'])).stdout, 'no-final-stage\n');
  // Without a name, the image is tagged localhost/<uuid>:<uuid>.
  const anon = await tc.GenericContainer.fromDockerfile(ctx).build();
  const a = await start(anon.withExposedPorts(8080));
  const ai = await docker.getContainer(a.getId()).inspect();
  assert.match(ai.Config.Image, /^localhost\/[0-9a-f-]+:[0-9a-f-]+$/);
});

test('container options: name, hostname, user, workdir, entrypoint, env, tmpfs, ulimits, resources, shm, caps, bind mounts, log driver, platform', T, async () => {
  const bind = join(d.dir, 'bind');
  mkdirSync(bind, { recursive: true });
  writeFileSync(join(bind, 'in.txt'), 'bound\n');
  const name = `tc-opts-${Date.now()}`;
  const c = await start(new tc.GenericContainer('busybox')
    .withName(name).withHostname('tc-host').withUser('nobody').withWorkingDir('/tmp')
    .withEntrypoint(['sh', '-c']).withCommand(['echo up; exec sleep 600'])
    .withEnvironment({ A: '1', B: 'two words' })
    .withTmpFs({ '/scratch': 'rw,size=16m' })
    .withUlimits({ nofile: { soft: 1024, hard: 2048 } })
    .withResourcesQuota({ memory: 0.25, cpu: 0.5 })
    .withSharedMemorySize(32 * 1024 * 1024)
    .withAddedCapabilities('NET_ADMIN').withDroppedCapabilities('CHOWN')
    .withBindMounts([{ source: bind, target: '/bound', mode: 'ro' }])
    .withDefaultLogDriver()
    .withPlatform('linux/amd64')
    .withWaitStrategy(tc.Wait.forLogMessage('up')));
  assert.equal(c.getName(), `/${name}`);
  assert.equal(c.getHostname(), 'tc-host');
  // NOFILE as the container's own process has it (runc create: not racy). An exec's own limit
  // can come out wrong once in a while with Debian's runc 1.1.5 (its parent's prlimit races runc
  // init's Go runtime raising the soft limit: opencontainers/runc#4195, fixed in 1.1.13), as with
  // Docker's exec on that runc.
  const r = await c.exec(['sh', '-c', 'echo "$(id -u) $(pwd) $(hostname) $A $B"; awk \'/open files/ {print $4; print $5}\' /proc/1/limits; cat /bound/in.txt; mount | grep " /scratch " | grep -c tmpfs; df -k /dev/shm | awk \'NR==2 {print $2}\'; touch /bound/x 2>/dev/null || echo ro']);
  assert.equal(r.stdout, '65534 /tmp tc-host 1 two words\n1024\n2048\nbound\n1\n32768\nro\n');
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const info = await docker.getContainer(c.getId()).inspect();
  assert.equal(info.HostConfig.Memory, Math.ceil(0.25 * 1024 ** 3));
  assert.equal(info.HostConfig.NanoCpus, 5e8);
  assert.deepEqual(info.HostConfig.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(info.HostConfig.CapDrop, ['CHOWN']);
  assert.equal(info.HostConfig.LogConfig?.Type, 'json-file');
  const logs: string[] = [];
  const s = await c.logs();
  await new Promise<void>((res) => { s.on('data', (l: string) => { logs.push(l); res(); }); setTimeout(res, 5000); });
  s.destroy();
  assert.match(logs.join(''), /up/);
});

test('the runtime info Testcontainers gathers from /info and /version', T, async () => {
  const client = await tc.getContainerRuntimeClient();
  const i = client.info.containerRuntime;
  assert.match(String(i.serverVersion), /^\d+\.\d+/);
  assert.equal(i.operatingSystemType, 'linux');
  assert.ok(i.cpus > 0 && i.memory > 0);
  assert.ok(i.runtimes.includes('runc'));
  assert.equal(i.indexServerAddress, 'https://index.docker.io/v1/');
  assert.ok(i.hostIps.length > 0);
});

test('ports: a fixed host port, a UDP port, and the random ports in inspect and ps', T, async () => {
  const fixed = await new tc.RandomPortGenerator().generatePort();
  const c = await start(new tc.GenericContainer('busybox').withExposedPorts({ container: 8080, host: fixed }, '5353/udp').withCommand(HTTPD));
  assert.equal(c.getMappedPort(8080), fixed);
  assert.equal((await get(fixed)).body, 'hello from berth\n');
  const udp = c.getMappedPort('5353/udp');
  assert.ok(udp > 0 && udp !== fixed);
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const info = await docker.getContainer(c.getId()).inspect();
  assert.deepEqual(info.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '', HostPort: String(fixed) }], '5353/udp': [{ HostIp: '', HostPort: '0' }] });
  assert.ok(info.NetworkSettings.Ports['5353/udp']?.every((b) => isIP(b.HostIp) !== 0 && Number(b.HostPort) === udp));
  const [summary] = await docker.listContainers({ filters: { id: [c.getId()] } });
  const ps = summary.Ports.map((p) => `${p.PrivatePort}/${p.Type}->${p.PublicPort}`).sort();
  assert.ok(ps.includes(`8080/tcp->${fixed}`) && ps.includes(`5353/udp->${udp}`), JSON.stringify(summary.Ports));
  // The same fixed port twice is Docker's "port is already allocated", and Testcontainers fails.
  // It leaves the created container behind (as with Docker; Ryuk would remove it): found by label.
  await assert.rejects(start(new tc.GenericContainer('busybox').withLabels({ purpose: 'port-clash' }).withExposedPorts({ container: 8080, host: fixed }).withCommand(HTTPD)), /already allocated|address already in use/i);
  const clash = await docker.listContainers({ all: true, filters: { label: ['purpose=port-clash'] } });
  assert.deepEqual(clash.map((x) => x.State), ['created']);
  await docker.getContainer(clash[0].Id).remove({ force: true });
});

test('withNetworkMode(a user network): the container runs on it alone and is found by name', T, async () => {
  const net = await new tc.Network().start();
  networks.push(net);
  const name = `tc-named-${Date.now()}`;
  const server = await start(new tc.GenericContainer('busybox').withNetworkMode(net.getName()).withName(name).withCommand(HTTPD)
    .withExposedPorts(8080));
  assert.deepEqual(server.getNetworkNames(), [net.getName()]);
  assert.equal(server.getNetworkId(net.getName()), net.getId());
  assert.equal((await get(server.getMappedPort(8080), '/', server.getHost())).status, 200);
  const client = await start(new tc.GenericContainer('busybox').withNetwork(net).withCommand(['sleep', '600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true')));
  const ip = server.getIpAddress(net.getName());
  for (const n of [name, server.getId().slice(0, 12)]) {
    const r = await client.exec(['nslookup', n]);
    assert.equal(r.exitCode, 0, r.output);
    assert.ok(r.stdout.includes(`Address: ${ip}`), `${n}: ${r.stdout}`);
  }
});

test('copyUIDGID gives copied files the container user\'s owner; noOverwriteDirNonDir refuses a swap', T, async () => {
  const c = await start(new tc.GenericContainer('busybox').withUser('nobody').withCommand(['sleep', '600'])
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('true'))
    .withCopyToContainerOptions({ copyUIDGID: true })
    .withCopyContentToContainer([{ content: 'mine\n', target: '/tmp/owned.txt' }]));
  assert.equal((await c.exec(['stat', '-c', '%u:%g', '/tmp/owned.txt'])).stdout, '65534:65534\n');
  const pack = tarStream.pack();
  pack.entry({ name: 'tmp', mode: 0o644 }, 'not a dir');
  pack.finalize();
  await assert.rejects(c.copyArchiveToContainer(pack as unknown as Readable, '/', { noOverwriteDirNonDir: true }), /cannot overwrite directory/);
});

test('an image from a private registry is pulled with the docker config credentials, and pulled again with alwaysPull', T, async () => {
  const docker = (await tc.getContainerRuntimeClient()).container.dockerode;
  const ref = `${regHost}/tc/busybox`;
  await docker.getImage('busybox:latest').tag({ repo: ref, tag: '1' });
  // dockerode's push with the auth as Testcontainers would send it (X-Registry-Auth, base64url).
  const push = await docker.getImage(`${ref}:1`).push({ authconfig: { username: 'tc', password: 'tc-pass', serveraddress: regHost } });
  const pushed = await new Promise<unknown[]>((res, rej) => docker.modem.followProgress(push, (err, out) => (err ? rej(err) : res(out))));
  assert.ok(pushed.some((m) => /digest: sha256:/.test(JSON.stringify(m))), JSON.stringify(pushed));
  await docker.getImage(`${ref}:1`).remove();
  await assert.rejects(docker.getImage(`${ref}:1`).inspect(), /no such image/i);
  // Not here: Testcontainers pulls it (fromImage + tag, X-Registry-Auth from ~/.docker/config.json).
  const c = await start(new tc.GenericContainer(`${ref}:1`).withCommand(['sh', '-c', 'echo pulled; exec sleep 600']).withWaitStrategy(tc.Wait.forLogMessage('pulled')));
  const img = await docker.getImage(`${ref}:1`).inspect();
  assert.equal((await docker.getContainer(c.getId()).inspect()).Image, img.Id);
  assert.ok(img.RepoDigests?.some((x) => x.startsWith(`${ref}@sha256:`)), JSON.stringify(img.RepoDigests));
  const again = await start(new tc.GenericContainer(`${ref}:1`).withPullPolicy(tc.PullPolicy.alwaysPull()).withCommand(['sh', '-c', 'echo again; exec sleep 600']).withWaitStrategy(tc.Wait.forLogMessage('again')));
  assert.ok(again.getId());
  // A tag the registry lacks fails before any progress is sent: Docker's 404 with the registry's
  // words, which Testcontainers reports.
  await assert.rejects(start(new tc.GenericContainer(`${regHost}/tc/nosuch:1`)), /\(HTTP code 404\).*manifest for .*tc\/nosuch:1 not found: manifest unknown/);
});
