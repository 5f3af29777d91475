// `berth compose up`/`down` against a real berthd, the seeds' example first: a web app (busybox
// httpd), a database (a named volume) and a cache. The web container reaches the others by
// service name, its published port answers on loopback, `down` removes what `up` made and the
// data volume survives unless -v. Then what makes `up` idempotent: an unchanged project is left
// running, a changed service is recreated (keeping its anonymous volume), `--force-recreate`,
// `--no-recreate`, orphans. Names and labels are compose v2's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, freePort, httpGet, type Daemon, type RunOut } from './harness.ts';

let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-up-'));
});
after(async () => {
  // Whatever a failed test left behind goes with the daemon.
  await d?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

/** A free loopback port (bound and released: the daemon publishes it next). */

function project(name: string, yaml: string, files: Record<string, string> = {}): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'compose.yaml'), yaml);
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(join(p, f, '..'), { recursive: true });
    writeFileSync(join(p, f), c);
  }
  return p;
}

const compose = (p: string, args: string[], o: { env?: Record<string, string>; timeout?: number } = {}) =>
  d.berth(['compose', '--project-directory', p, '-f', join(p, 'compose.yaml'), ...args], { timeout: o.timeout ?? 120_000, env: o.env });

async function containers(projectName: string): Promise<any[]> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${projectName}`] }));
  return (await d.api('GET', `/containers/json?all=1&filters=${f}`)).json();
}

async function inspect(id: string): Promise<any> {
  return (await d.api('GET', `/containers/${id}/json`)).json();
}

function exec(container: string, cmd: string): RunOut {
  return d.berth(['exec', container, 'sh', '-c', cmd], { timeout: 30_000 });
}

async function getRetry(port: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const b = await httpGet('127.0.0.1', port).catch(() => '');
    if (b) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
  return httpGet('127.0.0.1', port);
}

const SEED = (port: number) => `
services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:${port}:80"]
    environment:
      DB_HOST: db
    depends_on: [db, cache]
  db:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /data && echo stored > /data/row && exec nc -ll -p 5432 -e echo db-answer"]
    volumes: [data:/data]
  cache:
    image: busybox
    init: true
    command: ["sleep", "600"]
volumes:
  data:
