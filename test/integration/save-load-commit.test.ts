// save / load / commit / history through the API, the berth CLI and the docker CLI (and skopeo):
// round trips keep image IDs and tags, several images share layers in one archive, OCI layouts
// and gzip'd archives load, bad archives change nothing, commit makes runnable images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startDaemon, hasDocker, busyboxRootfsTar, BERTH, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
let tmp: string;
before(async () => { d = await startDaemon(); tmp = mkdtempSync(join(tmpdir(), 'berth-sl-')); });
after(async () => { await d?.stop(); if (tmp) rmSync(tmp, { recursive: true, force: true }); });

const ok = (r: { status: number | null; stdout: string; stderr: string }) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;

/** Shell pipeline with `berth` and `docker` pointed at this daemon. */
function sh(cmd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], {
    env: { ...process.env, BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config'), BERTH: `${process.execPath} -- ${BERTH}` },
    timeout: 120_000, maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

async function imageId(ref: string): Promise<string> {
  const r = await d.api('GET', `/images/${ref}/json`);
  assert.equal(r.status, 200, `inspect ${ref}: ${r.body}`);
  return r.json().Id;
}

async function state(): Promise<{ images: string; blobs: string[]; layers: string[] }> {
  const images = JSON.stringify((await d.api('GET', '/images/json?all=1')).json().map((i: any) => [i.Id, i.RepoTags]).sort());
  const blobs = readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).sort();
  const layers = readdirSync(join(d.dataRoot, 'overlay', 'l')).filter((n) => !n.startsWith('.')).sort();
  return { images, blobs, layers };
}

let appId = '';
let libId = '';

test('save → rmi → load keeps image IDs and tags; two images in one archive share layers', async () => {
  const lib = await build(d, { Dockerfile: 'FROM busybox\nRUN echo lib > /lib.txt\n' }, { t: 'sl/lib:1' });
  assert.ok(lib.id, lib.error);
  const app = await build(d, { Dockerfile: 'FROM sl/lib:1\nRUN echo app > /app.txt\nENV APP=1\nCMD ["cat", "/app.txt"]\n' }, { t: 'sl/app:2' });
  assert.ok(app.id, app.error);
  libId = await imageId('sl/lib:1');
  appId = await imageId('sl/app:2');
  const file = join(tmp, 'two.tar');
  ok(d.berth(['save', '-o', file, 'sl/lib:1', 'sl/app:2']));
  const list = spawnSync('tar', ['-tf', file]).stdout.toString().split('\n').filter(Boolean);
  for (const f of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) assert.ok(list.includes(f), `${f} in ${list}`);
  // The busybox and lib layers are written once though both images have them.
  const blobs = list.filter((f) => f.startsWith('blobs/sha256/') && f.length > 14);
  assert.equal(new Set(blobs).size, blobs.length);
  const manifest = JSON.parse(spawnSync('tar', ['-xOf', file, 'manifest.json']).stdout.toString());
  assert.deepEqual(manifest.map((m: any) => m.RepoTags), [['sl/lib:1'], ['sl/app:2']]);
  assert.deepEqual(manifest[1].Layers.slice(0, 2), manifest[0].Layers);
  assert.equal(manifest[1].Config, `blobs/sha256/${appId.slice(7)}`);

  ok(d.berth(['rmi', 'sl/app:2', 'sl/lib:1']));
  assert.equal((await d.api('GET', '/images/sl/app:2/json')).status, 404);
  const r = ok(d.berth(['load', '-i', file]));
  assert.equal(r.stdout, 'Loaded image: sl/lib:1\nLoaded image: sl/app:2\n');
  assert.equal(await imageId('sl/lib:1'), libId);
  assert.equal(await imageId('sl/app:2'), appId);
  const run = ok(d.berth(['run', '--rm', 'sl/app:2']));
  assert.equal(run.stdout, 'app\n');
  // Saved by ID: untagged, loaded as `Loaded image ID`.
  const byId = join(tmp, 'byid.tar');
  ok(d.berth(['save', '-o', byId, appId.slice(7, 19)]));
  const m2 = JSON.parse(spawnSync('tar', ['-xOf', byId, 'manifest.json']).stdout.toString());
  assert.equal(m2[0].RepoTags, null);
  const q = await d.api('POST', '/images/load?quiet=1', readFileSync(byId), { 'Content-Type': 'application/x-tar' });
  assert.equal(q.status, 200);
  assert.match(q.body.toString(), new RegExp(`"stream":"Loaded image ID: ${appId}\\\\n"`));
});

test('save refuses a terminal and unknown images (404); the single-image route', async () => {
  const r = await d.api('GET', '/images/nosuch:1/get');
  assert.equal(r.status, 404);
  assert.match(r.json().message, /No such image: nosuch:1/);
  const m = await d.api('GET', '/images/get?names=busybox&names=nosuch');
  assert.equal(m.status, 404);
  const one = await d.api('GET', '/images/busybox/get');
  assert.equal(one.status, 200);
  assert.equal(one.headers['content-type'], 'application/x-tar');
  const tty = spawnSync('script', ['-qec', `${process.execPath} -- ${BERTH} save busybox`, '/dev/null'], { env: { ...process.env, BERTH_HOST: `unix://${d.sock}` } });
  assert.match(tty.stdout.toString(), /cowardly refusing to save to a terminal. Use the -o flag or redirect/);
  // stdout a file, a pipe read to its end, a pipe whose reader quits early (docker's SIGPIPE
  // status, 141, and no message); -o of an unknown image leaves no file behind.
  const f = join(tmp, 'stdout.tar');
  ok(sh(`$BERTH save busybox > ${f}`));
  const viaFile = readFileSync(f);
  assert.ok(spawnSync('tar', ['-tf', f]).stdout.toString().split('\n').includes('manifest.json'));
  const piped = sh('$BERTH save busybox | sha256sum');
  assert.equal(piped.stdout.split(' ')[0], createHash('sha256').update(viaFile).digest('hex'));
  const early = sh('$BERTH save busybox | head -c 10 > /dev/null; echo "status=${PIPESTATUS[0]}"');
  assert.equal(early.stdout, 'status=141\n');
  assert.equal(early.stderr, '');
  const dir = join(tmp, 'unknown-out');
  mkdirSync(dir);
  const bad = d.berth(['save', '-o', join(dir, 'x.tar'), 'nosuch:1']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /No such image: nosuch:1/);
  assert.deepEqual(readdirSync(dir), []);
});

test('docker save | berth load and berth save | docker load through berthd', { skip: !hasDocker }, async () => {
  const r = sh('docker save sl/app:2 | $BERTH load');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: sl\/app:2/);
  ok(d.berth(['rmi', 'sl/app:2']));
  const l = sh('$BERTH save sl/lib:1 | docker load');
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /Loaded image: sl\/lib:1/);
  // docker save of an image pulled through save/load: ID preserved.
  const f = join(tmp, 'app.tar');
  ok(sh(`docker image rm sl/lib:1 >/dev/null; docker save -o ${f} ${appId} || true`));
  ok(d.docker(['load', '-i', join(tmp, 'two.tar')]));
  assert.equal(await imageId('sl/app:2'), appId);
  assert.equal(await imageId('sl/lib:1'), libId);
});

