// `berth stack` end to end through the built CLI (dist/berth.cjs) against test/tools/stack-recorder.mjs,
// a stateful fake swarm manager on a unix socket (each test starts its own): the requests the
// verbs send, their output and exit codes, as docker CLI 28 gives them against the same recorder.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = (() => {
  let dir = resolve(new URL('.', import.meta.url).pathname);
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = resolve(dir, '..');
  return dir;
})();
const BERTH = join(ROOT, 'dist', 'berth.cjs');
const RECORDER = join(ROOT, 'test', 'tools', 'stack-recorder.mjs');

const COMPOSE = `services:
  web:
    image: nginx:1.27
    build: ./web
    ports: ["8080:80"]
    deploy:
      replicas: 2
  worker:
    image: busybox
    command: sleep 1000
    networks: [back]
networks:
  back: {}
`;

interface Rec { dir: string; sock: string; log: string; proc: ChildProcess }
let rec: Rec | undefined;

async function startRecorder(env: Record<string, string> = {}): Promise<Rec> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-stack-cli-test-'));
  const sock = join(dir, 'd.sock');
  const log = join(dir, 'log.jsonl');
  writeFileSync(log, '');
  const proc = spawn(process.execPath, [RECORDER, sock, log], { env: { ...process.env, ...env }, stdio: 'ignore' });
  rec = { dir, sock, log, proc };
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(existsSync(sock), 'recorder did not start');
  writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
  return rec;
}

afterEach(() => {
  if (!rec) return;
  rec.proc.kill();
  rmSync(rec.dir, { recursive: true, force: true });
  rec = undefined;
});

interface Run { code: number; stdout: string; stderr: string }
function berth(r: Rec, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [BERTH, ...args], {
      cwd: r.dir, env: { PATH: process.env.PATH ?? '/bin', HOME: r.dir, DOCKER_HOST: `unix://${r.sock}`, ...o.env }, timeout: 60_000,
    }, (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    child.stdin!.end(o.input ?? '');
  });
}

