// Debian's docker-compose 1.29 (docker-py 5.0.3, API 1.41) in the foreground against berthd:
// `up` attaches to each service (a hijacked attach with stream=1, before start) and prints its
// output until it exits; `run -T` goes through the docker CLI's start --attach with piped stdin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, hasDocker, type Daemon } from '../integration/harness.ts';

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
const skip = !hasCompose ? 'no docker-compose here' : false;
let d: Daemon;
let dir: string;
before(async () => {
  if (skip) return;
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  writeFileSync(join(dir, 'docker-compose.yml'), [
    "version: '2.4'",
    'services:',
    '  app:',
    '    image: busybox',
    "    command: sh -c 'echo hello; sleep 1; echo bye >&2'",
    '',
  ].join('\n'));
});
after(async () => {
  if (dir) {
    compose(['down']);
    rmSync(dir, { recursive: true, force: true });
  }
  await d?.stop();
});

function compose(args: string[], input?: string) {
  return spawnSync('docker-compose', ['-p', 'berthattach', ...args], {
    cwd: dir, input, encoding: 'utf8', timeout: 90_000,
    env: { ...process.env, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config') },
  });
}

test('docker-compose up in the foreground prints the service\'s output and its exit', { skip }, () => {
  const r = compose(['up', '--no-color']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /app_1 {2}\| hello\napp_1 {2}\| bye\n/);
  assert.match(r.stdout, /berthattach_app_1 exited with code 0/);
});

test('docker-compose run -T: output, exit code, piped stdin', { skip: skip || (!hasDocker && 'compose run needs the docker CLI') }, () => {
  const r = compose(['run', '--rm', '-T', 'app', 'sh', '-c', 'echo run-out; echo run-err >&2; exit 3']);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, 'run-out\n');
  assert.match(r.stderr, /run-err\n/);
  const i = compose(['run', '--rm', '-T', 'app', 'sh', '-c', 'cat; echo done'], 'piped\n');
  assert.equal(i.status, 0, i.stderr);
  assert.equal(i.stdout, 'piped\ndone\n');
});
