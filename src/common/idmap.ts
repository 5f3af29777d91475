// User-namespace ID maps (`berthd --userns-remap`): a container's uid/gid N is host uid/gid
// `hostID + (N - containerID)` of the range holding it. Built as Docker builds its IdentityMapping
// from /etc/subuid and /etc/subgid: every range of the remap user, sorted by host start, laid
// end to end from container ID 0 (moby/sys/user idtools createIDMap).
//
// Worked example: /etc/subuid has `berthremap:100000:65536`; container root (0) is host 100000,
// container uid 1000 is host 101000; host 100000 seen from the container is 0, and a host ID
// outside every range (host root's own files, say) is seen as the kernel shows it: 65534.
import { invalid } from './errors.ts';

export interface IdRange { containerID: number; hostID: number; size: number }

/** What the kernel shows for an ID the namespace does not map (overflowuid/overflowgid). */
export const OVERFLOW_ID = 65534;

/** One line's worth of /etc/subuid: `name-or-uid:start:count`. */
export interface SubIdRange { start: number; count: number }

/**
 * The ranges `/etc/subuid` (or subgid) text gives a user, by name or by numeric ID, in file
 * order. Malformed lines are skipped, as shadow-utils does.
 */
export function parseSubIds(text: string, name: string, id?: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length !== 3 || !/^\d+$/.test(f[1]) || !/^\d+$/.test(f[2])) continue;
    if (f[0] !== name && !(id !== undefined && f[0] === String(id))) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (count > 0) out.push({ start, count });
  }
  return out;
}

/** Docker's createIDMap: ranges sorted by host start, container IDs contiguous from 0. */
export function rangesToMap(ranges: SubIdRange[]): IdRange[] {
  let next = 0;
  return [...ranges].sort((a, b) => a.start - b.start).map((r) => {
    const m = { containerID: next, hostID: r.start, size: r.count };
    next += r.count;
    return m;
  });
}

function toHost(ranges: readonly IdRange[], id: number, what: string): number {
  for (const r of ranges) {
    if (id >= r.containerID && id < r.containerID + r.size) return r.hostID + (id - r.containerID);
  }
  throw invalid(`Container ID ${id} cannot be mapped to a host ID (${what})`);
}

function toContainer(ranges: readonly IdRange[], id: number): number {
  for (const r of ranges) {
    if (id >= r.hostID && id < r.hostID + r.size) return r.containerID + (id - r.hostID);
  }
  return OVERFLOW_ID;
}

/** A remapping in force: container IDs to host IDs and back. */
export class IdMap {
  readonly uids: readonly IdRange[];
  readonly gids: readonly IdRange[];

  constructor(uids: IdRange[], gids: IdRange[]) {
    if (!uids.length || !gids.length) throw invalid('an ID map needs at least one uid and one gid range');
    this.uids = uids;
    this.gids = gids;
  }

  /** Host IDs of container IDs; an ID outside the ranges is an error (it has no host owner). */
  toHost(uid: number, gid: number): { uid: number; gid: number } {
    return { uid: toHost(this.uids, uid, 'uid'), gid: toHost(this.gids, gid, 'gid') };
  }

  /** Container IDs of host IDs; an unmapped host ID reads as 65534, as inside the namespace. */
  toContainer(uid: number, gid: number): { uid: number; gid: number } {
    return { uid: toContainer(this.uids, uid), gid: toContainer(this.gids, gid) };
  }

  /** The host owner of the container's root: what the remapped store's directories belong to. */
  get root(): { uid: number; gid: number } { return this.toHost(0, 0); }
}
