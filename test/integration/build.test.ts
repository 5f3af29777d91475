// Builds through POST /build (the legacy builder protocol), each one then run: instructions,
// cache, stages, context rules, errors, and the daemon's state after a crash mid-build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, startDaemon, type Daemon } from './harness.ts';
import { build, contextDir, tarOf } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const run = (image: string, ...cmd: string[]) => d.berth(['run', '--rm', image, ...cmd]);
const inspect = async (ref: string) => (await d.api('GET', `/images/${ref}/json`)).json();

test('a 10-step Dockerfile builds, prints docker\'s texts, runs, and rebuilds from cache', async () => {
  const files = {
    Dockerfile: [
      'FROM busybox',
      'ENV APP_HOME=/app GREETING="hello world"',
      'WORKDIR $APP_HOME',
      'COPY app.sh ./',
      'COPY lib/ ./lib/',
      'RUN chmod +x app.sh && echo built > built.txt',
      'RUN mkdir -p /data && echo $GREETING > /data/g',
      'COPY conf.txt /etc/app.conf',
      'RUN cat /etc/app.conf >> built.txt',
      'RUN rm lib/unused',
      'CMD ["./app.sh"]',
    ].join('\n'),
    'app.sh': '#!/bin/sh\necho "app: $(cat built.txt) $(cat lib/a) $(cat /data/g)"\n',
    'lib/a': 'liba',
    'lib/unused': 'x',
    'conf.txt': 'conf1',
  };
  const b1 = await build(d, files, { t: 'app:v1' });
  assert.equal(b1.error, undefined, b1.output + b1.error);
  assert.match(b1.output, /^Step 1\/11 : FROM busybox\n ---> [0-9a-f]{12}\n/);
  assert.match(b1.output, /Step 6\/11 : RUN chmod \+x app.sh && echo built > built.txt\n ---> Running in [0-9a-f]{12}\n/);
  assert.match(b1.output, /Successfully built [0-9a-f]{12}\nSuccessfully tagged app:v1\n$/);
  assert.ok(b1.id && b1.output.includes(`Successfully built ${b1.id.slice(7, 19)}`));
  const img = await inspect('app:v1');
  assert.equal(img.Id, b1.id);
  assert.equal(img.Config.WorkingDir, '/app');
  assert.deepEqual(img.Config.Cmd, ['./app.sh']);
  assert.ok(img.Config.Env.includes('GREETING=hello world'));
  const r = run('app:v1');
  assert.equal(r.stdout, 'app: built\nconf1 liba hello world\n', r.stderr);
  assert.equal(run('app:v1', 'ls', 'lib').stdout.trim(), 'a');
  // history: one entry per step, metadata steps marked empty
  const hist = (await d.api('GET', '/images/app:v1/history')).json();
  assert.ok(hist.length >= 11);
  assert.match(hist[0].CreatedBy, /CMD \["\.\/app\.sh"\]/);
  assert.equal(hist[0].Size, 0);
  assert.ok(hist.some((h: any) => /RUN|chmod \+x/.test(h.CreatedBy) && h.Size > 0));

  // Nothing changed: every step from cache, the same image.
  const t0 = Date.now();
  const b2 = await build(d, files, { t: 'app:v1' });
  const cachedMs = Date.now() - t0;
  assert.equal(b2.id, b1.id, b2.output);
  assert.equal((b2.output.match(/ ---> Using cache/g) ?? []).length, 10);
  assert.ok(cachedMs < 3000, `cached rebuild took ${cachedMs} ms`);

  // Touch one source: steps before it cached, from it on rebuilt.
  const b3 = await build(d, { ...files, 'conf.txt': 'conf2' }, { t: 'app:v2' });
  assert.equal(b3.error, undefined, b3.output);
  const steps = b3.output.split(/^Step /m).slice(1);
  assert.ok(steps.slice(1, 7).every((s) => s.includes('Using cache')), b3.output);
  assert.ok(steps.slice(7).every((s) => !s.includes('Using cache')), b3.output);
  assert.equal(run('app:v2').stdout, 'app: built\nconf2 liba hello world\n');
  // mtime-only changes hit the cache
  const b4 = await build(d, files, { t: 'app:v1b' });
  assert.equal(b4.id, b1.id);
  // --no-cache builds everything again
  const b5 = await build(d, files, { nocache: '1' });
  assert.ok(!b5.output.includes('Using cache'));
  assert.notEqual(b5.id, b1.id);
});

