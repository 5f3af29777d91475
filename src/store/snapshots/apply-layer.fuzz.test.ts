// Fuzz tests of layer tars (see src/common/fuzz-testing.ts). A generator builds tars header by
// header, valid-ish (ustar, GNU and v7 magic, PAX local and global records, GNU long names and
// links, base-256 numbers, every type flag, sizes that match their data or not, wrong checksums,
// missing or garbage trailers), then mutates bytes and splits the stream at arbitrary points.
//
// The reader: every stream gives entries whose fields are in range, or an InvalidParameter.
// The extractor (root only: owners, devices, trusted.* xattrs): every tar is applied, in each
// mode, into a fresh directory `parent/target`, beside a sentinel directory `parent/outside`
// that links inside the target point at (by relative and absolute symlinks, planted before the
// tar is applied). Whatever the tar holds (`..`, absolute names, names and hard links through
// those symlinks, whiteouts of them), nothing outside the target changes, and the layer is
// applied or refused with an EngineError or a plain system error (errno), never a TypeError or
// RangeError.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isEngineError } from '../../common/errors.ts';
import { chunked, expectErrorAsync, fc, fuzzAsync, mutatedBytes } from '../../common/fuzz-testing.ts';
import { applyLayer } from './apply-layer.ts';
import { TarReader } from '../../archive/tar-reader.ts';

const invalidTar = (e: Error) => isEngineError(e, 'InvalidParameter');
/** What extraction may fail with: berth's errors, or a system call's own (ENAMETOOLONG, ENOTDIR...). */
const extractError = (e: Error) => isEngineError(e) || /^E[A-Z]+$/.test(String((e as NodeJS.ErrnoException).code ?? ''));

// ---------------------------------------------------------------------------------------------
// A tar generator

interface Hdr {
  name: string;
  flag: string;
  mode: number;
  uid: number;
  bigUid: boolean;
  linkname: string;
  data: Uint8Array;
  /** Size field different from the data length (desynchronises the stream). */
  sizeDelta: number;
  magic: 'ustar' | 'gnu' | 'v7';
  badSum: boolean;
  dev: [number, number];
  pax: [string, string | Uint8Array][];
  paxFlag: 'x' | 'g';
  longName: boolean;
  longLink: boolean;
}

const BLOCK = 512;
const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

function block(h: { name: Buffer; mode: number; uid: number; bigUid: boolean; size: number; flag: string; linkname: Buffer; magic: string; badSum: boolean; dev: [number, number] }): Buffer {
  const b = Buffer.alloc(BLOCK);
  const oct = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0').slice(-(len - 1)), off, len - 1, 'latin1');
  h.name.copy(b, 0, 0, Math.min(100, h.name.length));
  oct(100, 8, h.mode);
  if (h.bigUid) { b[108] = 0x80; b.writeUIntBE(Math.min(h.uid, 2 ** 48 - 1), 110, 6); } else oct(108, 8, h.uid);
  oct(116, 8, h.uid & 0xffff);
  oct(124, 12, h.size);
  oct(136, 12, 1_600_000_000);
  b.write(h.flag, 156, 1, 'latin1');
  h.linkname.copy(b, 157, 0, Math.min(100, h.linkname.length));
  if (h.magic === 'ustar') b.write('ustar\u000000', 257, 8, 'latin1');
  else if (h.magic === 'gnu') b.write('ustar  \u0000', 257, 8, 'latin1');
  oct(329, 8, h.dev[0]);
  oct(337, 8, h.dev[1]);
  if (h.magic === 'ustar' && h.name.length > 100) h.name.copy(b, 345, 100, Math.min(255, h.name.length));
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  if (h.badSum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

function paxRecords(recs: [string, string | Uint8Array][]): Buffer {
  return Buffer.concat(recs.map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let n = body.length + 1;
    while (String(n).length + body.length !== n) n = String(n).length + body.length;
    return Buffer.concat([Buffer.from(String(n)), body]);
  }));
}

