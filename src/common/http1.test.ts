// The CLI's HTTP/1.1 reader against a raw server that answers with given bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http1Agent } from './http1.ts';

let dir: string;
let sock: string;
let server: net.Server;
let answer = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-http1-test-'));
  sock = join(dir, 'd.sock');
  server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(answer));
  });
  await new Promise<void>((r) => server.listen(sock, r));
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** The body as text, or the error reading it gave. */
async function read(bytes: string): Promise<string> {
  answer = bytes;
  const agent = new Http1Agent(() => net.connect(sock), 'test');
  try {
    const { res } = await agent.request({ method: 'GET', path: '/' });
    let body = '';
    for await (const c of res) body += (c as Buffer).toString();
    return body;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  } finally {
    agent.destroy();
  }
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

test('a malformed chunk in the same packet as the head fails the body, not the process (found by the fuzz test)', async () => {
  // The error used to be emitted before the reader could listen: an uncaught exception.
  assert.equal(await read(`${CHUNKED}zz\r\nabc\r\n0\r\n\r\n`), 'error: malformed chunked encoding');
  assert.equal(await read(`${CHUNKED}3\r\nabc\r\n0\r\n\r\n`), 'abc');
});

test('a chunk size that is not hex digits is malformed, not an endless loop (found by the fuzz test)', async () => {
  // parseInt read '-5' as a size; the chunk then never shrank and the CLI spun for good.
  for (const size of ['-5', '-1', '1g', '+3', '0x3', ' 3', '', 'ffffffffffffffff']) {
    assert.equal(await read(`${CHUNKED}${size}\r\nabcdefgh\r\n0\r\n\r\n`), 'error: malformed chunked encoding', JSON.stringify(size));
  }
  assert.equal(await read(`${CHUNKED}3;ext=1\r\nabc\r\n3 \r\ndef\r\n0\r\n\r\n`), 'abcdef');
});

test('a streamed body reaches node:http intact, chunk by chunk, through backpressure', async () => {
  const { createServer } = await import('node:http');
  const { Readable } = await import('node:stream');
  const { createHash } = await import('node:crypto');
  const path = join(dir, 'h.sock');
  const srv = createServer((req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
  });
  await new Promise<void>((r) => srv.listen(path, r));
  try {
    // 24 MiB in chunks of varied size: far more than the socket takes at once.
    const chunks: Buffer[] = [];
    for (let i = 0; chunks.length < 400; i++) chunks.push(Buffer.alloc(1 + ((i * 7919) % 120_000), i % 251));
    const want = createHash('sha256');
    for (const c of chunks) want.update(c);
    const size = chunks.reduce((a, c) => a + c.length, 0);
    const agent = new Http1Agent(() => net.connect(path), 'test');
    try {
      const { res } = await agent.request({ method: 'POST', path: '/', headers: { 'Content-Type': 'application/x-tar' }, stream: Readable.from(chunks) });
      let body = '';
      for await (const c of res) body += (c as Buffer).toString();
      assert.equal(res.statusCode, 200);
      assert.equal(body, `${size} ${want.digest('hex')}`);
    } finally {
      agent.destroy();
    }
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('a body cut short of its Content-Length fails with unexpected EOF; a close-delimited one just ends', async () => {
  assert.equal(await read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 'error: unexpected EOF');
  assert.equal(await read('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'), 'abc');
  assert.equal(await read('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdef'), 'abcdef');
});

test('sink: a 2xx body is handed over piece by piece (a reused read buffer), an error body is read as usual, a throwing sink fails the body', async () => {
  const { createHash } = await import('node:crypto');
  const path = join(dir, 'sink.sock');
  // 3 MiB of data in HTTP chunks of odd sizes, written in odd pieces: chunk-size lines and
  // CRLFs fall across the client's reads.
  const data = Buffer.alloc(3 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
  const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (let off = 0, k = 1; off < data.length; k++) {
    const n = Math.min(data.length - off, 1 + ((k * 104_729) % 300_000));
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), data.subarray(off, off + n), Buffer.from('\r\n'));
    off += n;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  const all = Buffer.concat(parts);
  let status = 200;
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', async () => {
      if (status !== 200) { s.end(`HTTP/1.1 ${status} Nope\r\nContent-Length: 15\r\n\r\n{"message":"x"}`); return; }
      for (let off = 0, k = 0; off < all.length; k++) {
        const n = 1 + ((k * 7919) % 90_001);
        s.write(all.subarray(off, off + n));
        off += n;
        if (k % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      s.end();
    });
  });
  await new Promise<void>((r) => srv.listen(path, r));
  const agent = new Http1Agent(() => net.connect(path), 'test', (onread) => net.connect({ path, onread }));
  try {
    const h = createHash('sha256');
    let n = 0;
    const { res } = await agent.request({ method: 'GET', path: '/', sink: (p) => { h.update(p); n += p.length; } });
    const body = await (async () => { const c: Buffer[] = []; for await (const x of res) c.push(x as Buffer); return Buffer.concat(c); })();
    assert.equal(body.length, 0);
    assert.equal(n, data.length);
    assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));

    status = 404;
    const r404 = await agent.request({ method: 'GET', path: '/', sink: () => { throw new Error('not for an error body'); } });
    assert.equal(r404.res.statusCode, 404);
    let text = '';
    for await (const x of r404.res) text += (x as Buffer).toString();
    assert.equal(text, '{"message":"x"}');

    status = 200;
    const bad = await agent.request({ method: 'GET', path: '/', sink: () => { throw Object.assign(new Error('disk full'), { code: 'ENOSPC' }); } });
    await assert.rejects(async () => { for await (const _ of bad.res) { /* nothing comes */ } }, /disk full/);
  } finally {
    agent.destroy();
    await new Promise((r) => srv.close(r));
  }
});
