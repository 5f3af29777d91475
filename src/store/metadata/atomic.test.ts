import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonDocStore, readJson, writeJsonAtomic } from './atomic.ts';

test('atomic JSON writes replace whole documents and leave no temp files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
  try {
    const p = join(dir, 'doc.json');
    await writeJsonAtomic(p, { a: 1 });
    await writeJsonAtomic(p, { a: 2, b: 'x' });
    assert.deepEqual(await readJson(p), { a: 2, b: 'x' });
    assert.deepEqual(readdirSync(dir), ['doc.json']);
    assert.equal(await readJson(join(dir, 'missing.json')), undefined);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('JsonDocStore loads all documents and sweeps temp files left by a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
  try {
    const s = new JsonDocStore<{ n: number }>(dir);
    await s.init();
    await s.put('one', { n: 1 });
    await s.put('two', { n: 2 });
    writeFileSync(join(dir, '.two.json.tmp-deadbeef'), '{"n": 9'); // a crash mid-write
    const all = await s.loadAll();
    assert.deepEqual([...all.entries()].sort(), [['one', { n: 1 }], ['two', { n: 2 }]]);
    assert.deepEqual(readdirSync(dir).sort(), ['one.json', 'two.json']);
    await s.delete('one');
    assert.equal(await s.get('one'), undefined);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
