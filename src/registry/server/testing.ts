// Test helpers for talking to a registry over HTTP(S) without a client library: one request
// function and a tiny image builder. Used by the registry's own tests; the engine's pull/push
// tests can use them to seed a registry started with startRegistry().
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from './server.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: any;
}

export interface ReqOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Buffer[];
  /** For https: the CA to trust (a self-signed test certificate). */
  ca?: Buffer | string;
  /** The source address to connect from (another loopback address is another client). */
  localAddress?: string;
}

/** One request; `body` as an array is sent in pieces (chunked transfer encoding). */
export function call(base: string, method: string, path: string, opts: ReqOptions = {}): Promise<Reply> {
  const url = new URL(path, base);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined && !Array.isArray(opts.body) && headers['Content-Length'] === undefined) {
    headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: opts.ca, localAddress: opts.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
      });
    });
    req.on('error', reject);
    if (Array.isArray(opts.body)) for (const b of opts.body) req.write(b);
    else if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export const digestOf = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface TestImage {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: string;
  mediaType: string;
}

/** A small OCI image: a config and `layers` random "layer" blobs (not real tarballs; registries do not care). */
export function makeImage(opts: { layers?: number; layerSize?: number; seed?: string; docker?: boolean } = {}): TestImage {
  const n = opts.layers ?? 2;
  const layers = Array.from({ length: n }, (_, i) => {
    const b = Buffer.alloc(opts.layerSize ?? 1000 + i * 37);
    // Deterministic but distinct content per seed and layer.
    let h = createHash('sha256').update(`${opts.seed ?? 'x'}/${i}`).digest();
    for (let o = 0; o < b.length; o += h.length) {
      h.copy(b, o);
      h = createHash('sha256').update(h).digest();
    }
    return b;
  });
  const docker = opts.docker ?? false;
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {},
    rootfs: { type: 'layers', diff_ids: layers.map(digestOf) }, seed: opts.seed ?? 'x',
  }));
  const mediaType = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l), size: l.length })),
  }));
  return { config, layers, manifest, digest: digestOf(manifest), mediaType };
}

/** Pushes every blob monolithically (POST ?digest=) and the manifest under `tag`. */
export async function pushImage(base: string, name: string, tag: string, img: TestImage, headers: Record<string, string> = {}): Promise<void> {
  for (const b of [img.config, ...img.layers]) {
    const r = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${digestOf(b)}`, { body: b, headers });
    if (r.status !== 201) throw new Error(`blob push: ${r.status} ${r.text}`);
  }
  const r = await call(base, 'PUT', `/v2/${name}/manifests/${tag}`, { body: img.manifest, headers: { 'Content-Type': img.mediaType, ...headers } });
  if (r.status !== 201) throw new Error(`manifest push: ${r.status} ${r.text}`);
}

/**
 * berth's registry over HTTPS on 127.0.0.1 with a self-signed certificate (`cert.pem`, `key.pem`
 * in `dir`, valid a day; data in `dir/data`); undefined when the openssl CLI is missing (the
 * caller skips).
 */
export async function startTlsRegistry(dir: string): Promise<RunningRegistry | undefined> {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return startRegistry({ root: join(dir, 'data'), addr: '127.0.0.1:0', tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem'), log: () => {} });
}