interface Req { method: string; url: string; body?: any; auth?: string }
function requests(r: Rec): Req[] {
  return readFileSync(r.log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const writes = (r: Rec) => requests(r).filter((x) => x.method === 'POST' || x.method === 'DELETE').map((x) => `${x.method} ${x.url.replace(/^\/v1\.\d+/, '')}`);
const clear = (r: Rec) => writeFileSync(r.log, '');
const NOTICE = 'Since --detach=false was not specified, tasks will be created in the background.\nIn a future release, --detach=false will become the default.\n';

test('stack deploy: networks then services created, docker\'s lines on stdout, its warnings and notice on stderr', async () => {
  const r = await startRecorder();
  const d = await berth(r, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, 'Creating network shop_back\nCreating network shop_default\nCreating service shop_web\nCreating service shop_worker\n');
  assert.equal(d.stderr, `Ignoring unsupported options: build\n\n${NOTICE}`);
  assert.deepEqual(writes(r), ['POST /networks/create', 'POST /networks/create', 'POST /services/create', 'POST /services/create']);
  const reqs = requests(r);
  assert.ok(reqs.some((x) => x.url.endsWith('/info')), 'checks the node is a manager');
  const nets = reqs.filter((x) => x.url.endsWith('/networks/create')).map((x) => x.body);
  assert.deepEqual(nets.map((n) => [n.Name, n.Driver, n.Labels['com.docker.stack.namespace']]), [['shop_back', 'overlay', 'shop'], ['shop_default', 'overlay', 'shop']]);
  const worker = reqs.find((x) => x.body?.Name === 'shop_worker')!.body;
  assert.deepEqual(worker.TaskTemplate.ContainerSpec.Args, ['sleep', '1000']);
  assert.equal(worker.TaskTemplate.ContainerSpec.Image, 'busybox:latest');
  assert.deepEqual(worker.TaskTemplate.Networks, [{ Target: 'shop_back', Aliases: ['worker'] }]);
  assert.ok(!reqs.some((x) => x.url.includes('/distribution/')), '--resolve-image never asks no registry');
});

test('stack deploy again: nothing changed, nothing posted; after an edit only the changed service is updated, at its version; --prune removes the dropped one', async () => {
  const r = await startRecorder();
  assert.equal((await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop'])).code, 0);
  clear(r);
  const same = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop']);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.stdout, '');
  assert.equal(same.stderr, 'Ignoring unsupported options: build\n\n', 'no detach notice with -d');
  assert.deepEqual(writes(r), []);

  writeFileSync(join(r.dir, 'compose.yaml'), COMPOSE.replace('sleep 1000', 'sleep 2000'));
  clear(r);
  const edit = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop']);
  assert.equal(edit.code, 0, edit.stderr);
  assert.match(edit.stdout, /^Updating service shop_worker \(id: svc\w+\)\n$/);
  const up = requests(r).filter((x) => x.method === 'POST');
  assert.equal(up.length, 1);
  assert.match(up[0].url, /^\/v1\.47\/services\/svc\w+\/update\?version=1$/);
  assert.deepEqual(up[0].body.TaskTemplate.ContainerSpec.Args, ['sleep', '2000']);

  writeFileSync(join(r.dir, 'compose.yaml'), COMPOSE.replace(/ {2}worker:[^]*?networks: \[back\]\n/, ''));
  clear(r);
  const pruned = await berth(r, ['stack', 'deploy', '-d', '--prune', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal(pruned.stdout, 'Removing service shop_worker\n');
  assert.deepEqual(writes(r).map((w) => w.replace(/svc\d{4}\w+/, 'ID')), ['DELETE /services/ID']);
});

test('stack deploy: a daemon that refuses overlay networks — its error passed on, exit 1, no service created', async () => {
  const r = await startRecorder({ STACK_RECORDER_REFUSE_OVERLAY: '1' });
  const d = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop']);
  assert.equal(d.code, 1);
  assert.equal(d.stdout, 'Creating network shop_back\n');
  assert.match(d.stderr, /failed to create network shop_back: Error response from daemon: plugin "overlay" not found\n$/);
  assert.deepEqual(writes(r), ['POST /networks/create']);
});

test('stack deploy: -c - reads stdin; --resolve-image always asks the registry and goes on without it; --with-registry-auth sends X-Registry-Auth; bad input exits 1 before any request', async () => {
  const r = await startRecorder();
  const d = await berth(r, ['stack', 'deploy', '-d', '--with-registry-auth', '-c', '-', 'st'], { input: 'services:\n  one:\n    image: alpine:3.20\n' });
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, 'Creating network st_default\nCreating service st_one\n');
  assert.match(d.stderr, /image alpine:3\.20 could not be accessed on a registry to record\nits digest\./);
  const reqs = requests(r);
  assert.ok(reqs.some((x) => decodeURIComponent(x.url).includes('/distribution/alpine:3.20/json')), JSON.stringify(reqs.map((x) => x.url)));
  const create = reqs.find((x) => x.url.endsWith('/services/create'))!;
  assert.ok(create.auth, 'X-Registry-Auth sent');
  assert.equal(create.body.TaskTemplate.ContainerSpec.Image, 'alpine:3.20');

  clear(r);
  const bad = await berth(r, ['stack', 'deploy', '--resolve-image', 'sometimes', '-c', 'compose.yaml', 'st']);
  assert.deepEqual([bad.code, bad.stderr], [1, 'Invalid option sometimes for flag --resolve-image\n']);
  const none = await berth(r, ['stack', 'deploy', 'st']);
  assert.deepEqual([none.code, none.stderr], [1, 'Specify a Compose file (with --compose-file)\n']);
  assert.deepEqual(requests(r).filter((x) => x.url !== '/_ping'), []);
  writeFileSync(join(r.dir, 'pw'), 'secret\n');
  const sec = await berth(r, ['stack', 'deploy', '-c', '-', 'st'], { input: 'services:\n  one:\n    image: alpine\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw\n    driver: vault\n' });
  assert.deepEqual([sec.code, sec.stderr], [1, 'berth stack deploy: secret drivers and templating are not supported (secrets.pw.driver)\n']);
  assert.deepEqual(writes(r), []);
});

const SECRETS_COMPOSE = `services:
  web:
    image: nginx:1.27
    secrets:
      - pw
      - source: token
        target: tok
        uid: "101"
        gid: "102"
        mode: 0400
    configs:
      - source: appconf
        target: /etc/app.conf
secrets:
  pw:
    file: ./pw.txt
    labels:
      a: b
  token:
    file: ./pw.txt
configs:
  appconf:
    file: ./app.conf
`;

test('stack deploy with secrets and configs: created before the services with docker 28\'s lines and bodies, referenced by ID; a redeploy updates labels silently, a data change fails with the daemon\'s text; rm removes them', async () => {
  const r = await startRecorder();
  writeFileSync(join(r.dir, 'pw.txt'), 's3cret\n');
  writeFileSync(join(r.dir, 'app.conf'), 'listen 80\n');
  writeFileSync(join(r.dir, 'sec.yaml'), SECRETS_COMPOSE);
  const d = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'sec.yaml', 'st']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, 'Creating network st_default\nCreating secret st_pw\nCreating secret st_token\nCreating config st_appconf\nCreating service st_web\n');
  assert.deepEqual(writes(r), ['POST /networks/create', 'POST /secrets/create', 'POST /secrets/create', 'POST /configs/create', 'POST /services/create']);
  const reqs = requests(r);
  // The bodies docker CLI 28.2.2 posted for this file against the same recorder.
  assert.deepEqual(reqs.filter((x) => /\/(secrets|configs)\/create$/.test(x.url)).map((x) => x.body), [
    { Name: 'st_pw', Labels: { a: 'b', 'com.docker.stack.namespace': 'st' }, Data: 'czNjcmV0Cg==' },
    { Name: 'st_token', Labels: { 'com.docker.stack.namespace': 'st' }, Data: 'czNjcmV0Cg==' },
    { Name: 'st_appconf', Labels: { 'com.docker.stack.namespace': 'st' }, Data: 'bGlzdGVuIDgwCg==' },
  ]);
  const c = reqs.find((x) => x.url.endsWith('/services/create'))!.body.TaskTemplate.ContainerSpec;
  assert.deepEqual(c.Secrets, [
    { File: { Name: 'pw', UID: '0', GID: '0', Mode: 0o444 }, SecretID: 'sec0002abcdefghijklmnopqr', SecretName: 'st_pw' },
    { File: { Name: 'tok', UID: '101', GID: '102', Mode: 0o400 }, SecretID: 'sec0003abcdefghijklmnopqr', SecretName: 'st_token' },
  ]);
  assert.deepEqual(c.Configs, [{ File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: 'con0004abcdefghijklmnopqr', ConfigName: 'st_appconf' }]);
  assert.ok(reqs.some((x) => decodeURIComponent(x.url).includes('/secrets?filters={"name":{"st_pw":true,"st_token":true}}')), 'IDs looked up by name, as ParseSecrets');

  // A label edit: each object updated at its version with the whole spec, nothing printed; the service unchanged.
  writeFileSync(join(r.dir, 'sec.yaml'), SECRETS_COMPOSE.replace('a: b', 'a: c'));
  clear(r);
  const again = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'sec.yaml', 'st']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, '');
  assert.deepEqual(writes(r), ['POST /secrets/sec0002abcdefghijklmnopqr/update?version=1', 'POST /secrets/sec0003abcdefghijklmnopqr/update?version=1', 'POST /configs/con0004abcdefghijklmnopqr/update?version=1']);
  assert.deepEqual(requests(r).find((x) => x.url.includes('/secrets/sec0002'))!.body, { Name: 'st_pw', Labels: { a: 'c', 'com.docker.stack.namespace': 'st' }, Data: 'czNjcmV0Cg==' });

  // New data for an existing secret: the manager's refusal, as docker shows it; no service touched.
  writeFileSync(join(r.dir, 'pw.txt'), 'new\n');
  clear(r);
  const changed = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'sec.yaml', 'st']);
  assert.deepEqual([changed.code, changed.stdout], [1, '']);
  assert.match(changed.stderr, /failed to update secret st_pw: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed\n$/);
  assert.ok(!writes(r).some((w) => w.includes('/services/')));

  // An external secret that does not exist: docker's ParseSecrets text, before any service request.
  writeFileSync(join(r.dir, 'ext.yaml'), 'services:\n  api:\n    image: nginx:1.27\n    secrets: [ext]\nsecrets:\n  ext:\n    external: true\n');
  clear(r);
  const ext = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'ext.yaml', 'st']);
  assert.deepEqual([ext.code, ext.stderr], [1, 'service api: secret not found: ext\n']);
  assert.ok(!writes(r).some((w) => w.includes('/services/')));

  // compose's `environment:` source (beyond docker's stack files): the variable's value; unset, refused before any request.
  const envFile = 'services:\n  api:\n    image: nginx:1.27\n    secrets: [tok]\nsecrets:\n  tok:\n    environment: TOKEN\n';
  clear(r);
  const unset = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', '-', 'env'], { input: envFile });
  assert.deepEqual([unset.code, unset.stderr, writes(r)], [1, 'secret env_tok: environment variable TOKEN is not set\n', []]);
  const set = await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', '-', 'env'], { input: envFile, env: { TOKEN: 'abc' } });
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(requests(r).find((x) => x.url.endsWith('/secrets/create'))!.body, { Name: 'env_tok', Labels: { 'com.docker.stack.namespace': 'env' }, Data: 'YWJj' });

  clear(r);
  const rm = await berth(r, ['stack', 'rm', 'st']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, 'Removing service st_web\nRemoving secret st_pw\nRemoving secret st_token\nRemoving config st_appconf\nRemoving network st_default\n');
  assert.deepEqual(writes(r).map((w) => w.replace(/(svc|sec|con|net)\d{4}\w+/, 'ID')), ['DELETE /services/ID', 'DELETE /secrets/ID', 'DELETE /secrets/ID', 'DELETE /configs/ID', 'DELETE /networks/ID']);
});

