// `--userns-remap`: which host IDs a container's root and users become. As dockerd does:
//
//   default      the `berthremap` user (dockerd's `dockremap`), made as a system user when missing,
//                with a free 65536-ID range in /etc/subuid and /etc/subgid when it has none
//   USER[:GROUP] an existing user (name or uid) and group (name or gid; default: the user's
//                name), whose ranges in /etc/subuid and /etc/subgid must exist
//
// Every range of the user is used, laid end to end from container ID 0 (common/idmap.ts). The
// remapped daemon keeps its state in `<data-root>/<uid>.<gid>` (daemon/main.ts), dockerd's
// layout, so images unpacked with one mapping are never used with another.
import { readFile, writeFile } from 'node:fs/promises';
import { IdMap, parseSubIds, rangesToMap, type SubIdRange } from '../common/idmap.ts';
import { run } from '../sys/index.ts';

export const DEFAULT_REMAP_USER = 'berthremap';
const RANGE_SIZE = 65536;
const FIRST_SUBID = 100000;

async function readOr(path: string, def: string): Promise<string> {
  try { return await readFile(path, 'utf8'); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return def; throw e; }
}

interface Account { name: string; id: number }

/** A passwd or group entry by name or by number. */
async function lookup(file: '/etc/passwd' | '/etc/group', key: string): Promise<Account | undefined> {
  for (const line of (await readOr(file, '')).split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2])) continue;
    if (f[0] === key || f[2] === key) return { name: f[0], id: Number(f[2]) };
  }
  return undefined;
}

/** The first 65536-ID block at or above 100000 that no line of a subid file uses (dockerd's rule). */
export function nextFreeRange(text: string): number {
  const used: SubIdRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length === 3 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2])) used.push({ start: Number(f[1]), count: Number(f[2]) });
  }
  let start = FIRST_SUBID;
  for (let moved = true; moved; ) {
    moved = false;
    for (const r of used) {
      if (start < r.start + r.count && r.start < start + RANGE_SIZE) {
        start = r.start + r.count;
        moved = true;
      }
    }
  }
  return start;
}

/** Makes the `default` remap user and its subordinate ranges when they are missing. */
async function ensureDefaultUser(): Promise<void> {
  if (!(await lookup('/etc/passwd', DEFAULT_REMAP_USER))) {
    const r = await run('useradd', ['--system', '--no-create-home', '--shell', '/bin/false', DEFAULT_REMAP_USER], { allowFail: true });
    // Another daemon starting at the same moment may have made it: only its absence is an error.
    if (r.code !== 0 && !(await lookup('/etc/passwd', DEFAULT_REMAP_USER))) throw new Error(`Can't create ID mappings: useradd ${DEFAULT_REMAP_USER}: ${r.stderr.trim()}`);
  }
  for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
    const text = await readOr(file, '');
    if (parseSubIds(text, DEFAULT_REMAP_USER).length) continue;
    if (text === '') await writeFile(file, '', { mode: 0o644, flag: 'a' }); // usermod refuses a missing file
    const start = nextFreeRange(text);
    const r = await run('usermod', [flag, `${start}-${start + RANGE_SIZE - 1}`, DEFAULT_REMAP_USER], { allowFail: true });
    if (r.code !== 0 && !parseSubIds(await readOr(file, ''), DEFAULT_REMAP_USER).length) {
      throw new Error(`Can't create ID mappings: usermod ${flag}: ${r.stderr.trim()}`);
    }
  }
}

/** The ID map `--userns-remap <spec>` stands for (see the header), with dockerd's errors. */
export async function remapIdMap(spec: string): Promise<IdMap> {
  const [userArg, groupArg] = spec.split(':');
  if (!userArg) throw new Error(`Can't create ID mappings: invalid userns-remap "${spec}"`);
  if (userArg === 'default') {
    if (groupArg) throw new Error(`Can't create ID mappings: userns-remap "default" takes no group`);
    await ensureDefaultUser();
  }
  const userKey = userArg === 'default' ? DEFAULT_REMAP_USER : userArg;
  const user = await lookup('/etc/passwd', userKey);
  if (!user) throw new Error(`Can't create ID mappings: user "${userKey}" not found: no matching entries in passwd file`);
  const groupKey = groupArg || user.name;
  const group = await lookup('/etc/group', groupKey);
  const uids = parseSubIds(await readOr('/etc/subuid', ''), user.name, user.id);
  const gids = parseSubIds(await readOr('/etc/subgid', ''), group?.name ?? groupKey, group?.id);
  if (!uids.length) throw new Error(`Can't create ID mappings: No subuid ranges found for user "${user.name}"`);
  if (!gids.length) throw new Error(`Can't create ID mappings: No subgid ranges found for group "${group?.name ?? groupKey}"`);
  return new IdMap(rangesToMap(uids), rangesToMap(gids));
}
