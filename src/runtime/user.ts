// Resolving Config.User (`name`, `uid`, `name:group`, `uid:gid`, ...) and HostConfig.GroupAdd
// against the image's own /etc/passwd and /etc/group, with the rules of Docker's user lookup
// (moby/sys/user GetExecUser): a name must exist, a number need not; an explicit group replaces
// the primary gid and suppresses supplementary groups; an implicit one takes the passwd gid and
// every group that lists the user as a member.
//
// The files are read from an untrusted rootfs, which may be a running container's (`exec -u`).
// /etc/passwd may be a symlink (some images point it into /usr/lib), so links are followed — but
// as if the rootfs were `/` (a chroot's view, what openat2 RESOLVE_IN_ROOT gives) and by file
// descriptor at every step (sys/dirfd.ts): an absolute target restarts at the rootfs, `..` stops
// there, the file itself is opened O_NOFOLLOW from its open directory and read with a size cap,
// so neither a link nor a swap racing the read can make the daemon read a host file.
import { closeSync, constants as FS, fstatSync, readSync } from 'node:fs';
import { invalid } from '../common/errors.ts';
import { openDir, resolveIn, type Dir } from '../sys/dirfd.ts';

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

/** The OCI `process.user` object. */
export interface OciUser { uid: number; gid: number; umask?: number; additionalGids?: number[] }

const MAX_ID = 2 ** 31 - 1; // Docker's range, for 32-bit compatibility
const MAX_FILE = 16 << 20; // an /etc/passwd larger than this is not an honest one

const rangeError = () => invalid(`uids and gids must be in range 0-${MAX_ID}`);

/** Go's strconv.Atoi leniency as libcontainer uses it: a bad number in a file reads as 0. */
const atoi = (s: string | undefined): number => (s !== undefined && /^[+-]?\d+$/.test(s) ? Number(s) : 0);

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(':');
    out.push({ name: f[0], uid: atoi(f[2]), gid: atoi(f[3]), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(':');
    out.push({ name: f[0], gid: atoi(f[2]), members: f[3] ? f[3].split(',') : [] });
  }
  return out;
}

/** A numeric user/group argument: `[value, true]`; a name: `[0, false]`; out of range: error. */
function parseNumeric(s: string): [number, boolean] {
  if (s === '' || !/^-?\d+$/.test(s)) return [0, false];
  const n = Number(s);
  if (n < 0 || n > MAX_ID) throw rangeError();
  return [n, true];
}

/**
 * Docker's GetExecUser over already-read files (`null` = the file does not exist). Returns the
 * uid, primary gid and supplementary gids (from /etc/group membership, implicit form only).
 */
export function lookupUser(
  spec: string,
  passwd: PasswdEntry[] | null,
  group: GroupEntry[] | null,
): { uid: number; gid: number; sgids: number[]; home: string } {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  // Like libcontainer, only the first two fields count (`a:b:c` is user a, group b).
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1).split(':')[0];
  const [uidArg, isUid] = parseNumeric(userArg);
  const [gidArg, isGid] = parseNumeric(groupArg);
  const res = { uid: 0, gid: 0, sgids: [] as number[], home: '/' };

  const match = (passwd ?? []).find((u) => (userArg === '' ? u.uid === 0 : isUid ? u.uid === uidArg : u.name === userArg));
  let matchedName = '';
  if (match) {
    matchedName = match.name;
    res.uid = match.uid;
    res.gid = match.gid;
    res.home = match.home;
  } else if (userArg !== '') {
    if (!isUid) throw invalid(`unable to find user ${userArg}: no matching entries in passwd file`);
    res.uid = uidArg;
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = group ?? [];
    if (groupArg !== '') {
      const g = groups.find((e) => (isGid ? e.gid === gidArg : e.name === groupArg));
      if (g) res.gid = g.gid;
      else if (isGid) res.gid = gidArg;
      else throw invalid(`unable to find group ${groupArg}: no matching entries in group file`);
    } else {
      // Supplementary gids only in the implicit form: `user:group` means exactly that group.
      res.sgids = groups.filter((e) => e.members.includes(matchedName)).map((e) => e.gid);
    }
  }
  if (res.uid > MAX_ID || res.gid > MAX_ID || res.uid < 0 || res.gid < 0) throw rangeError();
  return res;
}

/** HostConfig.GroupAdd: names must exist in /etc/group, numbers need not (Docker's rule). */
export function lookupAdditionalGroups(names: readonly string[], group: GroupEntry[] | null): number[] {
  const out: number[] = [];
  for (const ag of names) {
    const [gid, numeric] = parseNumeric(ag);
    const g = (group ?? []).find((e) => (numeric ? e.gid === gid : e.name === ag));
    if (g) {
      if (g.gid < 0 || g.gid > MAX_ID) throw rangeError();
      out.push(g.gid);
    } else if (numeric) out.push(gid);
    else throw invalid(`unable to find group ${ag}: no matching entries in group file`);
  }
  return out;
}

/**
 * Reads a file of a root by descriptor (see the header): `null` if it is absent or not a regular
 * file; an error if it is larger than any honest passwd or group file.
 */
export function readFileIn(root: Dir, path: string): string | null {
  const at = resolveIn(root, path, { followLast: true });
  if (!at) return null;
  let fd: number;
  try {
    if (!at.name) return null; // the root itself: a directory
    // O_NONBLOCK: a fifo put there must not hang the daemon (it is refused just below).
    fd = at.dir.openFile(at.name, FS.O_RDONLY | FS.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
    throw e;
  } finally {
    at.dir.close();
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const tooLarge = () => invalid(`${path} in the container's root filesystem is too large (over ${MAX_FILE} bytes)`);
    if (st.size > MAX_FILE) throw tooLarge();
    // Read to the end, not to the size fstat gave: the file may grow meanwhile; the cap holds.
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.max(4096, Math.min(st.size + 1, MAX_FILE + 1 - got)));
      const n = readSync(fd, buf, 0, buf.length, got);
      if (n === 0) break;
      got += n;
      if (got > MAX_FILE) throw tooLarge();
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads a file of the rootfs at `root` (a host path): `readFileIn` on that directory. */
export async function readRootfsFile(root: string, path: string): Promise<string | null> {
  let dir: Dir;
  try {
    dir = openDir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return readFileIn(dir, path);
  } finally {
    dir.close();
  }
}

/**
 * The OCI user for Config.User and HostConfig.GroupAdd. Like Docker, additionalGids starts with
 * the primary gid, then the /etc/group memberships, then GroupAdd (duplicates dropped).
 */
export async function resolveUser(rootfs: string, user: string | undefined, groupAdd?: readonly string[] | null): Promise<OciUser> {
  const passwdText = await readRootfsFile(rootfs, '/etc/passwd');
  const groupText = await readRootfsFile(rootfs, '/etc/group');
  const passwd = passwdText === null ? null : parsePasswd(passwdText);
  const group = groupText === null ? null : parseGroup(groupText);
  const u = lookupUser(user ?? '', passwd, group);
  const extra = groupAdd?.length ? lookupAdditionalGroups(groupAdd, group) : [];
  return { uid: u.uid, gid: u.gid, additionalGids: [...new Set([u.gid, ...u.sgids, ...extra])] };
}
