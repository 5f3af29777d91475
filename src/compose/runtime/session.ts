// What every runtime operation works with: the engine, where warnings go, how many things may
// run at once, and the image hooks (pull and build, which compose.build.ts / pull.ts provide and
// another module may replace).
//
//   const s: Session = { api: new ComposeApi(ctx.client), warn, info, parallel: -1, hooks: defaultImageHooks(), ... };
import type { Writable } from 'node:stream';
import type { Project, Service } from '../model.ts';
import type { ComposeApi } from './api.ts';
import type { ProgressWriter } from './progress.ts';

export interface PullRequest {
  project: Project;
  service: Service;
  quiet: boolean;
  w: ProgressWriter;
}

export interface BuildRequest {
  project: Project;
  /** The services whose images are to be built now, in the order they may be built. */
  services: Service[];
  w: ProgressWriter;
  quiet?: boolean;
}

/**
 * How images come to exist: `pull` fetches one service's image (resolving to its image ID),
 * `build` builds the given services' images (resolving to image name → ID). compose's create
 * calls them for what is missing (or what --pull / --build / pull_policy ask for).
 */
export interface ImageHooks {
  pull(s: Session, r: PullRequest): Promise<string | undefined>;
  build(s: Session, r: BuildRequest): Promise<Record<string, string>>;
}

export interface Session {
  api: ComposeApi;
  /** compose's logrus warnings (`WARN[0000] ...` on a terminal, logfmt otherwise). */
  warn: (msg: string) => void;
  info: (msg: string) => void;
  /** Container output and command results (compose's stdout). */
  stdout: Writable & { isTTY?: boolean; columns?: number };
  /** Progress and messages (compose's stdinfo: stderr). */
  stderr: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  /** Max concurrent operations (--parallel / COMPOSE_PARALLEL_LIMIT); -1 unlimited. */
  parallel: number;
  hooks: ImageHooks;
  /** Answers a yes/no question (compose's prompt); false without a terminal. */
  confirm: (msg: string, def: boolean) => Promise<boolean>;
  env: NodeJS.ProcessEnv;
}
