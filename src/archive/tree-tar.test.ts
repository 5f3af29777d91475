// The tree writer's four uses on one small fixture, against what the writers they replaced
// (store/snapshots/diff-layer.ts createLayerTar and createTreeTar, common/archive-copy.ts treeTar,
// build/context/context-tar.ts createContextTar, before src/archive/) produced for it: the same
// entries and the same bytes (sha256). Layer tars feed digests, so their bytes must never change;
// the others are pinned so that a change to one use cannot silently change another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lchownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { contextExcludes } from '../build/context/dockerignore.ts';
import { createContextTar } from './context-tar.ts';
import { treeTar } from './copy.ts';
import { TarReader } from './tar-reader.ts';
import { createTreeTar } from './tree-tar.ts';

/** The fixture: every kind the writers treat apart, with fixed modes, owners (as root) and times. */
function makeFixture(dir: string, o: { whiteout: boolean }): void {
  const long = 'l'.repeat(60);
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  mkdirSync(join(dir, 'a', long));
  writeFileSync(join(dir, 'a', 'file'), 'hello\n');
  chmodSync(join(dir, 'a', 'file'), 0o640);
  linkSync(join(dir, 'a', 'file'), join(dir, 'a', 'hard'));
  symlinkSync('../outside', join(dir, 'a', 'sym'));
  linkSync(join(dir, 'a', 'sym'), join(dir, 'a', 'sym2')); // a second name of the symlink itself
  writeFileSync(join(dir, 'a', long, `${long}.txt`), 'deep');
  writeFileSync(join(dir, 'b', 'x.tmp'), 'tmp');
  writeFileSync(join(dir, 'b', 'keep'), 'keep');
  writeFileSync(join(dir, '.dockerignore'), '*.tmp\nb/*.tmp\n');
  if (o.whiteout) spawnSync('mknod', [join(dir, 'a', 'gone'), 'c', '0', '0']);
  // Modes set exactly, whatever the umask.
  const modes: Array<[string, number]> = [
    ['a', 0o755], ['b', 0o750], [`a/${long}`, 0o700], [`a/${long}/${long}.txt`, 0o600], ['b/x.tmp', 0o644],
    ['b/keep', 0o4755], ['.dockerignore', 0o644], ...(o.whiteout ? [['a/gone', 0o600] as [string, number]] : []),
  ];
  for (const [p, m] of modes) {
    chmodSync(join(dir, p), m);
  }
  const paths = [
    'a/file', 'a/sym', `a/${long}/${long}.txt`, 'b/x.tmp', 'b/keep', '.dockerignore', `a/${long}`, 'b', 'a',
    ...(o.whiteout ? ['a/gone'] : []),
  ];
  let t = 1_600_000_000;
  for (const p of paths) {
    if (process.getuid?.() === 0) lchownSync(join(dir, p), 1000 + (t % 7), 2000 + (t % 5));
    lutimesSync(join(dir, p), t, t);
    t += 86_399;
  }
  // The directories' own times last: creating entries in them changed them.
  lutimesSync(join(dir, 'a'), 1_600_000_500, 1_600_000_500);
}

async function collect(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const b of s) c.push(b as Buffer);
  return Buffer.concat(c);
}

/** One line per entry: kind, name, mode, owner, mtime, link target, body. */
async function list(tar: Buffer): Promise<string[]> {
  const r = new TarReader(Readable.from([tar]));
  const out: string[] = [];
  for (let e = await r.next(); e; e = await r.next()) {
    let body = '';
    for await (const c of r.body()) body += c.toString();
    out.push(`${e.kind} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.mtime}${e.linkname ? ` -> ${e.linkname}` : ''}${body ? ` ${JSON.stringify(body)}` : ''}`);
  }
  return out;
}