test('skopeo reads a berth archive; an OCI layout tar from skopeo loads', { skip: !hasSkopeo }, async () => {
  const file = join(tmp, 'two.tar');
  const ins = spawnSync('skopeo', ['inspect', `docker-archive:${file}:sl/app:2`]);
  assert.equal(ins.status, 0, ins.stderr.toString());
  const info = JSON.parse(ins.stdout.toString());
  assert.equal(info.Layers.length, 3);
  assert.ok(info.Env.includes('APP=1'));
  const ociDir = join(tmp, 'oci');
  const cp = spawnSync('skopeo', ['copy', `docker-archive:${file}:sl/app:2`, `oci:${ociDir}:v1`]);
  assert.equal(cp.status, 0, cp.stderr.toString());
  assert.ok(existsSync(join(ociDir, 'index.json')));
  const ociTar = join(tmp, 'app-oci.tar');
  const ca = spawnSync('skopeo', ['copy', `docker-archive:${file}:sl/app:2`, `oci-archive:${ociTar}:sl/oci:3`]);
  assert.equal(ca.status, 0, ca.stderr.toString());
  const r = ok(d.berth(['load', '-q', '-i', ociTar]));
  // skopeo re-serialises the config (its ID changes) and gzips layers; the content is the same.
  assert.match(r.stdout, /^Loaded image( ID)?: /);
  const id = /Loaded image(?: ID)?: (\S+)/.exec(r.stdout)![1];
  const run = ok(d.berth(['run', '--rm', id]));
  assert.equal(run.stdout, 'app\n');
  // An image whose layer blob is gzip'd (imported from a .tar.gz, as pulled ones are) saves as is:
  // skopeo and berth read it back; the ID stays.
  const rootfs = busyboxRootfsTar();
  const gzImp = await d.api('POST', '/images/create?fromSrc=-&repo=sl/gz&tag=1', gzipSync(rootfs), { 'Content-Type': 'application/x-tar' });
  assert.equal(gzImp.status, 200);
  const gzId = await imageId('sl/gz:1');
  const gzFile = join(tmp, 'gzlayer.tar');
  ok(d.berth(['save', '-o', gzFile, 'sl/gz:1']));
  const gi = spawnSync('skopeo', ['inspect', '--config', `docker-archive:${gzFile}`]);
  assert.equal(gi.status, 0, gi.stderr.toString());
  const gc = spawnSync('skopeo', ['copy', `docker-archive:${gzFile}`, `oci:${join(tmp, 'gzoci')}:x`]);
  assert.equal(gc.status, 0, gc.stderr.toString());
  ok(d.berth(['rmi', 'sl/gz:1']));
  assert.match(ok(d.berth(['load', '-i', gzFile])).stdout, /Loaded image: sl\/gz:1/);
  assert.equal(await imageId('sl/gz:1'), gzId);
  assert.equal(ok(d.berth(['run', '--rm', 'sl/gz:1', 'echo', 'ok'])).stdout, 'ok\n');
  // A gzip'd docker archive loads too.
  const gz = join(tmp, 'two.tar.gz');
  writeFileSync(gz, gzipSync(readFileSync(file)));
  ok(d.berth(['rmi', '-f', 'sl/app:2']));
  const g = ok(d.berth(['load', '-i', gz]));
  assert.match(g.stdout, /Loaded image: sl\/app:2/);
  assert.equal(await imageId('sl/app:2'), appId);
  // An OCI archive whose layers are zstd (skopeo --dest-compress-format zstd) loads and runs.
  const zTar = join(tmp, 'app-zstd.tar');
  const cz = spawnSync('skopeo', ['copy', '--dest-compress-format', 'zstd', `docker-archive:${file}:sl/app:2`, `oci-archive:${zTar}:sl/zstd:1`]);
  assert.equal(cz.status, 0, cz.stderr.toString());
  const zl = ok(d.berth(['load', '-i', zTar]));
  const zid = /Loaded image(?: ID)?: (\S+)/.exec(zl.stdout)![1];
  const zins = (await d.api('GET', `/images/${zid}/json`)).json();
  assert.deepEqual(zins.RootFS.Layers, (await d.api('GET', '/images/sl/app:2/json')).json().RootFS.Layers);
  assert.equal(ok(d.berth(['run', '--rm', zid])).stdout, 'app\n');
});

