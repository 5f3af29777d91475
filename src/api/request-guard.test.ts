import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserRequestError, jsonContentTypeError, parseMediaType } from './request-guard.ts';

test("Go's mime.ParseMediaType: media types and its error texts", () => {
  assert.deepEqual(parseMediaType('application/json'), { type: 'application/json' });
  assert.deepEqual(parseMediaType(' Application/JSON ; charset=UTF-8'), { type: 'application/json' });
  assert.deepEqual(parseMediaType('application/json; charset="utf-8"; x=y'), { type: 'application/json' });
  assert.deepEqual(parseMediaType('text/plain;'), { type: 'text/plain' });
  assert.deepEqual(parseMediaType('json'), { type: 'json' });
  assert.deepEqual(parseMediaType(''), { error: 'mime: no media type' });
  assert.deepEqual(parseMediaType(';charset=utf-8'), { error: 'mime: no media type' });
  assert.deepEqual(parseMediaType('application json'), { error: 'mime: expected slash after first token' });
  assert.deepEqual(parseMediaType('application/'), { error: 'mime: expected token after slash' });
  assert.deepEqual(parseMediaType('application/json x'), { error: 'mime: unexpected content after media subtype' });
  assert.deepEqual(parseMediaType('application/json; charset'), { error: 'mime: invalid media parameter' });
  assert.deepEqual(parseMediaType('application/json; a=1; A=2'), { error: 'mime: duplicate parameter name' });
  assert.deepEqual(parseMediaType('application/json; a="unterminated'), { error: 'mime: invalid media parameter' });
});

test("moby's CheckForJSON: a body needs Content-Type application/json", () => {
  // No body: no content type needed (start, kill, ...); JSON with any parameters.
  assert.equal(jsonContentTypeError(undefined, 0), undefined);
  assert.equal(jsonContentTypeError('', 0), undefined);
  assert.equal(jsonContentTypeError('application/json', 0), undefined);
  assert.equal(jsonContentTypeError('application/json', 20), undefined);
  assert.equal(jsonContentTypeError('application/json; charset=utf-8', 20), undefined);
  assert.equal(jsonContentTypeError('APPLICATION/JSON', 20), undefined);
  // What a browser may send cross-site without asking first, with or without a body.
  for (const ct of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    assert.equal(jsonContentTypeError(ct, 20), `unsupported Content-Type header (${ct}): must be 'application/json'`);
    assert.equal(jsonContentTypeError(ct, 0), `unsupported Content-Type header (${ct}): must be 'application/json'`, 'moby refuses it without a body too');
  }
  assert.equal(jsonContentTypeError('application/jsonx', 2), "unsupported Content-Type header (application/jsonx): must be 'application/json'");
  assert.equal(jsonContentTypeError('application/json-seq', 2), "unsupported Content-Type header (application/json-seq): must be 'application/json'");
  // A body without any Content-Type: Go parses "" and fails.
  assert.equal(jsonContentTypeError(undefined, 2), 'malformed Content-Type header (): mime: no media type');
  assert.equal(jsonContentTypeError('application/json; charset', 2), 'malformed Content-Type header (application/json; charset): mime: invalid media parameter');
});

test('Origin and Host: refused as the listener asks', () => {
  const tcp = { origin: true, loopbackHost: true };
  // What the docker CLI, docker-py and berth send to a loopback TCP listener.
  for (const host of ['127.0.0.1:2375', 'localhost:2375', 'localhost', '[::1]:2375', '127.8.9.10', 'LOCALHOST:1', '[0:0::1]:2375', '127.1:2375']) {
    assert.equal(browserRequestError({ host }, tcp), undefined, host);
  }
  assert.equal(browserRequestError({}, tcp), undefined, 'an HTTP/1.0 request without Host');
  // A DNS-rebound page names its own host; anything else not loopback is refused too.
  for (const host of ['evil.example', 'evil.example:2375', '10.0.0.1:2375', '[::2]:2375', 'localhost.', 'localhost.evil.example', '127.0.0.1.evil.example',
    'x@127.0.0.1', '127.0.0.1/x', '', '[::1', '0.0.0.0:2375', '[::ffff:127.0.0.1]:2375']) {
    assert.match(browserRequestError({ host }, tcp) ?? '', /^request refused: Host header .* is not a loopback name or address/, host);
  }
  for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:2375', '']) {
    assert.match(browserRequestError({ origin, host: '127.0.0.1:2375' }, tcp) ?? '', /^request refused: it carries an Origin header .*web browser.*--tlsverify/, origin);
  }
  // TLS without client certificates: Origin still refused, any Host (the certificate names it).
  const tls = { origin: true, loopbackHost: false };
  assert.equal(browserRequestError({ host: 'build-host.example:2376' }, tls), undefined);
  assert.match(browserRequestError({ origin: 'https://evil.example', host: 'build-host.example:2376' }, tls) ?? '', /Origin/);
  // Unix sockets, and TLS with client certificates: nothing checked.
  const none = { origin: false, loopbackHost: false };
  assert.equal(browserRequestError({ origin: 'http://evil.example', host: 'evil.example' }, none), undefined);
});
