// `berth compose`'s read and one-off commands against a real berthd, on an app brought up as
// compose does it (compose-util.ts): a web service published on loopback that reaches its
// database by service name, a database with a named volume and a healthcheck, two workers.
// ps (table, -q, --services, --status, json), logs (prefixes, --tail, -t, --no-log-prefix,
// colours, -f), exec, run (one-off names and labels, --rm, -d, -e, -u, -w, -p, -v, --entrypoint,
// --name, --no-deps), top, images, port, cp, events, ls, wait, version; then build, pull and push
// against a registry on loopback; and the bad inputs. Traffic only to loopback and this daemon's
// bridges; names nobody knows are not forwarded off the machine (dns: a loopback address).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, freePort, httpGet, BERTH, type Daemon, type RunOut } from '../integration/harness.ts';
import { composeAsync, composeCli, composeDown, composeUp, until, writeProject } from './compose-util.ts';

let d: Daemon;
let dir: string;
let port: number;
const P = 'shop';
before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(d.dir, 'proj-'));
  port = await freePort();
  writeProject(dir, {
    'compose.yaml': [
      'services:',
      '  web:',
      '    image: busybox',
      `    command: sh -c "mkdir -p /www && echo hello-web > /www/index.html && echo web-started && httpd -f -p 80 -h /www"`,
      `    ports: ["127.0.0.1:${port}:80"]`,
      '    dns: 127.0.0.154',
      '    depends_on:',
      '      db: {condition: service_healthy}',
      '  db:',
      '    image: busybox',
      `    command: sh -c "trap 'exit 0' TERM; [ -f /data/x ] || echo stored > /data/x; echo db-ready; httpd -f -p 5432 -h /data & wait"`,
      '    volumes: [data:/data]',
      '    healthcheck: {test: ["CMD", "test", "-f", "/data/x"], interval: 1s, retries: 30}',
      '  worker:',
      '    image: busybox',
      `    command: sh -c "trap 'exit 0' TERM; echo line-1; echo line-2 >&2; sleep 0.2; echo line-3; while true; do sleep 0.2; done"`,
      '    scale: 2',
      '    environment: {ROLE: worker}',
      'volumes:',
      '  data:',
      '',
    ].join('\n'),
  });
  await composeUp(d, dir, P);
});
after(async () => {
  if (d) await composeDown(d, dir, P).catch(() => {});
  await d?.stop();
});


const c = (args: string[], o?: Parameters<ReturnType<typeof composeCli>>[1]) => composeCli(d, dir, P)(args, o);
const ok = (r: RunOut, what = '') => { assert.equal(r.status, 0, `${what}\n${r.stdout}\n${r.stderr}`); return r; };
const lines = (s: string) => s.split('\n').filter(Boolean);
const json = (r: { body: Buffer }) => JSON.parse(r.body.toString());