test('truncated, tampered and path-escaping archives: a clear error and nothing changed', async () => {
  const file = join(tmp, 'two.tar');
  const good = readFileSync(file);
  ok(d.berth(['rmi', 'sl/app:2']));
  const st0 = await state();
  const check = async (bad: Buffer, re: RegExp) => {
    // As moby: the error is in the 200 JSON stream (errorDetail), not an HTTP status.
    const r = await d.api('POST', '/images/load', bad, { 'Content-Type': 'application/x-tar' });
    const text = r.body.toString();
    assert.equal(r.status, 200, text);
    const last = JSON.parse(text.trim().split('\n').pop()!);
    assert.equal(last.error, last.errorDetail.message);
    assert.match(last.error, re);
    assert.deepEqual(await state(), st0);
    assert.deepEqual(readdirSync(d.dataRoot).filter((n) => n === 'load-staging'), []);
  };
  await check(good.subarray(0, Math.floor(good.length / 2)), /truncated|unexpected EOF|missing/);
  // Tamper with the app image's top layer blob (its bytes, not its name).
  const manifest = JSON.parse(spawnSync('tar', ['-xOf', file, 'manifest.json']).stdout.toString());
  const top = manifest[1].Layers[2] as string;
  const dir = join(tmp, 'tamper');
  spawnSync('mkdir', ['-p', dir]);
  ok(sh(`cd ${dir} && tar -xf ${file} && rm -f ${dir}.tar`));
  const p = join(dir, top);
  const buf = readFileSync(p);
  const i = buf.indexOf('app\n');
  assert.ok(i > 0);
  buf.write('APP\n', i);
  spawnSync('chmod', ['u+w', p]);
  writeFileSync(p, buf);
  ok(sh(`cd ${dir} && tar -cf ${dir}.tar *`));
  await check(readFileSync(`${dir}.tar`), /digest mismatch/);
  // Same tampering under a legacy name (no content address): caught by the diff ID check.
  ok(sh(`cd ${dir} && mv ${top} layer.tar && sed -i 's#${top}#layer.tar#' manifest.json && rm -f index.json && tar -cf ${dir}2.tar *`));
  await check(readFileSync(`${dir}2.tar`), /layer digest mismatch/);
  // An entry named ../x is refused before anything is written.
  const evil = spawnSync('python3', ['-c', `
import tarfile, io, sys
b = io.BytesIO()
t = tarfile.open(fileobj=b, mode='w')
i = tarfile.TarInfo('../evil'); d = b'x'; i.size = 1; t.addfile(i, io.BytesIO(d))
t.close(); sys.stdout.buffer.write(b.getvalue())`]).stdout;
  await check(evil, /outside the archive/);
  assert.ok(!existsSync(join(d.dataRoot, '..', 'evil')));
  await check(Buffer.alloc(0), /the archive is empty/);
  // What the docker CLI and berth print then: the message, exit 1.
  const garbage = Buffer.alloc(3000, 'not a tar archive ');
  if (hasDocker) {
    const dl = d.docker(['load'], { input: garbage });
    assert.equal(dl.status, 1);
    assert.match(dl.stderr, /^invalid archive: .*\n$/);
  }
  const bl = d.berth(['load'], { input: garbage });
  assert.equal(bl.status, 1);
  assert.match(bl.stderr, /^invalid archive: .*\n$/);
  assert.deepEqual(await state(), st0);
});

