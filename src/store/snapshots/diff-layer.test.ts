// createLayerTar / createTreeTar / diffChanges. Runs as root (owners, devices, trusted.* xattrs,
// overlay mounts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chown, link, lstat, lutimes, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile, chmod, unlink, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import * as sys from '../../sys/index.ts';
import { applyLayer } from './apply-layer.ts';
import { createLayerTar, diffChanges } from './diff-layer.ts';
import { createTreeTar } from '../../archive/tree-tar.ts';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-diff-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Entries as another tar implementation (tar-stream) reads them. */
async function entriesOf(tar: Buffer): Promise<{ header: Header; body: Buffer }[]> {
  const out: { header: Header; body: Buffer }[] = [];
  const x = extract();
  const done = (async () => {
    for await (const e of x) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.push({ header: e.header, body: Buffer.concat(chunks) });
    }
  })();
  x.end(tar);
  await done;
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const T = (iso: string) => new Date(iso).getTime() / 1000;

// A file capability as the kernel stores it (VFS_CAP_REVISION_2, effective, cap_setuid = bit 7):
// byte 0x80 is not valid UTF-8 on its own, so a text-based PAX codec would corrupt it.
const CAP_SETUID = Buffer.from('0100000280000000000000000000000000000000', 'hex');

/** A tree with every kind of entry and the metadata a layer must keep. */
async function buildTree(dir: string): Promise<void> {
  const longA = 'a'.repeat(120);
  const longB = 'b'.repeat(200);
  const files: [string, string | Buffer, number, number?, number?][] = [
    ['etc/hello', 'hello\n', 0o644],
    ['etc/secret', 'pw', 0o600, 1234, 5678],
    ['etc/empty', '', 0o644],
    ['bin/su', 'su', 0o4755],
    ['bin/wall', 'wall', 0o2755, 0, 5],
    ['bin/newuidmap', 'x', 0o755],
    ['big', randomBytes(700 * 1024 + 3), 0o644],
    [`deep/${longA}/${longB}`, 'deep', 0o644],
    ['ünïcødé-名前', 'utf8', 0o644],
    ['attrs', 'a', 0o644],
  ];
  for (const [p, body, mode, uid, gid] of files) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), body);
    await chown(join(dir, p), uid ?? 0, gid ?? 0);
    await chmod(join(dir, p), mode);
  }
  await mkdir(join(dir, 'tmp'));
  await chmod(join(dir, 'tmp'), 0o1777);
  await mkdir(join(dir, 'home/user'), { recursive: true });
  await chown(join(dir, 'home/user'), 1000, 1000);
  await chmod(join(dir, 'home/user'), 0o750);
  await link(join(dir, 'etc/hello'), join(dir, 'etc/hello.hardlink'));
  await link(join(dir, 'etc/hello'), join(dir, 'zz-third-link'));
  await symlink('/usr/share/zoneinfo/UTC', join(dir, 'etc/localtime'));
  await symlink('hello', join(dir, 'etc/rel-link'));
  await symlink('x'.repeat(150), join(dir, 'long-target'));
  await link(join(dir, 'etc/rel-link'), join(dir, 'etc/link-to-symlink')); // a hard link to a symlink
  await mkdir(join(dir, 'dev'));
  await sys.mknod(join(dir, 'dev/null'), 'c', 1, 3, 0o666);
  await sys.mknod(join(dir, 'dev/sda'), 'b', 8, 0, 0o660);
  await sys.mknod(join(dir, 'dev/fifo'), 'p', 0, 0, 0o620);
  await sys.setxattr(join(dir, 'attrs'), 'user.text', 'hello');
  await sys.setxattr(join(dir, 'attrs'), 'user.bin', Buffer.from([0x80, 0xff, 0x00, 0x0a, 0x3d]));
  await sys.setxattr(join(dir, 'attrs'), 'trusted.berth', 'kept');
  await sys.setxattr(join(dir, 'home'), 'user.dir', 'd');
  await sys.setxattr(join(dir, 'bin/newuidmap'), 'security.capability', CAP_SETUID);
  // Times last, directories after their contents.
  const all: string[] = [];
  const walk = async (d: string) => {
    for (const n of await readdir(d)) {
      const p = join(d, n);
      if ((await lstat(p)).isDirectory()) await walk(p);
      all.push(p);
    }
  };
  await walk(dir);
  let t = T('2022-03-04T05:06:07Z');
  for (const p of all) await lutimes(p, t, (t += 61));
}