function encode(h: Hdr): Buffer {
  const parts: Buffer[] = [];
  const meta = (flag: string, data: Buffer) => {
    parts.push(block({ name: Buffer.from('././@LongLink'), mode: 0o644, uid: 0, bigUid: false, size: data.length, flag, linkname: Buffer.alloc(0), magic: 'gnu', badSum: false, dev: [0, 0] }), data, pad(data.length));
  };
  if (h.pax.length) meta(h.paxFlag, paxRecords(h.pax));
  if (h.longName) meta('L', Buffer.from(`${h.name}\0`));
  if (h.longLink) meta('K', Buffer.from(`${h.linkname}\0`));
  const data = Buffer.from(h.data);
  const size = Math.max(0, data.length + h.sizeDelta);
  parts.push(block({ name: Buffer.from(h.name), mode: h.mode, uid: h.uid, bigUid: h.bigUid, size, flag: h.flag, linkname: Buffer.from(h.linkname), magic: h.magic, badSum: h.badSum, dev: h.dev }));
  parts.push(data, pad(data.length));
  return Buffer.concat(parts);
}

/** Names that try every way out of the root: `..`, absolute, through the planted symlinks. */
const namePiece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'dir', 'etc', 'x.txt') },
  { weight: 3, arbitrary: fc.constantFrom('..', '.', '', 'rel', 'abs', 'rel/x', 'abs/x', 'rel/..', '../outside', 'outside') },
  { weight: 1, arbitrary: fc.constantFrom('.wh.a', '.wh.rel', '.wh..wh..opq', '.wh..wh.plnk', '.wh.', '.wh..', 'n'.repeat(120), '\u00e9', 'a\u0000b', 'PaxHeaders') },
);
const name = fc.tuple(fc.constantFrom('', '/', './', '../', '../../'), fc.array(namePiece, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '/'))
  .map(([pre, ps, post]) => pre + ps.join('/') + post);
const linkname = fc.oneof(name, fc.constantFrom('', '/etc/passwd', 'rel/secret', 'abs/secret', '../outside/secret', '/outside/secret', 'x'.repeat(200)));
const paxRecord = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('path', 'linkpath'), name) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('mtime', 'atime', 'uid', 'gid'), fc.constantFrom('0', '1', '1.5', '1600000000.123456789', '1000')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('size', 'uid', 'gid', 'mtime', 'atime'), fc.constantFrom('-1', '1e3', 'x', '', '99999999999', '4294967296', '9007199254740993', '1.7e308', '-0')) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('SCHILY.xattr.user.a', 'SCHILY.xattr.trusted.x', 'SCHILY.xattr.trusted.overlay.opaque', 'LIBARCHIVE.xattr.user.%41', 'comment'), fc.oneof(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('SCHILY.xattr.security.capability', 'SCHILY.xattr.', 'SCHILY.xattr.user.\u0000', 'LIBARCHIVE.xattr.%ZZ', 'GNU.sparse.size', '='), fc.oneof(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }))) },
);
const header: fc.Arbitrary<Hdr> = fc.record({
  name,
  flag: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('0', '5', '2', '1', '\0') }, { weight: 1, arbitrary: fc.constantFrom('3', '4', '6', '7', 'S', 'V', 'D', 'M', 'N', 'x', 'g', 'L', 'K', 'A', ' ') }),
  mode: fc.oneof(fc.constantFrom(0o644, 0o755, 0o4755, 0o1777, 0, 0o7777), fc.nat({ max: 0o7777777 })),
  uid: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 1000, 65534) }, { weight: 3, arbitrary: fc.nat({ max: 0o7777777 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 40) }),
  bigUid: fc.boolean(),
  linkname,
  data: fc.uint8Array({ maxLength: 700 }),
  sizeDelta: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -600, max: 600 }) }),
  magic: fc.constantFrom('ustar', 'gnu', 'v7'),
  badSum: fc.oneof({ weight: 60, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  dev: fc.constantFrom<[number, number]>([0, 0], [1, 3], [1, 5]),
  pax: fc.array(paxRecord, { maxLength: 3 }),
  paxFlag: fc.constantFrom('x', 'x', 'g'),
  longName: fc.boolean(),
  longLink: fc.boolean(),
  headerOnlyData: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
}).map(({ headerOnlyData, ...h }) =>
  // Writers put data after regular files only (Go's reader skips none for other types, so data
  // there is read as the next header); now and then it is there anyway.
  (headerOnlyData || ['0', '\0', '7'].includes(h.flag) ? h : { ...h, data: new Uint8Array(0) }));