test('multi-stage: --target, unneeded stages skipped, COPY --from stage/index/image, FROM stage, parallel stages', async () => {
  const files = {
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM $BASE AS a',
      'RUN sleep 1 && echo A > /a.txt',
      'FROM ${BASE} AS b',
      'RUN sleep 1 && echo B > /b.txt',
      'FROM busybox AS unused',
      'RUN exit 1',
      'FROM a AS final',
      'COPY --from=b /b.txt /b.txt',
      'COPY --from=0 /a.txt /a2.txt',
      'COPY --from=busybox /bin/busybox /bb',
      'CMD cat /a.txt /b.txt /a2.txt',
      'FROM busybox AS other',
      'RUN echo other',
    ].join('\n'),
  };
  const t0 = Date.now();
  const r = await build(d, files, { t: 'ms:final', target: 'final' });
  const ms = Date.now() - t0;
  assert.equal(r.error, undefined, r.output);
  assert.ok(!r.output.includes('exit 1') && !r.output.includes('echo other'), r.output);
  // a and b each sleep 1 s; run in parallel the whole build stays well under their sum + overhead
  assert.ok(ms < 2600, `multi-stage build took ${ms} ms`);
  // output stays in stage order
  assert.ok(r.output.indexOf('echo A') < r.output.indexOf('echo B'));
  assert.equal(run('ms:final').stdout, 'A\nB\nA\n');
  assert.equal(run('ms:final', 'ls', '-l', '/bb').status, 0);
  const missing = await build(d, files, { target: 'nope' });
  assert.match(missing.httpError ?? '', /failed to reach build target nope in Dockerfile/);
  const badFrom = await build(d, { Dockerfile: 'FROM busybox\nCOPY --from=ghost /x /x\n' });
  assert.match(badFrom.error ?? badFrom.httpError ?? '', /invalid from flag value ghost/);
});

