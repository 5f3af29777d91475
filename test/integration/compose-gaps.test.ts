// The parts of compose that decide WHAT is brought up, each taken to real containers and checked
// inside them and in inspect, then torn down: finding the files (walking up from a subdirectory,
// compose.override.yaml, -f several times, COMPOSE_FILE, -f -), merging (!reset, !override,
// include: with its own working directory, extends: within and across files), interpolation from
// .env and --env-file, profiles; the build keys (target, args, labels, dockerfile_inline,
// shm_size, network, cache_from); network_mode container:<name>; down --rmi local|all; up --pull
// missing|always against a registry on loopback. The file-finding and network_mode tests also
// run through the docker CLI's `compose` plugin (bin/docker-compose in the test's DOCKER_CONFIG).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startDaemon, freePort, hasDocker, BERTH, ROOT, type Daemon, type RunOut, type RunOptions } from './harness.ts';
import { composeDown, until, writeProject } from '../compat/compose-util.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  const plugins = join(d.dir, 'docker-config', 'cli-plugins');
  mkdirSync(plugins, { recursive: true });
  symlinkSync(join(ROOT, 'bin', 'docker-compose'), join(plugins, 'docker-compose'));
});
after(async () => {
  await d?.stop();
});

type Compose = (args: string[], o?: RunOptions) => RunOut;
const viaBerth: Compose = (args, o) => d.berth(['compose', ...args], { timeout: 180_000, ...o });
const viaDocker: Compose = (args, o) => d.docker(['compose', ...args], { timeout: 180_000, ...o });
const noDocker = hasDocker ? false : 'the docker CLI is not installed on this machine';

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const inspect = async (name: string) => (await d.api('GET', `/containers/${name}/json`)).json();
const sh = (container: string, cmd: string) => ok(d.berth(['exec', container, 'sh', '-c', cmd], { timeout: 30_000 })).stdout;
const exists = async (kind: 'containers' | 'images', name: string) => (await d.api('GET', `/${kind}/${encodeURIComponent(name)}/json`)).status === 200;


const LONG = 'init: true\n    command: ["sleep", "600"]';

/** A project found from app/sub/deeper: its override, an include, extends within and across files, .env. */
function walkUpProject(): { root: string; app: string } {
  const root = mkdtempSync(join(d.dir, 'walk-'));
  writeProject(root, {
    'app/compose.yaml': `
name: gaps
include:
  - ../inc/compose.yaml
services:
  base:
    image: busybox
    init: true
    command: ["sleep", "600"]
    environment: { FROM_BASE: "yes", GREETING: "\${GREETING:-none}" }
    labels: { a: "1", b: "2" }
  child:
    extends: base
    environment: { CHILD: "1" }
  far:
    extends: { file: ../ext/common.yaml, service: common }
  pro:
    image: busybox
    ${LONG}
    profiles: [debug]
`,
    // extends resolves within each file before the files merge (compose-go): child keeps base's
    // labels even though the override resets them on base.
    'app/compose.override.yaml': `
services:
  base:
    labels: !reset {}
    command: !override ["sleep", "601"]
    environment: { OVERRIDDEN: "yes" }
`,
    'app/.env': 'export GREETING="hi there"\n',
    'app/sub/deeper/.keep': '',
    // An included file is a project of its own: its paths resolve against its own directory.
    'inc/compose.yaml': `
services:
  included:
    image: busybox
    ${LONG}
    env_file: inc.env
    volumes: [./data:/data]
`,
    'inc/inc.env': 'INC=from-include-dir\n',
    'ext/common.yaml': `
services:
  common:
    image: busybox
    init: true
    env_file: common.env
    command: ["sleep", "602"]
`,
    'ext/common.env': 'COMMON=from-ext-dir\n',
  });
  return { root, app: join(root, 'app') };
}

