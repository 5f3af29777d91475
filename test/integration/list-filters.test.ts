// `GET /containers/json?filters={"name":[…]}` against a real berthd: name patterns are Go (RE2)
// regular expressions, which run in linear time whatever the pattern. A pattern with nested
// quantifiers against a long name is answered at once (V8's backtracking engine used to hold
// the daemon's event loop for good: one request stopped every other), and a pattern that does
// not compile matches nothing instead of failing the request, as in moby.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const NAME = `${'a'.repeat(40)}-x`;
const list = (pattern: string) => d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [pattern] }))}`);

/** The request's answer, or a failure when the daemon has not answered in time. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_r, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

test('name filters: nested quantifiers against a long name are answered at once; a bad pattern matches nothing', async () => {
  const c = await d.api('POST', `/containers/create?name=${NAME}`, { Image: 'busybox', Cmd: ['true'] });
  assert.equal(c.status, 201, c.body.toString());
  const slow = await within(list('^(a+)+$'), 20_000, 'name=^(a+)+$');
  assert.equal(slow.status, 200);
  assert.deepEqual(slow.json(), []);
  assert.equal((await within(d.api('GET', '/_ping'), 5_000, 'ping')).status, 200);
  for (const p of ['^a+-x$', `/${NAME}`, NAME, '(?i)^A+-X$']) {
    const r = await within(list(p), 5_000, p);
    assert.deepEqual(r.json().map((x: { Names: string[] }) => x.Names), [[`/${NAME}`]], p);
  }
  const bad = await within(list('('), 5_000, '(');
  assert.equal(bad.status, 200, bad.body.toString());
  assert.deepEqual(bad.json(), []);
});
