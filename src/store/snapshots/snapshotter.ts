// Snapshotter contract (STYLE.md: containerd's vocabulary). Committed layers are named by their
// chain ID and unpacked once; an active snapshot (a container's rw layer, or a build step's) is
// named by a key. The snapshotter never mounts: it returns mount descriptions, and the caller
// performs them through src/sys, so every mount in berth goes through one module.
//
// Lifecycle, worked through: importing busybox calls `createLayer(chainA, undefined, tar)`;
// creating a container calls `prepare("<ctr id>", chainA)`; starting it calls `mounts(key)` and
// mounts the result at `rootfsPath(key)`; removal unmounts and calls `remove(key)`. A second
// image sharing chainA reuses the unpacked layer (`hasLayer`).
import type { Readable } from 'node:stream';
import { sha256 } from '../content/digest.ts';

export interface LayerInfo { chainId: string; diffId: string; parent?: string; size: number; created: string }

/** A layer unpacked by `unpackLayer`, not yet part of any chain. */
export interface UnpackedLayer {
  /** The tar's digest, unless the unpack was asked not to hash. */
  readonly diffId: string | undefined;
  /** Bytes of regular files. */
  readonly size: number;
  /**
   * Makes it the layer `chainIdOf(parent, diffId)` (the caller has checked `diffId`). When that
   * layer exists already (another load won the race), the existing one is kept and returned.
   */
  commit(parent: string | undefined, diffId: string): Promise<LayerInfo>;
  discard(): Promise<void>;
}

export interface OverlayMount {
  type: 'overlay';
  /** Directory the lower paths are relative to (keeps mount data within one page). */
  cwd: string;
  lower: string[];
  upper?: string;
  work?: string;
}

export interface Snapshotter {
  hasLayer(chainId: string): Promise<boolean>;
  layer(chainId: string): Promise<LayerInfo | undefined>;
  /**
   * Unpacks a layer tar (uncompressed) on top of the chain `parent`; atomic: all of it or nothing.
   * The diff ID is computed while unpacking (and must equal `expectedDiffId` when given: a
   * corrupt or tampered layer is refused); the chain ID follows from it.
   * `verified: true` says the caller has already checked that these very bytes hash to
   * `expectedDiffId` (an uncompressed layer blob, whose digest is its diff ID, checked as it was
   * downloaded): the tar is then not hashed a second time.
   */
  createLayer(parent: string | undefined, tar: Readable, expectedDiffId?: string, o?: { verified?: boolean }): Promise<LayerInfo>;
  /**
   * Unpacks a layer tar (uncompressed) before its place in a chain is known: an overlay layer's
   * directory depends on its own tar alone (whiteouts are 0/0 devices and opaque directories an
   * xattr, written into the layer's own empty dir; nothing below is read), so only its name, the
   * chain ID, needs the parent. The unpacked layer is invisible until `commit(parent, diffId)`
   * gives it its chain ID; `discard()` removes it; a crash leaves a temp dir that start-up sweeps.
   * `digest: false` skips hashing the tar when the caller knows its digest already (an
   * uncompressed layer blob: the diff ID is the blob's digest); `diffId` is then undefined.
   *
   * `load` uses it to unpack a layer while the archive is still arriving, before the image's
   * config (which names the diff IDs) has been read.
   */
  unpackLayer(tar: Readable, o?: { digest?: boolean }): Promise<UnpackedLayer>;
  removeLayer(chainId: string): Promise<void>;
  listLayers(): Promise<LayerInfo[]>;
  /** Makes the rw layer for `key` over the layer chain ending at `parent`. */
  prepare(key: string, parent: string | undefined): Promise<void>;
  mounts(key: string): Promise<OverlayMount>;
  rootfsPath(key: string): string;
  upperPath(key: string): string;
  lowerPaths(key: string): Promise<string[]>;
  /** Unpacked directories of a committed chain, top-most first (an image's GraphDriver data). */
  layerPaths(chainId: string | undefined): Promise<string[]>;
  remove(key: string): Promise<void>;
  /** Keys of the rw layers that exist (for cleaning up after a crash). */
  listActive(): Promise<string[]>;
  usage(key: string): Promise<number>;
  /** Docker's GraphDriver data for inspect. */
  graphDriverData(key: string): Promise<Record<string, string>>;
}

/** OCI image-spec ChainID: the diff ID itself for the base layer, else sha256("<parent> <diffId>"). */
export function chainIdOf(parent: string | undefined, diffId: string): string {
  return parent ? sha256(`${parent} ${diffId}`) : diffId;
}
