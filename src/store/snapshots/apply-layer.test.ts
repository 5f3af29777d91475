// applyLayer against crafted tarballs (tar-stream's pack, plus raw GNU headers built here).
// Runs as root: owners, device nodes, trusted.* xattrs and overlay mounts need it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pack, type Header } from 'tar-stream';
import { isEngineError } from '../../common/errors.ts';
import * as sys from '../../sys/index.ts';
import { applyLayer } from './apply-layer.ts';
import { MAX_META, TarReader, type TarEntry } from '../../archive/tar-reader.ts';

type Fixture = Partial<Header> & { name: string; body?: string | Buffer; pax?: Record<string, string> };

const T1 = new Date('2020-01-02T03:04:05Z');
const T2 = new Date('2021-06-07T08:09:10Z');

async function tarOf(entries: Fixture[], trailer = Buffer.alloc(0)): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', res);
    p.on('error', rej);
  });
  for (const { body, ...h } of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (body === undefined) p.entry({ mtime: T1, ...h }, cb);
      else p.entry({ mtime: T1, ...h }, body, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat([...chunks, trailer]);
}

/** Feeds the tar in odd-sized chunks so headers and data straddle chunk boundaries. */
function streamOf(buf: Buffer, chunk = 333): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-apply-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const exists = (p: string) => lstat(p).then(() => true, () => false);
const breakout = (e: unknown) => isEngineError(e, 'InvalidParameter') && /breakout/.test((e as Error).message);
const invalidTar = (e: unknown) => isEngineError(e, 'InvalidParameter');

/** A raw ustar/GNU header block, for what tar-stream's pack cannot write (GNU long names, bad sums). */
function rawHeader(h: { name: string; flag: string; size?: number; mode?: number; linkname?: string; magic?: 'gnu' | 'ustar' }): Buffer {
  const b = Buffer.alloc(512);
  const oct = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
  b.write(h.name, 0, 100, 'latin1');
  oct(100, 8, h.mode ?? 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, h.size ?? 0);
  oct(136, 12, Math.floor(T1.getTime() / 1000));
  b.write(h.flag, 156, 1, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'latin1');
  b.write(h.magic === 'ustar' ? 'ustar\u000000' : 'ustar  \u0000', 257, 8, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}
const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

test('extracts files, directories, links, devices and xattrs with their metadata', async () => {
  await withTmp(async (root) => {
    const longDir = 'deep/' + 'a'.repeat(120);
    const longName = `${longDir}/${'b'.repeat(150)}`;
    const tar = await tarOf([
      { name: 'etc', type: 'directory', mode: 0o755, mtime: T2 },
      { name: 'etc/hello', mode: 0o640, uid: 1000, gid: 1001, mtime: T2, body: 'hi' },
      { name: 'etc/empty', mode: 0o600, body: '' },
      { name: 'bin/su', mode: 0o4755, body: 'x' }, // parent `bin` comes implicitly
      { name: 'bin/sg', mode: 0o2755, uid: 5, gid: 6, body: 'y' },
      { name: 'tmp', type: 'directory', mode: 0o1777 },
      { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC', uid: 7, gid: 8 },
      { name: 'etc/hello2', type: 'link', linkname: 'etc/hello' },
      { name: 'lnk', type: 'symlink', linkname: 'etc/hello' },
      { name: 'lnk2', type: 'link', linkname: '/lnk' },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev/loop9', type: 'block-device', mode: 0o660, devmajor: 7, devminor: 9 },
      { name: longName, body: 'long' },
      {
        name: 'x/attr', body: 'a',
        pax: { 'SCHILY.xattr.user.test': 'v1', 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.trusted.berth': 'tv' },
      },
    ]);
    const { size } = await applyLayer(root, streamOf(tar), { mode: 'overlay' });
    assert.equal(size, 2 + 0 + 1 + 1 + 4 + 1);

    const hello = await lstat(join(root, 'etc/hello'));
    assert.ok(hello.isFile());
    assert.equal(hello.mode & 0o7777, 0o640);
    assert.deepEqual([hello.uid, hello.gid], [1000, 1001]);
    assert.equal(hello.mtime.getTime(), T2.getTime());
    assert.equal(await readFile(join(root, 'etc/hello'), 'utf8'), 'hi');
    assert.equal((await lstat(join(root, 'etc/empty'))).size, 0);
    // Directory times are set after the children were written.
    assert.equal((await lstat(join(root, 'etc'))).mtime.getTime(), T2.getTime());
    assert.equal((await lstat(join(root, 'bin/su'))).mode & 0o7777, 0o4755);
    const sg = await lstat(join(root, 'bin/sg'));
    assert.equal(sg.mode & 0o7777, 0o2755); // survives the chown
    assert.deepEqual([sg.uid, sg.gid], [5, 6]);
    assert.equal((await lstat(join(root, 'bin'))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(root, 'tmp'))).mode & 0o7777, 0o1777);

    const lt = await lstat(join(root, 'etc/localtime'));
    assert.ok(lt.isSymbolicLink());
    assert.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/UTC');
    assert.deepEqual([lt.uid, lt.gid], [7, 8]);
    assert.equal(lt.mtime.getTime(), T1.getTime());

    assert.equal((await lstat(join(root, 'etc/hello2'))).ino, hello.ino);
    const l2 = await lstat(join(root, 'lnk2'));
    assert.ok(l2.isSymbolicLink(), 'a hard link to a symlink is the symlink itself');
    assert.equal(l2.ino, (await lstat(join(root, 'lnk'))).ino);

    const fifo = await lstat(join(root, 'run/fifo'));
    assert.ok(fifo.isFIFO());
    assert.equal(fifo.mode & 0o7777, 0o620);
    const nul = await lstat(join(root, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(nul.mode & 0o7777, 0o666);
    const loop = await lstat(join(root, 'dev/loop9'));
    assert.ok(loop.isBlockDevice());
    assert.equal(loop.rdev, (7 << 8) | 9);

    assert.equal(await readFile(join(root, longName), 'utf8'), 'long');

    const xa = await sys.getxattrs(join(root, 'x/attr'));
    assert.equal(xa['user.test']?.toString(), 'v1');
    assert.equal(xa['trusted.berth']?.toString(), 'tv');
    assert.equal(xa['trusted.overlay.opaque'], undefined, 'trusted.overlay.* from a tar is never applied');
  });
});

test('GNU long names and long link targets', async () => {
  await withTmp(async (root) => {
    const name = `g/${'n'.repeat(200)}`;
    const target = `/${'t'.repeat(180)}`;
    const nameData = Buffer.from(name + '\0');
    const linkData = Buffer.from(target + '\0');
    const tar = Buffer.concat([
      rawHeader({ name: '././@LongLink', flag: 'L', size: nameData.length }), padded(nameData),
      rawHeader({ name: 'truncated', flag: '0', size: 3 }), padded(Buffer.from('abc')),
      rawHeader({ name: '././@LongLink', flag: 'K', size: linkData.length }), padded(linkData),
      rawHeader({ name: 'sym', flag: '2', linkname: 'ignored' }),
      Buffer.alloc(1024),
    ]);
    await applyLayer(root, streamOf(tar, 100), { mode: 'overlay' });
    assert.equal(await readFile(join(root, name), 'utf8'), 'abc');
    assert.equal(await readlink(join(root, 'sym')), target);
  });
});

test('absolute names and .. are confined to the root', async () => {
  await withTmp(async (base) => {
    const root = join(base, 'a/b/root');
    await mkdir(root, { recursive: true });
    const tag = randomBytes(6).toString('hex');
    const tar = await tarOf([
      { name: `/abs-${tag}`, body: '1' },
      { name: `../../dotdot-${tag}`, body: '2' },
      { name: `x/../../../up-${tag}`, body: '3' },
      { name: `/../etc-${tag}/passwd`, body: '4' },
      { name: './././here', body: '5' },
      { name: '..', type: 'directory', mode: 0o711 }, // the root itself
    ]);
    await applyLayer(root, streamOf(tar), { mode: 'overlay' });
    assert.equal(await readFile(join(root, `abs-${tag}`), 'utf8'), '1');
    assert.equal(await readFile(join(root, `dotdot-${tag}`), 'utf8'), '2');
    assert.equal(await readFile(join(root, `up-${tag}`), 'utf8'), '3');
    assert.equal(await readFile(join(root, `etc-${tag}/passwd`), 'utf8'), '4');
    assert.equal(await readFile(join(root, 'here'), 'utf8'), '5');
    assert.equal((await stat(root)).mode & 0o7777, 0o711);
    assert.equal(await exists(`/abs-${tag}`), false);
    assert.equal(await exists(`/etc-${tag}`), false);
    assert.deepEqual(await readdir(base), ['a']);
    assert.deepEqual(await readdir(join(base, 'a')), ['b']);
    assert.deepEqual(await readdir(join(base, 'a/b')), ['root']);
  });
});

/** An outside directory with a sentinel, and the checks that nothing there changed. */
async function outsideFixture(base: string) {
  const outside = join(base, 'outside');
  await mkdir(outside);
  await chmod(outside, 0o755);
  await writeFile(join(outside, 'sentinel'), 'original');
  const before = await lstat(join(outside, 'sentinel'));
  return {
    outside,
    async untouched() {
      assert.deepEqual((await readdir(outside)).sort(), ['sentinel']);
      assert.equal(await readFile(join(outside, 'sentinel'), 'utf8'), 'original');
      const now = await lstat(join(outside, 'sentinel'));
      assert.equal(now.mode, before.mode);
      assert.equal(now.nlink, 1, 'no hard link to the sentinel was made');
      assert.equal((await lstat(outside)).mode & 0o7777, 0o755);
      assert.equal((await sys.getxattrs(outside))['trusted.overlay.opaque'], undefined);
      assert.equal(await exists(join(base, 'x')), false);
    },
  };
}

const breakoutCases: { name: string; mode: 'overlay' | 'flatten'; entries: (outside: string) => Fixture[] }[] = [
  {
    name: 'file through a symlink to an absolute outside dir',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/sentinel', body: 'pwned' }],
  },
  {
    name: 'file through a symlink to /',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: '/' }, { name: `evil${o}/sentinel`, body: 'pwned' }],
  },
  {
    name: 'file through a relative symlink climbing out (evil -> ../..)',
    mode: 'overlay',
    entries: () => [{ name: 'evil', type: 'symlink', linkname: '../..' }, { name: 'evil/x', body: 'pwned' }],
  },
  {
    name: 'file through a symlink deeper in the path',
    mode: 'overlay',
    entries: (o) => [
      { name: 'd', type: 'directory' },
      { name: 'd/evil', type: 'symlink', linkname: o },
      { name: 'd/evil/new', body: 'pwned' },
    ],
  },
  {
    name: 'directory through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/newdir', type: 'directory' }],
  },
  {
    name: 'device node through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/fifo', type: 'fifo' }],
  },
  {
    name: 'new symlink through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/l', type: 'symlink', linkname: '/' }],
  },
  {
    name: 'hard link whose target goes through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'stolen', type: 'link', linkname: 'evil/sentinel' }],
  },
  {
    name: 'hard link whose name goes through a symlink',
    mode: 'overlay',
    entries: (o) => [
      { name: 'f', body: 'f' },
      { name: 'evil', type: 'symlink', linkname: o },
      { name: 'evil/newlink', type: 'link', linkname: 'f' },
    ],
  },
  {
    name: 'hard link target climbing above the root',
    mode: 'overlay',
    entries: () => [{ name: 'stolen', type: 'link', linkname: '../outside/sentinel' }],
  },
  {
    name: 'overlay whiteout through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/.wh.sentinel', body: '' }],
  },
  {
    name: 'overlay opaque marker through a symlink',
    mode: 'overlay',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/.wh..wh..opq', body: '' }],
  },
  {
    name: 'flatten whiteout through a symlink',
    mode: 'flatten',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/.wh.sentinel', body: '' }],
  },
  {
    name: 'flatten opaque marker through a symlink',
    mode: 'flatten',
    entries: (o) => [{ name: 'evil', type: 'symlink', linkname: o }, { name: 'evil/.wh..wh..opq', body: '' }],
  },
];