test('stack ls, services, ps, rm: docker\'s tables, "nothing found" texts and exit codes, rm\'s lines and requests', async () => {
  const r = await startRecorder();
  assert.equal((await berth(r, ['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'shop'])).code, 0);
  assert.equal((await berth(r, ['stack', 'up', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'other'])).code, 0);
  clear(r);

  const ls = await berth(r, ['stack', 'ls']);
  assert.deepEqual([ls.code, ls.stdout], [0, 'NAME      SERVICES\nother     2\nshop      2\n']);
  assert.match(decodeURIComponent(requests(r).find((x) => x.url.includes('/services?'))!.url), /filters=\{"label":\{"com\.docker\.stack\.namespace":true\}\}/);
  assert.equal((await berth(r, ['stack', 'list', '--format', '{{.Name}}:{{.Services}}'])).stdout, 'other:2\nshop:2\n');

  const svcs = await berth(r, ['stack', 'services', 'shop']);
  assert.equal(svcs.code, 0, svcs.stderr);
  const lines = svcs.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  assert.match(lines[1], /^svc\w{9} +shop_web +replicated +0\/2 +nginx:1\.27 +\*:8080->80\/tcp$/);
  assert.match(lines[2], /^svc\w{9} +shop_worker +replicated +0\/1 +busybox:latest *$/);
  assert.equal((await berth(r, ['stack', 'services', '-q', 'shop'])).stdout.split('\n').filter(Boolean).length, 2);
  const noSvcs = await berth(r, ['stack', 'services', 'nope']);
  assert.deepEqual([noSvcs.code, noSvcs.stdout, noSvcs.stderr], [0, '', 'Nothing found in stack: nope\n']);

  const ps = await berth(r, ['stack', 'ps', 'shop']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS\n\w+ +shop_web\.1 +nginx:1\.27 +h1 +Running +Running 5 seconds ago +\n\w+ +shop_worker\.1 +busybox:latest +h1 +Running/);
  assert.ok(requests(r).some((x) => x.url.startsWith('/v1.47/tasks?') && decodeURIComponent(x.url).includes('"com.docker.stack.namespace=shop":true')));
  const noPs = await berth(r, ['stack', 'ps', 'nope']);
  assert.deepEqual([noPs.code, noPs.stdout, noPs.stderr], [1, '', 'nothing found in stack: nope\n']);

  clear(r);
  const rm = await berth(r, ['stack', 'rm', 'shop', 'nope']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, 'Removing service shop_web\nRemoving service shop_worker\nRemoving network shop_back\nRemoving network shop_default\n');
  assert.equal(rm.stderr, 'Nothing found in stack: nope\n');
  assert.deepEqual(writes(r).map((w) => w.replace(/(svc|net)\d{4}\w+/, 'ID')), ['DELETE /services/ID', 'DELETE /services/ID', 'DELETE /networks/ID', 'DELETE /networks/ID']);
  assert.equal((await berth(r, ['stack', 'ls'])).stdout, 'NAME      SERVICES\nother     2\n');
  const wait = await berth(r, ['stack', 'down', '--detach=false', 'other']);
  assert.deepEqual([wait.code, wait.stderr], [1, 'berth stack rm: --detach=false (waiting for the tasks to go) is not supported yet\n'], 'waiting for removal is not implemented: refused, nothing removed');
  assert.equal((await berth(r, ['stack', 'ls'])).stdout, 'NAME      SERVICES\nother     2\n');
});
