// What berth records per image (images/<hex>.json) and per layer of it. The image service
// (engine/images.ts) owns these records; the builder reads and makes them through the narrow
// interface it declares (build/build.ts), so the types sit below both.

export interface LayerRef {
  diffId: string; chainId: string; blob: string; mediaType: string;
  /** Blob size (as stored/pushed). */
  size: number;
  /** Unpacked size (what `history` and `images` report, as Docker does). */
  unpackedSize?: number;
}

/** What berth records per image (images/<hex>.json). */
export interface ImageRecord {
  id: string;          // sha256:<config digest>
  manifest: string;    // digest of the manifest blob in the content store
  layers: LayerRef[];
  /** Unpacked size of all layers (Docker's `Size`). */
  size: number;
  parent?: string;
  lastTagTime?: string;
  /** `name@sha256:…` references (full form) this image was pulled by or pushed as (RepoDigests). */
  repoDigests?: string[];
}
