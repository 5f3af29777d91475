// `berth build` end to end against a private berthd: contexts (directory, -f inside/outside,
// stdin Dockerfile, stdin tar), .dockerignore on the client side, flags, output modes, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../integration/harness.ts';
import { contextDir, tarOf } from '../integration/build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const bb = (args: string[], o: { input?: string | Buffer; env?: Record<string, string> } = {}) => d.berth(['build', ...args], { ...o, timeout: 120_000 });

test('berth build of a directory: docker\'s output, .dockerignore applied by the client, cached rebuild', () => {
  const dir = contextDir({
    Dockerfile: 'FROM busybox\nWORKDIR /src\nCOPY . .\nRUN ls -a > /listing\nCMD ["cat", "/listing"]\n',
    'a.txt': 'a',
    'secret.env': 'no',
    'logs/x.log': 'no',
    'logs/keep.log': 'yes',
    '.dockerignore': '*.env\nlogs\n!logs/keep.log\n',
  });
  const b = bb(['-t', 'bctx:1', '--progress=plain', dir]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /^Sending build context to Docker daemon\s+\S+/m);
  assert.match(b.stdout, /Step 1\/5 : FROM busybox/);
  assert.match(b.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged bctx:1\n$/);
  const r = d.berth(['run', '--rm', 'bctx:1']);
  assert.equal(r.stdout, '.\n..\n.dockerignore\nDockerfile\na.txt\nlogs\n');
  assert.equal(d.berth(['run', '--rm', 'bctx:1', 'ls', '/src/logs']).stdout, 'keep.log\n');
  const again = bb(['-t', 'bctx:1', dir]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 4);
});

test('-f outside the context, -f -, and - (a Dockerfile or a tar on stdin)', () => {
  const ctx = contextDir({ 'hello.txt': 'hello' });
  const elsewhere = contextDir({ 'my.Dockerfile': 'FROM busybox\nCOPY hello.txt /h\nCMD ["cat", "/h"]\n' });
  const b1 = bb(['-q', '-t', 'outside:1', '-f', join(elsewhere, 'my.Dockerfile'), ctx]);
  assert.equal(b1.status, 0, b1.stderr);
  assert.equal(d.berth(['run', '--rm', 'outside:1']).stdout, 'hello');
  const b2 = bb(['-q', '-t', 'fdash:1', '-f', '-', ctx], { input: 'FROM busybox\nCOPY hello.txt /h2\nCMD ["cat", "/h2"]\n' });
  assert.equal(b2.status, 0, b2.stderr);
  assert.equal(d.berth(['run', '--rm', 'fdash:1']).stdout, 'hello');
  const b3 = bb(['-q', '-t', 'dash:1', '-'], { input: 'FROM busybox\nRUN echo no-context > /n\nCMD ["cat", "/n"]\n' });
  assert.equal(b3.status, 0, b3.stderr);
  assert.equal(d.berth(['run', '--rm', 'dash:1']).stdout, 'no-context\n');
  const tarCtx = contextDir({ Dockerfile: 'FROM busybox\nCOPY t.txt /t\nCMD ["cat", "/t"]\n', 't.txt': 'from-tar' });
  const b4 = bb(['-q', '-t', 'dashtar:1', '-'], { input: gzipSync(tarOf(tarCtx)) });
  assert.equal(b4.status, 0, b4.stderr);
  assert.equal(d.berth(['run', '--rm', 'dashtar:1']).stdout, 'from-tar');
});

test('flags: --build-arg (value and from env), --target, --label, --no-cache, -q, --iidfile, --network', () => {
  const dir = contextDir({
    Dockerfile: [
      'FROM busybox AS base',
      'ARG A',
      'ARG B',
      'RUN echo "$A $B" > /ab',
      'FROM base AS final',
      'RUN --network=none echo final > /f',
    ].join('\n'),
  });
  const iid = join(d.dir, 'iid');
  const b = bb(['-q', '--iidfile', iid, '-t', 'flags:base', '--target', 'base', '--build-arg', 'A=one', '--build-arg', 'B', '--label', 'k=v', '--network', 'none', dir], { env: { B: 'two' } });
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  assert.equal(readFileSync(iid, 'utf8').trim(), b.stdout.trim());
  assert.equal(d.berth(['run', '--rm', 'flags:base', 'cat', '/ab']).stdout, 'one two\n');
  assert.equal(d.berth(['run', '--rm', 'flags:base', 'ls', '/f']).status, 1);
  assert.equal(d.berth(['image', 'inspect', '--format', '{{.Config.Labels.k}}', 'flags:base']).stdout.trim(), 'v');
  const nc = bb(['--no-cache', '--build-arg', 'A=one', dir]);
  assert.equal(nc.status, 0, nc.stderr);
  assert.ok(!nc.stdout.includes('Using cache'));
});

test('errors: failing RUN exits with its code, bad Dockerfile, missing context, tty progress', () => {
  const fail = bb(['-'], { input: 'FROM busybox\nRUN echo visible && exit 4\n' });
  assert.equal(fail.status, 4);
  assert.match(fail.stdout, /visible/);
  assert.match(fail.stderr, /The command '\/bin\/sh -c echo visible && exit 4' returned a non-zero code: 4/);
  const bad = bb(['-'], { input: 'FROM busybox\nCOPY\n' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /COPY requires at least two arguments/);
  const nodir = bb([join(d.dir, 'no-such-dir')]);
  assert.equal(nodir.status, 1);
  assert.match(nodir.stderr, /unable to prepare context: path ".*no-such-dir" not found/);
  const dir = contextDir({ Dockerfile: 'FROM busybox\nRUN echo tty-mode\n' });
  writeFileSync(join(dir, 'x'), 'x');
  const tty = bb(['--progress=tty', '--no-cache', dir]);
  assert.equal(tty.status, 0, tty.stderr);
  assert.match(tty.stderr, /\[\+\] Building [\d.]+s \(\d+\/\d+\)/);
  assert.match(tty.stderr, /RUN echo tty-mode/);
});