test('commit: rw layer (whiteouts too) + --change; runs; history; author/comment; 404 for a removed container', async () => {
  ok(d.berth(['run', '--name', 'cm', 'busybox', 'sh', '-c', 'echo hi > /made && rm /bin/vi && mkdir -p /d && echo x > /d/y']));
  const r = ok(d.berth(['commit', '-a', 'Ann <a@x>', '-m', 'my commit', '-c', 'CMD ["cat", "/made"]', '-c', 'ENV A=b', 'cm', 'sl/cm:1']));
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const id = r.stdout.trim();
  assert.equal(await imageId('sl/cm:1'), id);
  const ins = (await d.api('GET', '/images/sl/cm:1/json')).json();
  assert.deepEqual(ins.Config.Cmd, ['cat', '/made']);
  assert.ok(ins.Config.Env.includes('A=b'));
  assert.equal(ins.Author, 'Ann <a@x>');
  assert.equal(ins.Comment, 'my commit');
  assert.equal(ins.Parent, await imageId('busybox'));
  assert.equal(ins.RootFS.Layers.length, 2);
  assert.equal(ok(d.berth(['run', '--rm', 'sl/cm:1'])).stdout, 'hi\n');
  assert.equal(ok(d.berth(['run', '--rm', 'sl/cm:1', 'sh', '-c', 'echo $A; test -e /bin/vi || echo gone; cat /d/y; test -e /etc/hosts && echo hosts'])).stdout, 'b\ngone\nx\nhosts\n');
  // The mount targets are not in the layer; the layer holds what the command did.
  const diff = ok(d.berth(['diff', 'cm'])).stdout;
  assert.match(diff, /A \/made/);
  const h = (await d.api('GET', '/images/sl/cm:1/history')).json();
  assert.equal(h[0].Id, id);
  assert.equal(h[0].CreatedBy, 'sh -c echo hi > /made && rm /bin/vi && mkdir -p /d && echo x > /d/y');
  assert.equal(h[0].Comment, 'my commit');
  assert.deepEqual(h[0].Tags, ['sl/cm:1']);
  assert.ok(h[0].Size > 0);
  const hist = ok(d.berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'sl/cm:1'])).stdout.split('\n')[0];
  assert.equal(hist, 'sh -c echo hi > /made && rm /bin/vi && mkdir -p /d && echo x > /d/y|my commit');
  // Docker CLI: commit of a running container (paused meanwhile), unchanged rw layer = empty layer.
  ok(d.berth(['run', '-d', '--name', 'cm2', 'busybox', 'sleep', '60']));
  const out = hasDocker ? ok(d.docker(['commit', 'cm2'])).stdout.trim() : ok(d.berth(['commit', 'cm2'])).stdout.trim();
  assert.match(out, /^sha256:[a-f0-9]{64}$/);
  const c2 = (await d.api('GET', `/images/${out}/json`)).json();
  assert.equal(c2.RootFS.Layers.length, 1);
  assert.deepEqual(c2.RepoTags, []);
  assert.equal((await d.api('GET', '/containers/cm2/json')).json().State.Status, 'running');
  const h2 = (await d.api('GET', `/images/${out}/history`)).json();
  assert.equal(h2[0].CreatedBy, 'sleep 60');
  assert.equal(h2[0].Size, 0);
  if (hasDocker) {
    const dh = ok(d.docker(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}} {{.Comment}}', 'sl/cm:1'])).stdout.split('\n')[0];
    assert.equal(dh, `${id} sh -c echo hi > /made && rm /bin/vi && mkdir -p /d && echo x > /d/y my commit`);
    const dc = ok(d.docker(['commit', '-c', 'EXPOSE 80', '-c', 'LABEL a=b', '-c', 'WORKDIR /w', 'cm', 'sl/cm:2']));
    const i2 = (await d.api('GET', `/images/${dc.stdout.trim()}/json`)).json();
    assert.deepEqual(i2.Config.ExposedPorts, { '80/tcp': {} });
    assert.equal(i2.Config.Labels.a, 'b');
    assert.equal(i2.Config.WorkingDir, '/w');
  }
  ok(d.berth(['rm', '-f', 'cm2']));
  // A removed or unknown container: 404.
  ok(d.berth(['rm', 'cm']));
  const gone = await d.api('POST', '/commit?container=cm&repo=x');
  assert.equal(gone.status, 404);
  assert.match(gone.json().message, /No such container: cm/);
  const bad = await d.api('POST', `/commit?container=cm2&changes=${encodeURIComponent('RUN x')}`);
  assert.ok(bad.status === 400 || bad.status === 404);
  // Committed image round-trips through save/load.
  const f = join(tmp, 'cm.tar');
  ok(d.berth(['save', '-o', f, 'sl/cm:1']));
  ok(d.berth(['rmi', '-f', 'sl/cm:1']));
  ok(d.berth(['load', '-i', f]));
  assert.equal(await imageId('sl/cm:1'), id);
});

test('load over a tag held by another image: docker\'s rename notice, the tag moves', { skip: !hasDocker }, async () => {
  const bb = await imageId('busybox');
  ok(d.berth(['tag', 'busybox', 'sl/app:2']));
  const r = ok(d.docker(['load', '-i', join(tmp, 'two.tar')]));
  assert.match(r.stdout, new RegExp(`The image sl/app:2 already exists, renaming the old one with ID ${bb} to empty string\\nLoaded image: sl/app:2`));
  assert.equal(await imageId('sl/app:2'), appId);
  assert.equal(await imageId('busybox'), bb);
});