test('ps: compose\'s table, -q, --services, --status, --format json, -a with one-offs', async () => {
  const table = lines(ok(c(['ps'])).stdout);
  assert.match(table[0], /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
  assert.deepEqual(table.slice(1).map((l) => l.split(/\s+/)[0]), ['shop-db-1', 'shop-web-1', 'shop-worker-1', 'shop-worker-2']);
  // The engine's view quotes an argument with spaces (moby's container view), then compose cuts it at 20.
  assert.match(table[1], /shop-db-1\s+busybox\s+"sh -c 'trap 'exit 0…"\s+db\s+.* ago\s+Up .*\(healthy\)/);
  assert.match(table[2], new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp$`));
  const ids = lines(ok(c(['ps', '-q'])).stdout);
  assert.equal(ids.length, 4);
  assert.ok(ids.every((id) => /^[0-9a-f]{64}$/.test(id)));
  assert.equal(ok(c(['ps', '--services'])).stdout, 'db\nweb\nworker\n');
  assert.equal(ok(c(['ps', '-q', 'worker'])).stdout.split('\n').filter(Boolean).length, 2);
  const js = lines(ok(c(['ps', '--format', 'json', 'db'])).stdout).map((l) => JSON.parse(l));
  assert.equal(js.length, 1);
  assert.equal(js[0].Name, 'shop-db-1');
  assert.equal(js[0].Service, 'db');
  assert.equal(js[0].Project, 'shop');
  assert.equal(js[0].State, 'running');
  assert.equal(js[0].Health, 'healthy');
  assert.equal(js[0].Mounts, 'shop_data');
  assert.equal(ok(c(['ps', '--format', '{{.Name}} {{.Service}} {{.State}}', 'web'])).stdout, 'shop-web-1 web running\n');
  // A stopped worker: gone from ps, back with -a and --status exited.
  ok(d.docker(['stop', '-t', '1', 'shop-worker-2']));
  try {
    assert.deepEqual(lines(ok(c(['ps', '--format', '{{.Name}}', 'worker'])).stdout), ['shop-worker-1']);
    assert.deepEqual(lines(ok(c(['ps', '-a', '--format', '{{.Name}} {{.State}}', 'worker'])).stdout), ['shop-worker-1 running', 'shop-worker-2 exited']);
    assert.deepEqual(lines(ok(c(['ps', '--status', 'exited', '--format', '{{.Name}} {{.ExitCode}}'])).stdout), ['shop-worker-2 0']);
    assert.deepEqual(lines(ok(c(['ps', '--filter', 'status=running', '-q', 'worker'])).stdout).length, 1);
  } finally {
    ok(d.docker(['start', 'shop-worker-2']));
  }
  // -p alone, without the files, finds the project by its labels.
  const byName = ok(d.berth(['compose', '-p', P, 'ps', '--services']));
  assert.equal(byName.stdout, 'db\nweb\nworker\n');
  const bad = c(['ps', 'nosuch']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no such service: nosuch/);
});

test('web reaches db by service name; the published port answers on loopback', async () => {
  assert.equal(await httpGet('127.0.0.1', port), 'hello-web\n');
  const get = 'ip=$(nslookup db | awk \'/^Address: /{a=$2} END{print a}\'); printf "GET /x HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$ip" 5432 | tail -n 1';
  assert.equal(ok(c(['exec', '-T', 'web', 'sh', '-c', get])).stdout, 'stored\n');
});

test('logs: `<service>-<n>  | ` padded to the longest, both streams, --tail, -t, --no-log-prefix, --index, colours with --ansi always', async () => {
  await until(() => /line-3/.test(c(['logs', 'worker']).stdout), 'worker output');
  const all = ok(c(['logs', '--no-color', 'worker', 'db'])).stdout;
  for (const n of [1, 2]) {
    assert.match(all, new RegExp(`^worker-${n}  \\| line-1$`, 'm'));
    assert.match(all, new RegExp(`^worker-${n}  \\| line-2$`, 'm'), 'stderr lines on stdout, as compose prints them');
  }
  assert.match(all, /^db-1      \| db-ready$/m);
  assert.deepEqual(lines(ok(c(['logs', '--tail', '1', '--no-log-prefix', '--index', '2', 'worker'])).stdout), ['line-3']);
  const ts = ok(c(['logs', '-t', '--tail', '1', '--index', '1', 'worker'])).stdout;
  assert.match(ts, /^worker-1  \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line-3\n$/);
  // No terminal: no colours unless asked.
  assert.doesNotMatch(all, /\x1b\[/);
  const colored = ok(d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', P, '--ansi', 'always', 'logs', 'db', 'web'])).stdout;
  assert.match(colored, /\x1b\[36m(db|web)-1 +\| \x1b\[0m/);
  assert.match(colored, /\x1b\[33m(db|web)-1 +\| \x1b\[0m/);
});

test('logs -f follows a container that starts later, prints its exit, and ends when every container has exited', async () => {
  const p = composeAsync(d, dir, P, ['logs', '-f', '--no-color', 'worker']);
  const count = (re: RegExp) => (p.out.stdout.match(re) ?? []).length;
  try {
    await until(() => count(/^worker-1  \| line-3$/gm) >= 1 && count(/^worker-2  \| line-3$/gm) >= 1, 'the logs so far');
    await new Promise((r) => setTimeout(r, 500));
    const before = count(/^worker-1  \| line-3$/gm);
    ok(d.docker(['restart', '-t', '1', 'shop-worker-1']));
    // The restarted container's output is followed from its start: its lines come again.
    await until(() => /worker-1 exited with code 0/.test(p.out.stdout) && count(/^worker-1  \| line-3$/gm) === before + 1, 'the restart in logs -f', 30_000);
    ok(d.docker(['stop', '-t', '1', 'shop-worker-1', 'shop-worker-2']));
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('running'), 30_000))]);
    assert.equal(code, 0, `${p.out.stdout}\n${p.out.stderr}`);
    assert.match(p.out.stdout, /worker-2 exited with code 0/);
  } finally {
    p.proc.kill();
    ok(d.docker(['start', 'shop-worker-1', 'shop-worker-2']));
  }
});

test('exec: -T, -e, -u, -w, --index, exit status, -d; unknown service', async () => {
  const r = c(['exec', '-T', '-e', 'A=1', '-e', 'ROLE', '-u', 'nobody', '-w', '/tmp', '--index', '2', 'worker', 'sh', '-c', 'echo $A $ROLE $(id -un) $(pwd) $HOSTNAME; exit 7'], { env: { ROLE: 'from-shell' } });
  assert.equal(r.status, 7, r.stderr);
  const [a, role, user, cwd, host] = r.stdout.trim().split(' ');
  assert.deepEqual([a, role, user, cwd], ['1', 'from-shell', 'nobody', '/tmp']);
  assert.equal(host, json(await d.api('GET', '/containers/shop-worker-2/json')).Config.Hostname);
  ok(c(['exec', '-d', 'db', 'sh', '-c', 'echo detached > /tmp/d']));
  await until(() => d.docker(['exec', 'shop-db-1', 'cat', '/tmp/d']).stdout === 'detached\n', 'the detached exec');
  const none = c(['exec', '-T', 'nosuch', 'true']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /service "nosuch" is not running/);
});

test('run: a one-off `<project>-<service>-run-<12 hex>`, --rm, -e, -u, -w, exit status; -d, --name, -p, -v, --entrypoint, --no-deps', async () => {
  const r = c(['run', '--rm', '-e', 'X=42', '-u', 'nobody', '-w', '/tmp', 'worker', 'sh', '-c', 'echo $X $ROLE $(id -un) $(pwd); exit 3']);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, '42 worker nobody /tmp\n');
  const label = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.oneoff=True'] }));
  assert.deepEqual(json(await d.api('GET', `/containers/json?all=1&filters=${label}`)), [], '--rm removed it');

  const id = ok(c(['run', '-d', 'worker', 'sh', '-c', 'echo one-off; sleep 30'])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const one = json(await d.api('GET', `/containers/${id}/json`));
  assert.match(one.Name, /^\/shop-worker-run-[0-9a-f]{12}$/);
  assert.equal(one.Config.Labels['com.docker.compose.oneoff'], 'True');
  assert.equal(one.Config.Labels['com.docker.compose.service'], 'worker');
  assert.match(one.Config.Labels['com.docker.compose.slug'], /^[0-9a-f]{64}$/);
  assert.equal(one.Config.Labels['com.docker.compose.slug'].slice(0, 12), one.Name.slice(-12));
  assert.equal(one.Config.Labels['com.docker.compose.container-number'], undefined);
  assert.ok(['', 'no'].includes(one.HostConfig.RestartPolicy?.Name ?? ''), 'no restart policy for a one-off');
  // ps leaves one-offs out, -a shows them.
  assert.ok(!lines(ok(c(['ps', '--format', '{{.Name}}'])).stdout).some((n) => n.includes('-run-')));
  assert.ok(lines(ok(c(['ps', '-a', '--format', '{{.Name}}'])).stdout).includes(one.Name.slice(1)));
  ok(d.docker(['rm', '-f', id]));

  const hostDir = mkdtempSync(join(dir, 'bind-'));
  const runPort = await freePort();
  const named = ok(c(['run', '-d', '--name', 'shop-job', '-p', `127.0.0.1:${runPort}:8080`, '-v', `${hostDir}:/out`, '--entrypoint', 'sh -c', 'worker',
    'echo from-job > /out/f; mkdir -p /w; echo job-page > /w/index.html; httpd -f -p 8080 -h /w']));
  try {
    assert.equal(json(await d.api('GET', `/containers/${named.stdout.trim()}/json`)).Name, '/shop-job');
    await until(() => existsSync(join(hostDir, 'f')), 'the bind mount write');
    assert.equal(readFileSync(join(hostDir, 'f'), 'utf8'), 'from-job\n');
    let page = '';
    await until(async () => { page = await httpGet('127.0.0.1', runPort).catch(() => ''); return page !== ''; }, 'the one-off\'s published port');
    assert.equal(page, 'job-page\n');
  } finally {
    d.docker(['rm', '-f', 'shop-job']);
  }
  // The service's own ports are not published by run (no --service-ports): the port stays free.
  const web = c(['run', '--rm', '--no-deps', 'web', 'echo', 'no-deps']);
  assert.equal(web.status, 0, web.stderr);
  assert.equal(web.stdout, 'no-deps\n');
  const unknown = c(['run', '--rm', 'nosuch']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no such service: nosuch/);
});

test('run starts the service\'s dependencies first and waits for them to be healthy', async () => {
  const dep = mkdtempSync(join(d.dir, 'dep-'));
  writeProject(dep, {
    'compose.yaml': [
      'services:',
      '  cache:',
      '    image: busybox',
      `    command: sh -c "trap 'exit 0' TERM; sleep 1; touch /tmp/ok; while true; do sleep 0.2; done"`,
      '    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, retries: 30}',
      '  app:',
      '    image: busybox',
      '    depends_on: {cache: {condition: service_healthy}}',
      '',
    ].join('\n'),
  });
  const cc = composeCli(d, dep, 'deps');
  try {
    const r = cc(['run', '--rm', 'app', 'nslookup', 'cache']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Name:\s+cache/);
    assert.match(r.stderr, /Container deps-cache-1 +Started/);
    assert.match(r.stderr, /Container deps-cache-1 +Healthy/);
    assert.equal(json(await d.api('GET', '/containers/deps-cache-1/json')).State.Health.Status, 'healthy');
    assert.equal(json(await d.api('GET', '/networks/deps_default')).Labels['com.docker.compose.network'], 'default');
  } finally {
    await composeDown(d, dep, 'deps');
  }
});

test('top, images, port, cp', async () => {
  const top = lines(ok(c(['top', 'db'])).stdout);
  assert.match(top[0], /^SERVICE\s+#\s+UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  assert.ok(top.slice(1).every((l) => /^db\s+1\s+root\s+\d+/.test(l)));
  assert.ok(top.some((l) => /httpd -f -p 5432/.test(l)));

  const images = lines(ok(c(['images'])).stdout);
  assert.match(images[0], /^CONTAINER\s+REPOSITORY\s+TAG\s+PLATFORM\s+IMAGE ID\s+SIZE\s+CREATED$/);
  const busybox = json(await d.api('GET', '/images/busybox/json'));
  assert.match(images[1], new RegExp(`^shop-db-1\\s+busybox\\s+latest\\s+linux/amd64\\s+${busybox.Id.slice(7, 19)}\\s`));
  assert.equal(ok(c(['images', '-q'])).stdout, `${busybox.Id.slice(7)}\n`);
  const ij = JSON.parse(ok(c(['images', '--format', 'json', 'web'])).stdout);
  assert.deepEqual(ij.map((i: { ContainerName: string; Repository: string; Tag: string }) => [i.ContainerName, i.Repository, i.Tag]), [['shop-web-1', 'busybox', 'latest']]);

  assert.equal(ok(c(['port', 'web', '80'])).stdout, `127.0.0.1:${port}\n`);
  const noPort = c(['port', 'web', '81']);
  assert.equal(noPort.status, 1);
  assert.match(noPort.stderr, new RegExp(`no port 81/tcp for container shop-web-1: ${port}/tcp`));

  const tmp = mkdtempSync(join(d.dir, 'cp-'));
  writeProject(tmp, { 'in.txt': 'copied-in\n' });
  ok(c(['cp', join(tmp, 'in.txt'), 'worker:/tmp/in.txt']));
  for (const n of [1, 2]) assert.equal(d.docker(['exec', `shop-worker-${n}`, 'cat', '/tmp/in.txt']).stdout, 'copied-in\n', `every worker got it (${n})`);
  ok(c(['cp', 'db:/data/x', join(tmp, 'out.txt')]));
  assert.equal(readFileSync(join(tmp, 'out.txt'), 'utf8'), 'stored\n');
  const between = c(['cp', 'db:/data/x', 'web:/tmp/x']);
  assert.equal(between.status, 1);
  assert.match(between.stderr, /copying between services is not supported/);
});

test('events --json: the project\'s container events as compose prints them; ls; version', async () => {
  const p = composeAsync(d, dir, P, ['events', '--json', 'worker']);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    ok(d.docker(['restart', '-t', '1', 'shop-worker-1']));
    await until(() => /"action":"restart"/.test(p.out.stdout), 'the restart event');
  } finally {
    p.proc.kill();
  }
  const evs = lines(p.out.stdout).map((l) => JSON.parse(l));
  const mine = evs.filter((e) => e.attributes.name === 'shop-worker-1').map((e) => e.action);
  assert.deepEqual(mine.filter((a: string) => ['kill', 'die', 'stop', 'start', 'restart'].includes(a)), ['kill', 'die', 'stop', 'start', 'restart']);
  assert.ok(evs.every((e) => e.type === 'container' && e.service === 'worker'));
  assert.ok(evs.every((e) => !Object.keys(e.attributes).some((k: string) => k.startsWith('com.docker.compose.'))));
  assert.match(evs[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

  const ls = lines(ok(d.berth(['compose', 'ls'])).stdout);
  assert.match(ls[0], /^NAME\s+STATUS\s+CONFIG FILES$/);
  assert.match(ls[1], new RegExp(`^shop\\s+running\\(4\\)\\s+${join(dir, 'compose.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  assert.equal(ok(d.berth(['compose', 'ls', '-q'])).stdout, 'shop\n');
  assert.deepEqual(JSON.parse(ok(d.berth(['compose', 'ls', '--format', 'json'])).stdout), [{ Name: 'shop', Status: 'running(4)', ConfigFiles: join(dir, 'compose.yaml') }]);
  assert.equal(ok(d.berth(['compose', 'ls', '--filter', 'name=^nomatch$'])).stdout.split('\n').length, 2);
  assert.match(ok(d.berth(['compose', 'version'])).stdout, /^Docker Compose version v2\.40\.3/);
});

test('wait: the services\' containers\' exits, the last status the command\'s own', async () => {
  const w = mkdtempSync(join(d.dir, 'wait-'));
  writeProject(w, { 'compose.yaml': 'services:\n  job:\n    image: busybox\n    command: sh -c "sleep 1; exit 5"\n' });
  try {
    await composeUp(d, w, 'waitp');
    const r = composeCli(d, w, 'waitp')(['wait', 'job']);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stdout, /^container "[0-9a-f]{64}" exited with status code 5\n$/);
    // --down-project: once they have exited, the project is taken down (compose's Down by name).
    await composeUp(d, w, 'waitp');
    const down = composeCli(d, w, 'waitp')(['wait', '--down-project', 'job']);
    assert.equal(down.status, 5, down.stderr);
    assert.match(down.stderr, /Container waitp-job-1 +Removed/);
    const label = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=waitp'] }));
    assert.deepEqual(json(await d.api('GET', `/containers/json?all=1&filters=${label}`)), []);
    assert.deepEqual(json(await d.api('GET', `/networks?filters=${label}`)), []);
    const none = d.berth(['compose', '-p', 'nothing-here', 'wait', 'x']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no containers for project "nothing-here"/);
  } finally {
    await composeDown(d, w, 'waitp');
  }
});

test('build: services with a build section, in parallel after their dependencies, tagged <project>-<service>, compose\'s labels, --build-arg, --no-cache, -q, dockerfile_inline', async () => {
  const b = mkdtempSync(join(d.dir, 'build-'));
  writeProject(b, {
    'compose.yaml': [
      'services:',
      '  api:',
      '    build:',
      '      context: ./api',
      '      args: {GREETING: hello}',
      '      labels: {tier: backend}',
      '  front:',
      '    build:',
      '      context: ./front',
      '      dockerfile: web.Dockerfile',
      '    image: shop/front:dev',
      '    depends_on: [api]',
      '  inline:',
      '    build:',
      '      context: ./front',
      '      dockerfile_inline: |',
      '        FROM busybox',
      '        RUN echo inline > /inline.txt',
      '  plain:',
      '    image: busybox',
      '',
    ].join('\n'),
    'api/Dockerfile': 'FROM busybox\nARG GREETING=unset\nARG EXTRA=none\nRUN echo "$GREETING $EXTRA" > /greeting\n',
    'api/.dockerignore': 'secret.txt\n',
    'api/secret.txt': 'secret\n',
    'front/web.Dockerfile': 'FROM busybox\nCOPY page.html /page.html\n',
    'front/page.html': 'front-page\n',
  });
  const cb = composeCli(d, b, 'bp');
  try {
    const r = cb(['build', '--build-arg', 'EXTRA=x']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Successfully tagged bp-api:latest/);
    assert.match(r.stdout, /Successfully tagged shop\/front:dev/);
    // compose's plain writer: ID, an empty Text, then the StatusText.
    assert.match(r.stderr, /Service api  Building/);
    assert.match(r.stderr, /Service front  Built/);
    // front depends on api: api's build is over before front's begins.
    assert.ok(r.stderr.indexOf('Service api  Built') < r.stderr.indexOf('Service front  Building'), r.stderr);
    const api = json(await d.api('GET', '/images/bp-api/json'));
    assert.deepEqual(api.Config.Labels, { tier: 'backend', 'com.docker.compose.project': 'bp', 'com.docker.compose.service': 'api', 'com.docker.compose.version': '2.40.3', 'com.docker.compose.image.builder': 'classic' });
    assert.equal(ok(d.docker(['run', '--rm', 'bp-api', 'cat', '/greeting'])).stdout, 'hello x\n');
    assert.notEqual(d.docker(['run', '--rm', 'bp-api', 'test', '-e', '/secret.txt']).status, 0, '.dockerignore applied');
    assert.equal(ok(d.docker(['run', '--rm', 'shop/front:dev', 'cat', '/page.html'])).stdout, 'front-page\n');
    assert.equal(ok(d.docker(['run', '--rm', 'bp-inline', 'cat', '/inline.txt'])).stdout, 'inline\n');
    assert.equal((await d.api('GET', '/images/bp-plain/json')).status, 404, 'no build section, nothing built');
    // Again: the cache is used; with --no-cache it is not. -q prints nothing on stdout.
    assert.match(ok(cb(['build', '--build-arg', 'EXTRA=x', 'api'])).stdout, /Using cache/);
    const fresh = ok(cb(['build', '--no-cache', '-q', 'api']));
    assert.equal(fresh.stdout, '');
    assert.notEqual(json(await d.api('GET', '/images/bp-api/json')).Id, api.Id);
    const broken = mkdtempSync(join(d.dir, 'broken-'));
    writeProject(broken, { 'compose.yaml': 'services:\n  x:\n    build: .\n', Dockerfile: 'FROM busybox\nRUN exit 3\n' });
    const fail = composeCli(d, broken, 'broken')(['build']);
    assert.equal(fail.status, 3, fail.stderr);
    assert.match(fail.stderr, /returned a non-zero code: 3/);
  } finally {
    for (const i of ['bp-api', 'shop/front:dev', 'bp-inline']) d.docker(['rmi', '-f', i]);
  }
});

test('push, pull (--ignore-pull-failures, -q) against a registry on loopback', async () => {
  const regRoot = mkdtempSync(join(tmpdir(), 'berth-reg-'));
  const regPort = await freePort();
  const reg: ChildProcess = spawn(process.execPath, ['--', BERTH, 'registry', 'serve', '--addr', `127.0.0.1:${regPort}`, '--root', regRoot], { stdio: 'ignore' });
  const host = `127.0.0.1:${regPort}`;
  const r = mkdtempSync(join(d.dir, 'reg-'));
  writeProject(r, {
    'compose.yaml': [
      'services:',
      '  app:',
      '    build: ./app',
      `    image: ${host}/rp/app:1`,
      '  missing:',
      `    image: ${host}/rp/missing:1`,
      '  local:',
      '    image: busybox',
      '    pull_policy: missing',
      '',
    ].join('\n'),
    'app/Dockerfile': 'FROM busybox\nRUN echo pushed > /pushed.txt\n',
  });
  const cr = composeCli(d, r, 'rp');
  try {
    await until(() => new Promise<boolean>((res) => {
      const s = net.connect(regPort, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    }), 'the registry', 20_000);
    ok(cr(['build', 'app']));
    const pushed = ok(cr(['push']));
    assert.match(pushed.stderr, /missing Skipped/);
    const before = json(await d.api('GET', `/images/${encodeURIComponent(`${host}/rp/app:1`)}/json`));
    ok(d.docker(['rmi', `${host}/rp/app:1`]));
    const failing = cr(['pull', 'app', 'missing']);
    assert.notEqual(failing.status, 0, failing.stderr);
    const pulled = ok(cr(['pull', '--ignore-pull-failures']));
    assert.match(pulled.stderr, /app Pulled/);
    assert.match(pulled.stderr, /local Skipped - Image is already present locally/);
    assert.equal(json(await d.api('GET', `/images/${encodeURIComponent(`${host}/rp/app:1`)}/json`)).Id, before.Id);
    assert.equal(ok(cr(['pull', '-q', 'app'])).stderr, '');
  } finally {
    reg.kill();
    d.docker(['rmi', '-f', `${host}/rp/app:1`]);
    rmSync(regRoot, { recursive: true, force: true });
  }
});

test('bad input: a project name that is not normalised, an unknown service, compose\'s messages', () => {
  const bad = d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', 'Bad Name', 'ps']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid project name "Bad Name"/);
  const noFile = d.berth(['compose', '-f', join(dir, 'nope.yaml'), 'ps']);
  assert.equal(noFile.status, 1);
  assert.match(noFile.stderr, /no such file or directory/);
  const port = c(['port', 'web', 'x']);
  assert.equal(port.status, 1);
  assert.match(port.stderr, /invalid syntax/);
});
