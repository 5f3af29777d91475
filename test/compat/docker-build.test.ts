// The real docker CLI's legacy builder (DOCKER_BUILDKIT=0) building through berthd: the
// seeds' Python/Flask, Node and multi-stage examples rewritten on busybox, then run; flags the
// CLI turns into /build parameters; history, builder prune and system df.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, hasDocker, type Daemon } from '../integration/harness.ts';
import { contextDir } from '../integration/build-util.ts';

const skip = hasDocker ? false : 'no docker client installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

const dbuild = (args: string[], input?: string | Buffer) => d.docker(['build', ...args], { env: { DOCKER_BUILDKIT: '0' }, input, timeout: 120_000 });

test('python/flask-style app: dependencies layer first, app copied after, cache on rebuild', { skip }, () => {
  const dir = contextDir({
    Dockerfile: [
      'FROM busybox',
      'LABEL org.opencontainers.image.title="flask-app"',
      'ENV FLASK_APP=app.py \\',
      '    PORT=5000 \\',
      '    PYTHONUNBUFFERED=1',
      'WORKDIR /app',
      'COPY requirements.txt .',
      '# "pip install": one directory per requirement',
      'RUN mkdir -p site-packages && \\',
      '    while read -r dep; do [ -n "$dep" ] && mkdir -p "site-packages/${dep%%==*}"; done < requirements.txt',
      'COPY . .',
      'EXPOSE 5000',
      'CMD ["sh", "-c", "echo serving $FLASK_APP on $PORT; ls site-packages"]',
    ].join('\n'),
    'requirements.txt': 'flask==3.0.0\nrequests==2.31.0\n',
    'app.py': 'print("hello")\n',
    'static/index.html': '<h1>hi</h1>',
    '.dockerignore': '__pycache__\n*.pyc\n.git\n',
    '__pycache__/app.cpython.pyc': 'x',
  });
  const b = dbuild(['-t', 'flask-app', dir]);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /Step 1\/9 : FROM busybox/);
  assert.match(b.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged flask-app:latest/);
  const r = d.docker(['run', '--rm', 'flask-app']);
  assert.equal(r.stdout, 'serving app.py on 5000\nflask\nrequests\n', r.stderr);
  assert.equal(d.docker(['run', '--rm', 'flask-app', 'ls', '/app']).stdout, 'Dockerfile\napp.py\nrequirements.txt\nsite-packages\nstatic\n');
  // Changing only app code keeps the dependency layer.
  writeFileSync(join(dir, 'app.py'), 'print("changed")\n');
  const b2 = dbuild(['-t', 'flask-app', dir]);
  assert.equal(b2.status, 0, b2.stderr);
  const steps = b2.stdout.split(/^Step /m).slice(1);
  assert.ok(steps[4].includes('Using cache') && steps[5].includes('Using cache'), b2.stdout);
  assert.ok(!steps[6].includes('Using cache'), b2.stdout);
  const insp = d.docker(['image', 'inspect', '--format', '{{json .Config.ExposedPorts}} {{index .Config.Labels "org.opencontainers.image.title"}}', 'flask-app']);
  assert.equal(insp.stdout.trim(), '{"5000/tcp":{}} flask-app');
});

