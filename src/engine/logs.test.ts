import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimeNs, parseK8sLine, parseTimeNs } from './logs.ts';

test('k8s-file lines: full and partial lines, streams, nanosecond times', () => {
  const full = parseK8sLine('2026-11-22T21:06:32.533644671+00:00 stdout F hello world');
  assert.equal(full?.stream, 1);
  assert.equal(full?.data.toString(), 'hello world\n');
  assert.equal(full?.timeNs, 1795381592533644671n);
  const partial = parseK8sLine('2026-11-22T21:06:32.5+00:00 stderr P no newline');
  assert.equal(partial?.stream, 2);
  assert.equal(partial?.data.toString(), 'no newline');
  const empty = parseK8sLine('2026-11-22T21:06:32Z stdout F ');
  assert.equal(empty?.data.toString(), '\n');
  assert.equal(parseK8sLine('garbage'), undefined);
});

test('timestamps print as RFC3339Nano UTC like docker', () => {
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T21:06:32.533644671+00:00')), '2026-11-22T21:06:32.533644671Z');
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T23:06:32.5+02:00')), '2026-11-22T21:06:32.5Z');
  assert.equal(formatTimeNs(parseTimeNs('2026-11-22T21:06:32Z')), '2026-11-22T21:06:32Z');
});
