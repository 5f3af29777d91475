// Debian's docker-compose 1.29 (Python, docker-py 5.0.3) driving berthd unchanged: `up -d`, a
// changed command and `up -d` again (the service is recreated, its anonymous volumes carried
// over: compose reads the image's ContainerConfig.Volumes for that), a service built from a
// Dockerfile with a VOLUME, and `down -v`. compose negotiates the daemon's API version (1.47).
// Skipped with a visible message where docker-compose is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startDaemon, type Daemon } from '../integration/harness.ts';

const hasCompose = spawnSync('docker-compose', ['version', '--short']).status === 0;
const skip = hasCompose ? false : 'docker-compose (1.29) is not installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

function compose(dir: string, project: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync('docker-compose', ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], {
    cwd: dir, timeout: 180_000,
    env: { ...process.env, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config'), COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
  return { status: r.status, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}` };
}

const json = (r: { status: number; body: Buffer }) => JSON.parse(r.body.toString());

test('compose 1.29: up -d, change the command, up -d recreates the service; down -v removes it', { skip, timeout: 300_000 }, async () => {
  const dir = join(d.dir, 'compose-recreate');
  mkdirSync(join(dir, 'app'), { recursive: true });
  const project = `rc${randomBytes(4).toString('hex')}`;
  // A loop that exits on TERM: a stop takes a moment, not the 10 s grace period.
  const loop = (word: string) => `sh -c "trap 'exit 0' TERM; echo ${word}; while true; do sleep 0.2; done"`;
  const file = (word: string) => [
    'version: "3.7"',
    'services:',
    '  web:',
    '    image: busybox',
    `    command: ${loop(word)}`,
    '    volumes:',
    '      - data:/data',
    '      - /anon',
    '  app:',
    '    build: ./app',
    'volumes:',
    '  data:',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM busybox\nVOLUME /state\nRUN echo built > /built.txt\nCMD ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.2; done"]\n');
  writeFileSync(join(dir, 'docker-compose.yml'), file('one'));
  try {
    const up = compose(dir, project, ['up', '-d']);
    assert.equal(up.status, 0, up.out);
    const web1 = json(await d.api('GET', `/containers/${project}_web_1/json`));
    const app1 = json(await d.api('GET', `/containers/${project}_app_1/json`));
    assert.equal(web1.State.Running, true);
    assert.deepEqual(web1.Config.Cmd.slice(0, 2), ['sh', '-c']);
    assert.match(web1.Config.Cmd[2], /echo one/);
    for (const [c, path] of [[`${project}_web_1`, '/anon/f'], [`${project}_web_1`, '/data/f'], [`${project}_app_1`, '/state/f']]) {
      const w = d.docker(['exec', c, 'sh', '-c', `echo kept > ${path}`]);
      assert.equal(w.status, 0, w.stderr);
    }

    // The recreate: compose reads the old container's image ContainerConfig.Volumes here.
    writeFileSync(join(dir, 'docker-compose.yml'), readFileSync(join(dir, 'docker-compose.yml'), 'utf8').replace(loop('one'), loop('two')));
    const again = compose(dir, project, ['up', '-d']);
    assert.equal(again.status, 0, again.out);
    assert.doesNotMatch(again.out, /Traceback|ERROR/);
    assert.match(again.out, /Recreating .*web_1 \.\.\. done/);
    const web2 = json(await d.api('GET', `/containers/${project}_web_1/json`));
    assert.notEqual(web2.Id, web1.Id);
    assert.equal(web2.State.Running, true);
    assert.match(web2.Config.Cmd[2], /echo two/);
    // The app service did not change: it is left as it was.
    assert.equal(json(await d.api('GET', `/containers/${project}_app_1/json`)).Id, app1.Id);
    // The old container is gone (compose renames it aside, then removes it).
    assert.equal((await d.api('GET', `/containers/${web1.Id}/json`)).status, 404);
    let logs = '';
    for (let i = 0; i < 50 && !/two/.test(logs); i++) {
      logs = compose(dir, project, ['logs', '--no-color', 'web']).out;
      if (!/two/.test(logs)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(logs, /two/);
    // The named and the anonymous volume were carried over, with their data.
    const cat = d.docker(['exec', `${project}_web_1`, 'cat', '/anon/f', '/data/f']);
    assert.equal(cat.stdout, 'kept\nkept\n', cat.stderr);

    // A rebuilt image recreates its service; the image's VOLUME keeps its data too.
    writeFileSync(join(dir, 'app', 'Dockerfile'), `${readFileSync(join(dir, 'app', 'Dockerfile'), 'utf8')}RUN true\n`);
    const rebuilt = compose(dir, project, ['up', '-d', '--build']);
    assert.equal(rebuilt.status, 0, rebuilt.out);
    assert.match(rebuilt.out, /Recreating .*app_1 \.\.\. done/);
    const app2 = json(await d.api('GET', `/containers/${project}_app_1/json`));
    assert.notEqual(app2.Id, app1.Id);
    assert.equal(d.docker(['exec', `${project}_app_1`, 'cat', '/state/f', '/built.txt']).stdout, 'kept\nbuilt\n');

    const down = compose(dir, project, ['down', '-v']);
    assert.equal(down.status, 0, down.out);
    const left = json(await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`));
    assert.deepEqual(left, []);
    const vols = json(await d.api('GET', '/volumes')).Volumes as { Name: string }[];
    assert.deepEqual(vols.map((v) => v.Name), []);
    const nets = json(await d.api('GET', '/networks')) as { Name: string }[];
    assert.ok(!nets.some((n) => n.Name === `${project}_default`));
  } finally {
    compose(dir, project, ['down', '-v', '-t', '1']);
  }
});

