import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archivePath, planSave } from './image-archive.ts';
import type { ImageRecord } from './images.ts';

test('archive entry names: normalised; absolute or escaping names refused', () => {
  assert.equal(archivePath('./blobs/sha256/ab'), 'blobs/sha256/ab');
  assert.equal(archivePath('manifest.json'), 'manifest.json');
  assert.equal(archivePath('a//b/./c'), 'a/b/c');
  assert.throws(() => archivePath('../x'), /outside the archive/);
  assert.throws(() => archivePath('a/../../x'), /outside the archive/);
  assert.throws(() => archivePath('/etc/passwd'), /absolute path/);
});

test('save plan: an ID untagged, repo:tag that tag, a bare repository all its tags, each image once', () => {
  const a = { id: `sha256:${'a'.repeat(64)}` } as ImageRecord;
  const b = { id: `sha256:${'b'.repeat(64)}` } as ImageRecord;
  const refs: Record<string, string[]> = {
    [a.id]: ['docker.io/library/app:1', 'docker.io/library/app:latest', 'docker.io/library/other:x'],
    [b.id]: ['docker.io/library/app:2'],
  };
  const byName: Record<string, ImageRecord> = { 'app:1': a, app: a, 'other:x': a, 'app:2': b, aaaa: a };
  const images = {
    resolve: (n: string) => { const r = byName[n]; if (!r) throw new Error(`No such image: ${n}`); return r; },
    refsOf: (id: string) => refs[id] ?? [],
    all: () => [a, b],
  };
  assert.deepEqual(planSave(images, ['aaaa']).map((i) => [i.rec.id, i.refs]), [[a.id, []]]);
  assert.deepEqual(planSave(images, ['app:1', 'other:x']).map((i) => i.refs), [['docker.io/library/app:1', 'docker.io/library/other:x']]);
  assert.deepEqual(planSave(images, ['app']).map((i) => [i.rec.id, i.refs]), [
    [a.id, ['docker.io/library/app:1', 'docker.io/library/app:latest']],
    [b.id, ['docker.io/library/app:2']],
  ]);
  assert.throws(() => planSave(images, ['nope']), /No such image/);
});
