// Debian's docker-compose 1.29 (Python, docker-py 5.0.3) bringing up a 3-service app on berthd:
// a web service built from a Dockerfile and published on loopback, a database with a named
// volume and a healthcheck the web waits for, a cache; two user networks. Then ps, logs, exec
// (web reaches db by its service name), events, up --scale and scale, restart, down (the volume
// and its data survive) and down -v (nothing is left). Then push, pull and a digest looked up in a
// registry on loopback. Skipped with a visible message where
// docker-compose is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startDaemon, freePort, httpGet, type Daemon } from '../integration/harness.ts';
import { startRegistry } from '../../src/registry/server/server.ts';

const hasCompose = spawnSync('docker-compose', ['version', '--short']).status === 0;
const skip = hasCompose ? false : 'docker-compose (1.29) is not installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });


const json = (r: { body: Buffer }) => JSON.parse(r.body.toString());

test('compose 1.29: a 3-service app (build, healthcheck, named volume, user networks) up, ps, logs, exec, events, scale, restart, down, down -v', { skip, timeout: 600_000 }, async () => {
  const dir = join(d.dir, 'compose-app');
  mkdirSync(join(dir, 'web'), { recursive: true });
  const project = `app${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  // The db serves its volume over HTTP; its healthcheck passes once the data file is there.
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'services:',
    '  web:',
    '    build: ./web',
    `    ports: ["127.0.0.1:${port}:80"]`,
    '    networks: [front, back]',
    '    dns: 127.0.0.154',
    '    depends_on:',
    '      db: {condition: service_healthy}',
    '  db:',
    '    image: busybox',
    `    command: sh -c "trap 'exit 0' TERM; [ -f /data/x ] || cat /proc/sys/kernel/random/uuid > /data/x; httpd -f -p 5432 -h /data & wait"`,
    '    volumes: [dbdata:/data]',
    '    networks: [back]',
    '    healthcheck: {test: ["CMD", "test", "-f", "/data/x"], interval: 1s, retries: 30}',
    '  cache:',
    '    image: busybox',
    `    command: sh -c "trap 'exit 0' TERM; echo cache-ready; while true; do sleep 0.2; done"`,
    '    networks: [back]',
    'networks:',
    '  front:',
    '  back:',
    'volumes:',
    '  dbdata:',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'web', 'Dockerfile'), 'FROM busybox\nRUN mkdir /www && echo hello-from-web > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n');
  const env = { ...process.env, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config'), COMPOSE_DOCKER_CLI_BUILD: '0' };
  const compose = (args: string[], timeout = 180_000) => {
    const r = spawnSync('docker-compose', ['-p', project, ...args], { cwd: dir, timeout, env });
    const out = `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}`;
    return { status: r.status, stdout: r.stdout?.toString() ?? '', out };
  };
  const ok = (args: string[]) => {
    const r = compose(args);
    assert.equal(r.status, 0, `docker-compose ${args.join(' ')}: ${r.out}`);
    assert.doesNotMatch(r.out, /Traceback/);
    return r;
  };
  try {
    const up = ok(['up', '-d']);
    assert.match(up.out, /Successfully tagged .*_web:latest/);
    const db = json(await d.api('GET', `/containers/${project}_db_1/json`));
    assert.equal(db.State.Health.Status, 'healthy', 'web waited for a healthy db');
    const webIn = json(await d.api('GET', `/containers/${project}_web_1/json`));
    assert.deepEqual(Object.keys(webIn.NetworkSettings.Networks).sort(), [`${project}_back`, `${project}_front`]);
    assert.equal(await httpGet('127.0.0.1', port), 'hello-from-web\n');
    // Up again with nothing changed: nothing is recreated.
    const again = ok(['up', '-d']);
    assert.match(again.out, /_db_1 is up-to-date/);
    assert.equal(json(await d.api('GET', `/containers/${project}_db_1/json`)).Id, db.Id);

    const ps = ok(['ps']).stdout;
    assert.match(ps, new RegExp(`${project}_db_1 .*Up \\(healthy\\)`));
    assert.match(ps, new RegExp(`${project}_web_1 .*Up .*127\\.0\\.0\\.1:${port}->80/tcp`));
    assert.deepEqual(ok(['ps', '--services']).stdout.split('\n').filter(Boolean).sort(), ['cache', 'db', 'web']);
    assert.equal(ok(['ps', '-q', 'db']).stdout.trim(), db.Id);

    let logs = '';
    for (let i = 0; i < 50 && !/cache-ready/.test(logs); i++) {
      logs = ok(['logs', '--no-color', 'cache']).stdout;
      if (!/cache-ready/.test(logs)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(logs, /cache_1 +\| cache-ready/);

    // web reaches db by its service name on the back network (busybox's libc resolves no names:
    // nslookup asks the embedded DNS, nc goes to the address).
    const fetchDb = 'ip=$(nslookup db | awk \'/^Address: /{a=$2} END{print a}\'); printf "GET /x HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$ip" 5432 | tail -n 1';
    const stamp = ok(['exec', '-T', 'web', 'sh', '-c', fetchDb]).stdout.trim();
    assert.match(stamp, /^[0-9a-f-]{36}$/);
    assert.equal(ok(['exec', '-T', 'db', 'cat', '/data/x']).stdout.trim(), stamp);
    const ex = compose(['exec', '-T', '-e', 'V=from-exec', '-w', '/tmp', 'cache', 'sh', '-c', 'echo $V $(pwd); exit 3']);
    assert.equal(ex.status, 3, ex.out);
    assert.equal(ex.stdout, 'from-exec /tmp\n');

    // events: compose filters /events by the project's labels and reads container events.
    const ev = spawn('docker-compose', ['-p', project, 'events', '--json'], { cwd: dir, env });
    let evOut = '';
    ev.stdout.on('data', (c) => { evOut += c; });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      ok(['restart', '-t', '2', 'cache']);
      for (let i = 0; i < 100 && !/"action": "restart"/.test(evOut); i++) await new Promise((r) => setTimeout(r, 100));
    } finally { ev.kill(); }
    const got = evOut.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.service === 'cache');
    assert.deepEqual(got.map((e) => e.action).filter((a) => ['kill', 'die', 'stop', 'start', 'restart'].includes(a)), ['kill', 'die', 'stop', 'start', 'restart']);
    assert.equal(got[0].attributes.name, `${project}_cache_1`);

    // Scale up and down, both forms.
    ok(['up', '-d', '--scale', 'cache=3']);
    const cacheIds = () => ok(['ps', '-q', 'cache']).stdout.split('\n').filter(Boolean);
    assert.equal(cacheIds().length, 3);
    const c3 = json(await d.api('GET', `/containers/${project}_cache_3/json`));
    assert.equal(c3.State.Running, true);
    assert.equal(c3.Config.Labels['com.docker.compose.container-number'], '3');
    ok(['scale', 'cache=2']);
    assert.equal(cacheIds().length, 2);
    ok(['up', '-d', '--scale', 'cache=1']);
    assert.equal(cacheIds().length, 1);

    const started = (n: string) => d.api('GET', `/containers/${n}/json`).then((r) => json(r).State.StartedAt as string);
    const before = await started(`${project}_db_1`);
    ok(['restart', '-t', '2']);
    assert.notEqual(await started(`${project}_db_1`), before);
    for (let i = 0; i < 100 && json(await d.api('GET', `/containers/${project}_db_1/json`)).State.Health.Status !== 'healthy'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await httpGet('127.0.0.1', port).catch(async () => { await new Promise((r) => setTimeout(r, 500)); return httpGet('127.0.0.1', port); }), 'hello-from-web\n');

    // down keeps the named volume; up again finds the data; down -v removes everything.
    ok(['down', '-t', '2']);
    assert.deepEqual(json(await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`)), []);
    assert.deepEqual(json(await d.api('GET', '/volumes')).Volumes.map((v: { Name: string }) => v.Name), [`${project}_dbdata`]);
    ok(['up', '-d']);
    assert.equal(ok(['exec', '-T', 'db', 'cat', '/data/x']).stdout.trim(), stamp);
    ok(['down', '-v', '-t', '2']);
    assert.deepEqual(json(await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`)), []);
    assert.deepEqual(json(await d.api('GET', '/volumes')).Volumes, []);
    const nets = (json(await d.api('GET', '/networks')) as { Name: string }[]).map((n) => n.Name);
    assert.ok(!nets.some((n) => n.startsWith(`${project}_`)), nets.join(' '));
  } finally {
    compose(['down', '-v', '--rmi', 'local', '-t', '1']);
  }
});

test('compose 1.29 with a registry on loopback: push a built service, pull, config --resolve-image-digests (inspect_distribution)', { skip, timeout: 300_000 }, async () => {
  const regRoot = mkdtempSync(join(tmpdir(), 'berth-reg-'));
  const reg = await startRegistry({ root: regRoot, addr: '127.0.0.1:0', log: () => {} });
  const host = new URL(reg.url).host;
  const dir = join(d.dir, 'compose-reg');
  mkdirSync(join(dir, 'app'), { recursive: true });
  const project = `reg${randomBytes(3).toString('hex')}`;
  const image = `${host}/${project}/app:1`;
  writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM busybox\nRUN echo pushed > /pushed.txt\n');
  writeFileSync(join(dir, 'docker-compose.yml'), ['services:', '  app:', '    build: ./app', `    image: ${image}`, '    command: sh -c "sleep 1; cat /pushed.txt"', ''].join('\n'));
  const env = { ...process.env, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config'), COMPOSE_DOCKER_CLI_BUILD: '0', COMPOSE_INTERACTIVE_NO_CLI: '1' };
  // The registry runs in this process: compose runs asynchronously, or nothing would answer it.
  const ok = async (args: string[]) => {
    const p = spawn('docker-compose', ['-p', project, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 180_000);
    const status = await new Promise<number | null>((r) => p.on('close', r));
    clearTimeout(timer);
    const out = stdout + stderr;
    assert.equal(status, 0, `docker-compose ${args.join(' ')}: ${out}`);
    assert.doesNotMatch(out, /Traceback/);
    return { stdout, out };
  };
  try {
    (await ok(['build']));
    (await ok(['push']));
    const local = json(await d.api('GET', `/images/${encodeURIComponent(image)}/json`));
    const digest = (local.RepoDigests as string[]).find((x) => x.startsWith(`${host}/${project}/app@`))!;
    assert.ok(digest, JSON.stringify(local.RepoDigests));
    // Not here any more: the digest comes from the registry, through /distribution/{name}/json.
    assert.equal((await d.api('DELETE', `/images/${encodeURIComponent(image)}`)).status, 200);
    const cfg = (await ok(['config', '--resolve-image-digests'])).stdout;
    assert.ok(cfg.includes(`image: ${image}@${digest.split('@')[1]}\n`), cfg);
    (await ok(['pull']));
    assert.equal(json(await d.api('GET', `/images/${encodeURIComponent(image)}/json`)).Id, local.Id);
    // (docker-py attaches after the start here: the command waits a moment so its output is not
    // over before the attach, on any engine.)
    const run = (await ok(['run', '--rm', '-T', 'app']));
    assert.equal(run.stdout, 'pushed\n');
  } finally {
    await ok(['down', '--rmi', 'all', '-t', '1']).catch(() => {});
    await reg.close();
    rmSync(regRoot, { recursive: true, force: true });
  }
});
