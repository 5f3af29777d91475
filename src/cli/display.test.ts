import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateId, ellipsis, goQuote, displayablePorts, ago, goTimeString } from './display.ts';

test('truncateId drops the algorithm and keeps 12 characters', () => {
  assert.equal(truncateId('sha256:d07482f5af64592e13d8cb6b4dc21dce408e1fb190ae7f711d68a0c625c7958c'), 'd07482f5af64');
  assert.equal(truncateId('31cc5dffbb7bd1d952c9c47d4e387b482d5b06798baf13a1f5be67a88e42554a'), '31cc5dffbb7b');
  assert.equal(truncateId('abc'), 'abc');
});

test('ellipsis and goQuote give the docker ps COMMAND column', () => {
  assert.equal(goQuote(ellipsis("sh -c 'echo hello; echo err >&2; sleep 1000'", 20)), `"sh -c 'echo hello; …"`);
  assert.equal(goQuote(ellipsis(`echo 'a "quoted" very long command line here'`, 20)), `"echo 'a \\"quoted\\" ve…"`);
  assert.equal(goQuote(ellipsis("sh -c 'exit 3'", 20)), `"sh -c 'exit 3'"`);
  assert.equal(ellipsis('12345678901234567890', 20), '12345678901234567890');
  assert.equal(ellipsis('日本語日本語日本語日本語', 5), '日本…');
  assert.equal(goQuote('a\tb\n\x01\u2028é'), '"a\\tb\\n\\x01\\u2028é"');
});

test('displayablePorts groups ranges and lists host mappings last', () => {
  assert.equal(displayablePorts([]), '');
  assert.equal(displayablePorts([{ PrivatePort: 80, Type: 'tcp' }]), '80/tcp');
  assert.equal(displayablePorts([
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
  ]), '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
  assert.equal(displayablePorts([
    { PrivatePort: 7001, Type: 'tcp' }, { PrivatePort: 7000, Type: 'tcp' }, { PrivatePort: 7002, Type: 'tcp' },
    { PrivatePort: 9000, Type: 'udp' },
  ]), '7000-7002/tcp, 9000/udp');
  assert.equal(displayablePorts([
    { IP: '127.0.0.1', PrivatePort: 90, PublicPort: 90, Type: 'udp' },
    { IP: '127.0.0.1', PrivatePort: 91, PublicPort: 91, Type: 'udp' },
  ]), '127.0.0.1:90-91->90-91/udp');
  assert.equal(displayablePorts([{ PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 82, Type: 'tcp' }]), '80/tcp, 82/tcp');
});

test('ago and goTimeString', () => {
  const now = 1_700_000_000_000;
  assert.equal(ago(now / 1000 - 1, now), '1 second ago');
  assert.equal(ago(now / 1000 - 180, now), '3 minutes ago');
  assert.equal(ago(now / 1000, now), 'Less than a second ago');
  if (new Date().getTimezoneOffset() === 0) assert.equal(goTimeString(1_700_000_000), '2023-11-14 22:13:20 +0000 UTC');
});

import { humanSize } from '../common/units.ts';
import { goRow, renderList } from './format/formatter.ts';

test('sizes as docker ps/images print them (3 significant digits, decimal units)', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(1_985_024), '1.99MB');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(1500), '1.5kB');
  assert.equal(humanSize(2_140_000_000), '2.14GB');
});

test('list rows: alphabetical JSON with Go escaping, methods hidden but callable', () => {
  const row = goRow({ Tag: '<none>', ID: 'abc' }, { Label: (k: string) => `v-${k}` });
  assert.equal(renderList('{{json .}}', '', [row], {}), '{"ID":"abc","Tag":"\\u003cnone\\u003e"}\n');
  assert.equal(renderList('{{.Label "x"}} {{.Tag}}', '', [row], {}), 'v-x <none>\n');
  assert.equal(renderList('{{.}}', '', [row], {}), 'map[ID:abc Tag:<none>]\n');
});