test('every metadata instruction lands in the image config', async () => {
  const files = {
    Dockerfile: [
      '# syntax=docker/dockerfile:1',
      'FROM busybox',
      'MAINTAINER someone@example.com',
      'LABEL version="1.0" description="a \\"quoted\\" label"',
      'EXPOSE 80 443/tcp 53/udp 8000-8001',
      'USER 1000:1000',
      'VOLUME ["/data", "/logs"]',
      'STOPSIGNAL SIGUSR1',
      'HEALTHCHECK --interval=5s --timeout=2s --retries=4 --start-period=1s CMD ["true"]',
      'SHELL ["/bin/sh", "-ec"]',
      'ENTRYPOINT ["/bin/echo"]',
      'CMD ["hi"]',
      'ONBUILD RUN echo triggered > /tmp/onbuild.txt',
    ].join('\n'),
  };
  const r = await build(d, files, { t: 'meta:1', labels: JSON.stringify({ extra: 'yes' }) });
  assert.equal(r.error, undefined, r.output);
  const c = (await inspect('meta:1')).Config;
  assert.deepEqual(c.Labels, { version: '1.0', description: 'a "quoted" label', extra: 'yes' });
  assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['443/tcp', '53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.equal(c.User, '1000:1000');
  assert.deepEqual(Object.keys(c.Volumes).sort(), ['/data', '/logs']);
  assert.equal(c.StopSignal, 'SIGUSR1');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 4 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(c.Entrypoint, ['/bin/echo']);
  assert.deepEqual(c.Cmd, ['hi']);
  assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/onbuild.txt']);
  assert.equal((await inspect('meta:1')).Author, 'someone@example.com');
  assert.equal(run('meta:1').stdout, 'hi\n');
  // ONBUILD fires in a child build and is not inherited further
  const child = await build(d, { Dockerfile: 'FROM meta:1\nUSER 0\nENTRYPOINT []\nCMD ["cat", "/tmp/onbuild.txt"]\n' }, { t: 'meta:child' });
  assert.equal(child.error, undefined, child.output);
  assert.match(child.output, /# Executing 1 build trigger/);
  assert.equal(run('meta:child').stdout, 'triggered\n');
  assert.equal((await inspect('meta:child')).Config.OnBuild, null);
  // SHELL changes how shell-form RUN runs; ENTRYPOINT shell form
  const sh = await build(d, { Dockerfile: 'FROM busybox\nSHELL ["/bin/sh", "-xc"]\nRUN echo shelled\nENTRYPOINT echo from-entrypoint\n' }, { t: 'meta:shell' });
  // `set -x` traces to stderr and the echo prints to stdout: the two pipes interleave at any
  // point, so only what each printed is checked: the trace (`+ echo shelled`) and the output.
  const ran = sh.output.slice(sh.output.indexOf('Running in'), sh.output.indexOf('Removing intermediate'));
  assert.ok(ran.includes('+'), ran);
  assert.equal((ran.match(/shelled/g) ?? []).length, 2, ran);
  assert.deepEqual((await inspect('meta:shell')).Config.Entrypoint, ['/bin/sh', '-xc', 'echo from-entrypoint']);
  // HEALTHCHECK NONE
  const none = await build(d, { Dockerfile: 'FROM busybox\nHEALTHCHECK NONE\n' }, { t: 'meta:nohc' });
  assert.deepEqual((await inspect('meta:nohc')).Config.Healthcheck, { Test: ['NONE'] });
  void none;
});

test('ARG: defaults, --build-arg, global ARG before FROM, scope per stage, unused warning, ENV wins', async () => {
  const files = {
    Dockerfile: [
      'ARG VERSION=1.0',
      'FROM busybox',
      'ARG VERSION',
      'ARG NAME=world',
      'ARG EMPTY',
      'ENV FROM_ENV=env',
      'ARG FROM_ENV=arg',
      'RUN echo "v=$VERSION n=$NAME e=$FROM_ENV empty=[$EMPTY]" > /args.txt',
      'FROM busybox AS second',
      'RUN echo "second=[$VERSION]" > /second.txt',
    ].join('\n'),
  };
  const r = await build(d, files, { t: 'args:1', buildargs: JSON.stringify({ NAME: 'berth', UNUSED: 'x' }), target: '' });
  assert.equal(r.error, undefined, r.output);
  // Only the target stage ran (stages it does not need are skipped), so NAME went unused too.
  assert.match(r.output, /\[Warning\] One or more build-args \[NAME UNUSED\] were not consumed/);
  const r2 = await build(d, { ...files, Dockerfile: files.Dockerfile.split('\nFROM busybox AS second')[0] }, { t: 'args:2', buildargs: JSON.stringify({ NAME: 'berth' }) });
  assert.equal(run('args:2', 'cat', '/args.txt').stdout, 'v=1.0 n=berth e=env empty=[]\n');
  assert.equal(run('args:1', 'cat', '/second.txt').stdout, 'second=[]\n');
  // build args are not kept in the image's env, and the RUN's history records them
  const img = await inspect('args:2');
  assert.ok(!img.Config.Env.some((e: string) => e.startsWith('NAME=')));
  const hist = (await d.api('GET', '/images/args:2/history')).json();
  assert.ok(hist.some((h: any) => /^\|\d+ .*NAME=berth/.test(h.CreatedBy)), JSON.stringify(hist.map((h: any) => h.CreatedBy)));
  // a different build-arg value misses the cache for the RUN
  const r3 = await build(d, { ...files, Dockerfile: files.Dockerfile.split('\nFROM busybox AS second')[0] }, { buildargs: JSON.stringify({ NAME: 'other' }) });
  assert.ok(/RUN echo[^\n]*\n ---> Running in/.test(r3.output), r3.output);
  void r2;
});

test('COPY/ADD: globs, dirs, trailing slash, --chown/--chmod, heredocs, archives, URL, .dockerignore', async () => {
  const srv = http.createServer((req, res) => {
    if (req.url === '/file.txt') { res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }); res.end('from-url\n'); } else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const archDir = contextDir({ 'inner/x.txt': 'in-archive', 'y.txt': 'y' });
    const files = {
      Dockerfile: [
        'FROM busybox',
        'COPY *.txt /globbed/',
        'COPY dir /copied-dir',
        'COPY dir/sub/f.txt /renamed.txt',
        'COPY --chown=1234:2345 --chmod=0640 dir/sub/f.txt /owned.txt',
        'COPY --chown=nobody dir/sub/f.txt /nobody.txt',
        'COPY --link a.txt b.txt /multi/',
        'ADD archive.tar.gz /unpacked/',
        'ADD plain.tar /unpacked-plain',
        `ADD http://127.0.0.1:${port}/file.txt /downloaded/`,
        'COPY <<EOF /heredoc.txt',
        'line one',
        'line two',
        'EOF',
        'RUN <<EOF',
        'echo running heredoc > /ran.txt',
        'EOF',
        'RUN cat <<EOT > /cat.txt',
        'via cat',
        'EOT',
        'COPY . /all/',
      ].join('\n'),
      'a.txt': 'A', 'b.txt': 'B', 'ignored.log': 'no', 'secret/key': 'no', 'keep/secret.txt': 'keep',
      'dir/top.txt': 'top', 'dir/sub/f.txt': 'F',
      '.dockerignore': '*.log\nsecret\n**/node_modules\n!keep/*.txt\n',
      'node_modules/m/index.js': 'no',
      'archive.tar.gz': { content: gzipSync(tarOf(archDir)) },
      'plain.tar': { content: tarOf(archDir) },
    };
    const r = await build(d, files, { t: 'copy:1' });
    assert.equal(r.error, undefined, r.output);
    const sh = (s: string) => run('copy:1', 'sh', '-c', s);
    assert.equal(sh('ls /globbed').stdout, 'a.txt\nb.txt\n');
    assert.equal(sh('cat /copied-dir/top.txt /copied-dir/sub/f.txt /renamed.txt').stdout, 'topFF');
    assert.equal(sh('stat -c "%u:%g %a" /owned.txt').stdout, '1234:2345 640\n');
    assert.equal(sh('stat -c "%u:%g" /nobody.txt /renamed.txt').stdout, '65534:65534\n0:0\n');
    assert.equal(sh('cat /multi/a.txt /multi/b.txt').stdout, 'AB');
    assert.equal(sh('cat /unpacked/inner/x.txt /unpacked-plain/y.txt').stdout, 'in-archivey');
    assert.equal(sh('cat /downloaded/file.txt; stat -c %a /downloaded/file.txt').stdout, 'from-url\n600\n');
    assert.equal(sh('cat /heredoc.txt /ran.txt /cat.txt').stdout, 'line one\nline two\nrunning heredoc\nvia cat\n');
    assert.equal(sh('cd /all && find . -type f | sort').stdout, ['./.dockerignore', './Dockerfile', './a.txt', './archive.tar.gz', './b.txt', './dir/sub/f.txt', './dir/top.txt', './keep/secret.txt', './plain.tar'].join('\n') + '\n');
    // multiple sources need a directory destination
    const multi = await build(d, { Dockerfile: 'FROM busybox\nCOPY a.txt b.txt /notdir\n', 'a.txt': 'a', 'b.txt': 'b' });
    assert.match(multi.error ?? '', /When using COPY with more than one source file, the destination must be a directory and end with a \//);
    const url404 = await build(d, { Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/nope /x\n` });
    assert.match(url404.error ?? '', /404/);
  } finally {
    srv.close();
  }
});

test('context confinement: .. and symlinks never reach outside the context', async () => {
  const outside = await build(d, { Dockerfile: 'FROM busybox\nCOPY ../../etc/passwd /x\n' });
  assert.match(outside.error ?? outside.httpError ?? '', /forbidden path outside the build context|outside/);
  const link = await build(d, { Dockerfile: 'FROM busybox\nCOPY evil /x\n', evil: { symlink: '/etc/shadow' } });
  assert.match(link.error ?? '', /file not found in build context/);
  const dotdot = await build(d, { Dockerfile: 'FROM busybox\nCOPY evil/passwd /x\n', evil: { symlink: '../../../../etc' } });
  assert.match(dotdot.error ?? '', /file not found in build context/);
  // A link inside the context resolves inside it.
  const ok = await build(d, { Dockerfile: 'FROM busybox\nCOPY inlink /x\n', inlink: { symlink: '/real.txt' }, 'real.txt': 'real' }, { t: 'ctx:ok' });
  assert.equal(ok.error, undefined, ok.output);
  assert.equal(run('ctx:ok', 'cat', '/x').stdout, 'real');
  // A hostile context tar is refused
  const missing = await build(d, { Dockerfile: 'FROM busybox\nCOPY nope.txt /x\n' });
  assert.match(missing.error ?? '', /COPY failed: file not found in build context or excluded by \.dockerignore: stat nope\.txt: file does not exist/);
});

test('errors: unknown instruction (line number), failed RUN (exit code, output), missing image, bad params', async () => {
  const unknown = await build(d, { Dockerfile: 'FROM busybox\nRUN true\nFOO bar\n' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.httpError ?? '', /line 3: unknown instruction: FOO/i);
  const fail = await build(d, { Dockerfile: 'FROM busybox\nRUN echo before-failing && exit 3\n' });
  assert.equal(fail.error, "The command '/bin/sh -c echo before-failing && exit 3' returned a non-zero code: 3");
  assert.equal(fail.errorCode, 3);
  assert.match(fail.output, /before-failing/);
  // A missing FROM image is pulled; from a closed loopback port (never the network) that fails.
  const noimg = await build(d, { Dockerfile: 'FROM 127.0.0.1:9/nosuchimage:1\n' });
  assert.match(noimg.error ?? noimg.httpError ?? '', /127\.0\.0\.1:9.*connection refused/);
  const nofile = await build(d, { 'other.txt': 'x' });
  assert.match(nofile.httpError ?? '', /Cannot locate specified Dockerfile: Dockerfile/);
  const badArgs = await build(d, { Dockerfile: 'FROM busybox\n' }, { buildargs: '{nope' });
  assert.equal(badArgs.status, 400);
  const badTag = await build(d, { Dockerfile: 'FROM busybox\n' }, { t: 'Bad:Tag:x' });
  assert.equal(badTag.status, 400);
  assert.equal((await build(d, { Dockerfile: 'FROM busybox\n' }, { squash: '1' })).httpError, 'squash is only supported with experimental mode');
  assert.equal((await build(d, { Dockerfile: 'FROM busybox\n' }, { securityopt: 'seccomp=unconfined' })).httpError, 'security options are not supported on linux');
  const plat = await build(d, { Dockerfile: 'FROM busybox\n' }, { platform: 'linux/arm64' });
  assert.match(plat.httpError ?? plat.error ?? '', /linux\/arm64/);
  // a failed build leaves no step containers, mounts or rw layers
  assert.equal(readdirSync(join(d.dataRoot, 'overlay', 'rw')).filter((n) => n.startsWith('build-')).length, 0);
  assert.equal(spawnSync('sh', ['-c', `grep -c ${d.dataRoot} /proc/mounts`]).stdout.toString().trim(), '0');
});

test('RUN --network=none|host|default and the networkmode parameter', async () => {
  const files = {
    Dockerfile: [
      'FROM busybox',
      'RUN --network=none grep -c : /proc/net/dev > /none.txt',
      'RUN --network=host cat /proc/net/dev > /host.txt',
      'RUN --network=default true',
    ].join('\n'),
  };
  const r = await build(d, files, { t: 'net:1' });
  assert.equal(r.error, undefined, r.output);
  const none = Number(run('net:1', 'cat', '/none.txt').stdout);
  const host = run('net:1', 'cat', '/host.txt').stdout;
  // This daemon's default bridge: an interface of the host's network namespace only. (Counting
  // interfaces raced other daemons on the machine adding and removing theirs.)
  const uplink = (await d.api('GET', '/networks/bridge')).json().Options['com.docker.network.bridge.name'] as string;
  assert.ok(uplink, 'the default bridge has a name');
  assert.equal(none, 1); // lo only
  assert.match(host, new RegExp(`^\\s*${uplink}:`, 'm'));
  const bad = await build(d, { Dockerfile: 'FROM busybox\nRUN --network=bogus true\n' });
  assert.equal(bad.status, 400);
  const hostMode = await build(d, { Dockerfile: 'FROM busybox\nRUN cat /proc/net/dev\n' }, { networkmode: 'host', nocache: '1' });
  assert.match(hostMode.output, new RegExp(`^\\s*${uplink}:`, 'm'));
});

test('resource limits apply to RUN containers (memory, cpu shares)', async () => {
  const r = await build(d, { Dockerfile: 'FROM busybox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares\n' }, { memory: String(48 * 1024 * 1024), cpushares: '512', nocache: '1' });
  assert.equal(r.error, undefined, r.output);
  assert.match(r.output, new RegExp(`\n${48 * 1024 * 1024}\n512\n`));
});

test('ADD unpacks xz, bzip2 and zstd tarballs as well', async () => {
  const src = contextDir({ 'inner/x.txt': 'compressed' });
  const tar = tarOf(src);
  const pack = (prog: string) => spawnSync(prog, ['-c'], { input: tar, maxBuffer: 64 << 20 }).stdout;
  const r = await build(d, {
    Dockerfile: 'FROM busybox\nADD a.tar.xz /xz/\nADD a.tar.bz2 /bz/\nADD a.tar.zst /zst/\nADD notatar.txt /plain/\n',
    'a.tar.xz': { content: pack('xz') }, 'a.tar.bz2': { content: pack('bzip2') }, 'a.tar.zst': { content: pack('zstd') }, 'notatar.txt': 'just text',
  }, { t: 'compressed:1' });
  assert.equal(r.error, undefined, r.output);
  assert.equal(run('compressed:1', 'cat', '/xz/inner/x.txt', '/bz/inner/x.txt', '/zst/inner/x.txt', '/plain/notatar.txt').stdout, 'compressedcompressedcompressedjust text');
});

test('custom Dockerfile name, gzip context, escape directive, quiet mode, scratch', async () => {
  const dir = contextDir({
    'build/app.Dockerfile': '# escape=`\nFROM busybox\nRUN echo one `\n  two > /out.txt\nCOPY hello /hello\n',
    hello: 'hello',
  });
  const body = gzipSync(tarOf(dir));
  const r = await build(d, body, { dockerfile: 'build/app.Dockerfile', t: 'named:1', q: '1' });
  assert.equal(r.error, undefined, r.output);
  // Quiet, as moby's router: the image ID alone (no aux, no step output).
  assert.equal(r.messages.length, 1);
  assert.equal(r.output, `${(await inspect('named:1')).Id}\n`);
  assert.equal(run('named:1', 'cat', '/out.txt', '/hello').stdout, 'one two\nhello');
  const scratch = await build(d, { Dockerfile: 'FROM scratch\nCOPY f /f\n', f: 'data' }, { t: 'scratchy:1' });
  assert.equal(scratch.error, undefined, scratch.output);
  const img = await inspect('scratchy:1');
  assert.equal(img.RootFS.Layers.length, 1);
});

test('build cache: system df lists it, /build/prune frees it, kill -9 mid-build leaves nothing behind', async () => {
  const r = await build(d, { Dockerfile: 'FROM busybox\nRUN echo cached > /c\n' }, { t: 'bc:1' });
  assert.equal(r.error, undefined);
  const df = (await d.api('GET', '/system/df')).json();
  assert.ok(Array.isArray(df.BuildCache) && df.BuildCache.length > 0);
  assert.ok(df.Images.some((i: any) => i.RepoTags.includes('bc:1')));
  const pr = (await d.api('POST', '/build/prune')).json();
  assert.ok(pr.CachesDeleted.length > 0);
  assert.equal((await d.api('GET', '/system/df?type=build-cache')).json().BuildCache.length, 0);
  // the image stays usable after the cache is gone
  assert.equal(run('bc:1', 'cat', '/c').stdout, 'cached\n');
  // --cache-from: with the cache pruned, the image's own history serves as cache
  const cf = await build(d, { Dockerfile: 'FROM busybox\nRUN echo cached > /c\n' }, { cachefrom: JSON.stringify(['bc:1']) });
  assert.equal(cf.error, undefined, cf.output);
  assert.match(cf.output, /Step 2\/2 : RUN echo cached > \/c\n ---> Using cache\n/);
  assert.ok(!cf.output.includes('Running in'), cf.output);
  // Every step from the image: the result is that image itself (Docker's ImageCache).
  assert.equal(cf.id, (await inspect('bc:1')).Id);
  const noCf = await build(d, { Dockerfile: 'FROM busybox\nRUN echo cached > /c\n' }, { nocache: '1', cachefrom: JSON.stringify(['bc:1']) });
  assert.ok(noCf.output.includes('Running in'));

  // kill -9 while a RUN step runs
  const pending = build(d, { Dockerfile: 'FROM busybox\nRUN sleep 30\n' }).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 1500));
  await d.restart({ kill9: true });
  await pending;
  assert.equal(readdirSync(join(d.dataRoot, 'overlay', 'rw')).filter((n) => n.startsWith('build-')).length, 0);
  assert.ok(!existsSync(join(d.dataRoot, 'build-tmp')) || readdirSync(join(d.dataRoot, 'build-tmp')).length === 0);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(d.dataRoot));
  assert.deepEqual(mounts, []);
  const ps = spawnSync('pgrep', ['-f', '^sleep 30$']).stdout.toString().trim();
  assert.equal(ps, '');
  // and the daemon builds again
  const again = await build(d, { Dockerfile: 'FROM busybox\nRUN echo after\n' });
  assert.equal(again.error, undefined);
});

test('RUN stderr comes wrapped as the legacy builder sends it; a quiet build that fails shows its output, then the error', async () => {
  const r = await build(d, { Dockerfile: 'FROM busybox\nRUN echo to-out; echo to-err >&2\n' }, { nocache: '1' });
  assert.equal(r.error, undefined, r.output);
  assert.ok(r.messages.some((m) => m.stream === 'to-out\n'), JSON.stringify(r.messages));
  assert.ok(r.messages.some((m) => m.stream === '\x1b[91mto-err\n\x1b[0m'), JSON.stringify(r.messages));
  const q = await build(d, { Dockerfile: 'FROM busybox\nRUN echo before-failing; exit 4\n' }, { q: '1', nocache: '1' });
  assert.equal(q.status, 200);
  assert.match(q.output, /^Step 1\/2 : FROM busybox\n[\s\S]*before-failing\n/);
  assert.equal(q.error, "The command '/bin/sh -c echo before-failing; exit 4' returned a non-zero code: 4");
  // Before API 1.30 the image ID is not sent as an aux message.
  const old = await d.api('POST', '/v1.29/build', tarOf(contextDir({ Dockerfile: 'FROM busybox\nLABEL v=29\n' })), { 'Content-Type': 'application/x-tar' });
  assert.equal(old.status, 200);
  assert.ok(!old.body.toString().includes('"aux"'));
  assert.match(old.body.toString(), /Successfully built [0-9a-f]{12}/);
});

test('cachefrom: only the given images serve as cache, never the local cache', async () => {
  const df = { Dockerfile: 'FROM busybox\nENV A=1\nRUN head -c 16 /dev/urandom | od -An -tx1 > /rand\nCMD ["cat", "/rand"]\n' };
  const a = await build(d, df, { t: 'cf-a:1' });
  assert.equal(a.error, undefined, a.output);
  // Without cachefrom the local cache serves: the same image again.
  const local = await build(d, df);
  assert.equal(local.id, a.id);
  // With an image of another history as the only source: no step is a cache hit (the local
  // cache is not consulted), so the RUN runs again and gives other bytes.
  const other = await build(d, { Dockerfile: 'FROM busybox\nLABEL other=1\n' }, { t: 'cf-other:1' });
  assert.equal(other.error, undefined);
  const none = await build(d, df, { cachefrom: JSON.stringify(['cf-other:1']) });
  assert.equal(none.error, undefined, none.output);
  assert.ok(!none.output.includes('Using cache'), none.output);
  assert.ok(none.output.includes('Running in'));
  assert.notEqual(none.id, a.id);
  // An image that is not there: no source at all, no hits either (Docker warns in its log only).
  const missing = await build(d, df, { cachefrom: JSON.stringify(['nosuch:1']) });
  assert.ok(!missing.output.includes('Using cache'), missing.output);
  // The image built with the same steps: every step hits and the result is that image.
  const hit = await build(d, df, { cachefrom: JSON.stringify(['cf-other:1', 'cf-a:1']) });
  assert.equal(hit.error, undefined, hit.output);
  assert.equal(hit.output.match(/Using cache/g)?.length, 3, hit.output);
  assert.equal(hit.id, a.id);
  // A changed step ends the hits there; the steps before it still come from the image.
  const changed = await build(d, { Dockerfile: df.Dockerfile.replace('CMD ["cat", "/rand"]', 'CMD ["cat", "/rand", "/rand"]') }, { cachefrom: JSON.stringify(['cf-a:1']) });
  assert.equal(changed.output.match(/Using cache/g)?.length, 2, changed.output);
  assert.equal(run(changed.id!, 'cat', '/rand').stdout, run('cf-a:1', 'cat', '/rand').stdout);
});

test('networkmode: a user network by name or ID runs RUN steps on it, with its DNS; an unknown one fails at its RUN', async () => {
  const net = await d.api('POST', '/networks/create', { Name: 'buildnet' });
  assert.equal(net.status, 201, net.body.toString());
  const netId = net.json().Id as string;
  const svc = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'buildnet' } }, {})).json().Id;
  try {
    assert.equal((await d.api('POST', `/containers/${svc}/start`)).status, 204);
    const info = (await d.api('GET', '/networks/buildnet')).json();
    const subnet = info.IPAM.Config[0].Subnet as string;
    const gateway = (info.IPAM.Config[0].Gateway as string | undefined) ?? '';
    const svcIp = (await d.api('GET', `/containers/${svc}/json`)).json().NetworkSettings.Networks.buildnet.IPAddress as string;
    const svcName = (await d.api('GET', `/containers/${svc}/json`)).json().Name.slice(1) as string;
    for (const mode of ['buildnet', netId, netId.slice(0, 12)]) {
      const r = await build(d, { Dockerfile: `FROM busybox\nRUN ip addr show eth0; cat /etc/resolv.conf; nslookup ${svcName}\n` }, { networkmode: mode, nocache: '1' });
      assert.equal(r.error, undefined, r.output);
      const prefix = subnet.split('.').slice(0, 2).join('.');
      assert.match(r.output, new RegExp(`inet ${prefix.replace(/\./g, '\\.')}\\.`), r.output);
      if (gateway) assert.match(r.output, new RegExp(`nameserver ${gateway.replace(/\./g, '\\.')}`));
      assert.ok(r.output.includes(svcIp), r.output);
    }
    // A build without RUN never needs the network; one with RUN fails there, as dockerd's does.
    assert.equal((await build(d, { Dockerfile: 'FROM busybox\nLABEL x=1\n' }, { networkmode: 'nosuchnet' })).error, undefined);
    const bad = await build(d, { Dockerfile: 'FROM busybox\nRUN true\n' }, { networkmode: 'nosuchnet', nocache: '1' });
    assert.equal(bad.error, 'network nosuchnet not found');
    assert.match(bad.output, /Step 2\/2 : RUN true/);
  } finally {
    await d.api('DELETE', `/containers/${svc}?force=1`);
    await d.api('DELETE', '/networks/buildnet');
  }
});

test('labels: one LABEL step per label, keys sorted, at the end of the target stage, never expanded', async () => {
  const labels = { zeta: 'last', alpha: 'a $HOME "quoted" \\ back`tick' };
  for (const df of ['FROM busybox\nENV HOME=/root\n', '# escape=`\nFROM busybox\nENV HOME=/root\n']) {
    const r = await build(d, { Dockerfile: df }, { labels: JSON.stringify(labels), nocache: '1' });
    assert.equal(r.error, undefined, r.output);
    assert.match(r.output, /Step 3\/4 : LABEL alpha=a \$HOME "quoted" \\ back`tick\n[\s\S]*Step 4\/4 : LABEL zeta=last\n/);
    const img = await inspect(r.id!);
    assert.deepEqual(img.Config.Labels, labels);
  }
});

test('bin/berth exits after a large build (Node 24 exit deadlock, nodejs/node#54918)', async () => {
  // With background compilation on, a CLI that had streamed a 100 MB context hung at exit in about
  // 1 build in 4 (its main thread joining a compile job that waits for a main-thread GC). bin/berth
  // starts node without it; each build here must end within its bound.
  const dir = mkdtempSync(join(d.dir, 'bigctx-'));
  const files = ['r1', 'r2', 'r3', 'r4'];
  writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\n${files.map((f) => `COPY ${f} /${f}\n`).join('')}`);
  for (const f of files) writeFileSync(join(dir, f), randomBytes(25 << 20));
  try {
    for (let i = 0; i < 4; i++) {
      appendFileSync(join(dir, 'r4'), String(i)); // a fresh build each time: the whole context streams
      const r = spawnSync(join(ROOT, 'bin', 'berth'), ['build', '-q', '-t', `exitcheck:${i}`, dir],
        { timeout: 60_000, env: { ...process.env, BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: '', BERTH_CONFIG: join(d.dir, 'berth-config') } });
      assert.equal(r.signal, null, `build ${i} did not exit within 60 s`);
      assert.equal(r.status, 0, r.stderr?.toString());
      assert.match(r.stdout.toString(), /^sha256:[0-9a-f]{64}$/m);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (let i = 0; i < 4; i++) d.berth(['rmi', `exitcheck:${i}`]);
  }
});
