import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { readJsonBody, type Ctx } from './http.ts';

/** An upgraded request as the server's 'upgrade' event hands it over: a paused socket and its head. */
function upgraded(body: string, head: Buffer, socketBytes: Buffer[], end: boolean): { ctx: Ctx; socket: PassThrough } {
  const socket = new PassThrough();
  socket.pause();
  for (const b of socketBytes) socket.write(b);
  if (end) socket.end();
  const ctx: Ctx = {
    req: { headers: { 'content-length': String(Buffer.byteLength(body)), 'content-type': 'application/json' } } as unknown as IncomingMessage,
    upgrade: { socket, head }, params: {}, query: new URLSearchParams(), apiVersion: '1.47', signal: new AbortController().signal,
  };
  return { ctx, socket };
}

async function rest(socket: PassThrough): Promise<string> {
  socket.resume();
  let s = '';
  for await (const c of socket) s += (c as Buffer).toString('latin1');
  return s;
}

test('the stream after an upgraded request\'s body stays on the socket, even when the client\'s end came with it (found by the fuzz test)', async () => {
  const body = '{"Detach":false,"Tty":false}';
  // Body and stdin in one packet, then the client's end: the stdin byte used to be lost.
  const a = upgraded(body, Buffer.alloc(0), [Buffer.from(`${body}\u0000`)], true);
  assert.deepEqual(await readJsonBody(a.ctx), { Detach: false, Tty: false });
  assert.equal(await rest(a.socket), '\u0000');
  // Part of the body in the head, the rest and the stream in odd pieces.
  const b = upgraded(body, Buffer.from(body.slice(0, 5)), [Buffer.from(body.slice(5, 9)), Buffer.from(`${body.slice(9)}in`), Buffer.from('put')], true);
  assert.deepEqual(await readJsonBody(b.ctx), { Detach: false, Tty: false });
  assert.equal(await rest(b.socket), 'input');
  // The head holds the body and more.
  const c = upgraded(body, Buffer.from(`${body}xy`), [Buffer.from('z')], true);
  assert.deepEqual(await readJsonBody(c.ctx), { Detach: false, Tty: false });
  assert.equal(await rest(c.socket), 'xyz');
  // A socket still open: the body is read, the stream waits.
  const d = upgraded(body, Buffer.alloc(0), [Buffer.from(body)], false);
  assert.deepEqual(await readJsonBody(d.ctx), { Detach: false, Tty: false });
  d.socket.end('late');
  assert.equal(await rest(d.socket), 'late');
});
