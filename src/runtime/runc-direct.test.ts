// runc-direct against the real runc (root). startByExecFifo: a created container starts, the FIFO
// goes as with `runc start` (runc then says `running`), a second start is left to the runtime, and
// an init that died before it was started fails the start instead of hanging it. deleteStopped:
// a running container is left to runc; a stopped one's cgroups and state go, and runc no longer
// knows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startByExecFifo, deleteStopped } from './runc-direct.ts';

const here = dirname(fileURLToPath(import.meta.url));
const rootfsScript = [join(here, '../../scripts/busybox-rootfs'), join(here, '../../../../scripts/busybox-rootfs')].find((p) => existsSync(p));
const runc = spawnSync('runc', ['--version'], { encoding: 'utf8' });
const skip = process.getuid?.() !== 0 ? 'needs root' : runc.error ? 'no runc here' : !rootfsScript ? 'no scripts/busybox-rootfs' : false;

test('startByExecFifo and deleteStopped do what runc start and runc delete do', { skip }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-fifo-'));
  const root = join(tmp, 'state');
  const bundle = join(tmp, 'bundle');
  const ids: string[] = [];
  const rc = (...a: string[]) => spawnSync('runc', ['--root', root, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    for (const id of ids) rc('delete', '--force', id);
    rmSync(tmp, { recursive: true, force: true });
  });
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  const tar = spawnSync('bash', [rootfsScript as string], { maxBuffer: 64 << 20 });
  assert.equal(spawnSync('tar', ['-C', join(bundle, 'rootfs'), '-xf', '-'], { input: tar.stdout }).status, 0);
  assert.equal(spawnSync('runc', ['spec'], { cwd: bundle }).status, 0);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['sleep', '30'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const create = (id: string) => {
    ids.push(id);
    const r = spawnSync('runc', ['--root', root, 'create', '-b', bundle, id], { stdio: 'ignore' });
    assert.equal(r.status, 0, `runc create ${id}`);
    const st = JSON.parse(rc('state', id).stdout) as { status: string; pid: number };
    assert.equal(st.status, 'created');
    return st.pid;
  };

  const pid = create(`fifo-ok-${process.pid}`);
  const fifo = join(root, `fifo-ok-${process.pid}`, 'exec.fifo');
  assert.ok(existsSync(fifo));
  assert.equal(await startByExecFifo(fifo, pid), true);
  assert.ok(!existsSync(fifo), 'the FIFO is removed, as runc start removes it');
  const st = JSON.parse(rc('state', `fifo-ok-${process.pid}`).stdout) as { status: string };
  assert.equal(st.status, 'running');
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0/);
  // Started already: nothing to open, so the caller asks the runtime (which refuses).
  assert.equal(await startByExecFifo(fifo, pid), false);
  assert.match(rc('start', `fifo-ok-${process.pid}`).stderr, /cannot start an already running container|not in created state/);

  // The init killed before its start: the start fails within a few checks, and does not hang.
  // (Killed but not yet gone, an init blocked opening the FIFO can still complete that open and
  // close it unwritten: runc's start then says "cannot start an already running container". Once
  // it is gone, the FIFO never has a writer, and the liveness check is what ends the wait.)
  const dead = create(`fifo-dead-${process.pid}`);
  process.kill(dead, 'SIGKILL');
  const gone = () => { try { return / Z /.test(readFileSync(`/proc/${dead}/stat`, 'utf8').replace(/^.*\)/, '')); } catch { return true; } };
  for (let i = 0; i < 250 && !gone(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(gone(), 'the killed init is gone');
  const t0 = Date.now();
  await assert.rejects(startByExecFifo(join(root, `fifo-dead-${process.pid}`, 'exec.fifo'), dead), /container process is already dead/);
  assert.ok(Date.now() - t0 < 5000);

  // delete: not while the process runs; once it has stopped, cgroups and state go.
  const ok = `fifo-ok-${process.pid}`;
  assert.equal(await deleteStopped(root, ok), false);
  assert.equal(JSON.parse(rc('state', ok).stdout).status, 'running');
  const cgroups = Object.values((JSON.parse(readFileSync(join(root, ok, 'state.json'), 'utf8')) as { cgroup_paths: Record<string, string> }).cgroup_paths);
  assert.ok(cgroups.length > 0 && cgroups.every((p) => existsSync(p)));
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && JSON.parse(rc('state', ok).stdout).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await deleteStopped(root, ok), true);
  assert.ok(!existsSync(join(root, ok)));
  for (const p of cgroups) assert.ok(!existsSync(p), `${p} removed`);
  assert.match(rc('state', ok).stderr, /does not exist/);
  assert.equal(await deleteStopped(root, ok), false); // nothing left: runc says so
  assert.equal(await deleteStopped(root, `fifo-dead-${process.pid}`), true);
  assert.ok(!existsSync(join(root, `fifo-dead-${process.pid}`)));
});
