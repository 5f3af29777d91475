import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApiClient, ApiError, ConnectError, queryString, compareVersions, readAll } from './client.ts';
import { parseHost, resolveEndpoint } from './host.ts';
import { JsonSplitter, demuxTo, jsonMessages, displayJsonMessages, StreamError } from './streams.ts';
import { frame } from '../common/stdcopy.ts';

// A fake daemon on a unix socket: enough routes to exercise every client path.
let dir: string;
let sock: string;
let server: http.Server;
const seen: string[] = [];
let connections = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-client-test-'));
  sock = join(dir, 'd.sock');
  server = http.createServer({ requestTimeout: 0 }, async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const body = await readAll(req);
    const url = req.url ?? '';
    if (url === '/_ping') { res.writeHead(200, { 'API-Version': '1.45' }); res.end('OK'); return; }
    // A 1.45 daemon refuses newer versions as moby does, before anything else.
    const v = /^\/v(1\.4[67])\//.exec(url);
    if (v) { res.writeHead(400, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ message: `client version ${v[1]} is too new. Maximum supported API version is 1.45` })); return; }
    if (url.startsWith('/v1.45/containers/json')) { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify([{ Id: 'abc' }])); return; }
    if (url.startsWith('/v1.45/echo')) { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ got: JSON.parse(body.toString() || 'null'), ct: req.headers['content-type'] })); return; }
    if (url.startsWith('/v1.45/upload')) { res.writeHead(200); res.end(`${body.length} ${req.headers['transfer-encoding']}`); return; }
    if (url.startsWith('/v1.45/missing')) { res.writeHead(404, { 'Content-Type': 'application/json' }); res.end('{"message":"No such container: x"}'); return; }
    if (url.startsWith('/v1.45/plain-error')) { res.writeHead(500); res.end('boom\n'); return; }
    if (url.startsWith('/v1.45/chunked')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"status":"a"}\n{"stat');
      setTimeout(() => { res.write('us":"b"}{"error":"bad","errorDetail":{"message":"bad thing"}}'); res.end(); }, 10);
      return;
    }
    if (url.startsWith('/v1.45/logs')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      res.end(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, Buffer.alloc(100_000, 120))]));
      return;
    }
    if (url.startsWith('/v1.45/nobody')) { res.writeHead(204); res.end(); return; }
    res.writeHead(404); res.end('{"message":"page not found"}');
  });
  server.on('connection', () => { connections++; });
  // Hijack: answer 101 and echo upper-cased input back, framed, until the client half-closes.
  server.on('upgrade', (req, socket, head) => {
    seen.push(`UPGRADE ${req.url}`);
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    // The first frame goes out in the same write as the head, to test bytes past the head.
    socket.write(frame(1, 'hello\n'));
    const chunks: Buffer[] = head.length ? [head] : [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => { socket.end(frame(1, Buffer.concat(chunks).toString().toUpperCase())); });
  });
  await new Promise<void>((r) => server.listen(sock, r));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const client = () => new ApiClient({ kind: 'unix', path: sock, url: `unix://${sock}` });

test('negotiates min(1.47, server) from GET /_ping and prefixes paths', async () => {
  const c = client();
  assert.equal(await c.version(), '1.45');
  assert.deepEqual(await c.json('GET', '/containers/json', { query: { all: true, limit: undefined } }), [{ Id: 'abc' }]);
  assert.ok(seen.includes('GET /v1.45/containers/json?all=1'));
  c.close();
});

