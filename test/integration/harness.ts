// Integration harness: a private berthd per test file with its own data root, exec root and
// socket (and so its own cgroup parent and runtime root), torn down even when tests fail:
// containers killed, mounts undone, cgroups removed, directories deleted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, existsSync, readdirSync, rmdirSync, readFileSync, openSync, copyFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import http from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

/** The repository root: the nearest directory above this (bundled) file with a package.json. */
export const ROOT = (() => {
  let dir = resolve(new URL('.', import.meta.url).pathname);
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = resolve(dir, '..');
  return dir;
})();
export const BERTHD = join(ROOT, 'dist', 'berthd.js');
export const BERTH = join(ROOT, 'dist', 'berth.cjs');
/** V8 flags bin/berth and bin/berthd start node with (no background compilation: nodejs/node#54918). */
export const NODE_FLAGS = ['--no-concurrent-sparkplug', '--no-concurrent-recompilation'];

export interface Daemon {
  dir: string;
  /** The network namespace (a name under /run/netns) berthd runs in; the host's when undefined. */
  netns?: string;
  dataRoot: string;
  execRoot: string;
  sock: string;
  proc: ChildProcess;
  log: () => string;
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; json: () => any }>;
  berth: (args: string[], o?: RunOptions) => RunOut;
  docker: (args: string[], o?: RunOptions) => RunOut;
  restart: (o?: { kill9?: boolean }) => Promise<void>;
  stop: () => Promise<void>;
}

export interface RunOut { status: number | null; stdout: string; stderr: string }
/** A CLI run's stdin, extra environment, time limit and working directory (compose finds its files from it). */
export interface RunOptions { input?: string | Buffer; env?: Record<string, string>; timeout?: number; cwd?: string }

export const hasDocker = spawnSync('docker', ['--version']).status === 0;

function request(sock: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; json: () => any }> {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    // No keep-alive: a pooled socket the daemon closed while a test blocked in spawnSync would
    // be reused before its close is seen (EPIPE).
    const req = http.request({ socketPath: sock, method, path, agent: false, headers: { ...(data && !Buffer.isBuffer(body) && typeof body !== 'string' ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const b = Buffer.concat(chunks);
        res({ status: r.statusCode ?? 0, headers: r.headers, body: b, json: () => JSON.parse(b.toString()) });
      });
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(data);
  });
}

