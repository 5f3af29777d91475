// Resolution and access by descriptor (dirfd.ts). Its two users that matter most, the tree tar
// walk and the cp extractor, are raced in src/archive/dirfd-races.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDir, resolveIn, statAt, type Dir } from './dirfd.ts';

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
