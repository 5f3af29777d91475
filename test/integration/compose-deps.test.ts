// depends_on conditions, `up --wait`, secrets and configs, external resources and the other
// lifecycle commands (stop, start, restart, kill, pause, unpause, rm) on a real berthd, with
// compose v2's messages when a dependency fails.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { type Daemon, type RunOut } from './harness.ts';
import { composeFixture } from '../compat/compose-util.ts';

const fx = composeFixture('deps');
const { write, compose } = fx;
let d: Daemon;
before(async () => { d = await fx.ready; });

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const state = async (name: string) => (await d.api('GET', `/containers/${name}/json`)).json().State;
const exec = (c: string, cmd: string) => d.berth(['exec', c, 'sh', '-c', cmd], { timeout: 30_000 });
const at = (text: string, line: string) => {
  const i = text.indexOf(`${line}\n`);
  assert.ok(i >= 0, `missing ${JSON.stringify(line)} in:\n${text}`);
  return i;
};

const LONG = 'init: true\n    command: ["sleep", "600"]';

test('service_healthy: the dependant starts once its dependency is healthy; an unhealthy one fails the up, naming it', async () => {
  const p = write('hc', `
services:
  db:
    image: busybox
    init: true
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"]
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 300ms, retries: 20 }
  web:
    image: busybox
    ${LONG}
    depends_on: { db: { condition: service_healthy } }
`);
  const r = ok(compose(p, ['up', '-d']));
  const healthy = at(r.stderr, ' Container hc-db-1  Healthy');
  assert.ok(at(r.stderr, ' Container hc-db-1  Waiting') < healthy);
  assert.ok(at(r.stderr, ' Container hc-web-1  Starting') > healthy, r.stderr);
  assert.equal((await state('hc-db-1')).Health.Status, 'healthy');
  ok(compose(p, ['down', '-t', '1']));

  const bad = write('unhealthy', `
services:
  db:
    image: busybox
    ${LONG}
    healthcheck: { test: ["CMD", "false"], interval: 200ms, retries: 1 }
  web:
    image: busybox
    ${LONG}
    depends_on: { db: { condition: service_healthy } }
`);
  const f = compose(bad, ['up', '-d']);
  assert.equal(f.status, 1, f.stderr);
  assert.ok(f.stderr.endsWith('dependency failed to start: container unhealthy-db-1 is unhealthy\n'), f.stderr);
  at(f.stderr, ' Container unhealthy-db-1  Error');
  assert.equal((await state('unhealthy-web-1')).Status, 'created', 'the dependant was never started');
  ok(compose(bad, ['down', '-t', '1']));
});

test('service_completed_successfully: waits for exit 0; another exit code fails with compose\'s message', async () => {
  const p = write('done', `
services:
  init:
    image: busybox
    command: ["sh", "-c", "sleep 0.5; exit \${CODE:-0}"]
  app:
    image: busybox
    ${LONG}
    depends_on: { init: { condition: service_completed_successfully } }
`);
  const r = ok(compose(p, ['up', '-d']));
  assert.ok(at(r.stderr, ' Container done-init-1  Exited') < at(r.stderr, ' Container done-app-1  Started'), r.stderr);
  ok(compose(p, ['down', '-t', '1']));
  const f = compose(p, ['up', '-d'], { CODE: '3' });
  assert.equal(f.status, 1);
  assert.ok(f.stderr.endsWith('service "init" didn\'t complete successfully: exit 3\n'), f.stderr);
  ok(compose(p, ['down', '-t', '1']));
});

