// The one module through which berth makes the system calls Node has no binding for: mount,
// umount, mknod and xattrs. Decision (DESIGN.md "Safety rules"): proven helper binaries from
// Debian (util-linux `mount`/`umount`, coreutils `mknod`, attr's `setfattr`/`getfattr`) spawned
// with argument arrays, never a shell. They are cheap next to runc (a few ms each) and only run
// on mount/unmount and for overlay whiteouts. Namespace entry is left to runc (`runc exec`) and,
// for networking, `ip netns exec`/`nsenter`.
//
// In the daemon, the programs are started by one long-lived helper, berth-spawn (spawner.ts),
// rather than by a fork of the daemon each: useSpawner turns that on. Its children also make the
// calls of every container start and end as system calls: overlay's mount and the umount, the
// network namespace's bind mount and its removal (`ip netns add/del` without the program), and
// the veth pair over rtnetlink (attachVeth's two `ip -batch` runs).
// mount(8), umount(8) and ip(8) cost 3.5-8 ms each here (their dynamic libraries, libmount's
// utab), the calls themselves well under one.
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { system } from '../common/errors.ts';
import { Spawner, type StdioMode, type VethRequest } from './spawner.ts';

export type { StdioMode, VethRequest } from './spawner.ts';

export interface RunResult { code: number; stdout: string; stderr: string }

let spawner: Spawner | undefined;

/**
 * Starts berth-spawn (the binary at `path`) for every run() from here on. If it ever ends, run()
 * forks again, after `warn`.
 */
export function useSpawner(path: string, warn: (msg: string) => void): Spawner {
  const s = new Spawner(path, (why) => {
    if (spawner === s) spawner = undefined;
    warn(`berth-spawn ended (${why}): programs are started by forking berthd from now on`);
  });
  spawner = s;
  return s;
}

/** A started program, through berth-spawn or forked by Node: what the callers of spawnProgram use. */
export interface ProgramChild {
  readonly pid: number | undefined;
  readonly stdio: ReadonlyArray<Readable | Writable | null | undefined>;
  readonly stderr: Readable | null;
  on(event: 'exit', fn: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', fn: (e: Error) => void): this;
  unref(): void;
}

/**
 * Starts a program whose fds are pipes or /dev/null as `stdio` says (index = the child's fd:
 * 'read', the child writes and we read; 'write', the child reads), as Node's spawn would. Errors
 * to start come as an 'error' event, as with Node.
 */
export function spawnProgram(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; stdio: StdioMode[]; detached?: boolean }): ProgramChild {
  if (spawner?.alive) return spawner.spawn(file, args, { ...o, env: o.env ?? process.env });
  return spawn(file, args, {
    cwd: o.cwd, env: o.env ?? process.env, detached: o.detached,
    stdio: o.stdio.map((m) => (m === 'ignore' ? 'ignore' : 'pipe')),
  }) as unknown as ProgramChild;
}

