// The two users of sys/dirfd.ts that matter most, the tree tar walk (tree-tar.ts) and the cp
// extractor (extract.ts on a descriptor root, confine.ts FdRoot), each raced by a swap of a
// directory for a symlink in the middle of its work. The swaps here are deterministic (made
// between two steps of the work), so each test shows what a path-based walk would have done:
// read or write outside the tree. (Moved from sys/dirfd.test.ts with the code they test.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openDir } from '../sys/dirfd.ts';
import { treeTarBlocks } from './tree-tar.ts';
import { extractTar } from './extract.ts';
import { TarReader } from './tar-reader.ts';
import { encodeTarHeader, tarPad } from './tar-header.ts';

function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

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
      await extractTar(dir, tar).catch((e: Error) => assert.match(e.message, /layer breakout/));
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
      await assert.rejects(extractTar(dir, Readable.from([Buffer.concat([entry('link/x', '0', 'x'), Buffer.alloc(1024)])])), /layer breakout/);
      // A directory entry over the symlink replaces the link; the mode lands on the new directory.
      await extractTar(dir, Readable.from([Buffer.concat([encodeTarHeader({ name: 'link/', type: '5', mode: 0o777, uid: 0, gid: 0, mtime: 1, size: 0 }), Buffer.alloc(1024)])]));
      assert.ok(lstatSync(join(root, 'link')).isDirectory());
      assert.equal(lstatSync(outside).mode & 0o777, 0o700);
      // The root's own entry (`./`) takes its metadata through the descriptor too.
      await extractTar(dir, Readable.from([Buffer.concat([encodeTarHeader({ name: './', type: '5', mode: 0o751, uid: 0, gid: 0, mtime: 1, size: 0 }), Buffer.alloc(1024)])]));
      assert.equal(lstatSync(root).mode & 0o777, 0o751);
    } finally {
      dir.close();
    }
    assert.deepEqual(readdirSync(outside), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
