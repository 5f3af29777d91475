import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalContentStore } from './local.ts';
import { sha256 } from './digest.ts';

async function store() {
  const dir = mkdtempSync(join(tmpdir(), 'berth-content-'));
  const s = new LocalContentStore(dir);
  await s.init();
  return { s, dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('ingest stores by digest, read-only, and reads back byte for byte', async () => {
  const { s, done } = await store();
  try {
    const data = Buffer.from('hello blob');
    const info = await s.ingest(Readable.from([data]));
    assert.equal(info.digest, sha256(data));
    assert.equal(info.size, data.length);
    assert.deepEqual(await s.read(info.digest), data);
    assert.equal(statSync(s.blobPath(info.digest)).mode & 0o777, 0o444);
    assert.deepEqual(await s.list(), [info.digest]);
    await s.delete(info.digest);
    assert.equal(await s.has(info.digest), false);
  } finally { done(); }
});

test('digest or size mismatch is refused and nothing becomes visible', async () => {
  const { s, dir, done } = await store();
  try {
    const data = Buffer.from('tampered');
    const wrong = sha256('original');
    await assert.rejects(s.ingest(Readable.from([data]), { digest: wrong }), /digest mismatch/);
    await assert.rejects(s.ingest(Readable.from([data]), { size: 3 }), /size validation/);
    assert.deepEqual(await s.list(), []);
    assert.deepEqual(readdirSync(join(dir, 'ingest')), []);
    await assert.rejects(s.ingest(Readable.from([data]), { digest: 'md5:abc' }), /invalid digest/);
  } finally { done(); }
});

test('a failing source leaves no partial blob', async () => {
  const { s, dir, done } = await store();
  try {
    const src = new Readable({ read() { this.push(Buffer.alloc(1024)); this.destroy(new Error('connection reset')); } });
    await assert.rejects(s.ingest(src), /connection reset/);
    assert.deepEqual(await s.list(), []);
    assert.deepEqual(readdirSync(join(dir, 'ingest')), []);
  } finally { done(); }
});
