// Volume wire types (spec: definitions.Volume, VolumeCreateOptions): a leaf, as moby's
// api/types/volume; src/volume implements them, the volumes router reads them.

/** A volume as the API shows it (spec: definitions.Volume). */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Scope: 'local';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** `POST /volumes/create`'s body (spec: VolumeCreateOptions). */
export interface CreateVolumeOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