test('up --wait: returns once running and healthy; an unhealthy service or a timeout fails it', async () => {
  const p = write('wait', `
services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "sleep 0.5; touch /tmp/ok; exec sleep 600"]
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ok"], interval: 200ms }
  plain:
    image: busybox
    ${LONG}
`);
  const r = ok(compose(p, ['up', '--wait']));
  at(r.stderr, ' Container wait-web-1  Healthy');
  at(r.stderr, ' Container wait-plain-1  Healthy');
  assert.equal((await state('wait-web-1')).Health.Status, 'healthy');
  ok(compose(p, ['down', '-t', '1']));

  const never = write('never', `
services:
  web:
    image: busybox
    ${LONG}
    healthcheck: { test: ["CMD", "false"], interval: 30s, start_period: 60s }
`);
  const t = compose(never, ['up', '--wait', '--wait-timeout', '2']);
  assert.equal(t.status, 1);
  assert.ok(t.stderr.endsWith('application not healthy after 2s\n'), t.stderr);
  ok(compose(never, ['down', '-t', '1']));
  assert.equal(compose(never, ['up', '--wait', '--abort-on-container-exit']).stderr, '--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies\n');
});

test('secrets and configs without swarm: files bind-mounted, environment and content written in before the start', async () => {
  const p = write('sec', `
services:
  app:
    image: busybox
    ${LONG}
    secrets:
      - token
      - source: from_env
        target: env_token
    configs:
      - source: conf
        target: /etc/app.conf
      - inline
secrets:
  token: { file: ./token.txt }
  from_env: { environment: SECRET_VALUE }
configs:
  conf: { file: ./app.conf }
  inline: { content: "inline content" }
`, { 'token.txt': 'file-secret', 'app.conf': 'x=1\n' });
  ok(compose(p, ['up', '-d'], { SECRET_VALUE: 'env-secret' }));
  const out = ok(exec('sec-app-1', 'cat /run/secrets/token; echo; cat /run/secrets/env_token; echo; cat /etc/app.conf; cat /inline; echo; stat -c %a /run/secrets/env_token')).stdout;
  assert.equal(out, 'file-secret\nenv-secret\nx=1\ninline content\n444\n');
  // A file secret is read-only in the container.
  assert.notEqual(exec('sec-app-1', 'echo x > /run/secrets/token').status, 0);
  ok(compose(p, ['down', '-t', '1']));
});

test('external networks and volumes must exist (compose\'s errors, nothing created); existing ones are used', async () => {
  const p = write('ext', `
services:
  app:
    image: busybox
    ${LONG}
    networks: [outside]
    volumes: [shared:/shared]
networks:
  outside: { external: true, name: ext_net }
volumes:
  shared: { external: true, name: ext_vol }
`);
  const f = compose(p, ['up', '-d']);
  assert.equal(f.status, 1);
  assert.equal(f.stderr.trim().split('\n').pop(), 'network ext_net declared as external, but could not be found');
  ok(d.berth(['network', 'create', 'ext_net']));
  const v = compose(p, ['up', '-d']);
  assert.equal(v.status, 1);
  assert.equal(v.stderr.trim().split('\n').pop(), 'external volume "ext_vol" not found');
  const f2 = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=ext'] }));
  assert.deepEqual((await d.api('GET', `/containers/json?all=1&filters=${f2}`)).json(), []);
  ok(d.berth(['volume', 'create', 'ext_vol']));
  ok(compose(p, ['up', '-d']));
  const ins = (await d.api('GET', '/containers/ext-app-1/json')).json();
  assert.ok(ins.NetworkSettings.Networks.ext_net);
  ok(compose(p, ['down', '-t', '1']));
  // down leaves external resources alone.
  assert.equal((await d.api('GET', '/networks/ext_net')).status, 200);
  assert.equal((await d.api('GET', '/volumes/ext_vol')).status, 200);
  // A network with the project's name that compose did not make: used, with compose's warning.
  ok(d.berth(['network', 'create', 'mine_default']));
  const m = write('mine', `services:\n  app:\n    image: busybox\n    ${LONG}\n`);
  const w = compose(m, ['up', '-d']);
  assert.equal(w.status, 1, w.stderr);
  assert.match(w.stderr, /a network with name mine_default exists but was not created by compose/);
  assert.match(w.stderr, /network mine_default was found but has incorrect label com\.docker\.compose\.network set to "" \(expected: "default"\)/);
  // A volume with the project's name that compose did not make: used, with compose's warning.
  ok(d.berth(['volume', 'create', 'vols_data']));
  const vp = write('vols', `services:\n  app:\n    image: busybox\n    ${LONG}\n    volumes: [data:/data]\nvolumes:\n  data:\n`);
  const vw = ok(compose(vp, ['up', '-d']));
  assert.match(vw.stderr, /volume \\?"vols_data\\?" already exists but was not created by Docker Compose\. Use `external: true` to use an existing volume/);
  ok(compose(vp, ['down', '-t', '1']));
});

