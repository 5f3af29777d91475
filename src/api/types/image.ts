// The image config file (OCI image-spec config + Docker's extra fields), as stored and served by
// image inspect. A leaf of the type tree, like the rest of api/types.
import type { ContainerConfig } from './container.ts';

/** The image config (OCI image-spec config + Docker's extra fields). */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
  [k: string]: unknown;
}
