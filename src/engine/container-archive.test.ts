import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { absContainerPath, baseName, goFileMode, rfc3339Nano } from './container-archive.ts';

test('goFileMode: Go os.FileMode bits from lstat modes', () => {
  assert.equal(goFileMode(0o100644), 0o644);
  assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755);
  assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
  assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666); // char device
  assert.equal(goFileMode(0o060660), 2 ** 26 + 0o660);
  assert.equal(goFileMode(0o010644), 2 ** 25 + 0o644);
  assert.equal(goFileMode(0o140755), 2 ** 24 + 0o755);
  assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755);
  assert.equal(goFileMode(0o042775), 2 ** 31 + 2 ** 22 + 0o775);
  assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777);
});

test('absContainerPath / baseName / rfc3339Nano', () => {
  assert.equal(absContainerPath('etc/x'), '/etc/x');
  assert.equal(absContainerPath('/a/../../b/'), '/b/');
  assert.equal(absContainerPath('/a/.'), '/a/.');
  assert.equal(absContainerPath('.'), '/.');
  assert.equal(absContainerPath('/'), '/');
  assert.equal(baseName('/a/b/'), 'b');
  assert.equal(baseName('/a/.'), '.');
  assert.equal(baseName('/'), '/');
  assert.equal(rfc3339Nano(1_700_000_000n, 120_000_000n), '2023-11-14T22:13:20.12Z');
  assert.equal(rfc3339Nano(1_700_000_000n, 0n), '2023-11-14T22:13:20Z');
});

test('applyLayer plain mode for cp: noOverwriteDirNonDir refuses both swaps; chown overrides the headers', async () => {
  const { extractTar } = await import('../archive/extract.ts');
  const { encodeTarHeader, tarPad } = await import('../archive/tar-header.ts');
  const { lstatSync, readFileSync } = await import('node:fs');
  const { Readable } = await import('node:stream');
  const tar = (ents: { name: string; type: string; body?: string }[]) => {
    const parts: Buffer[] = [];
    for (const e of ents) {
      const b = Buffer.from(e.body ?? '');
      parts.push(encodeTarHeader({ name: e.name, type: e.type, mode: 0o640, uid: 7, gid: 8, mtime: 1, size: b.length }), b, Buffer.alloc(tarPad(b.length)));
    }
    parts.push(Buffer.alloc(1024));
    return Readable.from([Buffer.concat(parts)]);
  };
  const root = mkdtempSync(join(tmpdir(), 'cp-apply-'));
  try {
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'file'), 'f');
    await assert.rejects(extractTar(root, tar([{ name: 'dir', type: '0', body: 'x' }]), { noOverwriteDirNonDir: true }), /cannot overwrite directory "\/dir" with non-directory "\/dir"/);
    await assert.rejects(extractTar(root, tar([{ name: 'file/', type: '5' }]), { noOverwriteDirNonDir: true }), /cannot overwrite non-directory "\/file" with directory "\/file"/);
    assert.ok(lstatSync(join(root, 'dir')).isDirectory());
    assert.equal(readFileSync(join(root, 'file'), 'utf8'), 'f');
    await extractTar(root, tar([{ name: 'file', type: '0', body: 'new' }, { name: 'n/', type: '5' }]), { noOverwriteDirNonDir: true, chown: { uid: 11, gid: 12 } });
    const st = lstatSync(join(root, 'file'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [11, 12, 0o640]);
    assert.equal(lstatSync(join(root, 'n')).uid, 11);
    await extractTar(root, tar([{ name: 'kept', type: '0', body: 'k' }]));
    assert.equal(lstatSync(join(root, 'kept')).uid, 7);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('applyLayer refuseOutside (cp): names climbing above the destination are refused with Docker\'s text; absolute names stay inside', async () => {
  const { extractTar } = await import('../archive/extract.ts');
  const { encodeTarHeader, tarPad } = await import('../archive/tar-header.ts');
  const { existsSync, readFileSync, readdirSync } = await import('node:fs');
  const { Readable } = await import('node:stream');
  const tar = (names: string[]) => {
    const parts: Buffer[] = [];
    for (const name of names) parts.push(encodeTarHeader({ name, type: '0', mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 1 }), Buffer.from('x'), Buffer.alloc(tarPad(1)));
    parts.push(Buffer.alloc(1024));
    return Readable.from([Buffer.concat(parts)]);
  };
  const root = mkdtempSync(join(tmpdir(), 'cp-outside-'));
  try {
    mkdirSync(join(root, 'dst'));
    const dst = join(root, 'dst');
    for (const [name, shown] of [['../x', '../x'], ['a/../../x', '../x'], ['./../../y', '../../y'], ['..', '..']]) {
      await assert.rejects(extractTar(dst, tar([name]), { refuseOutside: '/tmp' }), (e: Error) => e.message === `${JSON.stringify(shown)} is outside of "/tmp"`, name);
    }
    assert.deepEqual(readdirSync(root), ['dst']);
    assert.deepEqual(readdirSync(dst), []);
    await extractTar(dst, tar(['/abs', '/../abs2', 'a/../ok']), { refuseOutside: '/tmp' });
    assert.deepEqual(readdirSync(dst).sort(), ['abs', 'abs2', 'ok']);
    // Without the option (layers, build contexts) names are clamped at the root instead.
    await extractTar(dst, tar(['../../clamped']));
    assert.equal(readFileSync(join(dst, 'clamped'), 'utf8'), 'x');
    assert.equal(existsSync(join(root, 'clamped')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