for (const c of breakoutCases) {
  test(`breakout rejected: ${c.name}`, async () => {
    await withTmp(async (base) => {
      const fx = await outsideFixture(base);
      const root = join(base, 'a/root'); // `../..` from an entry at the root lands in `base`
      await mkdir(root, { recursive: true });
      const tar = await tarOf(c.entries(fx.outside));
      await assert.rejects(applyLayer(root, streamOf(tar), { mode: c.mode }), breakout);
      await fx.untouched();
      assert.deepEqual((await readdir(base)).sort(), ['a', 'outside']);
    });
  });
}

test('breakout rejected: a symlink already on disk is not followed (flatten)', async () => {
  await withTmp(async (base) => {
    const fx = await outsideFixture(base);
    const root = join(base, 'root');
    await mkdir(root);
    await symlink(fx.outside, join(root, 'evil'));
    for (const e of [
      { name: 'evil/sentinel', body: 'pwned' },
      { name: 'evil/.wh.sentinel', body: '' },
      { name: 'evil/.wh..wh..opq', body: '' },
    ] as Fixture[]) {
      await assert.rejects(applyLayer(root, streamOf(await tarOf([e])), { mode: 'flatten' }), breakout);
    }
    await fx.untouched();
  });
});

test('a final-component symlink is replaced, never written through', async () => {
  await withTmp(async (base) => {
    const fx = await outsideFixture(base);
    const root = join(base, 'root');
    await mkdir(root);
    const s = join(fx.outside, 'sentinel');
    const tar = await tarOf([
      { name: 'f', type: 'symlink', linkname: s },
      { name: 'f', mode: 0o600, body: 'new' },
      { name: 'd', type: 'symlink', linkname: fx.outside },
      { name: 'd', type: 'directory', mode: 0o700 },
      { name: 'n', type: 'symlink', linkname: s },
      { name: 'n', type: 'fifo', mode: 0o600 },
      { name: 'l', type: 'symlink', linkname: s },
      { name: 'l', type: 'symlink', linkname: '/elsewhere' },
      { name: 'h', type: 'symlink', linkname: s },
      { name: 'h', type: 'link', linkname: 'f' },
      { name: 'w', type: 'symlink', linkname: s },
      { name: '.wh.w', body: '' },
    ]);
    await applyLayer(root, streamOf(tar), { mode: 'overlay' });
    assert.ok((await lstat(join(root, 'f'))).isFile());
    assert.equal(await readFile(join(root, 'f'), 'utf8'), 'new');
    const d = await lstat(join(root, 'd'));
    assert.ok(d.isDirectory());
    assert.equal(d.mode & 0o7777, 0o700);
    assert.ok((await lstat(join(root, 'n'))).isFIFO());
    assert.equal(await readlink(join(root, 'l')), '/elsewhere');
    assert.equal((await lstat(join(root, 'h'))).ino, (await lstat(join(root, 'f'))).ino);
    const w = await lstat(join(root, 'w'));
    assert.ok(w.isCharacterDevice() && w.rdev === 0);
    await fx.untouched();
  });
});

