// Pull and push through berthd against berth's own registry (in-process, 127.0.0.1:0): docker's
// progress streams, digests, shared layers, manifest lists, mounts, auth (htpasswd and token),
// tampered blobs, unreachable registries, and the docker 28 CLI (login, push, pull).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startDaemon, busyboxRootfsTar, hasDocker, BERTH, type Daemon } from './harness.ts';
import { startRegistry, type RunningRegistry } from '../../src/registry/server/server.ts';
import { call, digestOf } from '../../src/registry/server/testing.ts';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const quiet = () => {};

/** A layer tar of small files (`tar` from a temp dir), gzip'd unless told otherwise. */
function layerOf(files: Record<string, string>, gzip = true): { blob: Buffer; diffId: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layer-'));
  try {
    for (const [n, c] of Object.entries(files)) { mkdirSync(join(dir, n, '..'), { recursive: true }); writeFileSync(join(dir, n), c); }
    const r = spawnSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', ...Object.keys(files)], { maxBuffer: 64 << 20 });
    const tar = r.stdout;
    return { blob: gzip ? gzipSync(tar) : tar, diffId: digestOf(tar) };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

let busyboxLayer: { blob: Buffer; diffId: string } | undefined;
function baseLayer() {
  if (!busyboxLayer) { const tar = busyboxRootfsTar(); busyboxLayer = { blob: gzipSync(tar), diffId: digestOf(tar) }; }
  return busyboxLayer;
}

interface Img { config: Buffer; manifest: Buffer; digest: string; layers: { blob: Buffer; diffId: string }[]; mediaType: string; id: string }

function imageOf(layers: { blob: Buffer; diffId: string }[], o: { arch?: string; docker?: boolean; cmd?: string[] } = {}): Img {
  const config = Buffer.from(JSON.stringify({
    architecture: o.arch ?? 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Cmd: o.cmd ?? ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
  }));
  const docker = o.docker ?? false;
  const mediaType = docker ? DOCKER : OCI;
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l.blob), size: l.blob.length })),
  }));
  return { config, manifest, digest: digestOf(manifest), layers, mediaType, id: digestOf(config) };
}

async function seed(base: string, name: string, tag: string, img: Img, headers: Record<string, string> = {}): Promise<void> {
  for (const b of [img.config, ...img.layers.map((l) => l.blob)]) {
    const r = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${digestOf(b)}`, { body: b, headers });
    assert.equal(r.status, 201, r.text);
  }
  const r = await call(base, 'PUT', `/v2/${name}/manifests/${tag}`, { body: img.manifest, headers: { 'Content-Type': img.mediaType, ...headers } });
  assert.equal(r.status, 201, r.text);
}

interface StreamOut { status: number; messages: Record<string, any>[]; error?: string; httpError?: string; text: string }

async function stream(d: Daemon, method: string, path: string, headers: Record<string, string> = {}): Promise<StreamOut> {
  const r = await d.api(method, path, undefined, headers);
  const text = r.body.toString();
  if (r.status !== 200) return { status: r.status, messages: [], httpError: JSON.parse(text).message, text };
  const messages = text.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>);
  return { status: r.status, messages, error: messages.find((m) => m.error)?.error, text };
}

/**
 * The docker CLI, without blocking this process: the registry runs in it (d.docker's spawnSync
 * would freeze the registry the CLI is talking to).
 */
function docker(args: string[], input?: string, daemon?: Daemon, env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dd = daemon ?? d;
  return spawnAsync('docker', args, input, { DOCKER_HOST: `unix://${dd.sock}`, DOCKER_CONFIG: join(dd.dir, 'docker-config'), ...env });
}

/** The berth CLI, without blocking this process (as docker() above). */
function berthCli(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return spawnAsync(process.execPath, [BERTH, ...args], input, { BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: '', BERTH_CONFIG: join(d.dir, 'berth-config') });
}

function spawnAsync(bin: string, args: string[], input: string | undefined, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
    p.stdin.end(input ?? '');
  });
}

