// Shared by the bench scripts: a private berthd (own data root, exec root, socket, bridge and
// nft table) with busybox imported, and a clean-up that removes every trace of it even when the
// benchmark fails: containers, conmon, mounts, namespaces, bridges, the nft table, the directory.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync, openSync, mkdirSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
export const time = (fn) => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e6; };

const ping = (sock) => new Promise((res) => {
  const r = http.get({ socketPath: sock, path: '/_ping' }, (x) => { x.resume(); res(x.statusCode === 200); });
  r.on('error', () => res(false));
});

/**
 * Starts berthd with `args` added (e.g. ['--userland-proxy=false']). Returns { host, berth(args, o),
 * stop() }. Clean-up also runs at process exit.
 */
export async function startBerthd(args = [], o = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const sock = join(tmp, 'b.sock');
  const execRoot = join(tmp, 'exec');
  const dataRoot = join(tmp, 'data');
  const bridge = `bb${randomBytes(4).toString('hex')}`;
  const log = openSync(join(tmp, 'berthd.log'), 'a');
  const launch = () => spawn(join(root, 'bin/berthd'), ['--data-root', dataRoot, '--exec-root', execRoot, '-H', `unix://${sock}`, '-b', bridge, ...args], { stdio: ['ignore', log, log] });
  let proc = launch();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    const inst = createHash('sha256').update(execRoot).digest('hex').slice(0, 8);
    const list = spawnSync('runc', ['--root', join(execRoot, 'runtimes', 'runc'), 'list', '-q']).stdout?.toString().split('\n').filter(Boolean) ?? [];
    for (const id of list) spawnSync('runc', ['--root', join(execRoot, 'runtimes', 'runc'), 'delete', '--force', id]);
    proc.kill('SIGTERM');
    spawnSync('sh', ['-c', `for i in $(seq 1 100); do kill -0 ${proc.pid} 2>/dev/null || exit 0; sleep 0.05; done`]);
    spawnSync('pkill', ['-9', '-f', `conmon.*${execRoot}`]);
    try { for (const ns of readdirSync('/run/netns')) if (ns.startsWith(`berth-${inst}-`)) spawnSync('ip', ['netns', 'del', ns]); } catch { /* none */ }
    try {
      const st = JSON.parse(readFileSync(join(dataRoot, 'network', 'networks.json'), 'utf8'));
      for (const n of st.networks ?? []) spawnSync('ip', ['link', 'del', 'dev', n.bridge]);
    } catch { /* none */ }
    spawnSync('nft', ['delete', 'table', 'ip', `berth-${inst}`]);
    spawnSync('sh', ['-c', `grep -o '${tmp}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    for (const c of (() => { try { return readdirSync('/sys/fs/cgroup'); } catch { return []; } })()) spawnSync('rmdir', [join('/sys/fs/cgroup', c, `berth-${inst}`)]);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', stop);
  for (let i = 0; i < 100 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 50));
  const host = `unix://${sock}`;
  const env = { ...process.env, BERTH_HOST: host, DOCKER_HOST: host };
  const berth = (a, x = {}) => spawnSync(join(root, 'bin/berth'), a, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...x });
  if (o.importBusybox !== false) {
    const tar = spawnSync('bash', [join(root, 'scripts/busybox-rootfs')], { maxBuffer: 64 << 20 }).stdout;
    const imp = spawnSync(join(root, 'bin/berth'), ['-H', host, 'import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: tar, env });
    if (imp.status !== 0) { stop(); throw new Error(`import failed: ${imp.stderr}`); }
  }
  /** Stops berthd with SIGTERM (its containers keep running) and starts it again on the same roots; resolves once it answers /_ping. */
  const restart = async () => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    proc = launch();
    for (let i = 0; i < 400 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 5));
  };
  return { host, sock, tmp, bridge, berth, stop, restart, get pid() { return proc.pid; } };
}

/**
 * A build context of `mb` MB of random data in 4 files and a Dockerfile copying each into its own
 * layer (FROM scratch): the 4-layer image the save/load and registry benches move around.
 */
export function randomImageContext(dir, mb) {
  mkdirSync(dir, { recursive: true });
  const buf = Buffer.alloc(1 << 20);
  for (let i = 1; i <= 4; i++) {
    const fd = openSync(join(dir, `r${i}`), 'w');
    for (let m = 0; m < mb / 4; m++) writeSync(fd, randomFillSync(buf));
    closeSync(fd);
  }
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY r1 /r1\nCOPY r2 /r2\nCOPY r3 /r3\nCOPY r4 /r4\n');
}
