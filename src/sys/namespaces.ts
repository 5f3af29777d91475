// Persistent user and network namespaces for `--userns-remap` containers.
//
// Why berth makes the user namespace itself instead of letting runc unshare one: a namespace is
// owned by the user namespace its creator was in, and only that user namespace may administer
// it. berth makes each container's network namespace before runc (veths, addresses, DNS), so a
// namespace made by `ip netns add` belongs to the host's user namespace; a remapped container
// may then neither mount sysfs in it nor be entered by `runc exec` (which joins the container's
// user namespace first and then may not join the host-owned network namespace: EPERM). So the
// container's user namespace is made first, with the ID map written in, and bound to a file;
// its network namespace is made inside it; runc joins both by path (Docker gets the same order
// by letting runc make the network namespace and plumbing it from a prestart hook).
//
// How, without newuidmap (not installed, and it consults /etc/subuid for the caller) and without
// setns in Node: a helper process is started in fresh namespaces (`unshare`, or `nsenter` into
// the user namespace and then `unshare --net`), berthd, as root of the host's namespace, writes
// the ID map into it and bind-mounts its /proc/<pid>/ns files where they must persist, then the
// helper is killed. Worked example:
//   await makeUserNamespace(map, '/run/berth/userns/<id>');             // the user namespace
//   await makeNetNamespaceIn('/run/berth/userns/<id>', '/run/netns/x');   // owned by it
//   // spec: namespaces [{type:'user', path:'/run/berth/userns/<id>'}, {type:'network', path:'/run/netns/x'}]
//   ... container ends ...
//   await releaseNamespaceFile('/run/berth/userns/<id>');
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { lstat, rm, writeFile } from 'node:fs/promises';
import type { IdMap, IdRange } from '../common/idmap.ts';
import { system } from '../common/errors.ts';
import { run, unmount } from './index.ts';

const WAIT_MS = 5000;

const mapText = (ranges: readonly IdRange[]) => ranges.map((r) => `${r.containerID} ${r.hostID} ${r.size}`).join('\n') + '\n';

/** Starts `args`, and waits until its `kind` namespace is no longer ours (it has unshared). */
async function helperIn(args: string[], kind: 'user' | 'net'): Promise<ChildProcess> {
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const ours = readlinkSync(`/proc/self/ns/${kind}`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw system(`${args[0]}: exited before making the namespace: ${err.trim()}`);
    try {
      // After exec of `sleep`: the namespaces are in place (unshare and nsenter act before exec).
      if (child.pid && readlinkSync(`/proc/${child.pid}/ns/${kind}`) !== ours && readlinkSync(`/proc/${child.pid}/exe`).endsWith('/sleep')) return child;
    } catch { /* not there yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw system(`${args[0]}: no new ${kind} namespace after ${WAIT_MS} ms: ${err.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function done(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** An empty file to bind a namespace onto (mount needs an existing target). */
function touch(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

/** A user namespace with `map`'s IDs, kept alive by a bind mount on `file`. */
export async function makeUserNamespace(map: IdMap, file: string): Promise<void> {
  const child = await helperIn(['unshare', '--user', '--', 'sleep', '60'], 'user');
  try {
    // Written by root of the parent namespace (CAP_SETUID/CAP_SETGID there): any ranges may be
    // mapped, and gid_map needs no setgroups=deny.
    await writeFile(`/proc/${child.pid}/uid_map`, mapText(map.uids));
    await writeFile(`/proc/${child.pid}/gid_map`, mapText(map.gids));
    touch(file);
    await run('mount', ['--bind', `/proc/${child.pid}/ns/user`, file]);
  } finally {
    await done(child);
  }
}

/** A network namespace owned by the user namespace bound at `userFile`, bound on `netFile`. */
export async function makeNetNamespaceIn(userFile: string, netFile: string): Promise<void> {
  const child = await helperIn(['nsenter', `--user=${userFile}`, '--', 'unshare', '--net', '--', 'sleep', '60'], 'net');
  try {
    touch(netFile);
    await run('mount', ['--bind', `/proc/${child.pid}/ns/net`, netFile]);
  } finally {
    await done(child);
  }
}

/** Unbinds a namespace file and removes it (idempotent). */
export async function releaseNamespaceFile(file: string): Promise<void> {
  // Called blindly on debris and after failures: a file not bound, or not there, is the usual
  // case; a leftover empty file under the exec root is bound over by the next make. No file, no
  // umount (a fork on every container's exit).
  if (!(await lstat(file).then(() => true, () => false))) return;
  await unmount(file, { lazy: true }).catch(() => {});
  await rm(file, { force: true }).catch(() => {});
}
