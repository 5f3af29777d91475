// RegistryAuth's password checks, driven directly so that many start before any finishes (over
// HTTP, bcryptjs's long synchronous chunks make the server take them nearly one by one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { RegistryAuth } from './auth.ts';
import { HtpasswdVerifier, parseHtpasswd } from './htpasswd.ts';
import { RegistryError } from './errors.ts';

const request = (user: string, password: string, remoteAddress: string) =>
  ({ headers: { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') }, socket: { remoteAddress } }) as unknown as IncomingMessage;

test('concurrent wrong passwords count at once: only the limit gets a bcrypt, the rest 429', async () => {
  const htpasswd = new HtpasswdVerifier(parseHtpasswd(`alice:${bcrypt.hashSync('s3cret', 6)}\n`));
  const auth = new RegistryAuth({ mode: 'basic', htpasswd, loginThrottle: { failures: 3, windowMs: 60_000 } });
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof RegistryError ? e.code : String(e)));
  const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => outcome(auth.authorize(request('alice', `guess${i}`, '192.0.2.1'), [], 'http://r'))));
  assert.deepEqual(burst.sort(), [...Array(9).fill('TOOMANYREQUESTS'), ...Array(3).fill('UNAUTHORIZED')]);
  // The same burst with the right password from a fresh client: all in (one bcrypt, refunded).
  const good = await Promise.all(Array.from({ length: 12 }, () => outcome(auth.authorize(request('alice', 's3cret', '192.0.2.2'), [], 'http://r'))));
  assert.deepEqual(good, Array(12).fill('ok'));
  // The same wrong password twelve times at once is one guess: one bcrypt, one failure.
  const same = await Promise.all(Array.from({ length: 12 }, () => outcome(auth.authorize(request('alice', 'same', '192.0.2.3'), [], 'http://r'))));
  assert.deepEqual(same, Array(12).fill('UNAUTHORIZED'));
  for (const guess of ['two', 'three']) assert.equal(await outcome(auth.authorize(request('alice', guess, '192.0.2.3'), [], 'http://r')), 'UNAUTHORIZED');
  assert.equal(await outcome(auth.authorize(request('alice', 'four', '192.0.2.3'), [], 'http://r')), 'TOOMANYREQUESTS');
  // IPv6 clients in one /64 share a count.
  for (let i = 0; i < 3; i++) assert.equal(await outcome(auth.authorize(request('alice', 'x', `2001:db8::${i + 1}`), [], 'http://r')), 'UNAUTHORIZED');
  assert.equal(await outcome(auth.authorize(request('alice', 's3cret', '2001:db8::ffff'), [], 'http://r')), 'TOOMANYREQUESTS');
  assert.equal(await outcome(auth.authorize(request('alice', 's3cret', '2001:db8:0:1::1'), [], 'http://r')), 'ok');
});
