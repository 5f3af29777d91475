// What `up` does to a project that is already up (compose v2's convergence) on a real berthd:
// a changed service is recreated under a temporary name and renamed, keeping its anonymous
// volume (unless -V); --force-recreate / --no-recreate; a new image ID recreates; a service
// sharing another's network namespace follows it; replicas scale up and down keeping the low
// numbers; orphans are reported, then removed with --remove-orphans.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, type RunOut } from './harness.ts';
import { composeFixture } from '../compat/compose-util.ts';

const fx = composeFixture('rc');
const { write, compose } = fx;
let d: Daemon;
before(async () => { d = await fx.ready; });

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

async function list(project: string): Promise<Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> }>> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  return (await d.api('GET', `/containers/json?all=1&filters=${f}`)).json();
}

const names = async (project: string) => (await list(project)).map((c) => c.Names[0].slice(1)).sort();
const idOf = async (name: string) => (await d.api('GET', `/containers/${name}/json`)).json().Id as string;
const exec = (c: string, cmd: string) => d.berth(['exec', c, 'sh', '-c', cmd], { timeout: 30_000 });

const APP = (env: string) => `
services:
  app:
    image: busybox
    init: true
    command: ["sleep", "600"]
    environment: { VERSION: "${env}" }
    volumes: [/anon]
  side:
    image: busybox
    init: true
    command: ["sleep", "600"]
    network_mode: "service:app"
    volumes_from: [app]
`;

test('a changed service is recreated (temporary name, rename), its anonymous volume carried over; its network_mode dependant follows', async () => {
  const p = write('rc', APP('1'));
  ok(compose(p, ['up', '-d']));
  ok(exec('rc-app-1', 'echo kept > /anon/file'));
  const app1 = await idOf('rc-app-1');
  const side1 = await idOf('rc-side-1');

  const same = ok(compose(p, ['up', '-d']));
  assert.ok(same.stderr.includes(' Container rc-app-1  Running\n') && same.stderr.includes(' Container rc-side-1  Running\n'), same.stderr);

  writeFileSync(join(p, 'compose.yaml'), APP('2'));
  const r = ok(compose(p, ['up', '-d']));
  for (const line of [' Container rc-app-1  Recreate', ' Container rc-app-1  Recreated', ' Container rc-side-1  Recreate', ' Container rc-side-1  Recreated', ' Container rc-app-1  Started', ' Container rc-side-1  Started']) {
    assert.ok(r.stderr.includes(`${line}\n`), `missing ${JSON.stringify(line)} in:\n${r.stderr}`);
  }
  const app2 = await idOf('rc-app-1');
  assert.notEqual(app2, app1);
  assert.notEqual(await idOf('rc-side-1'), side1, 'service:app follows app');
  assert.deepEqual(await names('rc'), ['rc-app-1', 'rc-side-1'], 'no temporary name is left');
  const ins = (await d.api('GET', '/containers/rc-app-1/json')).json();
  assert.equal(ins.Config.Labels['com.docker.compose.replace'], 'app-1');
  assert.ok(ins.Config.Env.includes('VERSION=2'));
  assert.equal((await d.api('GET', `/containers/${app1}/json`)).status, 404, 'the old container is gone');
  assert.equal(exec('rc-app-1', 'cat /anon/file').stdout, 'kept\n', 'the anonymous volume came along');
  const side = (await d.api('GET', '/containers/rc-side-1/json')).json();
  assert.equal(side.HostConfig.NetworkMode, `container:${app2}`);
  assert.deepEqual(side.HostConfig.VolumesFrom, [app2]);
  assert.equal(exec('rc-side-1', 'cat /anon/file').stdout, 'kept\n', 'volumes_from: app');

  // --force-recreate: recreated though unchanged; -V: with a fresh anonymous volume.
  const f = ok(compose(p, ['up', '-d', '--force-recreate', 'app']));
  assert.ok(f.stderr.includes(' Container rc-app-1  Recreated\n'), f.stderr);
  assert.equal(exec('rc-app-1', 'cat /anon/file').stdout, 'kept\n');
  ok(compose(p, ['up', '-d', '-V', 'app']));
  assert.notEqual(exec('rc-app-1', 'cat /anon/file 2>/dev/null').stdout, 'kept\n', '-V renews the anonymous volume');
  // --no-recreate: a change is left alone.
  writeFileSync(join(p, 'compose.yaml'), APP('3'));
  const before3 = await idOf('rc-app-1');
  const n = ok(compose(p, ['up', '-d', '--no-recreate']));
  assert.ok(!n.stderr.includes('Recreate'), n.stderr);
  assert.equal(await idOf('rc-app-1'), before3);
  assert.equal(compose(p, ['up', '-d', '--no-recreate', '--force-recreate']).stderr, '--force-recreate and --no-recreate are incompatible\n');
  ok(compose(p, ['down', '-t', '1']));
  assert.deepEqual(await list('rc'), []);
});