test('the first request goes at 1.47 without a ping; a daemon that refuses it as too new is pinged and the request made again; a streamed body negotiates first', async () => {
  const before = seen.length;
  const c = client();
  assert.deepEqual(await c.json('POST', '/echo', { body: { a: 1 } }), { got: { a: 1 }, ct: 'application/json' });
  assert.deepEqual(seen.slice(before), ['POST /v1.47/echo', 'GET /_ping', 'POST /v1.45/echo']);
  assert.deepEqual(await c.json('GET', '/containers/json'), [{ Id: 'abc' }]);
  assert.deepEqual(seen.slice(before + 3), ['GET /v1.45/containers/json'], 'negotiated once');
  c.close();
  // A daemon that serves 1.47: no ping at all.
  const mark = seen.length;
  const d2 = http.createServer((req, res) => { seen.push(`d2 ${req.method} ${req.url}`); res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"Version":"27.5.1"}'); });
  const sock2 = join(dir, 'd2.sock');
  await new Promise<void>((r) => d2.listen(sock2, r));
  const c2 = new ApiClient({ kind: 'unix', path: sock2, url: `unix://${sock2}` });
  assert.deepEqual(await c2.json('GET', '/version'), { Version: '27.5.1' });
  assert.equal(await c2.version(), '1.47');
  assert.deepEqual(seen.slice(mark), ['d2 GET /v1.47/version']);
  c2.close();
  await new Promise((r) => d2.close(r));
  // A streamed upload cannot be sent twice: the ping comes first.
  const m3 = seen.length;
  const c3 = client();
  const r = await c3.request('POST', '/upload', { raw: Readable.from([Buffer.from('abc')]) });
  assert.equal((await readAll(r)).toString().split(' ')[0], '3');
  assert.deepEqual(seen.slice(m3), ['GET /_ping', 'POST /v1.45/upload']);
  c3.close();
});

test('pinned version skips the ping; JSON bodies are sent with their content type', async () => {
  const before = seen.length;
  const c = new ApiClient({ kind: 'unix', path: sock, url: '' }, { version: '1.45' });
  const r = await c.json('POST', '/echo', { body: { a: 1 } });
  assert.deepEqual(r, { got: { a: 1 }, ct: 'application/json' });
  assert.ok(!seen.slice(before).includes('GET /_ping'));
  c.close();
});

test('keep-alive: sequential requests share one connection', async () => {
  const c = client();
  const n0 = connections;
  await c.version();
  for (let i = 0; i < 5; i++) await c.json('GET', '/containers/json');
  assert.equal(connections - n0, 1);
  c.close();
});

test('errors: {"message"} becomes ApiError; plain text too; 204 has no body', async () => {
  const c = client();
  await assert.rejects(c.json('GET', '/missing'), (e: unknown) => e instanceof ApiError && e.status === 404 && e.message === 'No such container: x');
  await assert.rejects(c.json('GET', '/plain-error'), (e: unknown) => e instanceof ApiError && e.message === 'boom');
  assert.equal(await c.json('POST', '/nobody'), undefined);
  c.close();
});

test('connection refused reads like docker', async () => {
  const c = new ApiClient({ kind: 'unix', path: join(dir, 'nope.sock'), url: `unix://${join(dir, 'nope.sock')}` });
  await assert.rejects(c.version(), (e: unknown) => e instanceof ConnectError && /^Cannot connect to the berth daemon at unix:\/\/.*nope\.sock\. Is the berth daemon running\?$/.test((e as Error).message));
});

test('streamed request bodies go out chunked', async () => {
  const c = client();
  const res = await c.request('POST', '/upload', { raw: Readable.from([Buffer.alloc(70_000, 1), Buffer.alloc(5, 2)]), contentType: 'application/x-tar' });
  assert.equal((await readAll(res)).toString(), '70005 chunked');
  c.close();
});

test('JSON-message streams: split anywhere, errors thrown after earlier output', async () => {
  const c = client();
  const res = await c.request('POST', '/chunked');
  const out: string[] = [];
  await assert.rejects(displayJsonMessages(res, { write: (s: string) => out.push(s) } as any), (e: unknown) => e instanceof StreamError && (e as Error).message === 'bad thing');
  assert.deepEqual(out, ['a\n', 'b\n']);
  const split = new JsonSplitter();
  assert.deepEqual(split.push('{"a":"}{"}[1,'), ['{"a":"}{"}']);
  assert.deepEqual(split.push('2]\n{"b":"\\""}'), ['[1,2]', '{"b":"\\""}']);
  const msgs: unknown[] = [];
  for await (const m of jsonMessages(Readable.from(['{"x":1}{"x":', '2}']))) msgs.push(m);
  assert.deepEqual(msgs, [{ x: 1 }, { x: 2 }]);
  c.close();
});

test('multiplexed streams are demultiplexed', async () => {
  const c = client();
  const res = await c.request('GET', '/logs');
  let out = '';
  let err = '';
  await demuxTo(res, { write: (b: Buffer) => { out += b.toString(); return true; } } as any, { write: (b: Buffer) => { err += b.toString(); return true; } } as any);
  assert.equal(out.length, 4 + 100_000);
  assert.ok(out.startsWith('out\n'));
  assert.equal(err, 'err\n');
  c.close();
});

test('hijack: 101, bytes after the head kept, half-close, then the rest of the stream', async () => {
  const c = client();
  const h = await c.hijack('POST', '/containers/x/attach', { query: { stream: 1, stdin: 1 } });
  assert.equal(h.headers['content-type'], 'application/vnd.docker.raw-stream');
  let out = '';
  const done = demuxTo(h.socket, { write: (b: Buffer) => { out += b.toString(); return true; } } as any, process.stderr);
  h.socket.write('piped input');
  h.socket.end();
  await done;
  assert.equal(out, 'hello\nPIPED INPUT');
  assert.ok(seen.includes('UPGRADE /v1.45/containers/x/attach?stream=1&stdin=1'));
  c.close();
});

test('helpers: query strings, version compare, host parsing', () => {
  assert.equal(queryString({ a: true, b: false, c: undefined, d: 'x y', e: 0 }), '?a=1&d=x%20y&e=0');
  assert.equal(queryString({ t: ['a:1', 'b c'], n: [], x: 'y' }), '?t=a%3A1&t=b%20c&x=y');
  assert.equal(compareVersions('1.41', '1.47'), -1);
  assert.equal(compareVersions('1.47', '1.47'), 0);
  assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', path: '/run/x.sock', url: 'unix:///run/x.sock' });
  assert.deepEqual(parseHost('tcp://10.0.0.1'), { kind: 'tcp', host: '10.0.0.1', port: 2375, url: 'tcp://10.0.0.1:2375' });
  assert.deepEqual(parseHost('tcp://[::1]:99'), { kind: 'tcp', host: '::1', port: 99, url: 'tcp://[::1]:99' });
  assert.equal(resolveEndpoint({}, {}).url, 'unix:///run/berth/berth.sock');
  assert.equal(resolveEndpoint({}, { DOCKER_HOST: 'unix:///d.sock', BERTH_HOST: 'unix:///b.sock' }).url, 'unix:///b.sock');
  assert.equal(resolveEndpoint({ host: 'unix:///h.sock' }, { BERTH_HOST: 'unix:///b.sock' }).url, 'unix:///h.sock');
  const tls = resolveEndpoint({ host: 'tcp://h' }, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' });
  assert.deepEqual(tls, { kind: 'tcp', host: 'h', port: 2376, url: 'tcp://h:2376', tls: { verify: true, ca: '/certs/ca.pem', cert: '/certs/cert.pem', key: '/certs/key.pem' } });
  assert.throws(() => parseHost('ssh://x'), /unsupported protocol scheme "ssh"/);
});

test('a broken JSON message from the daemon is a StreamError, not a SyntaxError (found by the fuzz test)', async () => {
  const read = async (chunks: string[]) => { for await (const _m of jsonMessages(Readable.from(chunks))) { /* drain */ } };
  await assert.rejects(read(['{"status":"a"}\n{"aux"]:[]}']), (e: unknown) => e instanceof StreamError && /^error reading the daemon's stream: /.test((e as Error).message));
  await assert.rejects(displayJsonMessages(Readable.from(['{"x":tru', 'x}']), { write: () => true } as any), (e: unknown) => e instanceof StreamError);
});
