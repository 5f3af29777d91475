// Small Engine API answers the client reads (moby's api/types names, trimmed to the fields berth's
// CLI and compose use). A leaf: nothing here imports the engine, the store or the client.

/** POST /containers/create, /containers/{id}/exec, /commit, /networks/create. */
export interface IdResponse {
  Id: string;
  Warning?: string;
  Warnings?: string[] | null;
}

/** GET /containers/{id}/top. */
export interface TopResponse {
  Titles: string[];
  Processes: string[][] | null;
}

/** GET /containers/{id}/changes (Kind: 0 modified, 1 added, 2 deleted). */
export interface FilesystemChange {
  Path: string;
  Kind: number;
}

/** POST /containers/{id}/update. */
export interface UpdateResponse {
  Warnings?: string[] | null;
}

/** GET /exec/{id}/json, the fields a client waits on. */
export interface ExecInspect {
  Running: boolean;
  ExitCode: number | null;
}

/** DELETE /images/{name}, and POST /images/prune's items. */
export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ContainerPruneReport { ContainersDeleted: string[] | null; SpaceReclaimed: number }
export interface ImagePruneReport { ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }
export interface NetworkPruneReport { NetworksDeleted: string[] | null }
export interface VolumePruneReport { VolumesDeleted: string[] | null; SpaceReclaimed: number }
export interface BuildCachePruneReport { CachesDeleted?: string[] | null; SpaceReclaimed?: number }

/** POST /auth. */
export interface AuthResponse {
  Status?: string;
  IdentityToken?: string;
}