const authHeader = (o: Record<string, string>) => ({ 'X-Registry-Auth': Buffer.from(JSON.stringify(o)).toString('base64url') });
const statuses = (out: StreamOut, id: string) => out.messages.filter((m) => m.id === id).map((m) => m.status as string);
const short = (digest: string) => digest.slice(7, 19);
const blobsOf = (d: Daemon) => readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).sort();
const layersOf = (d: Daemon) => readdirSync(join(d.dataRoot, 'overlay', 'l')).sort();

let d: Daemon;
let reg: RunningRegistry;
let regRoot: string;
let host: string;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  d = await startDaemon({ importBusybox: true });
  regRoot = mkdtempSync(join(tmpdir(), 'berth-reg-'));
  reg = await startRegistry({ root: regRoot, addr: '127.0.0.1:0', log: quiet });
  host = new URL(reg.url).host;
});
after(async () => {
  for (const c of cleanups) await c();
  await reg?.close();
  rmSync(regRoot, { recursive: true, force: true });
  await d?.stop();
});

describe('pull', () => {
  const top = layerOf({ 'hello.txt': 'hello from layer two\n' });
  const one = imageOf([baseLayer(), top], { docker: true });
  const two = imageOf([baseLayer(), layerOf({ 'two.txt': 'second image\n' })]);

  test('pull by tag: docker\'s progress stream, then the image runs', async () => {
    await seed(reg.url, 'lib/one', 'v1', one);
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/one`)}&tag=v1`);
    assert.equal(out.status, 200, out.text);
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages[0], { status: `Pulling from lib/one`, id: 'v1' });
    // The base layer is busybox's, which the daemon imported: it is there already.
    assert.deepEqual(statuses(out, short(digestOf(baseLayer().blob))), ['Already exists']);
    for (const l of one.layers.slice(1)) {
      const id = short(digestOf(l.blob));
      const s = statuses(out, id);
      assert.equal(s[0], 'Pulling fs layer', `${id}: ${s}`);
      for (const want of ['Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) assert.ok(s.includes(want), `${id} lacks ${want}: ${s}`);
      assert.ok(s.indexOf('Download complete') < s.indexOf('Extracting'));
      assert.equal(s[s.length - 1], 'Pull complete');
      const dl = out.messages.filter((m) => m.id === id && m.status === 'Downloading');
      const last = dl[dl.length - 1];
      assert.equal(last.progressDetail.total, l.blob.length);
      assert.equal(last.progressDetail.current, l.blob.length);
      assert.match(last.progress, /^\[=+>\] +[\d.]+[kMG]?B\/[\d.]+[kMG]?B$/);
    }
    const n = out.messages.length;
    assert.deepEqual(out.messages[n - 2], { status: `Digest: ${one.digest}` });
    assert.deepEqual(out.messages[n - 1], { status: `Status: Downloaded newer image for ${host}/lib/one:v1` });
    const ins = (await d.api('GET', `/images/${host}/lib/one:v1/json`)).json();
    assert.equal(ins.Id, one.id);
    assert.deepEqual(ins.RepoTags, [`${host}/lib/one:v1`]);
    assert.deepEqual(ins.RepoDigests, [`${host}/lib/one@${one.digest}`]);
    assert.deepEqual(ins.RootFS.Layers, one.layers.map((l) => l.diffId));
    const list = (await d.api('GET', '/images/json')).json().find((i: any) => i.Id === one.id);
    assert.deepEqual(list.RepoDigests, [`${host}/lib/one@${one.digest}`]);
    // The layers are real: a container sees both.
    const run = d.berth(['run', '--rm', `${host}/lib/one:v1`, 'cat', '/hello.txt']);
    assert.equal(run.stdout, 'hello from layer two\n', run.stderr);
    // The blobs are stored as the registry gave them.
    assert.ok(blobsOf(d).includes(digestOf(top.blob).slice(7)));
  });

  test('pull again: up to date, no layer work', async () => {
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/one`)}&tag=v1`);
    assert.deepEqual(out.messages, [
      { status: 'Pulling from lib/one', id: 'v1' },
      { status: `Digest: ${one.digest}` },
      { status: `Status: Image is up to date for ${host}/lib/one:v1` },
    ]);
  });

  test('pull by digest; a shared layer "Already exists"', async () => {
    await seed(reg.url, 'lib/two', 'v1', two);
    const ref = `${host}/lib/two@${two.digest}`;
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}`);
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages[0], { status: 'Pulling from lib/two', id: two.digest });
    assert.deepEqual(statuses(out, short(digestOf(baseLayer().blob))), ['Already exists']);
    assert.equal(statuses(out, short(digestOf(two.layers[1].blob))).pop(), 'Pull complete');
    assert.deepEqual(out.messages[out.messages.length - 1], { status: `Status: Downloaded newer image for ${ref}` });
    const ins = (await d.api('GET', `/images/${ref}/json`)).json();
    assert.equal(ins.Id, two.id);
    assert.deepEqual(ins.RepoTags, []);
    assert.deepEqual(ins.RepoDigests, [ref]);
    // the tag= parameter may carry the digest too (docker's rule)
    const again = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/two`)}&tag=${two.digest}`);
    assert.deepEqual(again.messages[again.messages.length - 1], { status: `Status: Image is up to date for ${ref}` });
    // rmi by the digest reference: the image had nothing else, so it goes
    const rm = await d.api('DELETE', `/images/${ref}`);
    assert.deepEqual(rm.json(), [{ Untagged: ref }, { Deleted: two.id }]);
    const back = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}`);
    assert.equal(back.error, undefined, back.text);
  });

  test('a manifest list resolves to linux/amd64, or to the platform asked for', async () => {
    const amd = imageOf([layerOf({ 'arch.txt': 'amd64\n' })], { arch: 'amd64' });
    const arm = imageOf([layerOf({ 'arch.txt': 'arm64\n' })], { arch: 'arm64' });
    await seed(reg.url, 'lib/multi', 'amd', amd);
    await seed(reg.url, 'lib/multi', 'arm', arm);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: OCI, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }));
    const r = await call(reg.url, 'PUT', '/v2/lib/multi/manifests/latest', { body: index, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(r.status, 201, r.text);
    let out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/multi`)}&tag=latest`);
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages[out.messages.length - 2], { status: `Digest: ${digestOf(index)}` });
    let ins = (await d.api('GET', `/images/${host}/lib/multi:latest/json`)).json();
    assert.equal(ins.Id, amd.id);
    assert.equal(ins.Architecture, 'amd64');
    assert.deepEqual(ins.RepoDigests, [`${host}/lib/multi@${digestOf(index)}`]);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/multi`)}&tag=latest&platform=linux/arm64`);
    assert.equal(out.error, undefined, out.text);
    ins = (await d.api('GET', `/images/${host}/lib/multi:latest/json`)).json();
    assert.equal(ins.Id, arm.id);
    assert.equal(ins.Architecture, 'arm64');
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/multi`)}&tag=latest&platform=linux/s390x`);
    assert.equal(out.status, 404);
    assert.equal(out.httpError, 'no matching manifest for linux/s390x in the manifest list entries');
    if (hasDocker) {
      // the docker CLI's --platform reaches the daemon's platform selection
      const r = await docker(['pull', '--platform', 'linux/amd64', `${host}/lib/multi:latest`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((await d.api('GET', `/images/${host}/lib/multi:latest/json`)).json().Id, amd.id);
    }
    // GET /distribution/{name}/json lists the platforms
    const dist = (await d.api('GET', `/distribution/${host}/lib/multi:latest/json`)).json();
    assert.deepEqual(dist.Descriptor, { mediaType: OCI_INDEX, digest: digestOf(index), size: index.length });
    assert.deepEqual(dist.Platforms, [{ architecture: 'arm64', os: 'linux', variant: 'v8' }, { architecture: 'amd64', os: 'linux' }]);
  });

  test('zstd and uncompressed layers unpack too', async () => {
    const plain = layerOf({ 'plain.txt': 'not compressed\n' }, false);
    const tarZ = layerOf({ 'z.txt': 'zstd layer\n' }, false);
    const z = spawnSync('zstd', ['-q', '-c'], { input: tarZ.blob });
    if (z.status !== 0) return;
    const img = imageOf([plain, { blob: z.stdout, diffId: tarZ.diffId }]);
    await seed(reg.url, 'lib/zstd', 'v1', img);
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/zstd`)}&tag=v1`);
    assert.equal(out.error, undefined, out.text);
    const ins = (await d.api('GET', `/images/${host}/lib/zstd:v1/json`)).json();
    assert.equal(ins.Id, img.id);
    assert.deepEqual(ins.RootFS.Layers, [plain.diffId, tarZ.diffId]);
  });

  test('a connection dropped mid-blob is retried as dockerd does ("Retrying in 5 seconds")', async () => {
    const img = imageOf([layerOf({ 'flaky.txt': 'x'.repeat(200_000) })]);
    await seed(reg.url, 'lib/flaky', 'v1', img);
    const target = `/blobs/${digestOf(img.layers[0].blob)}`;
    let dropped = 0;
    // A proxy in front of the registry that cuts the first download of the layer short.
    const proxy = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url!.endsWith(target) && dropped++ === 0) {
        res.writeHead(200, { 'Content-Length': String(img.layers[0].blob.length), 'Content-Type': 'application/octet-stream' });
        res.write(img.layers[0].blob.subarray(0, 100));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const up = http.request(new URL(req.url!, reg.url), { method: req.method, headers: req.headers }, (r) => { res.writeHead(r.statusCode!, r.headers); r.pipe(res); });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const ph = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${ph}/lib/flaky`)}&tag=v1`);
      assert.equal(out.error, undefined, out.text);
      const s = statuses(out, short(digestOf(img.layers[0].blob)));
      assert.deepEqual(s.filter((x) => x.startsWith('Retrying')), ['Retrying in 5 seconds', 'Retrying in 4 seconds', 'Retrying in 3 seconds', 'Retrying in 2 seconds', 'Retrying in 1 second']);
      assert.equal(s[s.length - 1], 'Pull complete');
      assert.equal(dropped, 2);
    } finally { proxy.close(); proxy.closeAllConnections(); }
  });

  test('unknown tag or repository: 404 before any stream; bad reference: 400', async () => {
    let out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/one`)}&tag=nope`);
    assert.equal(out.status, 404);
    assert.equal(out.httpError, `manifest for ${host}/lib/one:nope not found: manifest unknown: manifest unknown`);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/no/such`)}&tag=latest`);
    assert.equal(out.status, 404);
    assert.match(out.httpError!, new RegExp(`^(manifest for ${host}/no/such:latest|repository ${host}/no/such) not found`));
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent('Bad/Name')}&tag=latest`);
    assert.equal(out.status, 400);
    assert.match(out.httpError!, /invalid reference format/);
    out = await stream(d, 'POST', `/images/create?fromImage=busybox&tag=${encodeURIComponent('bad tag')}`);
    assert.equal(out.status, 400);
  });

  test('an unreachable registry fails at once with docker\'s error', async () => {
    const t0 = Date.now();
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent('127.0.0.1:9/x')}&tag=latest`);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(out.status, 500);
    assert.match(out.httpError!, /^Get "http:\/\/127\.0\.0\.1:9\/v2\/": dial tcp 127\.0\.0\.1:9: connect: connection refused$/);
  });

  test('a tampered blob fails the pull with a digest error and leaves nothing behind', async () => {
    const bad = imageOf([layerOf({ 'x.txt': 'one\n' }), layerOf({ 'y.txt': 'two '.repeat(5000) })]);
    await seed(reg.url, 'lib/bad', 'v1', bad);
    const victim = join(regRoot, 'content', 'blobs', 'sha256', digestOf(bad.layers[1].blob).slice(7));
    const buf = readFileSync(victim);
    buf[buf.length >> 1] ^= 0xff;
    writeFileSync(victim, buf);
    const imagesBefore = (await d.api('GET', '/images/json')).json();
    const blobsBefore = blobsOf(d);
    const layersBefore = layersOf(d);
    const out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(`${host}/lib/bad`)}&tag=v1`);
    assert.equal(out.status, 200);
    assert.equal(out.error, `filesystem layer verification failed for digest ${digestOf(bad.layers[1].blob)}`);
    assert.deepEqual(out.messages[out.messages.length - 1].errorDetail, { message: out.error });
    assert.deepEqual((await d.api('GET', '/images/json')).json(), imagesBefore);
    assert.deepEqual(blobsOf(d), blobsBefore);
    assert.deepEqual(layersOf(d), layersBefore);
    assert.ok(!existsSync(join(d.dataRoot, 'pull-staging')) || readdirSync(join(d.dataRoot, 'pull-staging')).length === 0);
  });
});

describe('push', () => {
  test('push: docker\'s stream; pull back gives the same image ID', async () => {
    const ref = `${host}/rt/busybox`;
    assert.equal((await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=v1`)).status, 201);
    const src = (await d.api('GET', '/images/busybox:latest/json')).json();
    const out = await stream(d, 'POST', `/images/${ref}/push?tag=v1`, authHeader({}));
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages[0], { status: `The push refers to repository [${ref}]` });
    const id = short(src.RootFS.Layers[0]);
    const s = statuses(out, id);
    assert.equal(s[0], 'Preparing');
    assert.ok(s.includes('Pushing'), s.join());
    assert.equal(s[s.length - 1], 'Pushed');
    const push = out.messages.find((m) => m.status === 'Pushing');
    assert.match(push!.progress, /^\[=*>\s*\] +[\d.]+[kMG]?B\/[\d.]+[kMG]?B$/);
    const fin = out.messages.find((m) => /^v1: digest: /.test(m.status ?? ''));
    const m = /^v1: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/.exec(fin!.status);
    assert.ok(m, fin!.status);
    assert.deepEqual(out.messages[out.messages.length - 1], { progressDetail: {}, aux: { Tag: 'v1', Digest: m[1], Size: Number(m[2]) } });
    // the registry has it, byte for byte
    const man = await call(reg.url, 'GET', '/v2/rt/busybox/manifests/v1', { headers: { Accept: `${OCI}, ${DOCKER}` } });
    assert.equal(digestOf(man.body), m[1]);
    assert.equal(man.body.length, Number(m[2]));
    let ins = (await d.api('GET', `/images/${ref}:v1/json`)).json();
    assert.deepEqual(ins.RepoDigests, [`${ref}@${m[1]}`]);
    // round trip: remove, pull, same ID (the repository's digest goes with its last tag, as in Docker)
    const rm = await d.api('DELETE', `/images/${ref}:v1`);
    assert.deepEqual(rm.json(), [{ Untagged: `${ref}:v1` }, { Untagged: `${ref}@${m[1]}` }]);
    const back = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=v1`);
    assert.equal(back.error, undefined, back.text);
    ins = (await d.api('GET', `/images/${ref}:v1/json`)).json();
    assert.equal(ins.Id, src.Id);
    // again: every layer is there already
    const again = await stream(d, 'POST', `/images/${ref}/push?tag=v1`);
    assert.equal(again.error, undefined, again.text);
    assert.deepEqual(statuses(again, id), ['Preparing', 'Layer already exists']);
  });

  test('a layer another repository has is mounted, not uploaded', async () => {
    const ref = `${host}/other/busybox`;
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=v1`);
    const src = (await d.api('GET', '/images/busybox:latest/json')).json();
    const out = await stream(d, 'POST', `/images/${ref}/push?tag=v1`);
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(statuses(out, short(src.RootFS.Layers[0])), ['Preparing', 'Mounted from rt/busybox']);
  });

  test('no tag pushes every tag of the repository; unknown image is a 404', async () => {
    const ref = `${host}/all/busybox`;
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=a`);
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=b`);
    const out = await stream(d, 'POST', `/images/${ref}/push`);
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages.filter((m) => / digest: /.test(m.status ?? '')).map((m) => m.status.split(':')[0]), ['a', 'b']);
    const r = await call(reg.url, 'GET', '/v2/all/busybox/tags/list');
    assert.deepEqual(r.json.tags, ['a', 'b']);
    // and a pull without a tag pulls every tag (the API's rule; the CLI always sends one)
    const pulled = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}`);
    assert.deepEqual(pulled.messages.filter((m) => /^Pulling from/.test(m.status)).map((m) => m.id), ['a', 'b']);
    assert.deepEqual(pulled.messages[pulled.messages.length - 1], { status: `Status: Image is up to date for ${ref}` });
    const nope = await stream(d, 'POST', `/images/${host}/nope/x/push?tag=latest`);
    // As dockerd: the first line, then the error inside the stream.
    assert.equal(nope.status, 200);
    assert.deepEqual(nope.messages[0], { status: `The push refers to repository [${host}/nope/x]` });
    assert.equal(nope.error, `An image does not exist locally with the tag: ${host}/nope/x`);
  });
});

describe('auth', () => {
  let basicReg: RunningRegistry;
  let tokenReg: RunningRegistry;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-reg-auth-'));
    writeFileSync(join(root, 'htpasswd'), `alice:${bcrypt.hashSync('s3cret', 5)}\n`);
    basicReg = await startRegistry({ root: join(root, 'basic'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), log: quiet });
    tokenReg = await startRegistry({ root: join(root, 'token'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), tokenAuth: true, log: quiet });
  });
  after(async () => {
    await basicReg?.close();
    await tokenReg?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('htpasswd basic auth: 401 without credentials, works with X-Registry-Auth; /auth good and bad', async () => {
    const h = new URL(basicReg.url).host;
    const ref = `${h}/priv/busybox`;
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=v1`);
    let out = await stream(d, 'POST', `/images/${ref}/push?tag=v1`);
    assert.match(out.error ?? '', /^unauthorized: authentication required/);
    const creds = authHeader({ username: 'alice', password: 's3cret', serveraddress: h });
    out = await stream(d, 'POST', `/images/${ref}/push?tag=v1`, creds);
    assert.equal(out.error, undefined, out.text);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=v1`);
    assert.equal(out.status, 401);
    assert.match(out.httpError!, /^unauthorized: authentication required/);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=v1`, creds);
    assert.equal(out.error, undefined, out.text);
    let r = await d.api('POST', '/auth', { username: 'alice', password: 's3cret', serveraddress: h });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { Status: 'Login Succeeded', IdentityToken: '' });
    r = await d.api('POST', '/auth', { username: 'alice', password: 'wrong', serveraddress: `http://${h}` });
    assert.equal(r.status, 401);
    assert.equal(r.json().message, `login attempt to http://${h}/v2/ failed with status: 401 Unauthorized`);
  });

  test('token auth: anonymous pull is denied docker\'s way; credentials and identity tokens work', async () => {
    const h = new URL(tokenReg.url).host;
    const ref = `${h}/team/busybox`;
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(ref)}&tag=v1`);
    let out = await stream(d, 'POST', `/images/${ref}/push?tag=v1`, authHeader({ username: 'alice', password: 's3cret', serveraddress: h }));
    assert.equal(out.error, undefined, out.text);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=v1`);
    assert.equal(out.status, 404);
    assert.equal(out.httpError, `pull access denied for ${ref}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
    let r = await d.api('POST', '/auth', { username: 'alice', password: 'nope', serveraddress: h });
    assert.equal(r.status, 401);
    assert.equal(r.json().message, `Get "http://${h}/v2/": unauthorized: incorrect username or password`);
    r = await d.api('POST', '/auth', { username: 'alice', password: 's3cret', serveraddress: h });
    assert.equal(r.status, 200);
    const idt = r.json().IdentityToken;
    assert.ok(idt, 'the token server gave a refresh token');
    assert.equal((await d.api('DELETE', `/images/${ref}:v1`)).status, 200);
    out = await stream(d, 'POST', `/images/create?fromImage=${encodeURIComponent(ref)}&tag=v1`, authHeader({ identitytoken: idt, serveraddress: h }));
    assert.equal(out.error, undefined, out.text);
    assert.equal(out.messages[out.messages.length - 1].status, `Status: Image is up to date for ${ref}:v1`.replace('Image is up to date', 'Downloaded newer image'));
  });

  test('a build\'s FROM of a private image: X-Registry-Config credentials, pull progress in the build stream; both CLIs after login', async () => {
    const h = new URL(basicReg.url).host;
    const base = `${h}/priv/buildbase`;
    await d.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(base)}&tag=v1`);
    let out = await stream(d, 'POST', `/images/${base}/push?tag=v1`, authHeader({ username: 'alice', password: 's3cret', serveraddress: h }));
    assert.equal(out.error, undefined, out.text);
    const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
    const ctxTar = (tag: string) => {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${base}:v1\nLABEL built=${tag}\n`);
      return spawnSync('tar', ['-C', dir, '-cf', '-', '.']).stdout;
    };
    const buildApi = async (tag: string, headers: Record<string, string>) => {
      await d.api('DELETE', `/images/${base}:v1`); // absent after a failed build
      const r = await d.api('POST', `/build?t=${tag}`, ctxTar(tag), { 'Content-Type': 'application/x-tar', ...headers });
      assert.equal(r.status, 200);
      return r.body.toString().split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    };
    try {
      // Without credentials: the registry's refusal, inside the stream after the FROM step.
      let msgs = await buildApi('pb:none', {});
      assert.equal(msgs[0].stream, `Step 1/2 : FROM ${base}:v1\n`);
      assert.match(msgs.find((m) => m.error)?.error ?? '', /unauthorized: authentication required/);
      assert.equal((await d.api('GET', '/images/pb:none/json')).status, 404);
      // With them (keyed as a client's config file keys them): the pull's own messages in order.
      const cfg = Buffer.from(JSON.stringify({ 'https://index.docker.io/v1/': { username: 'x', password: 'y' }, [`http://${h}`]: { username: 'alice', password: 's3cret' } })).toString('base64url');
      msgs = await buildApi('pb:ok', { 'X-Registry-Config': cfg });
      assert.equal(msgs.find((m) => m.error), undefined, JSON.stringify(msgs));
      const st = msgs.map((m) => m.status).filter(Boolean);
      assert.equal(st[0], 'Pulling from priv/buildbase');
      assert.equal(msgs.find((m) => m.status === 'Pulling from priv/buildbase')?.id, 'v1');
      // (No layer lines: the image itself is here under another name, and dockerd skips them too.)
      assert.match(st.find((x) => x.startsWith('Digest: ')) ?? '', /^Digest: sha256:[0-9a-f]{64}$/);
      assert.equal(st[st.length - 1], `Status: Downloaded newer image for ${base}:v1`);
      const i = msgs.findIndex((m) => m.status), j = msgs.findIndex((m) => typeof m.stream === 'string' && m.stream.startsWith(' ---> '));
      assert.ok(i > 0 && i < j, 'the pull comes between the FROM step and its result');
      assert.equal((await d.api('GET', '/images/pb:ok/json')).json().Config.Labels.built, 'pb:ok');

      // The berth CLI sends every credential of its config file.
      let r = await berthCli(['login', '-u', 'alice', '--password-stdin', h], 's3cret\n');
      assert.equal(r.status, 0, r.stderr);
      assert.equal((await d.api('DELETE', `/images/${base}:v1`)).status, 200);
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${base}:v1\nLABEL built=cli\n`);
      r = await berthCli(['build', '--progress', 'plain', '-t', 'pb:berth', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Step 1/2 : FROM ${base}:v1\\nv1: Pulling from priv/buildbase\\n`));
      assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${base}:v1\\n ---> [0-9a-f]{12}\\n`));
      if (hasDocker) {
        r = await docker(['login', '-u', 'alice', '--password-stdin', h], 's3cret\n');
        assert.equal(r.status, 0, r.stderr);
        assert.equal((await d.api('DELETE', `/images/${base}:v1`)).status, 200);
        r = await docker(['build', '-t', 'pb:docker', dir], undefined, undefined, { DOCKER_BUILDKIT: '0' });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /v1: Pulling from priv\/buildbase/);
        assert.match(r.stdout, /Successfully tagged pb:docker/);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('the docker 28 CLI: login, push, pull through berthd', { skip: !hasDocker }, async () => {
    const h = new URL(tokenReg.url).host;
    const ref = `${h}/cli/busybox:v1`;
    let r = await docker(['login', '-u', 'alice', '--password-stdin', h], 'wrong\n');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unauthorized: incorrect username or password/);
    r = await docker(['login', '-u', 'alice', '--password-stdin', h], 's3cret\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Login Succeeded/);
    r = await docker(['tag', 'busybox:latest', ref]);
    assert.equal(r.status, 0, r.stderr);
    r = await docker(['push', ref]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`The push refers to repository \\[${h}/cli/busybox\\]`));
    assert.match(r.stdout, /: Pushed|Mounted from|Layer already exists/);
    assert.match(r.stdout, /v1: digest: sha256:[a-f0-9]{64} size: \d+/);
    r = await docker(['rmi', ref]);
    assert.equal(r.status, 0, r.stderr);
    r = await docker(['pull', ref]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /v1: Pulling from cli\/busybox/);
    assert.match(r.stdout, /Status: Downloaded newer image for /);
    r = await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]);
    assert.match(r.stdout, new RegExp(`${h}/cli/busybox@sha256:[a-f0-9]{64}`));
    r = await docker(['logout', h]);
    assert.equal(r.status, 0, r.stderr);
    r = await docker(['pull', ref]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /pull access denied/);
  });
});

describe('daemon settings: registry mirrors and insecure registries', () => {
  let d2: Daemon;
  before(async () => {
    d2 = await startDaemon({ importBusybox: false, extraArgs: ['--registry-mirror', 'http://127.0.0.1:9', '--registry-mirror', reg.url, '--insecure-registry', '10.0.0.0/8', '--insecure-registry', 'reg.lan:5000'] });
  });
  after(async () => { await d2?.stop(); });

  test('docker.io images come from a mirror (an unreachable one is skipped); /info shows the settings', async () => {
    const img = imageOf([baseLayer(), layerOf({ 'm.txt': 'from the mirror\n' })]);
    await seed(reg.url, 'library/mirrored', 'v1', img);
    const out = await stream(d2, 'POST', '/images/create?fromImage=mirrored&tag=v1');
    assert.equal(out.error, undefined, out.text);
    assert.deepEqual(out.messages[0], { status: 'Pulling from library/mirrored', id: 'v1' });
    assert.deepEqual(out.messages[out.messages.length - 1], { status: 'Status: Downloaded newer image for mirrored:v1' });
    const ins = (await d2.api('GET', '/images/mirrored:v1/json')).json();
    assert.equal(ins.Id, img.id);
    assert.deepEqual(ins.RepoTags, ['mirrored:v1']);
    assert.deepEqual(ins.RepoDigests, [`mirrored@${img.digest}`]);
    const info = (await d2.api('GET', '/info')).json();
    assert.deepEqual(info.RegistryConfig.Mirrors, ['http://127.0.0.1:9/', `${reg.url}/`]);
    assert.deepEqual(info.RegistryConfig.InsecureRegistryCIDRs, ['10.0.0.0/8', '::1/128', '127.0.0.0/8']);
    assert.equal(info.RegistryConfig.IndexConfigs['reg.lan:5000'].Secure, false);
    assert.deepEqual(info.RegistryConfig.IndexConfigs['docker.io'].Mirrors, ['http://127.0.0.1:9/', `${reg.url}/`]);
    if (hasDocker) {
      const r = await docker(['info'], undefined, d2);
      assert.match(r.stdout, /Insecure Registries:\n  reg\.lan:5000\n  10\.0\.0\.0\/8\n  ::1\/128\n  127\.0\.0\.0\/8\n/);
      assert.match(r.stdout, new RegExp(`Registry Mirrors:\\n  http://127\\.0\\.0\\.1:9/\\n  ${reg.url.replace(/\./g, '\\.')}/\\n`));
    }
  });

  test('a build\'s FROM pulls a missing image', async () => {
    const img = imageOf([baseLayer(), layerOf({ 'b.txt': 'base for a build\n' })]);
    await seed(reg.url, 'library/buildbase', 'v2', img);
    const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM buildbase:v2\nCOPY Dockerfile /copied\n');
      const tar = spawnSync('tar', ['-C', dir, '-cf', '-', '.']).stdout;
      const r = await d2.api('POST', '/build?t=built:1', tar, { 'Content-Type': 'application/x-tar' });
      assert.equal(r.status, 200);
      assert.match(r.body.toString(), /Successfully tagged built:1/);
      const ins = (await d2.api('GET', '/images/built:1/json')).json();
      assert.deepEqual(ins.RootFS.Layers.slice(0, 2), img.layers.map((l) => l.diffId));
      assert.equal((await d2.api('GET', '/images/buildbase:v2/json')).json().Id, img.id);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