test('stop, start, restart, kill, pause, unpause, rm: compose\'s progress lines, dependency order, with and without the file', async () => {
  const p = write('life', `
services:
  db:
    image: busybox
    ${LONG}
  web:
    image: busybox
    ${LONG}
    depends_on: [db]
`);
  ok(compose(p, ['up', '-d']));
  const stop = ok(compose(p, ['stop', '-t', '1']));
  assert.ok(at(stop.stderr, ' Container life-web-1  Stopped') < at(stop.stderr, ' Container life-db-1  Stopping'), stop.stderr);
  assert.equal((await state('life-web-1')).Status, 'exited');
  const start = ok(compose(p, ['start']));
  assert.ok(at(start.stderr, ' Container life-db-1  Started') < at(start.stderr, ' Container life-web-1  Starting'), start.stderr);
  const rs = ok(compose(p, ['restart', '-t', '1', 'web']));
  at(rs.stderr, ' Container life-web-1  Restarting');
  at(rs.stderr, ' Container life-web-1  Started');
  const pa = ok(compose(p, ['pause']));
  at(pa.stderr, ' Container life-db-1  Paused');
  assert.equal((await state('life-web-1')).Status, 'paused');
  const un = ok(compose(p, ['unpause', 'web']));
  at(un.stderr, ' Container life-web-1  Unpaused');
  assert.equal((await state('life-web-1')).Status, 'running');
  assert.equal((await state('life-db-1')).Status, 'paused');
  ok(compose(p, ['unpause', 'db']));
  // As compose: unpausing a container that is not paused is the engine's error.
  const again = compose(p, ['unpause']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is not paused/);
  // Without a file: -p names the project, the labels say the rest.
  const k = ok(d.berth(['compose', '-p', 'life', 'kill', '-s', 'SIGKILL', 'web']));
  at(k.stderr, ' Container life-web-1  Killed');
  assert.equal((await state('life-web-1')).Status, 'exited');
  assert.equal((await state('life-db-1')).Status, 'running');
  // rm: only stopped containers, -f without asking; -s stops first.
  const rm = ok(compose(p, ['rm', '-f']));
  assert.equal(rm.stdout, 'Going to remove life-web-1\n');
  at(rm.stderr, ' Container life-web-1  Removed');
  const none = ok(compose(p, ['rm', '-f', 'web']));
  assert.equal(none.stderr, 'No stopped containers\n');
  const rms = ok(compose(p, ['rm', '-f', '-s']));
  at(rms.stderr, ' Container life-db-1  Stopped');
  at(rms.stderr, ' Container life-db-1  Removed');
  const f = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=life'] }));
  assert.deepEqual((await d.api('GET', `/containers/json?all=1&filters=${f}`)).json(), []);
  assert.equal(compose(p, ['stop', 'nope']).stderr, 'no such service: nope\n');
  ok(compose(p, ['down']));
});