test('node-style app: non-root user, build args, .dockerignore of node_modules, ENTRYPOINT + CMD', { skip }, () => {
  const dir = contextDir({
    Dockerfile: [
      'ARG NODE_ENV=production',
      'FROM busybox',
      'ARG NODE_ENV',
      'ENV NODE_ENV=$NODE_ENV',
      'RUN echo "node:x:1000:1000:node:/home/node:/bin/sh" >> /etc/passwd && echo "node:x:1000:" >> /etc/group && mkdir -p /home/node && chown node:node /home/node',
      'WORKDIR /home/node/app',
      'COPY --chown=node:node package.json ./',
      'RUN mkdir node_modules && echo "installed for $NODE_ENV" > node_modules/.installed && chown -R node:node node_modules',
      'COPY --chown=node:node src ./src',
      'USER node',
      'ENTRYPOINT ["sh", "-c", "cat node_modules/.installed; id -un; ls src; exec \\"$@\\"", "--"]',
      'CMD ["echo", "listening on 3000"]',
    ].join('\n'),
    'package.json': '{"name":"app"}',
    'src/index.js': 'console.log(1)',
    'node_modules/left-pad/index.js': 'ignored',
    '.dockerignore': 'node_modules\nnpm-debug.log\n',
  });
  const b = dbuild(['-t', 'node-app', '--build-arg', 'NODE_ENV=development', dir]);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  const r = d.docker(['run', '--rm', 'node-app']);
  assert.equal(r.stdout, 'installed for development\nnode\nindex.js\nlistening on 3000\n', r.stderr);
  assert.equal(d.docker(['run', '--rm', 'node-app', 'stat', '-c', '%U', 'package.json']).stdout, 'installed for development\nnode\nindex.js\nnode\n');
  const ls = d.docker(['run', '--rm', '--entrypoint', 'ls', 'node-app', '-a', 'node_modules']);
  assert.equal(ls.stdout, '.\n..\n.installed\n');
});

test('multi-stage app: --target, COPY --from, -q, --iidfile, --label, -f, history, builder prune, system df', { skip }, () => {
  const dir = contextDir({
    'build/Dockerfile.multi': [
      'FROM busybox AS builder',
      'WORKDIR /src',
      'COPY main.sh .',
      'RUN sed "s/VERSION/1.2.3/" main.sh > app && chmod 755 app',
      '',
      'FROM busybox AS test',
      'COPY --from=builder /src/app /app',
      'RUN /app | grep -q 1.2.3',
      '',
      'FROM busybox',
      'COPY --from=builder /src/app /usr/local/bin/app',
      'CMD ["app"]',
    ].join('\n'),
    'main.sh': '#!/bin/sh\necho "app VERSION"\n',
  });
  const iid = join(d.dir, 'iid');
  const b = dbuild(['-q', '--iidfile', iid, '--label', 'stage=final', '-t', 'multi:latest', '-f', join(dir, 'build/Dockerfile.multi'), dir]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  assert.equal(readFileSync(iid, 'utf8').trim(), b.stdout.trim());
  assert.equal(d.docker(['run', '--rm', 'multi']).stdout, 'app 1.2.3\n');
  assert.equal(d.docker(['image', 'inspect', '--format', '{{.Config.Labels.stage}}', 'multi']).stdout.trim(), 'final');
  const t = dbuild(['--target', 'test', '-t', 'multi:test', '-f', join(dir, 'build/Dockerfile.multi'), dir]);
  assert.equal(t.status, 0, t.stderr);
  assert.equal(d.docker(['run', '--rm', 'multi:test', '/app']).stdout, 'app 1.2.3\n');
  const hist = d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'multi']);
  assert.equal(hist.status, 0, hist.stderr);
  const lines = hist.stdout.trim().split('\n');
  assert.match(lines[0], /LABEL stage=final\|0B/);
  assert.match(lines[1], /CMD \["app"\]\|0B/);
  assert.match(lines[2], /COPY file:[0-9a-f]+ in \/usr\/local\/bin\/app \|\d+B/);
  const df = d.docker(['system', 'df']);
  assert.equal(df.status, 0, df.stderr);
  assert.match(df.stdout, /Build Cache\s+\d+/);
  const pr = d.docker(['builder', 'prune', '-f']);
  assert.equal(pr.status, 0, pr.stderr);
  assert.match(pr.stdout, /Total reclaimed space/);
  assert.match(d.docker(['system', 'df']).stdout, /Build Cache\s+0\s/);
});