async function walkUp(compose: Compose): Promise<void> {
  const { root, app } = walkUpProject();
  const cwd = join(app, 'sub', 'deeper');
  try {
    ok(compose(['up', '-d'], { cwd }));
    const base = await inspect('gaps-base-1');
    assert.deepEqual(base.Config.Cmd, ['sleep', '601'], '!override replaced the command');
    assert.equal(base.Config.Labels.a, undefined, '!reset dropped the labels');
    assert.equal(base.Config.Labels['com.docker.compose.project.working_dir'], app);
    assert.equal(base.Config.Labels['com.docker.compose.project.config_files'], `${join(app, 'compose.yaml')},${join(app, 'compose.override.yaml')}`);
    assert.equal(sh('gaps-base-1', 'echo "$GREETING|$FROM_BASE|$OVERRIDDEN"'), 'hi there|yes|yes\n');

    const child = await inspect('gaps-child-1');
    assert.deepEqual(child.Config.Cmd, ['sleep', '600']);
    assert.equal(child.Config.Labels.a, '1');
    assert.equal(child.Config.Labels.b, '2');
    assert.equal(sh('gaps-child-1', 'echo "$GREETING|$FROM_BASE|$CHILD|${OVERRIDDEN:-unset}"'), 'hi there|yes|1|unset\n');

    const far = await inspect('gaps-far-1');
    assert.deepEqual(far.Config.Cmd, ['sleep', '602']);
    assert.equal(sh('gaps-far-1', 'echo $COMMON'), 'from-ext-dir\n');

    const inc = await inspect('gaps-included-1');
    assert.equal(sh('gaps-included-1', 'echo $INC'), 'from-include-dir\n');
    assert.equal(inc.Mounts.find((m: any) => m.Destination === '/data')?.Source, join(root, 'inc', 'data'));
    assert.ok(existsSync(join(root, 'inc', 'data')));
    assert.equal(inc.Config.Labels['com.docker.compose.project'], 'gaps');

    assert.equal(await exists('containers', 'gaps-pro-1'), false, 'a service of an inactive profile is not started');
    ok(compose(['down', '-t', '1'], { cwd }));
    for (const c of ['base', 'child', 'far', 'included']) assert.equal(await exists('containers', `gaps-${c}-1`), false);
  } finally {
    await composeDown(d, app, 'gaps');
  }
}

test('berth compose up from a subdirectory: files found upwards, override, !reset/!override, include, extends, .env', () => walkUp(viaBerth));
test('docker compose (the plugin) up from a subdirectory: the same project, the same containers', { skip: noDocker }, () => walkUp(viaDocker));

