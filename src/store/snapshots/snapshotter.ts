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
   */
  createLayer(parent: string | undefined, tar: Readable, expectedDiffId?: string): Promise<LayerInfo>;
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
