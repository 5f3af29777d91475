// Interop with a real peer: skopeo (containers/image) copies a handmade OCI layout into berth's
// registry and back, inspects it, converts it to Docker schema 2 on the way, and authenticates
// with htpasswd (basic) and with the token flow. Skipped when skopeo is not installed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { startRegistry, type RunningRegistry } from './server.ts';
import { digestOf } from './testing.ts';

const OCI = 'application/vnd.oci.image.manifest.v1+json';

function haveSkopeo(): boolean {
  try {
    execFileSync('skopeo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const SKIP = haveSkopeo() ? false : 'skopeo is not installed (Debian package skopeo)';

/** skopeo, asynchronously: the registry answering it runs in this very process. */
function skopeo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('skopeo', ['--insecure-policy', ...args], { timeout: 60_000, env: { ...process.env, REGISTRY_AUTH_FILE: '/nonexistent/auth.json' } }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ code: err ? (typeof code === 'number' && code !== 0 ? code : 1) : 0, stdout, stderr });
    });
  });
}

function must(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** A tar archive with one regular file (ustar, written by hand: 512-byte header + data + padding). */
function tarOf(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

/** Writes an OCI image layout with one image (two gzip layers) tagged `tag`; returns its manifest digest. */
function writeLayout(dir: string, tag: string): string {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = digestOf(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const tars = [tarOf('hello.txt', 'hello from berth\n'), tarOf('etc/motd', 'second layer\n')];
  const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t)) }));
  const config = Buffer.from(JSON.stringify({
    created: '2024-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
    config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: tars.map(digestOf) },
    history: [{ created_by: 'handmade' }, { created_by: 'handmade' }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) }, layers,
  }));
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: OCI, ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return m.digest;
}

function layoutDigest(dir: string): string {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0].digest;
}

describe('skopeo against berth registry', { skip: SKIP }, () => {
  let tmp: string;
  let src: string;
  let digest: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-skopeo-'));
    src = join(tmp, 'src');
    digest = writeLayout(src, 'v1');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('without auth', () => {
    let reg: RunningRegistry;
    let host: string;
    before(async () => {
      reg = await startRegistry({ root: join(tmp, 'reg'), addr: '127.0.0.1:0', log: () => {} });
      host = reg.url.replace(/^http:\/\//, '');
    });
    after(() => reg.close());

    test('copy an OCI layout in, inspect, copy back out with the same digests', async () => {
      must(await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${host}/skopeo/test:v1`]), 'copy in');
      const info = JSON.parse(must(await skopeo(['inspect', '--tls-verify=false', `docker://${host}/skopeo/test:v1`]), 'inspect'));
      assert.equal(info.Digest, digest);
      assert.equal(info.Name, `${host}/skopeo/test`);
      assert.deepEqual(info.RepoTags, ['v1']);
      assert.equal(info.Layers.length, 2);
      const raw = must(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/skopeo/test:v1`]), 'inspect --raw');
      assert.equal(digestOf(raw), digest);
      const cfg = JSON.parse(must(await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${host}/skopeo/test:v1`]), 'inspect --config'));
      assert.deepEqual(cfg.config.Cmd, ['/bin/sh']);

      const out = join(tmp, 'out');
      must(await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/skopeo/test:v1`, `oci:${out}:back`]), 'copy out');
      assert.equal(layoutDigest(out), digest);
      for (const f of ['oci-layout']) assert.ok(readFileSync(join(out, f)).length > 0);
      // Every blob came back byte for byte.
      const m = JSON.parse(readFileSync(join(out, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
      for (const d of [m.config, ...m.layers]) {
        assert.deepEqual(readFileSync(join(out, 'blobs', 'sha256', d.digest.slice(7))), readFileSync(join(src, 'blobs', 'sha256', d.digest.slice(7))));
      }
      // By digest too.
      must(await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/skopeo/test@${digest}`, `oci:${join(tmp, 'out2')}:x`]), 'copy by digest');
      assert.equal(layoutDigest(join(tmp, 'out2')), digest);
    });

    test('registry-to-registry copy (mounts or re-uploads), Docker schema 2 conversion, tags, delete', async () => {
      must(await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/skopeo/test:v1`, `docker://${host}/skopeo/copy:v2`]), 'copy r2r');
      const info = JSON.parse(must(await skopeo(['inspect', '--tls-verify=false', `docker://${host}/skopeo/copy:v2`]), 'inspect copy'));
      assert.equal(info.Digest, digest);

      must(await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${host}/skopeo/docker:v1`]), 'copy v2s2');
      const raw = JSON.parse(must(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/skopeo/docker:v1`]), 'inspect v2s2'));
      assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');

      must(await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${host}/skopeo/test:v1.1`]), 'second tag');
      const tags = JSON.parse(must(await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/skopeo/test`]), 'list-tags'));
      assert.deepEqual(tags.Tags.sort(), ['v1', 'v1.1']);

      must(await skopeo(['delete', '--tls-verify=false', `docker://${host}/skopeo/docker:v1`]), 'delete');
      const gone = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/skopeo/docker:v1`]);
      assert.notEqual(gone.code, 0);
    });
  });

  describe('with htpasswd', () => {
    let basicReg: RunningRegistry;
    let tokenReg: RunningRegistry;
    before(async () => {
      writeFileSync(join(tmp, 'htpasswd'), `carol:${bcrypt.hashSync('pa55', 5).replace('$2b$', '$2y$')}\n`);
      basicReg = await startRegistry({ root: join(tmp, 'reg-basic'), addr: '127.0.0.1:0', htpasswd: join(tmp, 'htpasswd'), log: () => {} });
      tokenReg = await startRegistry({ root: join(tmp, 'reg-token'), addr: '127.0.0.1:0', htpasswd: join(tmp, 'htpasswd'), tokenAuth: true, log: () => {} });
    });
    after(async () => {
      await basicReg.close();
      await tokenReg.close();
    });

    for (const mode of ['basic', 'token'] as const) {
      test(`${mode} auth: refused without credentials, works with --dest-creds/--creds`, async () => {
        const host = (mode === 'basic' ? basicReg : tokenReg).url.replace(/^http:\/\//, '');
        const denied = await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${host}/auth/img:v1`]);
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /unauthorized|authentication required|denied/i);
        must(await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'carol:pa55', `oci:${src}:v1`, `docker://${host}/auth/img:v1`]), 'copy with creds');
        const bad = await skopeo(['inspect', '--tls-verify=false', '--creds', 'carol:wrong', `docker://${host}/auth/img:v1`]);
        assert.notEqual(bad.code, 0);
        const info = JSON.parse(must(await skopeo(['inspect', '--tls-verify=false', '--creds', 'carol:pa55', `docker://${host}/auth/img:v1`]), 'inspect with creds'));
        assert.equal(info.Digest, digest);
        const out = join(tmp, `out-${mode}`);
        must(await skopeo(['copy', '--src-tls-verify=false', '--src-creds', 'carol:pa55', `docker://${host}/auth/img:v1`, `oci:${out}:v1`]), 'copy out with creds');
        assert.equal(layoutDigest(out), digest);
      });
    }
  });
});