const EXPECTED: Record<'layer' | 'export' | 'cp' | 'context', { size: number; sha256: string; entries: string[] }> = {
  layer: {
    size: 9728,
    sha256: '38c2ff412835cc86a9128aa8d96c9cde58941a5c244aea4189eb32ce4db1b340',
    entries: [
      'file .dockerignore 644 1001:2000 1600431995 "*.tmp\\nb/*.tmp\\n"',
      'dir a/ 755 1002:2002 1600000500',
      'file a/file 640 1004:2000 1600000000 "hello\\n"',
      'file a/.wh.gone 600 1000:2001 0',
      'link a/hard 640 1004:2000 1600000000 -> a/file',
      'dir a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/ 700 1006:2004 1600518394',
      'file a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.txt 600 1000:2003 1600172798 "deep"',
      'symlink a/sym 777 1002:2004 1600086399 -> ../outside',
      'link a/sym2 777 1002:2004 1600086399 -> a/sym',
      'dir b/ 750 1004:2003 1600604793',
      'file b/keep 755 1003:2001 1600345596 "keep"',
      'file b/x.tmp 644 1005:2002 1600259197 "tmp"',
    ],
  },
  export: {
    size: 9728,
    sha256: '7262141ebffc29d3a11f3c4aa5ae5ea7b161c4d6ee92136eeaa551f651a52b82',
    entries: [
      'file .dockerignore 644 1001:2000 1600431995 "*.tmp\\nb/*.tmp\\n"',
      'dir a/ 755 1002:2002 1600000500',
      'file a/file 640 1004:2000 1600000000 "hello\\n"',
      'char a/gone 600 1000:2001 1600777591',
      'link a/hard 640 1004:2000 1600000000 -> a/file',
      'dir a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/ 700 1006:2004 1600518394',
      'file a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.txt 600 1000:2003 1600172798 "deep"',
      'symlink a/sym 777 1002:2004 1600086399 -> ../outside',
      'link a/sym2 777 1002:2004 1600086399 -> a/sym',
      'dir b/ 750 1004:2003 1600604793',
      'file b/keep 755 1003:2001 1600345596 "keep"',
      'file b/x.tmp 644 1005:2002 1600259197 "tmp"',
    ],
  },
  cp: {
    size: 6144,
    sha256: 'c11f3839ebb7f9a30d87a5abdb7db92662a59c82e44f3b9b3ffac14b09450c0a',
    entries: [
      'dir a/ 755 1002:2002 1600000500',
      'file a/file 640 1004:2000 1600000000 "hello\\n"',
      'char a/gone 600 1000:2001 1600777591',
      'link a/hard 640 1004:2000 1600000000 -> a/file',
      'dir a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/ 700 1006:2004 1600518394',
      'file a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.txt 600 1000:2003 1600172798 "deep"',
      'symlink a/sym 777 1002:2004 1600086399 -> ../outside',
      'link a/sym2 777 1002:2004 1600086399 -> a/sym',
    ],
  },
  context: {
    size: 9728,
    sha256: '2ca6010292483665be57cc05b2e97dc4b7bc8bc62a751171bf2aeb2f7459a0e5',
    entries: [
      'file .dockerignore 644 0:0 1600431995 "*.tmp\\nb/*.tmp\\n"',
      'dir a/ 755 0:0 1600000500',
      'file a/file 640 0:0 1600000000 "hello\\n"',
      'char a/gone 600 0:0 1600777591',
      'link a/hard 640 0:0 1600000000 -> a/file',
      'dir a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/ 700 0:0 1600518394',
      'file a/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.txt 600 0:0 1600172798 "deep"',
      'symlink a/sym 777 0:0 1600086399 -> ../outside',
      'symlink a/sym2 777 0:0 1600086399 -> ../outside',
      'dir b/ 750 0:0 1600604793',
      'file b/keep 755 0:0 1600345596 "new"',
      'file added 600 0:0 1700000000 "x"',
    ],
  },
};

test('the tree writer\'s four uses give what the old writers gave: layer diff, export, cp, build context', { skip: process.getuid?.() !== 0 && 'needs root (mknod, chown)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tree-tar-'));
  try {
    makeFixture(dir, { whiteout: true });
    const got = {
      // store/snapshots/diff-layer.ts createLayerTar: whiteout devices become `.wh.` markers.
      layer: await collect(createTreeTar(dir, { layer: true })),
      // export: the device as it is, no top entry.
      export: await collect(createTreeTar(dir)),
      // cp out of a container: the top entry named after the source.
      cp: await collect(treeTar(join(dir, 'a'), 'a')),
      // build context: ignore patterns, 0:0 owners, a replaced and an appended file; only
      // regular files become hard links (a second name of a symlink is a symlink again).
      context: await collect(createContextTar(dir, {
        exclude: contextExcludes(['*.tmp', 'b/*.tmp'], 'Dockerfile'), owner: { uid: 0, gid: 0 },
        files: { 'b/keep': Buffer.from('new'), 'added': Buffer.from('x') }, now: 1_700_000_000_000,
      })),
    };
    for (const k of ['layer', 'export', 'cp', 'context'] as const) {
      assert.deepEqual(await list(got[k]), EXPECTED[k].entries, k);
      assert.equal(got[k].length, EXPECTED[k].size, k);
      assert.equal(createHash('sha256').update(got[k]).digest('hex'), EXPECTED[k].sha256, k);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
