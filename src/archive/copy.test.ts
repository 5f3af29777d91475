import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPath } from '../common/go-path.ts';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyError, copySummary, getRebaseName, prepareArchiveCopy, preserveTrailingDotOrSeparator, rebaseArchive,
  rebaseName, splitCpArg, splitPathDirEntry, treeTar,
} from './copy.ts';
import { TarReader } from './tar-reader.ts';

async function names(tar: AsyncIterable<Buffer>): Promise<string[]> {
  const r = new TarReader(tar);
  const out: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) out.push(e.kind === 'symlink' ? `${e.name} -> ${e.linkname}` : e.kind === 'link' ? `${e.name} => ${e.linkname}` : e.name);
  return out;
}

test('splitCpArg: container:path unless absolute or starting with a dot (docker-cli)', () => {
  assert.deepEqual(splitCpArg('c1:/etc/x'), ['c1', '/etc/x']);
  assert.deepEqual(splitCpArg('/abs:olute'), ['', '/abs:olute']);
  assert.deepEqual(splitCpArg('./c1:x'), ['', './c1:x']);
  assert.deepEqual(splitCpArg('plain'), ['', 'plain']);
  assert.deepEqual(splitCpArg('c:'), ['c', '']);
});

test('path helpers keep the trailing / and /. forms as go-archive does', () => {
  assert.equal(cleanPath('/a/../b/./c/'), '/b/c');
  assert.equal(preserveTrailingDotOrSeparator('/a/b', 'b/.'), '/a/b/.');
  assert.equal(preserveTrailingDotOrSeparator('/a/b', 'b/'), '/a/b/');
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
  assert.deepEqual(splitPathDirEntry('/f'), ['/', 'f']);
  assert.deepEqual(getRebaseName('/x/link/', '/y/target'), ['/y/target/', 'link']);
  assert.deepEqual(getRebaseName('/x/link/.', '/y/target'), ['/y/target/.', undefined]);
  assert.deepEqual(getRebaseName('/x/same', '/y/same'), ['/y/same', undefined]);
});

test('prepareArchiveCopy: dir into dir, new names, file onto file, and the two refusals', () => {
  const dir = { path: '/s/d', exists: true, isDir: true };
  const file = { path: '/s/f', exists: true, isDir: false };
  assert.deepEqual(prepareArchiveCopy(dir, { path: '/t/e', exists: true, isDir: true }), { dstDir: '/t/e' });
  assert.deepEqual(prepareArchiveCopy(dir, { path: '/t/new', exists: false, isDir: false }), { dstDir: '/t', rebase: ['d', 'new'] });
  assert.deepEqual(prepareArchiveCopy({ ...dir, path: '/s/d/.' }, { path: '/t/new', exists: false, isDir: false }), { dstDir: '/t', rebase: ['.', 'new'] });
  assert.deepEqual(prepareArchiveCopy(file, { path: '/t/g', exists: true, isDir: false }), { dstDir: '/t', rebase: ['f', 'g'] });
  assert.deepEqual(prepareArchiveCopy({ ...file, rebaseName: 'ln' }, { path: '/t/g', exists: false, isDir: false }), { dstDir: '/t', rebase: ['ln', 'g'] });
  assert.throws(() => prepareArchiveCopy(dir, { path: '/t/g', exists: true, isDir: false }), (e: Error) => e instanceof CopyError && e.message === 'cannot copy directory');
  assert.throws(() => prepareArchiveCopy(file, { path: '/t/nodir/', exists: false, isDir: false }), /no such directory/);
});

test('rebaseName: the old base at the start, on a component boundary (go-archive newNameRebaser)', () => {
  assert.equal(rebaseName('dd/x', 'd', 'new'), 'dd/x');
  assert.equal(rebaseName('bin/sh', '/', 'out'), 'out/bin/sh');
  assert.equal(rebaseName('d', 'd', 'new'), 'new');
  assert.equal(rebaseName('d/a.txt', 'd', 'new'), 'new/a.txt');
  assert.equal(rebaseName('./a.txt', '.', 'new'), 'new/a.txt');
  assert.equal(rebaseName('./', '.', 'new'), 'new/');
  assert.equal(copySummary(3584, 'c:/x', () => '3.58kB'), 'Successfully copied 3.58kB to c:/x\n');
});

test('treeTar never follows symlinks, names the top entry, links hard links; rebaseArchive renames all', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cp-tree-'));
  try {
    mkdirSync(join(root, 'd', 'sub'), { recursive: true });
    writeFileSync(join(root, 'd', 'f'), 'data');
    writeFileSync(join(root, 'd', 'sub', 'g'), 'g');
    symlinkSync('/etc', join(root, 'd', 'etc'));
    const { linkSync } = await import('node:fs');
    linkSync(join(root, 'd', 'f'), join(root, 'd', 'hard'));
    assert.deepEqual(await names(treeTar(join(root, 'd'), 'd')), ['d/', 'd/etc -> /etc', 'd/f', 'd/hard => d/f', 'd/sub/', 'd/sub/g']);
    assert.deepEqual(await names(treeTar(join(root, 'd'), '.')), ['./', './etc -> /etc', './f', './hard => ./f', './sub/', './sub/g']);
    assert.deepEqual(await names(rebaseArchive(Readable.from(treeTar(join(root, 'd'), 'd')), 'd', 'n')), ['n/', 'n/etc -> /etc', 'n/f', 'n/hard => n/f', 'n/sub/', 'n/sub/g']);
    assert.deepEqual(await names(treeTar(join(root, 'd', 'sub'), '')), ['/g']);
    assert.deepEqual(await names(treeTar(join(root, 'd'), 'd', { skipContents: (rel) => rel === 'sub' })), ['d/', 'd/etc -> /etc', 'd/f', 'd/hard => d/f', 'd/sub/']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
