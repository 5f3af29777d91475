// The swarm verbs end to end through the built CLI (dist/berth.cjs) against a recording server on
// a unix socket standing in for the daemon's swarm routes (no swarm daemon exists yet): what the
// commands read, the requests they send (method, path, query, body), their output and exit
// codes; plus flag parsing and --help from the spec table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GROUPS } from '../spec.ts';
import { parseCommandArgs, ParseError } from '../args.ts';
import { commandHelp, groupHelp } from '../help.ts';

const ROOT = (() => {
  let dir = resolve(new URL('.', import.meta.url).pathname);
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = resolve(dir, '..');
  return dir;
})();
const BERTH = join(ROOT, 'dist', 'berth.cjs');

const SERVICE = {
  ID: 'svc1', Version: { Index: 10 }, CreatedAt: '', UpdatedAt: '',
  // A 1 s update monitor keeps the converge wait (which lasts that long) short.
  Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } }, Mode: { Replicated: { Replicas: 2 } }, UpdateConfig: { Monitor: 1e9 } },
};
const GLOBAL = { ...SERVICE, ID: 'glob1', Spec: { ...SERVICE.Spec, Name: 'g', Mode: { Global: {} } } };
const NODES: Record<string, unknown> = {
  n1: { ID: 'n1', Version: { Index: 5 }, Spec: { Role: 'worker', Availability: 'active', Labels: { a: '1' } }, Description: { Hostname: 'h1' }, Status: { State: 'ready' }, ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' } },
  n2: { ID: 'n2', Version: { Index: 6 }, Spec: { Role: 'manager', Availability: 'active' }, Description: { Hostname: 'h2' }, Status: { State: 'ready' } },
};
const RUNNING = [1, 2].map((Slot) => ({ ID: `t${Slot}`, ServiceID: 'svc1', Slot, NodeID: 'n1', DesiredState: 'running', Spec: {}, Status: { State: 'running', Timestamp: new Date().toISOString() }, Version: { Index: 1 } }));

let dir: string;
let sock: string;
let server: http.Server;
let seen: Array<{ method: string; path: string; query: string; body?: any }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-swarm-cli-test-'));
  sock = join(dir, 'd.sock');
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      const u = new URL(req.url!, 'http://x');
      const p = u.pathname.replace(/^\/v1\.\d+/, '');
      seen.push({ method: req.method!, path: p, query: u.search, body: text ? JSON.parse(text) : undefined });
      const json = (v: unknown, code = 200) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (p === '/_ping') { res.writeHead(200, { 'Api-Version': '1.47', Swarm: 'active/manager' }); res.end('OK'); return; }
      if (p === '/info') return json({ Swarm: { NodeID: 'n1', ControlAvailable: false, LocalNodeState: 'active' } });
      if (p === '/swarm' && req.method === 'GET') return json({ ID: 'c', Version: { Index: 3 }, Spec: { Name: 'default', EncryptionConfig: { AutoLockManagers: false } }, JoinTokens: { Worker: 'SWMTKN-w', Manager: 'SWMTKN-m' } });
      if (p === '/swarm/init') return json('n1');
      if (p.startsWith('/distribution/')) return json({ message: 'no registry here' }, 500);
      if (p === '/services/create') return json({ ID: 'svc1' });
      if (p === '/services/nosuch') return json({ message: 'service nosuch not found' }, 404);
      if (p === '/services/g') return json(GLOBAL);
      if (p === '/services/svc1/logs') {
        const ctx = 'com.docker.swarm.node.id=n1,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=t1abcdefghijklmnop';
        const frame = (stream: number, text: string) => { const b = Buffer.from(text); const h = Buffer.alloc(8); h[0] = stream; h.writeUInt32BE(b.length, 4); return Buffer.concat([h, b]); };
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
        // A line split across two frames, and one on stderr.
        res.end(Buffer.concat([frame(1, `${ctx} hel`), frame(1, 'lo\n'), frame(2, `${ctx} oops\n`)]));
        return;
      }
      if (p.startsWith('/tasks/')) return json({ ...RUNNING[0], ID: 't1abcdefghijklmnop' });
      if (p.startsWith('/services/') && p.endsWith('/update')) return json({ Warnings: null });
      if (p.startsWith('/services/')) return json(SERVICE);
      if (p === '/tasks') return json(RUNNING);
      if (p === '/nodes') return json(Object.values(NODES));
      if (p.startsWith('/nodes/') && p.endsWith('/update')) return json({});
      if (p.startsWith('/nodes/')) return NODES[p.split('/')[2]] ? json(NODES[p.split('/')[2]]) : json({ message: 'node not found' }, 404);
      if (req.method === 'POST' || req.method === 'DELETE') return json({});
      json({ message: 'page not found' }, 404);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  seen = [];
  return new Promise((resolveRun) => {
    execFile(process.execPath, [BERTH, ...args], { env: { PATH: process.env.PATH ?? '/bin', DOCKER_HOST: `unix://${sock}` }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolveRun({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const posts = () => seen.filter((r) => r.method === 'POST' || r.method === 'DELETE');

test('service create -d: the spec posted, the ID printed; an unreachable registry is docker\'s warning, not a failure', async () => {
  const r = await berth('service', 'create', '-d', '--name', 'web', '--replicas', '3', '-p', '8080:80', 'busybox', 'httpd', '-f');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'svc1\n');
  assert.match(r.stderr, /^image busybox:latest could not be accessed on a registry to record\nits digest\./);
  const [p] = posts();
  assert.equal(p.path, '/services/create');
  assert.deepStrictEqual(p.body.TaskTemplate.ContainerSpec, { Image: 'busybox:latest', Args: ['httpd', '-f'], Init: false, DNSConfig: {} });
  assert.deepStrictEqual(p.body.Mode, { Replicated: { Replicas: 3 } });
});

test('service create without -d waits: non-TTY output is the final progress block', async () => {
  const r = await berth('service', 'create', '--no-resolve-image', 'busybox');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'svc1\noverall progress: 2 out of 2 tasks\n1/2: running   \n2/2: running   \nverify: Service svc1 converged\n');
  assert.ok(seen.some((s) => s.path === '/tasks' && decodeURIComponent(s.query).includes('"_up-to-date":{"true":true}')));
});

test('service update: read, edit, POST with ?version= and registryAuthFrom=spec; --rollback alone sends rollback=previous', async () => {
  let r = await berth('service', 'update', '-d', '--env-add', 'A=1', '--force', 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web\n');
  let [p] = posts();
  assert.equal(`${p.path}${p.query}`, '/services/svc1/update?registryAuthFrom=spec&version=10');
  assert.deepStrictEqual(p.body.TaskTemplate.ContainerSpec.Env, ['A=1']);
  assert.equal(p.body.TaskTemplate.ForceUpdate, 1);
  r = await berth('service', 'update', '-d', '--rollback', 'web');
  [p] = posts();
  assert.equal(`${p.path}${p.query}`, '/services/svc1/update?registryAuthFrom=spec&rollback=previous&version=10');
  r = await berth('service', 'update', '--rollback', '--image', 'x', 'web');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'other flags may not be combined with --rollback\n');
  assert.deepStrictEqual(posts(), []);
});

test('service rollback and scale', async () => {
  let r = await berth('service', 'rollback', '-d', 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(`${posts()[0].path}${posts()[0].query}`, '/services/svc1/update?rollback=previous&version=10');
  r = await berth('service', 'scale', '-d', 'web=5', 'g=2', 'nosuch=1');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'web scaled to 5\n');
  assert.equal(r.stderr, 'g: scale can only be used with replicated or replicated-job mode\nnosuch: Error response from daemon: service nosuch not found\n');
  assert.deepStrictEqual(posts().map((p) => p.body.Mode), [{ Replicated: { Replicas: 5 } }]);
  r = await berth('service', 'scale', 'web=1', 'web');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^invalid scale specifier 'web'\./);
  assert.deepStrictEqual(posts(), []);
});

test('service logs: docker\'s context prefix per line, on stdout and stderr; details asked for', async () => {
  const r = await berth('service', 'logs', 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web.1.t1abcdefghij@h1    | hello\n');
  assert.equal(r.stderr, 'web.1.t1abcdefghij@h1    | oops\n');
  assert.ok(seen.some((s) => s.path === '/services/svc1/logs' && s.query.includes('details=1')));
});

test('service ps: an unknown service is docker\'s "no such service", exit 1', async () => {
  const r = await berth('service', 'ps', 'nosuch');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'no such service: nosuch\n');
});

test('node promote/demote/update: GET then POST /nodes/{id}/update?version=N with the edited spec', async () => {
  let r = await berth('node', 'promote', 'n1', 'n2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Node n1 promoted to a manager in the swarm.\nNode n2 is already a manager.\n');
  assert.deepStrictEqual(posts().map((p) => [`${p.path}${p.query}`, p.body]), [['/nodes/n1/update?version=5', { Role: 'manager', Availability: 'active', Labels: { a: '1' } }]]);
  r = await berth('node', 'demote', 'n2');
  assert.equal(r.stdout, 'Manager n2 demoted in the swarm.\n');
  assert.deepStrictEqual(posts()[0].body, { Role: 'worker', Availability: 'active' });
  r = await berth('node', 'update', '--availability', 'drain', '--label-add', 'b=2', '--label-rm', 'a', 'self');
  assert.equal(r.code, 0, r.stderr);
  assert.deepStrictEqual(posts()[0].body, { Role: 'worker', Availability: 'drain', Labels: { b: '2' } });
});

test('node ls stars the current node (from /info)', async () => {
  const r = await berth('node', 'ls');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split('\n')[1], /^n1 \* +h1 +Ready +Active +Leader/);
  assert.match(r.stdout.split('\n')[2], /^n2   +h2 +Ready +Active +$/);
});

test('swarm init, join and join-token print docker\'s texts with berth\'s name', async () => {
  let r = await berth('swarm', 'init', '--advertise-addr', '10.0.0.1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Swarm initialized: current node (n1) is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n    berth swarm join --token SWMTKN-w 10.0.0.1:2377\n\nTo add a manager to this swarm, run \'berth swarm join-token manager\' and follow the instructions.\n\n');
  assert.equal(posts()[0].body.AdvertiseAddr, '10.0.0.1');
  r = await berth('swarm', 'join', '--token', 'SWMTKN-w', '10.0.0.1:2377');
  assert.equal(r.stdout, 'This node joined a swarm as a worker.\n');
  assert.deepStrictEqual(posts()[0].body.RemoteAddrs, ['10.0.0.1:2377']);
  r = await berth('swarm', 'join-token', '-q', 'manager');
  assert.equal(r.stdout, 'SWMTKN-m\n');
  r = await berth('swarm', 'join-token', '--rotate', 'worker');
  assert.equal(`${posts()[0].path}${posts()[0].query}`, '/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=3');
  assert.match(r.stdout, /^Successfully rotated worker join token\.\n\nTo add a worker/);
});

test('flags: create stops at the image, update takes flags anywhere, --no-* switches', () => {
  const c = parseCommandArgs(GROUPS.service.commands.create, ['--name', 'web', '--no-healthcheck', 'busybox', 'httpd', '-p', '80']);
  assert.deepStrictEqual(c.args, ['busybox', 'httpd', '-p', '80']);
  assert.equal(c.opts.name, 'web');
  assert.equal(c.opts.healthcheck, false);
  assert.equal(c.opts.resolveImage, true);
  const u = parseCommandArgs(GROUPS.service.commands.update, ['web', '--env-add', 'A=1', '--env-add=B=2', '-d']);
  assert.deepStrictEqual(u.args, ['web']);
  assert.deepStrictEqual(u.opts.envAdd, ['A=1', 'B=2']);
  assert.equal(u.opts.detach, true);
  assert.throws(() => parseCommandArgs(GROUPS.service.commands.update, ['--env', 'A=1', 'web']), (e: unknown) => e instanceof ParseError && e.message === 'unknown flag: --env');
  assert.throws(() => parseCommandArgs(GROUPS.node.commands.ls, ['-x']), /unknown shorthand flag: 'x' in -x/);
});

test('--help: the groups and their verbs, docker\'s flag texts', async () => {
  const swarm = await groupHelp('swarm');
  for (const v of ['ca', 'init', 'join', 'join-token', 'leave', 'unlock', 'unlock-key', 'update']) assert.match(swarm, new RegExp(`\\n  ${v}\\b`));
  assert.match(await groupHelp('node'), /ls\|list \[options\] +List nodes in the swarm/);
  const create = await commandHelp(['service', 'create'], GROUPS.service.commands.create);
  assert.match(create, /^Usage: berth service create \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
  assert.match(create, /--replicas-max-per-node <string> +Maximum number of tasks per node \(default 0 = unlimited\)/);
  assert.match(create, /-p, --publish <list> +Publish a port as a node port/);
  // docker's order: by long name.
  assert.ok(create.indexOf('--constraint') < create.indexOf('--detach') && create.indexOf('--detach') < create.indexOf('--env '));
  const update = await commandHelp(['service', 'update'], GROUPS.service.commands.update);
  assert.match(update, /--publish-rm <list> +Remove a published port by its target port/);
  assert.match(update, /--rollback +Rollback to previous specification/);
});