interface Snap { path: string; type: string; mode: number; uid: number; gid: number; mtime: number; size?: number; sha?: string; target?: string; rdev?: number; link?: string; xattrs: Record<string, string> }

/** Everything a layer must carry, per path (inode identity as "same as <first path>"). */
async function snapshot(dir: string): Promise<Snap[]> {
  const out: Snap[] = [];
  const inodes = new Map<number, string>();
  const walk = async (rel: string) => {
    for (const n of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(dir, r);
      const st = await lstat(p);
      const xa = await sys.getxattrs(p);
      const s: Snap = {
        path: r, type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'fifo',
        mode: st.mode, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000),
        xattrs: Object.fromEntries(Object.entries(xa).filter(([k]) => !k.startsWith('trusted.overlay.')).map(([k, v]) => [k, v.toString('hex')])),
      };
      if (st.isFile()) { s.size = st.size; s.sha = sha(await readFile(p)); }
      if (st.isSymbolicLink()) s.target = await readlink(p);
      if (st.isCharacterDevice() || st.isBlockDevice()) s.rdev = st.rdev;
      if (!st.isDirectory() && st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) s.link = first;
        else inodes.set(st.ino, r);
      }
      out.push(s);
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

test('createLayerTar → applyLayer round-trips every kind of entry and its metadata', async () => {
  await withTmp(async (base) => {
    const src = join(base, 'src');
    const dst = join(base, 'dst');
    await mkdir(src);
    await mkdir(dst);
    await buildTree(src);
    const tar = await collect(createLayerTar(src));
    const { size } = await applyLayer(dst, Readable.from([tar]), { mode: 'overlay' });
    const a = await snapshot(src);
    const b = await snapshot(dst);
    assert.deepEqual(b, a);
    assert.ok(a.some((s) => s.link === 'etc/hello' && s.path === 'etc/hello.hardlink'));
    assert.ok(a.some((s) => s.type === 'symlink' && s.link === 'etc/link-to-symlink'));
    assert.equal(a.find((s) => s.path === 'bin/newuidmap')?.xattrs['security.capability'], CAP_SETUID.toString('hex'));
    assert.equal(a.find((s) => s.path === 'attrs')?.xattrs['user.bin'], '80ff000a3d');
    // Regular file bytes, hard links not counted twice.
    const expected = a.filter((s) => s.type === 'file' && !s.link).reduce((n, s) => n + (s.size ?? 0), 0);
    assert.equal(size, expected);
  });
});

test('layer tars are deterministic: same tree, same bytes, also after a round trip', async () => {
  await withTmp(async (base) => {
    const src = join(base, 'src');
    const dst = join(base, 'dst');
    await mkdir(src);
    await mkdir(dst);
    await buildTree(src);
    const t1 = await collect(createLayerTar(src));
    const t2 = await collect(createLayerTar(src));
    assert.equal(sha(t2), sha(t1));
    await applyLayer(dst, Readable.from([t1]), { mode: 'overlay' });
    // A different directory, different inode numbers and creation order: same digest.
    assert.equal(sha(await collect(createLayerTar(dst))), sha(t1));
    assert.equal(sha(await collect(createTreeTar(dst))), sha(await collect(createTreeTar(src))));
  });
});

test('layer tars are readable by another tar implementation', async () => {
  await withTmp(async (src) => {
    await buildTree(src);
    const entries = await entriesOf(await collect(createLayerTar(src)));
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    assert.equal(entries[0].header.name, 'attrs', 'walked in byte order');
    assert.ok(entries.every((e) => !e.header.uname && !e.header.gname));
    assert.equal(byName.get('etc/hello')?.body.toString(), 'hello\n');
    assert.equal(byName.get('etc/hello.hardlink')?.header.type, 'link');
    assert.equal(byName.get('etc/hello.hardlink')?.header.linkname, 'etc/hello');
    assert.equal(byName.get('etc/')?.header.type, 'directory');
    assert.equal(byName.get('tmp/')?.header.mode, 0o1777);
    assert.equal(byName.get('bin/su')?.header.mode, 0o4755);
    assert.equal(byName.get('long-target')?.header.linkname, 'x'.repeat(150));
    assert.ok(byName.has(`deep/${'a'.repeat(120)}/${'b'.repeat(200)}`));
    assert.ok(byName.has('ünïcødé-名前'));
    assert.equal(byName.get('dev/null')?.header.type, 'character-device');
    assert.deepEqual([byName.get('dev/sda')?.header.devmajor, byName.get('dev/sda')?.header.devminor], [8, 0]);
    const pax = byName.get('attrs')?.header.pax as Record<string, string> | undefined;
    assert.equal(pax?.['SCHILY.xattr.user.text'], 'hello');
    assert.equal(byName.get('etc/secret')?.header.uid, 1234);
  });
});

test('overlay upper: whiteouts and opaque dirs become OCI markers; trusted.overlay.* is dropped', async () => {
  await withTmp(async (upper) => {
    await mkdir(join(upper, 'd'));
    await writeFile(join(upper, 'd/new'), 'n');
    await sys.markOpaque(join(upper, 'd'));
    await sys.setxattr(join(upper, 'd'), 'trusted.overlay.origin', Buffer.from([1, 2, 3]));
    await sys.mknodWhiteout(join(upper, 'gone'));
    // Overlay may share one whiteout inode among many whiteouts: never a hard link entry.
    await link(join(upper, 'gone'), join(upper, 'gone2'));
    await chown(join(upper, 'd'), 7, 8);
    const entries = await entriesOf(await collect(createLayerTar(upper)));
    assert.deepEqual(entries.map((e) => [e.header.name, e.header.type]), [
      ['d/', 'directory'],
      ['d/.wh..wh..opq', 'file'],
      ['d/new', 'file'],
      ['.wh.gone', 'file'],
      ['.wh.gone2', 'file'],
    ]);
    assert.equal(entries[1].header.uid, 7);
    for (const e of entries) {
      const pax = (e.header.pax ?? {}) as Record<string, string>;
      assert.ok(!Object.keys(pax).some((k) => k.includes('trusted.overlay')), e.header.name);
    }
    // createTreeTar: no translation.
    const plain = await entriesOf(await collect(createTreeTar(upper)));
    assert.deepEqual(plain.map((e) => [e.header.name, e.header.type]), [
      ['d/', 'directory'], ['d/new', 'file'], ['gone', 'character-device'], ['gone2', 'link'],
    ]);
  });
});

test('a layer from a real overlay upper applies on its lower to the merged view', async () => {
  await withTmp(async (base) => {
    for (const d of ['l1', 'l2', 'upper', 'work', 'merged', 'check']) await mkdir(join(base, d));
    const l1 = join(base, 'l1');
    for (const [p, body] of [['a', 'a'], ['keep', 'keep'], ['mod', 'old'], ['d/x', 'x'], ['d/y', 'y'], ['e/old', 'old']]) {
      await mkdir(join(l1, p, '..'), { recursive: true });
      await writeFile(join(l1, p), body);
    }
    const merged = resolve(base, 'merged');
    await sys.mountOverlay(merged, { cwd: base, lower: ['l1'], upper: 'upper', work: 'work' });
    try {
      await unlink(join(merged, 'a'));
      await writeFile(join(merged, 'mod'), 'new');
      await rm(join(merged, 'd'), { recursive: true });
      await mkdir(join(merged, 'd'));
      await writeFile(join(merged, 'd/z'), 'z');
      await rename(join(merged, 'e/old'), join(merged, 'e/renamed'));
      await writeFile(join(merged, 'added'), 'added');
    } finally {
      await sys.unmount(merged);
    }
    const changes = await diffChanges(join(base, 'upper'), [l1]);
    assert.deepEqual(changes, [
      { Path: '/a', Kind: 2 },
      { Path: '/added', Kind: 1 },
      { Path: '/d', Kind: 2 },
      { Path: '/d/z', Kind: 1 },
      { Path: '/e', Kind: 0 },
      { Path: '/e/old', Kind: 2 },
      { Path: '/e/renamed', Kind: 1 },
      { Path: '/mod', Kind: 0 },
    ]);
    await applyLayer(join(base, 'l2'), createLayerTar(join(base, 'upper')), { mode: 'overlay' });
    const check = resolve(base, 'check');
    await sys.mountOverlay(check, { cwd: base, lower: ['l2', 'l1'] });
    try {
      assert.deepEqual((await readdir(check)).sort(), ['added', 'd', 'e', 'keep', 'mod']);
      assert.deepEqual(await readdir(join(check, 'd')), ['z']);
      assert.deepEqual(await readdir(join(check, 'e')), ['renamed']);
      assert.equal(await readFile(join(check, 'mod'), 'utf8'), 'new');
    } finally {
      await sys.unmount(check);
    }
  });
});

test('diffChanges follows Docker: unchanged parent dirs, opaque dirs, symlinks in lowers not followed', async () => {
  await withTmp(async (base) => {
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    const files = ['etc/passwd', 'etc/hosts', 'var/log/old', 'usr/bin/sh'];
    for (const f of files) {
      await mkdir(join(lower, f, '..'), { recursive: true });
      await writeFile(join(lower, f), f);
    }
    await symlink('/etc', join(lower, 'escape')); // must not make berth look at the host's /etc
    await mkdir(join(upper, 'etc'), { recursive: true });
    await writeFile(join(upper, 'etc/passwd'), 'changed');
    await sys.mknodWhiteout(join(upper, 'etc/hosts'));
    await mkdir(join(upper, 'tmp'));
    await writeFile(join(upper, 'tmp/new'), 'n');
    await mkdir(join(upper, 'var/log'), { recursive: true });
    await sys.markOpaque(join(upper, 'var/log'));
    await writeFile(join(upper, 'var/log/new'), 'n');
    await mkdir(join(upper, 'usr/bin'), { recursive: true });
    await writeFile(join(upper, 'usr/bin/sh'), 'patched');
    await mkdir(join(upper, 'escape'));
    await writeFile(join(upper, 'escape/passwd'), 'p');
    // etc and usr/bin look the same as below: only on the way to changes. var differs (mtime).
    const t = T('2023-01-01T00:00:00Z');
    for (const d of ['etc', 'usr', 'usr/bin']) {
      await lutimes(join(lower, d), t, t);
      await lutimes(join(upper, d), t, t);
    }
    await lutimes(join(lower, 'var'), t, t);
    await lutimes(join(upper, 'var'), t, t + 60);
    assert.deepEqual(await diffChanges(upper, [join(base, 'missing'), lower]), [
      { Path: '/escape', Kind: 0 },
      { Path: '/escape/passwd', Kind: 1 },
      { Path: '/etc', Kind: 0 }, // reported as the parent of a deletion
      { Path: '/etc/hosts', Kind: 2 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/tmp', Kind: 1 },
      { Path: '/tmp/new', Kind: 1 },
      { Path: '/usr/bin/sh', Kind: 0 }, // a modification does not report its unchanged parents
      { Path: '/var', Kind: 0 },
      { Path: '/var/log', Kind: 2 },
      { Path: '/var/log/new', Kind: 1 },
    ]);
    assert.deepEqual(await diffChanges(join(base, 'nothing'), [lower]), []);
  });
});
