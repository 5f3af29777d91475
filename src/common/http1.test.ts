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