test('flatten: an entry replaces an existing path of another type; an existing dir is kept', async () => {
  await withTmp(async (root) => {
    await mkdir(join(root, 'a/sub'), { recursive: true });
    await writeFile(join(root, 'a/sub/f'), 'x');
    await writeFile(join(root, 'b'), 'file');
    await mkdir(join(root, 'c'));
    await writeFile(join(root, 'c/child'), 'kept');
    const tar = await tarOf([
      { name: 'a', body: 'now a file' },
      { name: 'b', type: 'directory', mode: 0o750 },
      { name: 'b/inside', body: 'i' },
      { name: 'c', type: 'directory', mode: 0o700, uid: 3 },
    ]);
    await applyLayer(root, streamOf(tar), { mode: 'flatten' });
    assert.equal(await readFile(join(root, 'a'), 'utf8'), 'now a file');
    assert.ok((await lstat(join(root, 'b'))).isDirectory());
    assert.equal(await readFile(join(root, 'b/inside'), 'utf8'), 'i');
    const c = await lstat(join(root, 'c'));
    assert.equal(c.mode & 0o7777, 0o700);
    assert.equal(c.uid, 3);
    assert.equal(await readFile(join(root, 'c/child'), 'utf8'), 'kept');
  });
});

test('flatten: whiteouts delete, opaque markers drop what this tar did not write', async () => {
  await withTmp(async (root) => {
    for (const f of ['keep', 'gone', 'gonedir/x/y', 'opq/old1', 'opq/sub/old2', 'opq/keepdir/old3']) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), f);
    }
    const tar = await tarOf([
      { name: '.wh.gone', body: '' },
      { name: '.wh.gonedir', body: '' },
      { name: '.wh.notthere', body: '' },
      { name: 'nodir/.wh.x', body: '' },
      { name: 'opq', type: 'directory' },
      { name: 'opq/keepdir', type: 'directory' },
      { name: 'opq/.wh..wh..opq', body: '' },
      { name: 'opq/new', body: 'n' },
    ]);
    await applyLayer(root, streamOf(tar), { mode: 'flatten' });
    assert.deepEqual((await readdir(root)).sort(), ['keep', 'opq']);
    assert.deepEqual((await readdir(join(root, 'opq'))).sort(), ['keepdir', 'new']);
    assert.deepEqual(await readdir(join(root, 'opq/keepdir')), []);
    assert.equal(await readFile(join(root, 'keep'), 'utf8'), 'keep');
  });
});

