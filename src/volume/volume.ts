// Volumes: data that outlives containers. The contract between the engine (which resolves a
// container's mounts and asks for volume paths at start) and the local driver (local.ts).
//
// Lifecycle, worked through for `berth run -v data:/var/lib/db busybox`: container create asks
// `resolveMounts` for the container's mount points; `data` does not exist, so it is created
// (`volumes/data/_data` under the data root). At start, `mountpoint("data")` gives the host
// path (mounting the device first for a volume made with `-o type=...`); because the volume is
// empty and the image has files at /var/lib/db, they are copied in first (copy-up). `rm -v`
// removes the container's anonymous volumes; named ones stay until `volume rm`.

import { posix } from 'node:path';
import { invalid } from '../common/errors.ts';

// The wire types live with the API's (a leaf layer); re-exported for the volume code.
export type { Volume, CreateVolumeOptions } from '../api/types/volume.ts';

/** A container's mount as inspect's `Mounts` shows it, plus what berth needs to set it up. */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** berth's own: skip the copy-up (`nocopy`), tmpfs options, volume subpath. */
  noCopy?: boolean;
  /** A `-v /host:/ctr` bind: a missing host directory is created (not for --mount). */
  createSource?: boolean;
  tmpfsOptions?: string[];
  subpath?: string;
}

/** Docker 23+: anonymous volumes carry this label; `volume prune` removes only them by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/**
 * One -v/--mount of a create request, already checked (engine/container/host-config.ts parses
 * HostConfig.Binds and HostConfig.Mounts once, with Docker's texts). What is left for
 * `resolveMounts` needs live state: a bind source on disk, a volume to create or look up.
 */
export type MountRequest =
  | {
    Type: 'bind'; Source: string; Destination: string; Mode: string; RW: boolean; Propagation: string;
    /** A missing source: `create` it (-v, and --mount with CreateMountpoint), or `fail` (--mount). */
    ifMissing: 'create' | 'fail';
    /** -v: the source is made again at each start when it went away (MountPoint.createSource). */
    createSource?: true;
  }
  | {
    Type: 'volume'; Name?: string; Destination: string; Mode: string; RW: boolean;
    Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null;
    noCopy?: true; subpath?: string;
  }
  | { Type: 'tmpfs'; Destination: string; RW: boolean; tmpfsOptions: string[] };

/** HostConfig.VolumesFrom entries, parsed: the container reference and its `ro`/`rw` mode (or ''). */
export interface VolumesFromRequest { ref: string; mode: '' | 'ro' | 'rw' }

/** The container mounts of a create request, in the order resolveMounts applies them. */
export interface MountRequests { volumesFrom: VolumesFromRequest[]; mounts: MountRequest[] }

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's local-driver volume name rule: no `/`, never `.` or `..`. */
export function isVolumeName(name: string): boolean { return VOLUME_NAME.test(name); }

/** isVolumeName, refused with Docker's text. */
export function checkVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw invalid(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** A mount destination as Docker records it: normalized, no trailing slash (but `/` itself). */
export function cleanMountDest(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}
