// Volumes: data that outlives containers. The contract between the engine (which resolves a
// container's mounts and asks for volume paths at start) and the local driver (local.ts).
//
// Lifecycle, worked through for `berth run -v data:/var/lib/db busybox`: container create asks
// `resolveMounts` for the container's mount points; `data` does not exist, so it is created
// (`volumes/data/_data` under the data root). At start, `mountpoint("data")` gives the host
// path (mounting the device first for a volume made with `-o type=...`); because the volume is
// empty and the image has files at /var/lib/db, they are copied in first (copy-up). `rm -v`
// removes the container's anonymous volumes; named ones stay until `volume rm`.

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