const trailer = fc.constantFrom(Buffer.alloc(1024), Buffer.alloc(0), Buffer.alloc(512), Buffer.from('garbage'), Buffer.alloc(10240));
const tar = fc.tuple(fc.array(header, { maxLength: 6 }), trailer).map(([hs, t]) => Buffer.concat([...hs.map(encode), t]));
const tarBytes = fc.oneof({ weight: 6, arbitrary: tar }, { weight: 2, arbitrary: mutatedBytes(tar, 4) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1100 }).map((b) => Buffer.from(b)) });

// ---------------------------------------------------------------------------------------------
// The reader

fuzzAsync('tar reader: any stream gives in-range entries or an InvalidParameter', fc.tuple(tarBytes, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat({ max: 3 }), { maxLength: 8 })), async ([bytes, cuts, reads]) => {
  const r = new TarReader(Readable.from(chunked(bytes, cuts)));
  await expectErrorAsync(async () => {
    for (let i = 0, e = await r.next(); e; i++, e = await r.next()) {
      assert.equal(typeof e.name, 'string');
      assert.ok(['file', 'dir', 'symlink', 'link', 'char', 'block', 'fifo'].includes(e.kind));
      for (const n of [e.size, e.uid, e.gid, e.devmajor, e.devminor]) assert.ok(Number.isSafeInteger(n) && n >= 0, `${n}`);
      assert.ok(e.mode >= 0 && e.mode <= 0o7777);
      assert.ok(Number.isFinite(e.mtime) && Number.isFinite(e.atime));
      if (e.kind !== 'file') assert.equal(e.size, 0);
      // Read none, some or all of the body; the next header must be found either way.
      const want = reads[i % Math.max(1, reads.length)] ?? 3;
      let got = 0;
      let n = 0;
      for await (const c of r.body()) { got += c.length; if (++n >= want && want < 3) break; }
      if (want === 3) assert.ok(got === e.size, `${got} data bytes for size ${e.size}`); // (=== : a PAX size of -0 is 0)
    }
    await r.drain();
  }, invalidTar);
}, { runs: 1500, caseMs: 3000 });

// ---------------------------------------------------------------------------------------------
// The extractor

let parent: string;
before(() => { parent = mkdtempSync(join(tmpdir(), 'berth-apply-fuzz-')); });
after(() => rmSync(parent, { recursive: true, force: true }));

/** Every path under `dir` with what it is: type, size, mode, owner, link target, times. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === skip) continue;
      const st = lstatSync(join(dir, r));
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, r))}` : st.isDirectory() ? 'dir' : `size ${st.size}`;
      out.push(`${r} ${what} mode ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.nlink}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

let n = 0;
// docker cp's options ride on 'plain'.
const options = fc.oneof(
  fc.constantFrom<'overlay' | 'flatten' | 'plain'>('overlay', 'flatten', 'plain').map((mode) => ({ mode })),
  fc.record({
    mode: fc.constant('plain' as const),
    noOverwriteDirNonDir: fc.boolean(),
    refuseOutside: fc.option(fc.constant('/dest'), { nil: undefined }),
    chown: fc.option(fc.record({ uid: fc.constantFrom(0, 1000), gid: fc.constantFrom(0, 1000) }), { nil: undefined }),
  }),
);

fuzzAsync('extractor: any tar, in any mode, changes nothing outside its target and fails only with a clear error', fc.tuple(tarBytes, options, fc.array(fc.nat(), { maxLength: 4 })), async ([bytes, opts, cuts]) => {
  const box = join(parent, String(n++));
  const target = join(box, 'target');
  const outside = join(box, 'outside');
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'sentinel');
  mkdirSync(target);
  // Links from inside the target to the sentinel: extraction must never write through them.
  symlinkSync('../outside', join(target, 'rel'));
  symlinkSync(outside, join(target, 'abs'));
  const before = snapshot(box, 'target');
  try {
    await expectErrorAsync(() => applyLayer(target, Readable.from(chunked(bytes, cuts)), opts), extractError);
    assert.deepEqual(snapshot(box, 'target'), before);
    // The target is still a directory of its own (not replaced by a link out).
    assert.ok(lstatSync(target).isDirectory());
  } finally {
    rmSync(box, { recursive: true, force: true });
  }
}, { runs: 400, caseMs: 10_000 });