test('create, up --no-start, --no-deps, and an engine older than API 1.44 (networks connected one by one)', async () => {
  const p = write('misc', `
services:
  db:
    image: busybox
    ${LONG}
    networks:
      a: { ipv4_address: 10.213.147.10 }
  web:
    image: busybox
    ${LONG}
    depends_on: [db]
    networks:
      a: {}
      b: { aliases: [www] }
networks:
  a:
    ipam: { config: [{ subnet: 10.213.147.0/24 }] }
  b: {}
`);
  const c = ok(compose(p, ['create']));
  assert.ok(c.stderr.includes(' Container misc-web-1  Created\n'), c.stderr);
  assert.equal((await state('misc-web-1')).Status, 'created');
  ok(compose(p, ['down']));
  ok(compose(p, ['up', '-d', '--no-start']));
  assert.equal((await state('misc-db-1')).Status, 'created');
  ok(compose(p, ['down']));
  // --no-deps: only the named service.
  ok(compose(p, ['up', '-d', '--no-deps', 'web']));
  assert.equal((await d.api('GET', '/containers/misc-db-1/json')).status, 404);
  assert.equal((await state('misc-web-1')).Status, 'running');
  ok(compose(p, ['down', '-t', '1']));
  // API 1.41: one network at create, the other connected before the start; aliases on both.
  ok(compose(p, ['up', '-d'], { BERTH_API_VERSION: '1.41' }));
  const nets = (await d.api('GET', '/containers/misc-web-1/json')).json().NetworkSettings.Networks;
  assert.deepEqual(Object.keys(nets).sort(), ['misc_a', 'misc_b']);
  for (const n of ['misc_a', 'misc_b']) assert.ok(nets[n].Aliases.includes('web'), JSON.stringify(nets[n]));
  assert.ok(nets.misc_b.Aliases.includes('www'));
  const look = exec('misc-db-1', 'nslookup web');
  assert.equal(look.status, 0, look.stdout + look.stderr);
  // ipv4_address on a network with a subnet of the file's.
  assert.equal((await d.api('GET', '/containers/misc-db-1/json')).json().NetworkSettings.Networks.misc_a.IPAddress, '10.213.147.10');
  assert.match(exec('misc-web-1', 'nslookup db').stdout, /10\.213\.147\.10/);
  ok(compose(p, ['down', '-t', '1']));
});

test('post_start and pre_stop hooks run in the container (exec); a failing hook fails the command', async () => {
  const p = write('hooks', `
services:
  app:
    image: busybox
    ${LONG}
    volumes: [out:/out]
    post_start:
      - command: ["sh", "-c", "echo started-by-hook > /out/post"]
    pre_stop:
      - command: ["sh", "-c", "echo \\"$$WHO\\" > /out/pre"]
        environment: { WHO: pre-stop-hook }
  bad:
    image: busybox
    ${LONG}
    profiles: [bad]
    post_start:
      - command: ["sh", "-c", "exit 3"]
volumes:
  out:
`);
  ok(compose(p, ['up', '-d']));
  assert.equal(exec('hooks-app-1', 'cat /out/post').stdout, 'started-by-hook\n');
  ok(compose(p, ['stop', '-t', '1']));
  ok(compose(p, ['start']));
  assert.equal(exec('hooks-app-1', 'cat /out/pre').stdout, 'pre-stop-hook\n');
  const f = compose(p, ['--profile', 'bad', 'up', '-d', 'bad']);
  assert.equal(f.status, 1);
  assert.ok(f.stderr.endsWith('bad hook exited with status 3\n'), f.stderr);
  ok(compose(p, ['--profile', 'bad', 'down', '-v', '-t', '1']));
});

test('required: false: a dependency that turns unhealthy or exits non-zero is warned about, and the dependant starts anyway', async () => {
  const p = write('opt', `
services:
  sick:
    image: busybox
    init: true
    command: ["sleep", "600"]
    healthcheck: { test: ["CMD", "false"], interval: 200ms, retries: 2 }
  oops:
    image: busybox
    command: ["sh", "-c", "exit 3"]
  app:
    image: busybox
    ${LONG}
    depends_on:
      sick: { condition: service_healthy, required: false }
      oops: { condition: service_completed_successfully, required: false }
`);
  try {
    const r = ok(compose(p, ['up', '-d']));
    assert.match(r.stderr, /optional dependency "sick" failed to start/, r.stderr);
    assert.match(r.stderr, /optional dependency "oops" didn't complete successfully: exit 3/, r.stderr);
    assert.equal((await state('opt-app-1')).Running, true);
    assert.equal((await state('opt-sick-1')).Health.Status, 'unhealthy');
    assert.equal((await state('opt-oops-1')).ExitCode, 3);
  } finally {
    compose(p, ['down', '-t', '0']);
  }
});