test('a new image ID under the same name recreates the container', async () => {
  const p = write('img', 'services:\n  app:\n    image: appimg:1\n    init: true\n    command: ["sleep", "600"]\n');
  ok(d.berth(['tag', 'busybox', 'appimg:1']));
  ok(compose(p, ['up', '-d']));
  const first = (await d.api('GET', '/containers/img-app-1/json')).json();
  assert.equal(first.Config.Labels['com.docker.compose.image'], first.Image);
  // Another image under the same tag.
  ok(d.berth(['run', '--name', 'imgsrc', 'busybox', 'touch', '/marker']));
  ok(d.berth(['commit', 'imgsrc', 'appimg:1']));
  const r = ok(compose(p, ['up', '-d']));
  assert.ok(r.stderr.includes(' Container img-app-1  Recreated\n'), r.stderr);
  const second = (await d.api('GET', '/containers/img-app-1/json')).json();
  assert.notEqual(second.Image, first.Image);
  assert.equal(second.Config.Labels['com.docker.compose.image'], second.Image);
  ok(compose(p, ['down', '-t', '1']));
  ok(d.berth(['rm', 'imgsrc']));
});

test('scale: --scale and `compose scale` add and remove replicas, keeping the lowest numbers', async () => {
  const p = write('sc', 'services:\n  web:\n    image: busybox\n    init: true\n    command: ["sleep", "600"]\n');
  const up = ok(compose(p, ['up', '-d', '--scale', 'web=3']));
  assert.ok(up.stderr.includes(' Container sc-web-3  Started\n'), up.stderr);
  assert.deepEqual(await names('sc'), ['sc-web-1', 'sc-web-2', 'sc-web-3']);
  const down = ok(compose(p, ['scale', 'web=1']));
  assert.ok(down.stderr.includes(' Container sc-web-3  Removed\n') && down.stderr.includes(' Container sc-web-2  Removed\n'), down.stderr);
  assert.deepEqual(await names('sc'), ['sc-web-1']);
  ok(compose(p, ['scale', 'web=2']));
  assert.deepEqual(await names('sc'), ['sc-web-1', 'sc-web-2']);
  assert.ok((await list('sc')).every((c) => c.State === 'running'));
  // Bad specifiers and services.
  assert.equal(compose(p, ['scale', 'web']).stderr, 'invalid scale specifier: web\n');
  assert.equal(compose(p, ['scale', 'web=x']).stderr, "invalid scale specifier: can't parse replica value as int: web=x\n");
  assert.equal(compose(p, ['scale', 'nope=2']).stderr, 'no such service: nope\n');
  assert.equal(compose(p, ['up', '-d', '--scale', 'web']).stderr, 'invalid --scale option "web". Should be SERVICE=NUM\n');
  ok(compose(p, ['down', '-t', '1']));
});

test('orphans: a service gone from the file is reported, then removed with --remove-orphans', async () => {
  const p = write('orph', 'services:\n  a:\n    image: busybox\n    init: true\n    command: ["sleep", "600"]\n  old:\n    image: busybox\n    init: true\n    command: ["sleep", "600"]\n');
  ok(compose(p, ['up', '-d']));
  writeFileSync(join(p, 'compose.yaml'), 'services:\n  a:\n    image: busybox\n    init: true\n    command: ["sleep", "600"]\n');
  const r = ok(compose(p, ['up', '-d']));
  assert.match(r.stderr, /Found orphan containers \(\[orph-old-1\]\) for this project\. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up\./);
  assert.deepEqual(await names('orph'), ['orph-a-1', 'orph-old-1']);
  const rr = ok(compose(p, ['up', '-d', '--remove-orphans']));
  assert.ok(rr.stderr.includes(' Container orph-old-1  Removed\n'), rr.stderr);
  assert.deepEqual(await names('orph'), ['orph-a-1']);
  // down --remove-orphans takes what the file no longer names too.
  writeFileSync(join(p, 'compose.yaml'), 'services:\n  b:\n    image: busybox\n    command: ["true"]\n');
  ok(compose(p, ['down', '--remove-orphans', '-t', '1']));
  assert.deepEqual(await list('orph'), []);
});

test('depends_on restart: true — a dependant is stopped while its dependency is recreated, and started again after it', async () => {
  const p = write('rs', `
services:
  db:
    image: busybox
    init: true
    command: ["sleep", "600"]
    environment: { V: "\${V:-1}" }
  web:
    image: busybox
    init: true
    command: ["sleep", "600"]
    depends_on: { db: { condition: service_started, restart: true } }
`);
  ok(compose(p, ['up', '-d']));
  const web1 = await idOf('rs-web-1');
  const r = ok(d.berth(['compose', '--project-directory', p, 'up', '-d'], { env: { V: '2' } }));
  const at = (line: string) => { const i = r.stderr.indexOf(`${line}\n`); assert.ok(i >= 0, `missing ${line} in:\n${r.stderr}`); return i; };
  assert.ok(at(' Container rs-web-1  Stopped') < at(' Container rs-db-1  Recreated'));
  assert.ok(at(' Container rs-db-1  Started') < at(' Container rs-web-1  Started'));
  assert.equal(await idOf('rs-web-1'), web1, 'the dependant is restarted, not recreated');
  assert.equal((await d.api('GET', '/containers/rs-web-1/json')).json().State.Status, 'running');
  ok(compose(p, ['down', '-t', '1']));
});
