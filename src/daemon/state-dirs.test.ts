import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostGroupId, secureDataRoot, secureExecRoot } from './state-dirs.ts';

const asRoot = process.getuid?.() === 0 ? false : 'needs root (chown)';
const mode = (p: string) => statSync(p).mode & 0o7777;

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-statedirs-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('hostGroupId reads /etc/group entries by name', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'group');
    writeFileSync(f, 'root:x:0:\nberthy:x:998:\nberth:x:999:alice,bob\n');
    assert.equal(await hostGroupId('berth', f), 999);
    assert.equal(await hostGroupId('docker', f), undefined);
    assert.equal(await hostGroupId('berth', join(dir, 'missing')), undefined);
  });
});

test('a new data root: 0710, its directories 0700, volumes 0701', { skip: asRoot }, async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'a', 'data');
    await secureDataRoot(root);
    assert.equal(mode(root), 0o710);
    for (const d of ['content', 'overlay', 'containers', 'images', 'network', 'buildcache']) assert.equal(mode(join(root, d)), 0o700, d);
    assert.equal(mode(join(root, 'volumes')), 0o701);
  });
});

test('an existing data root is taken back: owner, modes, unknown directories; files and deeper dirs kept', { skip: asRoot }, async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'data');
    mkdirSync(join(root, 'overlay', 'l'), { recursive: true, mode: 0o755 });
    mkdirSync(join(root, 'volumes', 'v', '_data'), { recursive: true, mode: 0o755 });
    mkdirSync(join(root, 'something-else'), { mode: 0o777 });
    writeFileSync(join(root, 'engine-id'), 'x', { mode: 0o644 });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'something-else'), 0o777);
    chownSync(root, 65534, 65534);
    await secureDataRoot(root);
    const st = statSync(root);
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o710, 0, 0]);
    assert.equal(mode(join(root, 'overlay')), 0o700);
    assert.equal(mode(join(root, 'something-else')), 0o700);
    assert.equal(mode(join(root, 'volumes')), 0o701);
    assert.equal(mode(join(root, 'overlay', 'l')), 0o755, 'only the data root and its own directories change');
    assert.equal(mode(join(root, 'volumes', 'v', '_data')), 0o755, "a volume's data keeps its mode");
    assert.equal(mode(join(root, 'engine-id')), 0o644);
  });
});

test('the exec root: 0700 root:root, or 0710 with the socket group', { skip: asRoot }, async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'exec');
    mkdirSync(join(root, 'bundles'), { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755);
    await secureExecRoot(root);
    assert.deepEqual([mode(root), statSync(root).gid], [0o700, 0]);
    for (const d of ['bundles', 'runtimes', 's', 'exits', 'execs']) assert.equal(mode(join(root, d)), 0o700, d);
    await secureExecRoot(root, 65534);
    assert.deepEqual([mode(root), statSync(root).uid, statSync(root).gid], [0o710, 0, 65534]);
    await secureExecRoot(root);
    assert.deepEqual([mode(root), statSync(root).gid], [0o700, 0], 'the group gone, the exec root is root\'s again');
  });
});