test('overlay: whiteouts become 0/0 char devices, opaque markers an xattr; markers never written', async () => {
  await withTmp(async (root) => {
    const tar = await tarOf([
      { name: '.wh.gone', body: '' },
      { name: 'dir', type: 'directory', mode: 0o750 },
      { name: 'dir/.wh..wh..opq', body: '' },
      { name: 'dir/f', body: 'f' },
      { name: 'sub/.wh.x', body: '' }, // parent created implicitly
      { name: '.wh..wh.plnk/123', body: 'aufs' }, // AUFS bookkeeping: skipped
    ]);
    await applyLayer(root, streamOf(tar), { mode: 'overlay' });
    for (const p of ['gone', 'sub/x']) {
      const st = await lstat(join(root, p));
      assert.ok(st.isCharacterDevice(), p);
      assert.equal(st.rdev, 0);
    }
    assert.equal((await sys.getxattrs(join(root, 'dir')))['trusted.overlay.opaque']?.toString(), 'y');
    assert.equal((await lstat(join(root, 'dir'))).mode & 0o7777, 0o750);
    assert.deepEqual((await readdir(root)).sort(), ['dir', 'gone', 'sub']);
    assert.deepEqual(await readdir(join(root, 'dir')), ['f']);
  });
});

test('malformed tars are InvalidParameter', async () => {
  await withTmp(async (root) => {
    const good = await tarOf([{ name: 'f', body: 'hello world' }]);
    const badSum = Buffer.from(good);
    badSum[0] ^= 0x01;
    await assert.rejects(applyLayer(join(root), streamOf(badSum), { mode: 'overlay' }), invalidTar);
    await assert.rejects(applyLayer(root, streamOf(good.subarray(0, 520)), { mode: 'overlay' }), invalidTar);
    const cases: Fixture[][] = [
      [{ name: 'dangling', type: 'link', linkname: 'nothere' }],
      [{ name: 'd', type: 'directory' }, { name: 'dl', type: 'link', linkname: 'd' }],
      [{ name: '.wh..', body: '' }],
      [{ name: './', body: 'a file as the root' }],
    ];
    for (const entries of cases) {
      await assert.rejects(applyLayer(root, streamOf(await tarOf(entries)), { mode: 'overlay' }), invalidTar, JSON.stringify(entries));
    }
    const sparse = Buffer.concat([rawHeader({ name: 's', flag: 'S', magic: 'gnu' }), Buffer.alloc(1024)]);
    await assert.rejects(applyLayer(root, streamOf(sparse), { mode: 'overlay' }), invalidTar);
  });
});