test('docker build - (Dockerfile on stdin) and errors the CLI shows', { skip }, () => {
  const b = dbuild(['-t', 'stdin-df', '-'], 'FROM busybox\nRUN echo from-stdin > /f\nCMD ["cat", "/f"]\n');
  assert.equal(b.status, 0, b.stderr);
  assert.equal(d.docker(['run', '--rm', 'stdin-df']).stdout, 'from-stdin\n');
  const bad = dbuild(['-'], 'FROM busybox\nRUNN true\n');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown instruction: RUNN/i);
  const fail = dbuild(['-'], 'FROM busybox\nRUN echo oops && exit 7\n');
  assert.equal(fail.status, 7);
  assert.match(fail.stdout, /oops/);
  assert.match(fail.stderr, /The command '\/bin\/sh -c echo oops && exit 7' returned a non-zero code: 7/);
});

test('docker build -f <Dockerfile outside the context>; RUN stderr in red; --cache-from; --network <user network>; -q failing', { skip }, () => {
  // The CLI adds the Dockerfile to the context under a generated name (.dockerfile.<random>),
  // with a .dockerignore for it, in a tar without the last padding and end blocks.
  const ctx = contextDir({ 'a.txt': 'from-the-context\n' });
  const dfDir = contextDir({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt; echo to-stderr >&2\nCMD ["cat", "/a.txt"]\n' });
  const b = dbuild(['-t', 'outside-df', '-f', join(dfDir, 'Dockerfile'), ctx]);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /from-the-context\n\x1b\[91mto-stderr\n\x1b\[0m/);
  assert.equal(d.docker(['run', '--rm', 'outside-df']).stdout, 'from-the-context\n');
  // Neither the generated Dockerfile nor the .dockerignore are in the image.
  assert.equal(d.docker(['run', '--rm', 'outside-df', 'sh', '-c', 'ls -a / | grep -c dockerfile || true']).stdout.trim(), '0');

  // --cache-from: only that image serves as cache; every step hits, and the result is that image.
  const again = dbuild(['--cache-from', 'outside-df', '-q', '-f', join(dfDir, 'Dockerfile'), ctx]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), d.docker(['image', 'inspect', '--format', '{{.Id}}', 'outside-df']).stdout.trim(), again.stderr);
  const other = dbuild(['--cache-from', 'busybox', '-f', join(dfDir, 'Dockerfile'), ctx]);
  assert.equal(other.status, 0, other.stderr);
  assert.doesNotMatch(other.stdout, /Using cache/, other.stdout);

  // --network: RUN steps on a user network reach its containers by name.
  assert.equal(d.docker(['network', 'create', 'clibuild']).status, 0);
  try {
    assert.equal(d.docker(['run', '-d', '--name', 'clibuild-svc', '--network', 'clibuild', 'busybox', 'sleep', '60']).status, 0);
    const ip = d.docker(['inspect', '--format', '{{.NetworkSettings.Networks.clibuild.IPAddress}}', 'clibuild-svc']).stdout.trim();
    const n = dbuild(['--no-cache', '--network', 'clibuild', '-'], 'FROM busybox\nRUN for i in 1 2 3 4 5; do nslookup clibuild-svc && break; sleep 1; done\n');
    assert.equal(n.status, 0, n.stderr);
    assert.ok(n.stdout.includes(ip), n.stdout);
  } finally {
    d.docker(['rm', '-f', 'clibuild-svc']);
    d.docker(['network', 'rm', 'clibuild']);
  }

  // -q: a failing build shows what it held back (the CLI prints it on stderr), then the error.
  const q = dbuild(['-q', '-'], 'FROM busybox\nRUN echo held-back; exit 5\n');
  assert.equal(q.status, 5);
  assert.equal(q.stdout, '');
  assert.match(q.stderr, /Step 2\/2 : RUN echo held-back; exit 5\n[\s\S]*held-back\n[\s\S]*returned a non-zero code: 5/);
});
