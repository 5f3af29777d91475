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