test('a tar ending right after its last entry\'s data (no padding, no end blocks) is complete, as in Go', async () => {
  // What the docker CLI sends for `build -f <Dockerfile outside the context>`.
  await withTmp(async (root) => {
    const a = Buffer.from('hello\n');
    const b = Buffer.from('**/.git\n');
    const tar = Buffer.concat([rawHeader({ name: 'a.txt', flag: '0', size: a.length }), padded(a), rawHeader({ name: '.dockerignore', flag: '0', size: b.length }), b]);
    await applyLayer(root, streamOf(tar, 100), { mode: 'plain' });
    assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'hello\n');
    assert.equal(await readFile(join(root, '.dockerignore'), 'utf8'), '**/.git\n');
  });
  // Cut inside the data, or inside the padding: still truncated.
  for (const cut of [3, 6 + 10]) {
    await withTmp(async (root) => {
      const a = Buffer.from('hello\n');
      const tar = Buffer.concat([rawHeader({ name: 'a.txt', flag: '0', size: a.length }), padded(a)]).subarray(0, 512 + cut);
      await assert.rejects(applyLayer(root, streamOf(tar), { mode: 'plain' }), invalidTar, String(cut));
    });
  }
});

test('the input is drained to its end, trailing padding included', async () => {
  await withTmp(async (root) => {
    const tar = await tarOf([{ name: 'f', body: 'x'.repeat(1000) }], Buffer.alloc(10240));
    const src = streamOf(tar, 4096);
    const { size } = await applyLayer(root, src, { mode: 'overlay' });
    assert.equal(size, 1000);
    assert.ok(src.readableEnded);
  });
});