async function multiFiles(compose: Compose): Promise<void> {
  const p = mkdtempSync(join(d.dir, 'multi-'));
  writeProject(p, {
    'compose.yaml': `
services:
  app:
    image: busybox
    ${LONG}
    environment: { TAG: "\${TAG:?TAG must be set}", SECOND: "\${SECOND:-unset}", SOURCE: base }
    labels: { from: base }
  dbg:
    image: busybox
    ${LONG}
    profiles: [debug]
  other:
    image: busybox
    ${LONG}
    profiles: [other]
`,
    'extra.yaml': `
services:
  app:
    command: ["sleep", "700"]
    environment: { SOURCE: extra }
    labels: { extra: "yes" }
`,
    '.env': 'TAG=dotenv\n',
    'custom.env': 'TAG=custom\nSECOND=first\n',
    'second.env': 'SECOND=two\n',
  });
  const c = (args: string[], o: RunOptions = {}) => compose(args, { cwd: p, ...o });
  const app = async (project: string) => {
    const i = await inspect(`${project}-app-1`);
    return { cmd: i.Config.Cmd, labels: i.Config.Labels, env: sh(`${project}-app-1`, 'echo "$TAG|$SECOND|$SOURCE"') };
  };
  try {
    const flags = ['-f', 'compose.yaml', '-f', join(p, 'extra.yaml'), '--env-file', 'custom.env', '--env-file', 'second.env', '--profile', 'debug', '-p', 'multi'];
    ok(c([...flags, 'up', '-d']));
    let a = await app('multi');
    assert.deepEqual(a.cmd, ['sleep', '700']);
    assert.equal(a.labels.from, 'base');
    assert.equal(a.labels.extra, 'yes');
    assert.equal(a.labels['com.docker.compose.project.config_files'], `${join(p, 'compose.yaml')},${join(p, 'extra.yaml')}`);
    assert.equal(a.env, 'custom|two|extra\n', 'the later --env-file wins; .env is not read');
    assert.equal((await inspect('multi-dbg-1')).State.Running, true);
    assert.equal(await exists('containers', 'multi-other-1'), false);
    ok(c([...flags, 'down', '-t', '1']));
    assert.equal(await exists('containers', 'multi-dbg-1'), false);

    // COMPOSE_FILE split on ':' (relative to the working directory), COMPOSE_PROFILES on ','; .env read.
    const env = { COMPOSE_FILE: `compose.yaml:extra.yaml`, COMPOSE_PROFILES: 'debug,other', COMPOSE_PROJECT_NAME: 'envmulti' };
    ok(c(['up', '-d'], { env }));
    a = await app('envmulti');
    assert.deepEqual(a.cmd, ['sleep', '700']);
    assert.equal(a.labels.extra, 'yes');
    assert.equal(a.env, 'dotenv|unset|extra\n');
    assert.equal((await inspect('envmulti-dbg-1')).State.Running, true);
    assert.equal((await inspect('envmulti-other-1')).State.Running, true);
    ok(c(['down', '-t', '1'], { env }));
    assert.equal(await exists('containers', 'envmulti-other-1'), false);

    // -f -: the model from stdin, the working directory (and its .env) the current one.
    const input = `services:\n  app:\n    image: busybox\n    ${LONG}\n    environment: { TAG: "\${TAG}", SECOND: piped, SOURCE: stdin }\n`;
    ok(c(['-f', '-', '-p', 'piped', 'up', '-d'], { input }));
    a = await app('piped');
    assert.equal(a.env, 'dotenv|piped|stdin\n');
    assert.equal(a.labels['com.docker.compose.project.working_dir'], p);
    ok(c(['-f', '-', '-p', 'piped', 'down', '-t', '1'], { input }));
    assert.equal(await exists('containers', 'piped-app-1'), false);
  } finally {
    await composeDown(d, p, 'multi');
    await composeDown(d, p, 'envmulti');
    await composeDown(d, p, 'piped');
  }
}

test('-f several times, --env-file (repeated), --profile; COMPOSE_FILE and COMPOSE_PROFILES; -f - from stdin', () => multiFiles(viaBerth));
test('docker compose (the plugin): -f several times, COMPOSE_FILE, -f - from stdin', { skip: noDocker }, () => multiFiles(viaDocker));

test('build keys: target, args, labels, dockerfile_inline, shm_size, network none, cache_from through compose build and up --build', async () => {
  const p = mkdtempSync(join(d.dir, 'build-'));
  writeProject(p, {
    'compose.yaml': `
services:
  staged:
    build:
      context: ./staged
      target: middle
      args: { MSG: from-args }
      labels: { org.example.kind: staged }
      shm_size: 96m   # not the default 64m
      network: none
      cache_from: [bk-absent:none, bk-staged:latest]
    ${LONG}
  # $$N: the file itself is interpolated first; the Dockerfile gets $N.
  inline:
    build:
      context: .
      args: [N=7]
      dockerfile_inline: |
        FROM busybox
        ARG N=0
        RUN echo inline-$$N > /inline.txt
    ${LONG}
`,
    'staged/Dockerfile': [
      'FROM busybox AS first',
      'ARG MSG=none',
      'RUN echo "first $MSG" > /stage.txt',
      'FROM first AS middle',
      // What the build's RUN sees: its /dev/shm, and with network none only a loopback interface.
      "RUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm.txt && ls /sys/class/net > /nets.txt && echo middle >> /stage.txt",
      'FROM middle AS last',
      'RUN echo last >> /stage.txt',
      '',
    ].join('\n'),
  });
  const c = (args: string[]) => viaBerth(['-f', join(p, 'compose.yaml'), '-p', 'bk', ...args]);
  try {
    const b = ok(c(['build', 'staged']));
    assert.match(b.stdout, /Successfully tagged bk-staged:latest/);
    assert.doesNotMatch(b.stdout, /echo last/, 'the stage after the target is not built');
    const img = (await d.api('GET', '/images/bk-staged/json')).json();
    assert.equal(img.Config.Labels['org.example.kind'], 'staged');
    assert.equal(img.Config.Labels['com.docker.compose.service'], 'staged');
    // With cache_from the classic builder takes its cache from the images named (the absent one
    // skipped), not from every local image: the steps come from bk-staged, the same image again.
    const again = ok(c(['build', 'staged']));
    assert.match(again.stdout, /Using cache/);
    assert.equal((await d.api('GET', '/images/bk-staged/json')).json().Id, img.Id);

    // up --build builds both.
    const up = ok(c(['up', '-d', '--build']));
    assert.match(up.stderr, /Service inline {2}Built/);
    assert.equal(sh('bk-staged-1', 'cat /stage.txt'), 'first from-args\nmiddle\n');
    assert.equal(sh('bk-staged-1', 'cat /shm.txt'), `${96 * 1024}\n`);
    assert.equal(sh('bk-staged-1', 'cat /nets.txt'), 'lo\n');
    assert.equal(sh('bk-inline-1', 'cat /inline.txt'), 'inline-7\n');
    assert.equal((await inspect('bk-staged-1')).Config.Image, 'bk-staged');
  } finally {
    await composeDown(d, p, 'bk');
    for (const i of ['bk-staged', 'bk-inline']) d.berth(['rmi', '-f', i]);
  }
});

