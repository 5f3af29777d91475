// The build subsystem's contract: what a build is asked to do (BuildOptions), what it reports
// (BuildOutput, BuildReport), and the narrow set of things it needs from the rest of the engine
// (BuildDeps). The engine composes it; the API router reaches it only through the engine.
//
// Lifecycle, worked through for `berth build -t app .` with `FROM busybox / COPY . /src / RUN make`:
// the router hands the request body (the context tar) to `Builder.build`; the context is unpacked
// path-safely into a private directory and filtered by .dockerignore; the Dockerfile is parsed;
// each step computes a cache key from its parent's config digest, the expanded instruction, the
// build args in scope and (COPY/ADD) a hash of the files it reads; a hit reuses the recorded
// result, a miss runs the step (COPY in a mounted overlay of the parent's layers, RUN as a real
// container through the OCI runtime), commits the rw layer's diff as a new layer and records the
// result in the build cache; the last state becomes an image and gets the tags.
import type { Readable } from 'node:stream';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import type { OciRuntime } from '../runtime/runtime.ts';
import type { ImageConfigFile } from '../api/types/image.ts';
import type { ContainerConfig, HostConfig } from '../api/types/container.ts';
import type { ImageRecord, LayerRef } from '../store/metadata/image-record.ts';
import type { ContainerNetworking } from '../network/networking.ts';
import type { AuthConfig } from '../registry/client/auth.ts';
import type { IdMap } from '../common/idmap.ts';
import type { DownloadLimits } from './download.ts';

export interface BuildOptions {
  /** References to tag the result with (`t`, several). */
  tags: string[];
  /** Path of the Dockerfile inside the context (`dockerfile`, default "Dockerfile"). */
  dockerfile: string;
  /** `--build-arg`: a null value means "declared without a value" (docker's `KEY` form with KEY unset). */
  buildArgs: Record<string, string | null>;
  noCache: boolean;
  target?: string;
  labels: Record<string, string>;
  /** `networkmode`: default|bridge|none|host. */
  networkMode?: string;
  pull: boolean;
  /** Remove intermediate containers (always done; the flags only shape the output, see builder.ts). */
  rm: boolean;
  forceRm: boolean;
  platform?: string;
  /** `cachefrom`: local images whose history may serve as cache. */
  cacheFrom: string[];
  extraHosts: string[];
  shmSize?: number;
  /** Limits for RUN containers (`memory`, `memswap`, `cpushares`, `cpuperiod`, `cpuquota`, `cpusetcpus`, `cpusetmems`, `ulimits`). */
  resources?: { Memory?: number; MemorySwap?: number; CpuShares?: number; CpuPeriod?: number; CpuQuota?: number; CpusetCpus?: string; CpusetMems?: string; Ulimits?: { Name: string; Soft: number; Hard: number }[] };
  /** Cancels the build (the client went away). */
  signal: AbortSignal;
  /** X-Registry-Config: credentials by registry for the pulls of FROM images. */
  registryAuth?: Record<string, AuthConfig>;
}

/** Where a build's progress goes (JSON-message stream entries, in the API router). */
export interface BuildOutput {
  stream(text: string): void;
  aux(value: Record<string, unknown>): void;
  /** Other JSON messages as they are (a FROM image's pull progress). */
  message?(m: Record<string, unknown>): void;
}

export interface BuildReport { id: string; tags: string[] }

/** One step's recorded result (a build cache entry). */
export interface CacheRecord {
  key: string;
  /** The cache key of the step before (undefined for the first step after FROM). */
  parent?: string;
  /** The image state after the step. */
  config: ImageConfigFile;
  layers: LayerRef[];
  /** The step as history shows it (`created_by`). */
  createdBy: string;
  /** Bytes this step's own layer added (0 for metadata-only steps). */
  size: number;
  created: string;
  lastUsed: string;
  usageCount: number;
}

/** What the builder needs from the engine (kept small; the engine implements it). */
export interface BuildDeps {
  /** Private scratch space for contexts and step bundles (under the data root). */
  tmpRoot: string;
  cgroupParent: string;
  content: ContentStore;
  snapshotter: Snapshotter;
  runtime(): OciRuntime;
  /** A local image by reference or ID, with its config; undefined when there is none. */
  findImage(ref: string): Promise<{ record: ImageRecord; config: ImageConfigFile } | undefined>;
  /** Pulls a FROM image, with the build's credentials for its registry, reporting progress. */
  pull(ref: string, signal: AbortSignal, o?: { auth?: AuthConfig; emit?: (m: Record<string, unknown>) => void }): Promise<void>;
  createImage(config: ImageConfigFile, layers: LayerRef[]): Promise<ImageRecord>;
  tag(id: string, ref: string): Promise<void>;
  /** Holds garbage collection off while something not yet recorded is in flight. */
  hold(): () => void;
  /** The daemon's default bridge, when it has one (RUN --network=default joins it). */
  networking?: ContainerNetworking;
  /** Bounds of ADD <url> downloads (download.ts); DEFAULT_DOWNLOAD_LIMITS when not given. */
  downloadLimits?: DownloadLimits;
  /**
   * `--userns-remap`: RUN steps run in the remapped user namespace, files the build writes are
   * owned by the host IDs of their container IDs, and layers carry the container IDs again.
   */
  idMap?: IdMap;
  /**
   * Checks a RUN step's Config and HostConfig (the build's resources and ulimits) before its spec
   * is built, with Docker's texts: the engine's create-time checks (engine/container/host-config.ts),
   * which the spec builder takes as done.
   */
  checkRun?(config: ContainerConfig, hostConfig: HostConfig): Promise<void>;
}

export type BuildContextBody = Readable;