test('a large file is streamed intact', async () => {
  await withTmp(async (root) => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const tar = await tarOf([{ name: 'big', body: data }]);
    const { size } = await applyLayer(root, streamOf(tar, 65536), { mode: 'overlay' });
    assert.equal(size, data.length);
    assert.ok((await readFile(join(root, 'big'))).equals(data));
  });
});

test('overlay mount of two unpacked layers honours whiteouts and opaque dirs', async () => {
  await withTmp(async (base) => {
    for (const d of ['l1', 'l2', 'merged']) await mkdir(join(base, d));
    await applyLayer(join(base, 'l1'), streamOf(await tarOf([
      { name: 'a', body: 'lower a' },
      { name: 'keep', body: 'keep' },
      { name: 'd', type: 'directory' },
      { name: 'd/x', body: 'x' },
      { name: 'd/y', body: 'y' },
      { name: 'e', type: 'directory' },
      { name: 'e/old', body: 'old' },
    ])), { mode: 'overlay' });
    await applyLayer(join(base, 'l2'), streamOf(await tarOf([
      { name: '.wh.a', body: '' },
      { name: 'd', type: 'directory' },
      { name: 'd/.wh..wh..opq', body: '' },
      { name: 'd/z', body: 'z' },
      { name: 'e/.wh.old', body: '' },
      { name: 'e/new', body: 'new' },
    ])), { mode: 'overlay' });
    const merged = resolve(base, 'merged');
    await sys.mountOverlay(merged, { cwd: base, lower: ['l2', 'l1'] });
    try {
      assert.deepEqual((await readdir(merged)).sort(), ['d', 'e', 'keep']);
      assert.deepEqual(await readdir(join(merged, 'd')), ['z']);
      assert.deepEqual(await readdir(join(merged, 'e')), ['new']);
      assert.equal(await readFile(join(merged, 'keep'), 'utf8'), 'keep');
    } finally {
      await sys.unmount(merged);
    }
  });
});

