import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEngineError } from '../common/errors.ts';
import { SafeRoot, cleanEntryPath, cleanLinkTarget, resolveInRoot } from './confine.ts';

test('entry names are cleaned lexically from the root', () => {
  assert.deepEqual(cleanEntryPath('/etc/x'), ['etc', 'x']);
  assert.deepEqual(cleanEntryPath('../../etc/passwd'), ['etc', 'passwd']);
  assert.deepEqual(cleanEntryPath('a/../../b/./c/'), ['b', 'c']);
  assert.deepEqual(cleanEntryPath('./'), []);
  assert.deepEqual(cleanEntryPath('..'), []);
  assert.deepEqual(cleanEntryPath('a//b'), ['a', 'b']);
  assert.deepEqual(cleanEntryPath('...'), ['...'], 'only `..` itself climbs');
  assert.throws(() => cleanEntryPath('a\0b'), (e) => isEngineError(e, 'InvalidParameter'));
});

test('hard link targets may not climb above the root', () => {
  assert.deepEqual(cleanLinkTarget('/bin/sh', 'x'), ['bin', 'sh']);
  assert.deepEqual(cleanLinkTarget('a/../b', 'x'), ['b']);
  for (const t of ['../etc/passwd', 'a/../../b', '/..', '.', '']) {
    assert.throws(() => cleanLinkTarget(t, 'x'), (e) => isEngineError(e, 'InvalidParameter'), t);
  }
});

test('SafeRoot checks every parent with lstat and creates missing ones', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-safe-'));
  try {
    const r = new SafeRoot(root);
    assert.equal(r.parents(['a', 'b', 'c'], 'a/b/c', { create: false }), false);
    const made: string[] = [];
    assert.equal(r.parents(['a', 'b', 'c'], 'a/b/c', { create: true, onCreate: (p) => made.push(p) }), true);
    assert.deepEqual(made, ['a', 'a/b']);
    assert.equal((await stat(join(root, 'a/b'))).mode & 0o7777, 0o755);
    await symlink('/', join(root, 'link'));
    assert.throws(() => r.parents(['link', 'etc', 'passwd'], 'link/etc/passwd', { create: true }), /breakout/);
    assert.throws(() => r.dir(['link'], 'link/.wh..wh..opq', { create: false }), /breakout/);
    await writeFile(join(root, 'file'), '');
    assert.throws(() => r.parents(['file', 'x'], 'file/x', { create: true }), /not a directory/);
    // A cached directory replaced by a symlink is caught once the cache is forgotten.
    await rm(join(root, 'a'), { recursive: true });
    await mkdir(join(root, 'elsewhere'));
    await symlink(join(root, 'elsewhere'), join(root, 'a'));
    r.forget();
    assert.throws(() => r.parents(['a', 'x'], 'a/x', { create: true }), /breakout/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('resolveInRoot follows symlinks as a chroot at the root would, never leaving it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-confine-'));
  try {
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'usr/lib/passwd'), 'x');
    await symlink('/usr/lib/passwd', join(root, 'etc/passwd')); // absolute: restarts at the root
    await symlink('../../../../..', join(root, 'etc/up')); // `..` stops at the root
    await writeFile(join(root, 'file'), 'f');
    assert.equal(await resolveInRoot(root, '/etc/passwd'), join(root, 'usr/lib/passwd'));
    assert.equal(await resolveInRoot(root, 'etc/up/usr/lib'), join(root, 'usr/lib'));
    assert.equal(await resolveInRoot(root, '/missing/x'), undefined);
    assert.equal(await resolveInRoot(root, '/file/x'), undefined); // a file on the way
    assert.equal(await resolveInRoot(root, '/new'), undefined); // a missing last component too
    await symlink('/loop', join(root, 'loop'));
    await assert.rejects(resolveInRoot(root, '/loop'), (e: unknown) => isEngineError(e, 'InvalidParameter'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