test('compose 1.29 builds through docker-py (build.network on a user network, cache_from, labels), images, down --rmi local', { skip, timeout: 300_000 }, async () => {
  const dir = join(d.dir, 'compose-build');
  mkdirSync(join(dir, 'app'), { recursive: true });
  const project = `rc${randomBytes(4).toString('hex')}`;
  const net = `${project}-buildnet`;
  assert.equal((await d.api('POST', '/networks/create', { Name: net })).status, 201);
  const gateway = json(await d.api('GET', `/networks/${net}`)).IPAM.Config[0].Gateway as string;
  // The RUN step records its resolver: on the user network, that network's embedded DNS.
  writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM busybox\nRUN grep nameserver /etc/resolv.conf > /net.txt\nCMD ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 0.2; done"]\n');
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'version: "3.7"',
    'services:',
    '  app:',
    '    build:',
    '      context: ./app',
    `      network: ${net}`,
    `      cache_from: ["${project}_app"]`,
    '      labels: {built-by: compose}',
    '',
  ].join('\n'));
  const env = { COMPOSE_DOCKER_CLI_BUILD: '0' }; // docker-py's own /build, not the docker CLI
  const c = (args: string[]) => {
    const r = spawnSync('docker-compose', ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], {
      cwd: dir, timeout: 180_000, env: { ...process.env, ...env, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config') },
    });
    return { status: r.status, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}` };
  };
  try {
    const b = c(['build']);
    assert.equal(b.status, 0, b.out);
    assert.match(b.out, /Successfully tagged .*_app:latest/);
    const img = json(await d.api('GET', `/images/${project}_app/json`));
    assert.equal(img.Config.Labels['built-by'], 'compose');
    // The same build again with the image as its cache source: every step hits, same image.
    const again = c(['build']);
    assert.equal(again.status, 0, again.out);
    assert.match(again.out, /Using cache/);
    assert.equal(json(await d.api('GET', `/images/${project}_app/json`)).Id, img.Id);
    const up = c(['up', '-d']);
    assert.equal(up.status, 0, up.out);
    assert.equal(d.docker(['exec', `${project}_app_1`, 'cat', '/net.txt']).stdout, `nameserver ${gateway}\n`);
    const images = c(['images']);
    assert.equal(images.status, 0, images.out);
    assert.match(images.out, new RegExp(`${project}_app_1\\s+${project}_app\\s+latest\\s+${img.Id.slice(7, 19)}`));
    const down = c(['down', '--rmi', 'local', '-t', '1']);
    assert.equal(down.status, 0, down.out);
    assert.equal((await d.api('GET', `/images/${project}_app/json`)).status, 404);
  } finally {
    c(['down', '--rmi', 'local', '-t', '1']);
    await d.api('DELETE', `/networks/${net}`);
  }
});