/** One PAX record, "<len> <key>=<value>\n", its length counting its own digits. */
function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}
/** A PAX ('x' or 'g') header with its records, padded to whole blocks. */
function paxHeader(flag: 'x' | 'g', records: Buffer[]): Buffer {
  const data = Buffer.concat(records);
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/f', flag, size: data.length, magic: 'ustar' }), padded(data)]);
}
async function entriesOf(tar: Buffer): Promise<TarEntry[]> {
  const r = new TarReader(streamOf(tar, 777));
  const out: TarEntry[] = [];
  for (let e = await r.next(); e; e = await r.next()) out.push(e);
  return out;
}

test('metadata headers replace each other (Go archive/tar): x, L and K; a global header applies to nothing', async () => {
  const longData = (s: string) => padded(Buffer.from(s + '\0'));
  const tar = Buffer.concat([
    // Two local PAX headers: only the second counts (the first's xattr and uid are gone).
    paxHeader('x', [paxRecord('path', 'first'), paxRecord('SCHILY.xattr.user.a', 'A'), paxRecord('uid', '7')]),
    paxHeader('x', [paxRecord('path', 'second')]),
    rawHeader({ name: 'plain1', flag: '0', magic: 'ustar' }),
    // Two GNU long names and two long links: the second of each.
    rawHeader({ name: '././@LongLink', flag: 'L', size: 7 }), longData('name-1'),
    rawHeader({ name: '././@LongLink', flag: 'L', size: 7 }), longData('name-2'),
    rawHeader({ name: '././@LongLink', flag: 'K', size: 7 }), longData('link-1'),
    rawHeader({ name: '././@LongLink', flag: 'K', size: 7 }), longData('link-2'),
    rawHeader({ name: 'plain2', flag: '2', linkname: 'short' }),
    // A GNU long name wins over a PAX path, as in Go.
    paxHeader('x', [paxRecord('path', 'pax-path')]),
    rawHeader({ name: '././@LongLink', flag: 'L', size: 10 }), longData('gnu-name1'),
    rawHeader({ name: 'plain3', flag: '0', magic: 'ustar' }),
    // A global header is ignored, and so is the local header read before it (Go returns the
    // global one as an entry of its own; Docker skips it).
    paxHeader('x', [paxRecord('path', 'dropped'), paxRecord('mtime', '5')]),
    paxHeader('g', [paxRecord('path', 'global'), paxRecord('uid', '99'), paxRecord('SCHILY.xattr.user.g', 'G')]),
    rawHeader({ name: 'plain4', flag: '0', magic: 'ustar' }),
    rawHeader({ name: 'plain5', flag: '0', magic: 'ustar' }),
    Buffer.alloc(1024),
  ]);
  const got = await entriesOf(tar);
  assert.deepEqual(got.map((e) => e.name), ['second', 'name-2', 'gnu-name1', 'plain4', 'plain5']);
  assert.equal(got[0].xattrs.size, 0);
  assert.equal(got[0].uid, 0);
  assert.equal(got[1].linkname, 'link-2');
  for (const e of got.slice(3)) {
    assert.equal(e.uid, 0);
    assert.equal(e.mtime, Math.floor(T1.getTime() / 1000));
    assert.equal(e.xattrs.size, 0);
  }
});

test('a metadata header over 1 MiB is refused, as Go refuses it (header field too long)', async () => {
  /** One `comment` record of exactly n bytes. */
  const recordOfSize = (n: number) => paxRecord('comment', 'a'.repeat(n - 10 - String(n).length));
  const exact = recordOfSize(MAX_META);
  assert.equal(exact.length, MAX_META);
  const entry = rawHeader({ name: 'f', flag: '0', magic: 'ustar' });
  const ok = await entriesOf(Buffer.concat([paxHeader('x', [exact]), paxHeader('g', [exact]), entry, Buffer.alloc(1024)]));
  assert.deepEqual(ok.map((e) => e.name), ['f']);
  for (const flag of ['x', 'g', 'L', 'K'] as const) {
    const data = flag === 'x' || flag === 'g' ? recordOfSize(MAX_META + 1) : Buffer.from('n'.repeat(MAX_META) + '\0');
    assert.equal(data.length, MAX_META + 1);
    const tar = Buffer.concat([rawHeader({ name: 'big', flag, size: data.length, magic: 'ustar' }), padded(data), entry, Buffer.alloc(1024)]);
    await assert.rejects(entriesOf(tar), (e: unknown) => invalidTar(e) && /header field too long/.test((e as Error).message), flag);
  }
});