`;

test('the seeds example: up -d, names and labels, web reaches db by name, the port answers, down keeps the volume, down -v removes it', async () => {
  const port = await freePort();
  const p = project('seed', SEED(port));
  const up = ok(compose(p, ['up', '-d']));
  // Plain progress on stderr, compose's lines.
  for (const line of [' Network seed_default  Creating', ' Network seed_default  Created', ' Volume seed_data  Creating', ' Volume seed_data  Created',
    ' Container seed-db-1  Created', ' Container seed-web-1  Created', ' Container seed-cache-1  Started', ' Container seed-web-1  Started']) {
    assert.ok(up.stderr.includes(`${line}\n`), `missing ${JSON.stringify(line)} in:\n${up.stderr}`);
  }
  assert.equal(up.stdout, '');
  // web starts after db and cache.
  assert.ok(up.stderr.indexOf(' Container seed-web-1  Starting') > up.stderr.indexOf(' Container seed-db-1  Started'), up.stderr);

  const cs = await containers('seed');
  assert.deepEqual(cs.map((c) => c.Names[0]).sort(), ['/seed-cache-1', '/seed-db-1', '/seed-web-1']);
  const web = await inspect('seed-web-1');
  const L = web.Config.Labels;
  assert.equal(L['com.docker.compose.project'], 'seed');
  assert.equal(L['com.docker.compose.service'], 'web');
  assert.equal(L['com.docker.compose.container-number'], '1');
  assert.equal(L['com.docker.compose.oneoff'], 'False');
  assert.match(L['com.docker.compose.config-hash'], /^[0-9a-f]{64}$/);
  assert.equal(L['com.docker.compose.depends_on'], 'cache:service_started:false,db:service_started:false');
  assert.match(L['com.docker.compose.image'], /^sha256:[0-9a-f]{64}$/);
  assert.equal(L['com.docker.compose.project.working_dir'], p);
  assert.equal(L['com.docker.compose.project.config_files'], join(p, 'compose.yaml'));
  assert.equal(L['com.docker.compose.version'], '2.40.3');
  // The hash is the one `config --hash` prints.
  const hashes = ok(compose(p, ['config', '--hash', 'web'])).stdout;
  assert.equal(hashes, `web ${L['com.docker.compose.config-hash']}\n`);
  // Network and volume: compose's names and labels.
  const n = (await d.api('GET', '/networks/seed_default')).json();
  assert.equal(n.Labels['com.docker.compose.network'], 'default');
  assert.equal(n.Labels['com.docker.compose.project'], 'seed');
  assert.equal(n.Labels['com.docker.compose.version'], '2.40.3');
  const v = (await d.api('GET', '/volumes/seed_data')).json();
  assert.equal(v.Labels['com.docker.compose.volume'], 'data');
  assert.equal(v.Labels['com.docker.compose.project'], 'seed');
  // Aliases: the container name and the service name.
  const ep = web.NetworkSettings.Networks.seed_default;
  assert.ok(ep, JSON.stringify(web.NetworkSettings));
  for (const a of ['seed-web-1', 'web']) assert.ok((ep.Aliases ?? []).includes(a) || (ep.DNSNames ?? []).includes(a), JSON.stringify(ep));
  assert.deepEqual(web.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  assert.ok(web.Config.Env.includes('DB_HOST=db'));

  // web reaches db and cache by service name, and db by its container name.
  const dbAddr = (await inspect('seed-db-1')).NetworkSettings.Networks.seed_default.IPAddress;
  const look = exec('seed-web-1', 'nslookup db; nslookup cache; nslookup seed-db-1');
  assert.equal(look.status, 0, look.stdout + look.stderr);
  assert.ok(look.stdout.split(dbAddr).length - 1 >= 2, look.stdout);
  const talk = exec('seed-web-1', 'for i in 1 2 3 4 5 6 7 8 9 10; do r=$(nc -w 2 db 5432 </dev/null) && [ -n "$r" ] && echo "$r" && break; sleep 0.3; done');
  assert.match(talk.stdout, /db-answer/, talk.stdout + talk.stderr);
  // The published port answers on loopback.
  assert.equal(await getRetry(port), 'hello from web\n');

  // Idempotent: nothing changes on a second up.
  const ids = (await containers('seed')).map((c) => c.Id).sort();
  const again = ok(compose(p, ['up', '-d']));
  for (const c of ['seed-web-1', 'seed-db-1', 'seed-cache-1']) assert.ok(again.stderr.includes(` Container ${c}  Running\n`), again.stderr);
  assert.ok(!/Creat|Recreat/.test(again.stderr), again.stderr);
  assert.deepEqual((await containers('seed')).map((c) => c.Id).sort(), ids);

  // down removes containers and network, keeps the volume.
  const down = ok(compose(p, ['down']));
  for (const line of [' Container seed-web-1  Stopping', ' Container seed-web-1  Removed', ' Container seed-db-1  Removed', ' Network seed_default  Removed']) {
    assert.ok(down.stderr.includes(`${line}\n`), `missing ${JSON.stringify(line)} in:\n${down.stderr}`);
  }
  assert.ok(down.stderr.indexOf('Container seed-web-1  Removed') < down.stderr.indexOf('Container seed-db-1  Stopping'), down.stderr);
  assert.deepEqual(await containers('seed'), []);
  assert.equal((await d.api('GET', '/networks/seed_default')).status, 404);
  assert.equal((await d.api('GET', '/volumes/seed_data')).status, 200);

  // Up again: the data is still there.
  ok(compose(p, ['up', '-d', 'db']));
  assert.equal(exec('seed-db-1', 'cat /data/row').stdout, 'stored\n');
  // down -v takes the volume too.
  const downV = ok(compose(p, ['down', '-v']));
  assert.ok(downV.stderr.includes(' Volume seed_data  Removed\n'), downV.stderr);
  assert.equal((await d.api('GET', '/volumes/seed_data')).status, 404);
});

test('down of a project that does not exist: compose\'s warning, exit 0; an unknown service is refused', async () => {
  const r = ok(d.berth(['compose', '-p', 'nothere', 'down']));
  assert.match(r.stderr, /Warning: No resource found to remove for project \\?"nothere\\?"\./);
  const p = project('unknown', 'services:\n  a:\n    image: busybox\n    command: ["sleep", "60"]\n');
  const bad = compose(p, ['up', '-d', 'nope']);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'no such service: nope\n');
  assert.deepEqual(await containers('unknown'), []);
  // A missing image is pulled (here from a registry that refuses: the pull fails, as compose says).
  const pl = project('pull', 'services:\n  app:\n    image: 127.0.0.1:1/none:1\n  never:\n    image: nothere:1\n    pull_policy: never\n');
  const r1 = compose(pl, ['up', '-d', 'app']);
  assert.equal(r1.status, 1);
  assert.ok(r1.stderr.startsWith(' app Pulling \n app Error '), r1.stderr);
  assert.match(r1.stderr, /\nError response from daemon: .*127\.0\.0\.1:1.*\n$/);
  const r2 = compose(pl, ['up', '-d', 'never']);
  assert.equal(r2.status, 1);
  assert.ok(r2.stderr.includes(' Container pull-never-1  Error response from daemon: No such image: nothere:1\n'), r2.stderr);
  assert.equal(compose(pl, ['--dry-run', 'up', '-d']).stderr, '--dry-run is not supported by berth compose yet\n');
  ok(compose(pl, ['down']));
});

test('a service with build: built with the legacy builder when missing (or with --build), tagged <project>-<service>, removed by down --rmi local', async () => {
  const p = project('bp', 'services:\n  web:\n    build: .\n    init: true\n    command: ["sleep", "600"]\n', {
    Dockerfile: 'FROM busybox\nRUN echo built > /built\n',
    '.dockerignore': 'ignored.txt\n',
    'ignored.txt': 'secret',
  });
  const r = ok(compose(p, ['up', '-d']));
  assert.ok(r.stderr.includes(' Service web  Building\n') && r.stderr.includes(' Service web  Built\n'), r.stderr);
  assert.match(r.stdout, /Step 1\/\d+ : FROM busybox/);
  const img = (await d.api('GET', '/images/bp-web/json')).json();
  assert.equal(img.Config.Labels['com.docker.compose.project'], 'bp');
  assert.equal(img.Config.Labels['com.docker.compose.service'], 'web');
  assert.equal(img.Config.Labels['com.docker.compose.image.builder'], 'classic');
  const c = await inspect('bp-web-1');
  assert.equal(c.Config.Image, 'bp-web');
  assert.equal(c.Config.Labels['com.docker.compose.image'], img.Id);
  assert.equal(exec('bp-web-1', 'cat /built').stdout, 'built\n');
  // Built once: a second up does not build; --build does, and the new image recreates the container.
  assert.ok(!ok(compose(p, ['up', '-d'])).stderr.includes('Building'));
  writeFileSync(join(p, 'Dockerfile'), 'FROM busybox\nRUN echo rebuilt > /built\n');
  const b = ok(compose(p, ['up', '-d', '--build']));
  assert.ok(b.stderr.includes(' Service web  Built\n') && b.stderr.includes(' Container bp-web-1  Recreated\n'), b.stderr);
  assert.equal(exec('bp-web-1', 'cat /built').stdout, 'rebuilt\n');
  assert.equal(compose(p, ['up', '-d', '--build', '--no-build']).stderr, '--build and --no-build are incompatible\n');
  const down = ok(compose(p, ['down', '--rmi', 'local', '-t', '1']));
  assert.ok(down.stderr.includes(' Image bp-web:latest  Removed\n'), down.stderr);
  assert.equal((await d.api('GET', '/images/bp-web/json')).status, 404);
  assert.equal(compose(p, ['down', '--rmi', 'some']).stderr, 'invalid value for --rmi: "some"\n');
});
