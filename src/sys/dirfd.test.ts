// Resolution and access by descriptor (dirfd.ts), and the two users of it that matter most: the
// tree tar walk and the cp extractor, each raced by a swap of a directory for a symlink in the
// middle of its work. The swaps here are deterministic (made between two steps of the work), so
// each test shows what a path-based walk would have done: read or write outside the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openDir, resolveIn, statAt, type Dir } from './dirfd.ts';
import { treeTarBlocks } from '../store/snapshots/diff-layer.ts';
import { applyLayer, TarReader } from '../store/snapshots/apply-layer.ts';
import { encodeTarHeader, tarPad } from '../store/snapshots/tar-header.ts';

function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** resolveIn's result as [in-root path, host path of the named object]. */
function where(root: Dir, rootPath: string, path: string, followLast: boolean): [string, string] | undefined {
  const at = resolveIn(root, path, { followLast });
  if (!at) return undefined;
  try {
    return [at.path, at.path === '/' ? rootPath : join(rootPath, at.path)];
  } finally {
    at.dir.close();
  }
}

test('resolveIn: symlinks are re-rooted at the root, `..` stops there, the last element followed only on request', () => {
  const base = scratch('dirfd-res-');
  const rootPath = join(base, 'root');
  try {
    mkdirSync(join(rootPath, 'etc'), { recursive: true });
    writeFileSync(join(rootPath, 'etc', 'passwd'), 'x');
    symlinkSync('/', join(rootPath, 'escape'));
    symlinkSync('/etc', join(rootPath, 'x'));
    symlinkSync('../../../../', join(rootPath, 'up'));
    symlinkSync('loop2', join(rootPath, 'loop1'));
    symlinkSync('loop1', join(rootPath, 'loop2'));
    symlinkSync('passwd', join(rootPath, 'etc', 'rel'));
    const root = openDir(rootPath);
    try {
      assert.deepEqual(where(root, rootPath, '/escape/etc/passwd', false), ['/etc/passwd', join(rootPath, 'etc', 'passwd')]);
      assert.deepEqual(where(root, rootPath, '/x/passwd', false), ['/etc/passwd', join(rootPath, 'etc', 'passwd')]);
      assert.deepEqual(where(root, rootPath, '/up/etc', false), ['/etc', join(rootPath, 'etc')]);
      assert.deepEqual(where(root, rootPath, '/../../etc', false), ['/etc', join(rootPath, 'etc')]);
      assert.deepEqual(where(root, rootPath, '/x', false), ['/x', join(rootPath, 'x')]); // last element kept
      assert.deepEqual(where(root, rootPath, '/x', true), ['/etc', join(rootPath, 'etc')]);
      assert.deepEqual(where(root, rootPath, '/etc/rel', true), ['/etc/passwd', join(rootPath, 'etc', 'passwd')]);
      assert.deepEqual(where(root, rootPath, '/escape', true), ['/', rootPath]);
      assert.deepEqual(where(root, rootPath, '/', false), ['/', rootPath]);
      assert.deepEqual(where(root, rootPath, '/missing/../etc', false), undefined); // a missing middle component
      assert.deepEqual(where(root, rootPath, '/etc/missing', false), ['/etc/missing', join(rootPath, 'etc', 'missing')]);
      assert.deepEqual(where(root, rootPath, '/etc/passwd/x', false), undefined); // ENOTDIR
      assert.throws(() => resolveIn(root, '/loop1/a', { followLast: false }), /too many levels of symbolic links/);
      // The result is an open directory: statAt names the object, never through a link.
      const at = resolveIn(root, '/x', { followLast: false })!;
      assert.ok(statAt(at)!.isSymbolicLink());
      at.dir.close();
      // mkdirs: missing directories are made on the way, inside the root, through links re-rooted.
      const made = resolveIn(root, '/x/new/deeper/leaf', { followLast: false, mkdirs: true })!;
      made.dir.close();
      assert.ok(lstatSync(join(rootPath, 'etc', 'new', 'deeper')).isDirectory());
      assert.equal(existsSync(join(rootPath, 'etc', 'new', 'deeper', 'leaf')), false);
      assert.equal(existsSync('/etc/new'), false);
    } finally {
      root.close();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a Dir is the directory itself: renaming it and putting a symlink in its place redirects nothing', () => {
  const base = scratch('dirfd-swap-');
  try {
    mkdirSync(join(base, 'root', 'd'), { recursive: true });
    mkdirSync(join(base, 'outside'));
    const root = openDir(join(base, 'root'));
    const d = root.openDir('d');
    renameSync(join(base, 'root', 'd'), join(base, 'root', 'd.moved'));
    symlinkSync(join(base, 'outside'), join(base, 'root', 'd'));
    d.mkdir('made', 0o755);
    writeFileSync(d.path('made') + '/f', 'x');
    assert.ok(existsSync(join(base, 'root', 'd.moved', 'made', 'f')));
    assert.deepEqual(readdirSync(join(base, 'outside')), []);
    // Opening the symlink itself as a directory is refused (O_NOFOLLOW), never followed.
    assert.throws(() => root.openDir('d'), /ELOOP|ENOTDIR/);
    d.close();
    root.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/** A directory `b` of many files inside `root`, and an `outside` twin holding a secret under every name. */
function raceTree(base: string, n: number): { root: string; outside: string } {
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'b'), { recursive: true });
  mkdirSync(outside);
  for (let i = 0; i < n; i++) {
    const name = `f${String(i).padStart(5, '0')}`;
    writeFileSync(join(root, 'b', name), 'inside');
    writeFileSync(join(outside, name), 'SECRET');
  }
  return { root, outside };
}

test('the tree tar walk holds each directory by descriptor: a swap mid-walk leaks nothing from outside', async () => {
  const base = scratch('dirfd-walk-');
  try {
    const { root, outside } = raceTree(base, 600);
    const dir = openDir(root);
    try {
      const it = treeTarBlocks({ dir, name: '' }, {});
      const chunks: Buffer[] = [];
      const first = await it.next(); // one batch: the walk is now inside b
      chunks.push(first.value as Buffer);
      // The container's move: b becomes a symlink to a directory of the host with the same names.
      renameSync(join(root, 'b'), join(root, 'b.real'));
      symlinkSync(outside, join(root, 'b'));
      for (let r = await it.next(); !r.done; r = await it.next()) chunks.push(r.value as Buffer);
      const tar = Buffer.concat(chunks);
      assert.equal(tar.includes('SECRET'), false, 'a file of the host was read through the swapped symlink');
      // Every file of the real directory is there, read through the descriptor held before the swap.
      const reader = new TarReader(Readable.from([tar]));
      let files = 0;
      for (let e = await reader.next(); e; e = await reader.next()) if (e.kind === 'file') files++;
      assert.equal(files, 600);
    } finally {
      dir.close();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function entry(name: string, type: string, body = ''): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([encodeTarHeader({ name, type, mode: 0o644, uid: 0, gid: 0, mtime: 1, size: b.length }), b, Buffer.alloc(tarPad(b.length))]);
}

test('the cp extractor reaches every parent by descriptor: a swap between entries writes nothing outside', async () => {
  const base = scratch('dirfd-put-');
  try {
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    // The tar arrives in pieces; between two entries the "container" swaps d for a symlink.
    const tar = Readable.from((async function* () {
      yield Buffer.concat([entry('d/', '5'), entry('d/one', '0', 'first')]);
      await new Promise((r) => setImmediate(r));
      renameSync(join(root, 'd'), join(root, 'd.real'));
      symlinkSync(outside, join(root, 'd'));
      yield Buffer.concat([entry('d/two', '0', 'second'), entry('d/sub/three', '0', 'third'), Buffer.alloc(1024)]);
    })());
    const dir = openDir(root);
    try {
      await applyLayer(dir, tar, { mode: 'plain' }).catch((e: Error) => assert.match(e.message, /layer breakout/));
    } finally {
      dir.close();
    }
    assert.deepEqual(readdirSync(outside), [], 'an entry was written through the swapped symlink');
    assert.equal(readFileSync(join(root, 'd.real', 'one'), 'utf8'), 'first');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('the extractor on a descriptor root refuses a parent that is a symlink, and sets modes without following', async () => {
  const base = scratch('dirfd-put2-');
  try {
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside, { mode: 0o700 });
    symlinkSync(outside, join(root, 'link'));
    const dir = openDir(root);
    try {
      await assert.rejects(applyLayer(dir, Readable.from([Buffer.concat([entry('link/x', '0', 'x'), Buffer.alloc(1024)])]), { mode: 'plain' }), /layer breakout/);
      // A directory entry over the symlink replaces the link; the mode lands on the new directory.
      await applyLayer(dir, Readable.from([Buffer.concat([encodeTarHeader({ name: 'link/', type: '5', mode: 0o777, uid: 0, gid: 0, mtime: 1, size: 0 }), Buffer.alloc(1024)])]), { mode: 'plain' });
      assert.ok(lstatSync(join(root, 'link')).isDirectory());
      assert.equal(lstatSync(outside).mode & 0o777, 0o700);
      // The root's own entry (`./`) takes its metadata through the descriptor too.
      await applyLayer(dir, Readable.from([Buffer.concat([encodeTarHeader({ name: './', type: '5', mode: 0o751, uid: 0, gid: 0, mtime: 1, size: 0 }), Buffer.alloc(1024)])]), { mode: 'plain' });
      assert.equal(lstatSync(root).mode & 0o777, 0o751);
    } finally {
      dir.close();
    }
    assert.deepEqual(readdirSync(outside), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