async function containerMode(compose: Compose, project: string): Promise<void> {
  const p = mkdtempSync(join(d.dir, 'cmode-'));
  const target = `${project}-target`;
  writeProject(p, {
    'compose.yaml': `
services:
  peer:
    image: busybox
    ${LONG}
    network_mode: "container:${target}"
`,
  });
  try {
    ok(d.berth(['run', '-d', '--name', target, 'busybox', 'sh', '-c', 'mkdir -p /www && echo shared-ns > /www/index.html && exec httpd -f -p 8080 -h /www']));
    ok(compose(['-f', join(p, 'compose.yaml'), '-p', project, 'up', '-d']));
    const peer = `${project}-peer-1`;
    const t = await inspect(target);
    assert.match((await inspect(peer)).HostConfig.NetworkMode, new RegExp(`^container:(${target}|${t.Id})$`));
    const addrs = (c: string) => sh(c, "ip -o -4 addr show | awk '{print $2, $4}'");
    assert.equal(addrs(peer), addrs(target));
    assert.match(addrs(peer), /eth0 \d+\.\d+\.\d+\.\d+\//);
    // The target's server, seen on the peer's own loopback.
    let page = '';
    await until(() => { page = d.berth(['exec', peer, 'wget', '-qO-', 'http://127.0.0.1:8080/']).stdout; return page === 'shared-ns\n'; }, 'the shared listener', 30_000);
    ok(compose(['-f', join(p, 'compose.yaml'), '-p', project, 'down', '-t', '1']));
    assert.equal(await exists('containers', peer), false);
    assert.equal((await inspect(target)).State.Running, true, 'the container whose namespace was shared is not the project\'s');
  } finally {
    await composeDown(d, p, project);
    d.berth(['rm', '-f', target]);
  }
}

test('network_mode container:<name>: the service shares that container\'s network namespace', () => containerMode(viaBerth, 'cmode'));
test('docker compose (the plugin): network_mode container:<name>', { skip: noDocker }, () => containerMode(viaDocker, 'dcmode'));

test('down --rmi local removes the images built for the project; --rmi all also the image: services\' images', async () => {
  const p = mkdtempSync(join(d.dir, 'rmi-'));
  ok(d.berth(['tag', 'busybox', 'gaps-rmi/base:1']));
  writeProject(p, {
    'compose.yaml': `
services:
  built:
    build: { context: ., dockerfile_inline: "FROM busybox\\nRUN echo built > /b\\n" }
    ${LONG}
  named:
    build: { context: ., dockerfile_inline: "FROM busybox\\nRUN echo named > /n\\n" }
    image: gaps-rmi/named:1
    ${LONG}
  pulled:
    image: gaps-rmi/base:1
    ${LONG}
`,
  });
  const c = (args: string[]) => viaBerth(['-f', join(p, 'compose.yaml'), '-p', 'rmi', ...args]);
  try {
    ok(c(['up', '-d']));
    assert.equal(sh('rmi-built-1', 'cat /b'), 'built\n');
    assert.equal(await exists('images', 'rmi-built'), true);
    const local = ok(c(['down', '--rmi', 'local', '-t', '1']));
    assert.match(local.stderr, /Image rmi-built:latest {2}Removed/);
    assert.equal(await exists('containers', 'rmi-built-1'), false);
    assert.equal(await exists('images', 'rmi-built'), false);
    assert.equal(await exists('images', 'gaps-rmi/named:1'), false, 'built for the project (its label), though named by image:');
    assert.equal(await exists('images', 'gaps-rmi/base:1'), true, 'not built here: kept by --rmi local');

    ok(c(['up', '-d']));
    assert.equal(await exists('images', 'rmi-built'), true);
    const all = ok(c(['down', '--rmi', 'all', '-t', '1']));
    assert.match(all.stderr, /Image gaps-rmi\/base:1 {2}Removed/);
    for (const i of ['rmi-built', 'gaps-rmi/named:1', 'gaps-rmi/base:1']) assert.equal(await exists('images', i), false, i);
    assert.equal(await exists('images', 'busybox'), true, 'the tag went, the image stays under its other name');
  } finally {
    await composeDown(d, p, 'rmi');
    for (const i of ['rmi-built', 'gaps-rmi/named:1', 'gaps-rmi/base:1']) d.berth(['rmi', '-f', i]);
  }
});

test('up --pull missing pulls only what is absent; --pull always pulls and recreates on a new image (registry on loopback)', async () => {
  const regRoot = mkdtempSync(join(d.dir, 'reg-'));
  const regPort = await freePort();
  const reg: ChildProcess = spawn(process.execPath, ['--', BERTH, 'registry', 'serve', '--addr', `127.0.0.1:${regPort}`, '--root', regRoot], { stdio: 'ignore' });
  const ref = `127.0.0.1:${regPort}/pp/app:1`;
  const p = mkdtempSync(join(d.dir, 'pull-'));
  writeProject(p, {
    'compose.yaml': `services:\n  app:\n    image: ${ref}\n    ${LONG}\n`,
    'v2/Dockerfile': 'FROM busybox\nRUN echo v2 > /v2\n',
  });
  const c = (args: string[]) => viaBerth(['-f', join(p, 'compose.yaml'), '-p', 'pp', ...args]);
  const imageId = async (r: string) => (await d.api('GET', `/images/${encodeURIComponent(r)}/json`)).json().Id;
  try {
    await until(() => new Promise<boolean>((res) => {
      const s = net.connect(regPort, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    }), 'the registry', 20_000);
    const v1 = await imageId('busybox');
    ok(d.berth(['tag', 'busybox', ref]));
    ok(d.berth(['push', ref], { timeout: 120_000 }));
    ok(d.berth(['rmi', ref]));
    assert.equal(await exists('images', ref), false);

    const missing = ok(c(['up', '-d', '--pull', 'missing']));
    assert.match(missing.stderr, /app Pulled/);
    assert.equal((await inspect('pp-app-1')).Image, v1);

    // The registry gets a new image under the same name; the local one stays the old.
    ok(d.berth(['build', '-t', ref, join(p, 'v2')], { timeout: 120_000 }));
    const v2 = await imageId(ref);
    ok(d.berth(['push', ref], { timeout: 120_000 }));
    ok(d.berth(['tag', 'busybox', ref]));
    const keep = ok(c(['up', '-d', '--pull', 'missing']));
    assert.doesNotMatch(keep.stderr, /Pulled/);
    assert.equal((await inspect('pp-app-1')).Image, v1, '--pull missing: present, not pulled, not recreated');

    const always = ok(c(['up', '-d', '--pull', 'always']));
    assert.match(always.stderr, /app Pulled/);
    assert.match(always.stderr, /Container pp-app-1 {2}Recreated/);
    assert.equal((await inspect('pp-app-1')).Image, v2);
    assert.equal(sh('pp-app-1', 'cat /v2'), 'v2\n');
  } finally {
    await composeDown(d, p, 'pp');
    reg.kill();
    d.berth(['rmi', '-f', ref]);
    rmSync(regRoot, { recursive: true, force: true });
  }
});