function run(cmd: string, args: string[], env: Record<string, string>, o: RunOptions = {}): RunOut {
  const r = spawnSync(cmd, args, { input: o.input, cwd: o.cwd, env: { ...process.env, ...env, ...(o.env ?? {}) }, timeout: o.timeout ?? 60_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

let busyboxTar: Buffer | undefined;
export function busyboxRootfsTar(): Buffer {
  busyboxTar ??= spawnSync('bash', [join(ROOT, 'scripts', 'busybox-rootfs')], { maxBuffer: 64 << 20 }).stdout;
  return busyboxTar;
}

async function waitPing(sock: string, proc: ChildProcess, logf: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`berthd exited: ${logf()}`);
    try {
      const r = await request(sock, 'GET', '/_ping');
      if (r.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`berthd did not answer: ${logf()}`);
}

/**
 * The command line that runs `cmd args` in network namespace `ns` (as is, when undefined).
 * nsenter switches only the network namespace: unlike `ip netns exec` it keeps the host's mount
 * namespace and /sys, so berthd's mounts, cgroups and netns files stay where cleanup finds them.
 */
export function inNetns(ns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return ns === undefined ? [cmd, args] : ['nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args]];
}

export async function startDaemon(o: { importBusybox?: boolean; extraArgs?: string[]; dataTmpfsMiB?: number; netns?: string } = {}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-it-'));
  // Under --userns-remap a container's root, an unprivileged host user, must pass through to its
  // rootfs (as through /var/lib): the test's directory may be passed, not listed.
  if ((o.extraArgs ?? []).some((a) => a === '--userns-remap' || a.startsWith('--userns-remap='))) chmodSync(dir, 0o711);
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const sock = join(dir, 'berth.sock');
  const logPath = join(dir, 'berthd.log');
  if (o.dataTmpfsMiB) {
    // A tiny filesystem for the data root: how berth behaves on a full disk.
    mkdirSync(dataRoot);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${o.dataTmpfsMiB}m`, 'tmpfs', dataRoot]);
    if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
  }
  // Every daemon gets a default bridge of its own (its subnet is chosen from Docker's pools,
  // avoiding the routes of bridges that already exist), unless the test names one.
  const extra = o.extraArgs ?? [];
  const bridgeArgs = extra.some((a) => a === '-b' || a === '--bridge' || a.startsWith('--bridge=')) ? [] : ['-b', `bt${randomBytes(4).toString('hex')}`];
  // --expose-gc as bin/berthd runs it: the daemon's idle collection (src/daemon/idle-gc.ts) runs here too.
  const args = ['--expose-gc', ...NODE_FLAGS, BERTHD, '--data-root', dataRoot, '--exec-root', execRoot, '-H', `unix://${sock}`, '--log-level', 'debug', ...bridgeArgs, ...extra];
  const launch = () => {
    const fd = openSync(logPath, 'a');
    const [cmd, argv] = inNetns(o.netns, process.execPath, args);
    return spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  };
  const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const d: Daemon = {
    dir, netns: o.netns, dataRoot, execRoot, sock, proc: launch(), log,
    api: (m, p, b, h) => request(sock, m, p, b, h),
    berth: (a, x) => run(process.execPath, [...NODE_FLAGS, '--', BERTH, ...a], { BERTH_HOST: `unix://${sock}`, DOCKER_HOST: '', BERTH_CONFIG: join(dir, 'berth-config') }, x),
    docker: (a, x) => run('docker', a, { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'docker-config') }, x),
    restart: async (x = {}) => {
      d.proc.kill(x.kill9 ? 'SIGKILL' : 'SIGTERM');
      // Already dead (a test's kill -9): an exit code, or a signal code and no exit code.
      await new Promise((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r(null) : d.proc.once('exit', r)));
      d.proc = launch();
      await waitPing(sock, d.proc, log);
    },
    stop: () => cleanup(d),
  };
  await waitPing(sock, d.proc, log);
  if (o.importBusybox !== false) {
    const r = await request(sock, 'POST', `/images/create?fromSrc=-&repo=busybox&tag=latest&changes=${encodeURIComponent('CMD ["sh"]')}`, busyboxRootfsTar(), { 'Content-Type': 'application/x-tar' });
    if (r.status !== 200 || /error/.test(r.body.toString())) throw new Error(`import failed: ${r.status} ${r.body}`);
  }
  return d;
}

/** Kills everything the daemon started and removes every trace of it from the host. */
export async function cleanup(d: Daemon): Promise<void> {
  // A daemon killed by a signal has no exit code but a signal code, and has already exited.
  if (d.proc.exitCode === null && d.proc.signalCode === null) {
    d.proc.kill('SIGTERM');
    // The timer is cleared after: a pending one would hold the test process open for its 5 s.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => d.proc.once('exit', r)), new Promise((r) => { timer = setTimeout(r, 5000); })]);
    clearTimeout(timer);
    if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
  }
  // Containers (they outlive the daemon by design).
  const rtRoot = join(d.execRoot, 'runtimes');
  if (existsSync(rtRoot)) {
    for (const rt of readdirSync(rtRoot)) {
      const root = join(rtRoot, rt);
      const bin = rt === 'crun' ? 'crun' : 'runc';
      const list = spawnSync(bin, ['--root', root, 'list', '-q']).stdout?.toString().split('\n').filter(Boolean) ?? [];
      for (const id of list) {
        spawnSync(bin, ['--root', root, 'kill', id, 'KILL']);
        spawnSync(bin, ['--root', root, 'delete', '--force', id]);
      }
    }
  }
  // conmon processes of this daemon.
  spawnSync('pkill', ['-9', '-f', `conmon.*${d.execRoot}`]);
  // Networking: the namespaces, bridges (default and user networks) and nft table of this daemon
  // (the bridges and table live in the daemon's network namespace).
  const net = (cmd: string, args: string[]) => spawnSync(...inNetns(d.netns, cmd, args));
  const inst = createHash('sha256').update(d.execRoot).digest('hex').slice(0, 8);
  try { for (const ns of readdirSync('/run/netns')) if (ns.startsWith(`berth-${inst}-`) || ns.startsWith(`berthov-${inst}-`)) spawnSync('ip', ['netns', 'del', ns]); } catch { /* none */ }
  try {
    // A remapped daemon keeps its state in <data-root>/<uid>.<gid>.
    const roots = [d.dataRoot, ...readdirSync(d.dataRoot).filter((n) => /^\d+\.\d+$/.test(n)).map((n) => join(d.dataRoot, n))];
    for (const root of roots) {
      const file = join(root, 'network', 'networks.json');
      if (!existsSync(file)) continue;
      const state = JSON.parse(readFileSync(file, 'utf8')) as { networks?: { bridge: string }[] };
      for (const n of state.networks ?? []) if (n.bridge) net('ip', ['link', 'del', 'dev', n.bridge]);
    }
  } catch { /* no networking state */ }
  net('nft', ['delete', 'table', 'ip', `berth-${inst}`]);
  net('nft', ['delete', 'table', 'ip6', `berth-${inst}`]);
  // Mounts under our directory, deepest first.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(d.dir)).sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  // Cgroups: berth-<sha256(execRoot)[:8]> in every hierarchy.
  const parent = `berth-${createHash('sha256').update(d.execRoot).digest('hex').slice(0, 8)}`;
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', ctrl, parent);
    if (!existsSync(p)) continue;
    for (const child of readdirSync(p, { withFileTypes: true })) if (child.isDirectory()) { try { rmdirSync(join(p, child.name)); } catch { /* busy */ } }
    try { rmdirSync(p); } catch { /* busy or gone */ }
  }
  // BERTH_IT_LOGS=<dir> keeps each daemon's log there, for a failure that will not reproduce.
  const keep = process.env.BERTH_IT_LOGS;
  if (keep) { try { mkdirSync(keep, { recursive: true }); copyFileSync(join(d.dir, 'berthd.log'), join(keep, `${basename(d.dir)}.log`)); } catch { /* no log */ } }
  rmSync(d.dir, { recursive: true, force: true });
}

/** Demultiplexes a stdcopy stream into stdout/stderr text. */
export function demux(buf: Buffer): { stdout: string; stderr: string } {
  let out = '';
  let err = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    const payload = buf.subarray(i + 8, i + 8 + len).toString();
    if (buf[i] === 2) err += payload; else out += payload;
    i += 8 + len;
  }
  return { stdout: out, stderr: err };
}

/** One bounded HTTP GET of `/` (3 s), the body as text. */
export function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 3000 }, (r) => {
      let b = '';
      r.on('data', (c) => { b += c; });
      r.on('end', () => resolve(b));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A TCP port free on 127.0.0.1 right now (the kernel's pick), for a server a test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Polls `fn` every `stepMs` until it holds, failing with `what` after `timeoutMs` (bounded). */
export async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 15_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
