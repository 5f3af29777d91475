// The failed-login throttle on a hand-driven clock: the window, refunds, the bound on its table,
// and the client keys (IPv4, IPv4-mapped, an IPv6 /64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, clientKey } from './throttle.ts';

test('a client is blocked from its limit until the window from its first failure ends', () => {
  let now = 1000;
  const t = new LoginThrottle({ failures: 3, windowMs: 60_000, now: () => now });
  t.charge('a');
  now += 10_000;
  t.charge('a');
  assert.equal(t.retryAfter('a'), 0);
  t.charge('a');
  assert.equal(t.retryAfter('a'), 50);
  assert.equal(t.retryAfter('b'), 0, 'another client');
  now += 49_500;
  assert.equal(t.retryAfter('a'), 1);
  now += 500;
  assert.equal(t.retryAfter('a'), 0, 'the window is over');
  t.charge('a');
  assert.equal(t.retryAfter('a'), 0, 'a new window, counted from one');
});

test('a refunded attempt does not count, once only; a refund after the window touches nothing new', () => {
  let now = 0;
  const t = new LoginThrottle({ failures: 2, windowMs: 1000, now: () => now });
  const ok = t.charge('a');
  ok();
  ok();
  t.charge('a');
  assert.equal(t.retryAfter('a'), 0);
  const late = t.charge('a');
  assert.equal(t.retryAfter('a'), 1);
  now = 1000;
  t.charge('a');
  t.charge('a');
  late();
  assert.equal(t.retryAfter('a'), 1, 'the old window\'s refund leaves the new one alone');
});

test('the table is bounded: ended windows go first, then the oldest', () => {
  let now = 0;
  const t = new LoginThrottle({ failures: 1, windowMs: 1000, maxClients: 100, now: () => now });
  for (let i = 0; i < 5000; i++) t.charge(`c${i}`);
  assert.equal(t.size, 100);
  assert.equal(t.retryAfter('c4999'), 1, 'the newest are kept');
  assert.equal(t.retryAfter('c0'), 0, 'the oldest went');
  now = 2000;
  t.charge('late');
  assert.equal(t.size, 1, 'ended windows are swept');
});

test('clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey('::1:2:3:4:5:1.2.3.4'), '0:1:2:3::/64');
  assert.equal(clientKey(undefined), '-');
});