test('hundreds of 1 MiB PAX headers before one entry: each replaces the last, nothing piles up', async () => {
  // 64 headers, each with an xattr of its own of almost 1 MiB: merged, the entry would carry
  // 64 MiB of xattrs; replaced, only the last header's one.
  const big = Buffer.alloc(MAX_META - 1024, 'v');
  const headers: Buffer[] = [];
  for (let i = 0; i < 64; i++) headers.push(paxHeader('x', [paxRecord(`SCHILY.xattr.user.k${i}`, big)]));
  const r = new TarReader(Readable.from([...headers, rawHeader({ name: 'f', flag: '0', magic: 'ustar' }), Buffer.alloc(1024)]));
  const e = await r.next();
  assert.equal(e?.name, 'f');
  assert.deepEqual([...e!.xattrs.keys()], ['user.k63']);
  assert.equal(await r.next(), undefined);
});

test('a uid or gid past 32 bits (PAX or base-256) is an invalid tar header, not a RangeError from chown (found by the fuzz test)', async () => {
  const big = rawHeader({ name: 'f', flag: '0' });
  big.fill(0, 108, 116);
  big[108] = 0x80; // base-256 uid = 2^32
  big.writeUIntBE(2 ** 32, 110, 6);
  big.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of big) sum += c;
  big.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  const tars = [
    await tarOf([{ name: 'a', body: 'x', pax: { uid: '4294967296' } }]),
    await tarOf([{ name: 'b', type: 'directory', pax: { gid: '99999999999' } }]),
    Buffer.concat([big, Buffer.alloc(1024)]),
  ];
  for (const tar of tars) {
    await withTmp(async (root) => {
      await assert.rejects(applyLayer(root, streamOf(tar), { mode: 'overlay' }), (e: unknown) => invalidTar(e) && /^invalid tar header: bad [ug]id for /.test((e as Error).message));
    });
  }
  await withTmp(async (root) => {
    await applyLayer(root, streamOf(await tarOf([{ name: 'c', body: 'y', pax: { uid: '4294967294' } }])), { mode: 'overlay' });
    assert.equal((await lstat(join(root, 'c'))).uid, 4294967294);
  });
});

test('a NUL in a PAX key (an xattr name) or in a path or link target is a malformed PAX record, not a TypeError (found by the fuzz test)', async () => {
  const tars = [
    await tarOf([{ name: 'a', body: 'x', pax: { 'SCHILY.xattr.user.\u0000': 'v' } }]),
    await tarOf([{ name: 'l', type: 'symlink', linkname: 'x', pax: { linkpath: 'a\u0000b' } }]),
    await tarOf([{ name: 'p', body: 'x', pax: { path: 'p\u0000q' } }]),
  ];
  for (const tar of tars) {
    await withTmp(async (root) => {
      await assert.rejects(applyLayer(root, streamOf(tar), { mode: 'overlay' }), (e: unknown) => invalidTar(e) && (e as Error).message === 'invalid tar: malformed PAX record');
    });
  }
  // A NUL inside an xattr's value is data (security.capability holds binary).
  await withTmp(async (root) => {
    await applyLayer(root, streamOf(await tarOf([{ name: 'v', body: 'x', pax: { 'SCHILY.xattr.user.bin': 'a\u0000b' } }])), { mode: 'overlay' });
    assert.deepEqual([...(await sys.getxattrs(join(root, 'v')))['user.bin']], [0x61, 0, 0x62]);
  });
});