/** Runs a program with an argument array; rejects with its stderr when it exits non-zero. */
export function run(
  file: string,
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {},
): Promise<RunResult> {
  if (spawner?.alive) {
    return spawner.run(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input ?? '' }).then(
      (x) => settle(file, args, opts, { code: x.code ?? -1, stdout: x.stdout.toString(), stderr: x.stderr.toString() }),
      (e: Error) => { throw system(`${file}: ${e.message}`, e); },
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(system(`${file}: ${e.message}`, e)));
    child.on('close', (code) => {
      try {
        resolve(settle(file, args, opts, { code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      } catch (e) { reject(e); }
    });
    // A helper may exit before reading its (empty) stdin: EPIPE there is not an error, and
    // unhandled it would crash the daemon. The exit status still reports real failures.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** A program's result, or its failure (non-zero status without allowFail) as an error. */
function settle(file: string, args: string[], opts: { allowFail?: boolean }, r: RunResult): RunResult {
  if (r.code !== 0 && !opts.allowFail) throw system(`${file} ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
  return r;
}

/**
 * Mounts overlayfs. Layer paths are given relative to `cwd` (the snapshots root) so that a
 * many-layer image still fits the one page of mount data the kernel accepts.
 */
export async function mountOverlay(target: string, o: { cwd: string; lower: string[]; upper?: string; work?: string }): Promise<void> {
  let data = `lowerdir=${o.lower.join(':')}`;
  if (o.upper) data += `,upperdir=${o.upper},workdir=${o.work}`;
  // index=off keeps the layers usable by several mounts at once (overlay2 does the same).
  data += ',index=off';
  if (spawner?.alive) {
    const errno = await spawner.mount('mount', { source: 'overlay', target, fstype: 'overlay', data, cwd: o.cwd });
    if (errno !== 0) throw system(`mount -t overlay overlay -o ${data} ${target}: ${errnoText(errno)}`);
    return;
  }
  await run('mount', ['-t', 'overlay', 'overlay', '-o', data, target], { cwd: o.cwd });
}

/** An errno as Node names it (`EINVAL`), for the messages of the calls berth-spawn makes. */
function errnoText(errno: number): string {
  if (errno < 0) return 'killed';
  try { return getSystemErrorName(-errno); } catch { return `errno ${errno}`; }
}

export async function mountBind(source: string, target: string, opts: { readonly?: boolean; recursive?: boolean } = {}): Promise<void> {
  await run('mount', [opts.recursive === false ? '--bind' : '--rbind', source, target]);
  if (opts.readonly) await run('mount', ['-o', 'remount,bind,ro', target]);
}

/**
 * A bind mount between two already-open objects named `/proc/<pid>/fd/N` (sys/dirfd.ts): with
 * `--no-canonicalize`, mount(8) hands the paths to the kernel as they are, and the kernel follows
 * each magic link to exactly the open file. Canonicalized, they would become path strings again,
 * which a container could swap between our check and the mount.
 */
export async function mountBindAt(source: string, target: string, opts: { recursive?: boolean } = {}): Promise<void> {
  await run('mount', ['--no-canonicalize', opts.recursive === false ? '--bind' : '--rbind', source, target]);
}

/** Makes the bind mount whose root `target` (a `/proc/<pid>/fd/N` path) names read-only. */
export async function remountReadonlyAt(target: string): Promise<void> {
  await run('mount', ['--no-canonicalize', '-o', 'remount,bind,ro', target]);
}

/** A generic mount (volume drivers' `type`/`device`/`o` options). */
export async function mountDevice(type: string, device: string, target: string, options: string): Promise<void> {
  await run('mount', ['-t', type, ...(options ? ['-o', options] : []), device, target]);
}

export async function mountTmpfs(target: string, options: string): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

const MNT_DETACH = 2;
const { EINVAL, ENOENT } = constants.errno;

/** Unmounts; a target that is not mounted is not an error (idempotent cleanup). */
export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  if (spawner?.alive) {
    const errno = await spawner.mount('umount', { target, flags: opts.lazy ? MNT_DETACH : 0 });
    // EINVAL: not a mount point; ENOENT: no such path. Both are "already unmounted".
    if (errno !== 0 && errno !== EINVAL && errno !== ENOENT) throw system(`umount ${target}: ${errnoText(errno)}`);
    return;
  }
  const r = await run('umount', opts.lazy ? ['-l', target] : [target], { allowFail: true });
  if (r.code !== 0 && !/not mounted|no mount point|not found|No such file/i.test(r.stderr)) {
    throw system(`umount ${target}: ${r.stderr.trim()}`);
  }
}

/** Whether network namespaces can be bound in `dir` directly: it is a shared mount, as `ip netns add` leaves it. */
const netnsDirs = new Set<string>();

/**
 * A new network namespace bound on `path` (a file it creates, which must not exist), as `ip
 * netns add` makes one, through berth-spawn. False when that is not the way here (no helper, or
 * `path`'s directory is not yet the shared mount point `ip netns add` makes of it the first
 * time): then the caller runs `ip netns add`.
 */
export async function bindNewNetns(path: string): Promise<boolean> {
  if (!spawner?.alive) return false;
  const dir = dirname(path);
  if (!netnsDirs.has(dir)) {
    const esc = mountInfoPath(dir);
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    // Fields: id parent dev root mountpoint options optional-fields... - type source super-options.
    if (!info.split('\n').some((l) => { const f = l.split(' '); return f[4] === esc && f.slice(6, f.indexOf('-')).some((o) => o.startsWith('shared:')); })) return false;
    netnsDirs.add(dir);
  }
  // Mode 0 and O_EXCL, as ip makes it: a namespace of that name is refused, not reused.
  await (await open(path, 'wx', 0)).close();
  const errno = await spawner.mount('netns', { target: path });
  if (errno !== 0) {
    await rm(path, { force: true });
    throw system(`network namespace ${path}: ${errnoText(errno)}`);
  }
  return true;
}

/**
 * Removes a network namespace's file as `ip netns del` does (a lazy umount, then unlink; errors
 * ignored), through berth-spawn. False when there is no helper: the caller runs `ip netns del`.
 */
export async function unbindNetns(path: string): Promise<boolean> {
  if (!spawner?.alive) return false;
  await spawner.mount('umount', { target: path, flags: MNT_DETACH });
  await rm(path, { force: true }).catch(() => {});
  return true;
}

/**
 * A container's veth pair over rtnetlink, through berth-spawn (its steps: berth-spawn-net.c).
 * Undefined when there is no helper (the caller runs `ip`); else '' when it was made, or what
 * failed ("link add ...: File exists" when the host name is taken). What was made before a
 * failure is the caller's to remove.
 */
export async function makeVeth(o: VethRequest): Promise<string | undefined> {
  if (!spawner?.alive) return undefined;
  const r = await spawner.veth(o);
  return r.errno === 0 ? '' : r.message || errnoText(r.errno);
}

/** Is `path` a mount point right now? (reads /proc/self/mountinfo) */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = mountInfoPath(path);
  return info.split('\n').some((l) => l.split(' ')[4] === esc);
}

/** A path as /proc/self/mountinfo writes it (space, tab, newline and backslash in octal). */
function mountInfoPath(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/** Lists mount points under a prefix (for reconciliation and cleanup). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === prefix || p.startsWith(prefix.endsWith('/') ? prefix : prefix + '/')))
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** An overlay whiteout: a 0/0 character device. */
export async function mknodWhiteout(path: string): Promise<void> {
  await run('mknod', ['-m', '000', path, 'c', '0', '0']);
}

export async function mknod(path: string, type: 'c' | 'b' | 'p', major: number, minor: number, mode: number): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), path, type];
  if (type !== 'p') args.push(String(major), String(minor));
  await run('mknod', args);
}

/** Sets an extended attribute without following a final symlink (-h). */
export async function setxattr(path: string, name: string, value: Buffer | string): Promise<void> {
  const v = Buffer.isBuffer(value) ? '0x' + value.toString('hex') : value;
  await run('setfattr', ['-h', '-n', name, '-v', v, path]);
}

export async function markOpaque(dir: string): Promise<void> {
  await setxattr(dir, 'trusted.overlay.opaque', 'y');
}

/** Reads all xattrs of a path (no symlink following), names to raw values. */
export async function getxattrs(path: string, pattern = '.'): Promise<Record<string, Buffer>> {
  const r = await run('getfattr', ['-h', '-d', '-m', pattern, '-e', 'hex', '--absolute-names', path], { allowFail: true });
  const out: Record<string, Buffer> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([^=#][^=]*)=0x([0-9a-f]*)$/.exec(line.trim());
    if (m) out[m[1]] = Buffer.from(m[2], 'hex');
  }
  return out;
}
