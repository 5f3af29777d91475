// The wire form of `GET /images/{name}/json`, gated on the request's API version as moby's
// image router gates it (its CHANGELOG, v1.43 and v1.44):
//   < 1.44: `VirtualSize` (= Size), and `Created` "0001-01-01T00:00:00Z" when the config has none
//           (1.44 and later omit it).
// `Container` and `ContainerConfig` (the image config's `container` and `container_config`: the
// container a commit or a legacy build step ran in; a zero container config when the image has
// none) are served at every version, although moby leaves them out from 1.45 on: docker-compose
// 1.29 negotiates the daemon's newest API version (docker-py's version="auto") rather than the
// 1.41 it was written for, reads `ContainerConfig.Volumes` when it recreates a service, and fails
// with KeyError 'ContainerConfig' without it, leaving the service removed and not recreated
// (docker/compose#11693 and its many duplicates, against Docker 26 and later). Every other client
// ignores the extra fields; this is what Docker 25 (API 1.44) served.
// `Config` (and `ContainerConfig`) have the shape of Docker's container.Config up to API 1.49:
// the fields without Go's omitempty are always there, with their zero values.
import type { Image } from '../../../engine/images.ts';
import type { ContainerConfig } from '../../types/container.ts';
import { wireContainerConfig } from '../../types/container-config.ts';
import { cmpVersion } from '../../version.ts';

export interface InspectExtras {
  repoTags: string[];
  repoDigests: string[];
  graphDriver: Record<string, string>;
}

export function imageInspectBody(img: Image, x: InspectExtras, apiVersion: string): Record<string, unknown> {
  const c = img.config;
  const before = (v: string) => cmpVersion(apiVersion, v) < 0;
  const out: Record<string, unknown> = {
    Id: img.id,
    RepoTags: x.repoTags,
    RepoDigests: x.repoDigests,
    Parent: img.parent ?? '',
    Comment: typeof c.comment === 'string' ? c.comment : '',
  };
  if (c.created) out.Created = c.created;
  else if (before('1.44')) out.Created = '0001-01-01T00:00:00Z';
  out.Container = typeof c.container === 'string' ? c.container : '';
  out.ContainerConfig = wireContainerConfig(c.container_config as ContainerConfig | undefined);
  out.DockerVersion = typeof c.docker_version === 'string' ? c.docker_version : '';
  out.Author = c.author ?? '';
  out.Config = c.config ? wireContainerConfig(c.config) : null;
  out.Architecture = c.architecture;
  if (typeof c.variant === 'string' && c.variant) out.Variant = c.variant;
  out.Os = c.os;
  if (typeof c['os.version'] === 'string' && c['os.version']) out.OsVersion = c['os.version'];
  out.Size = img.size;
  if (before('1.44')) out.VirtualSize = img.size;
  out.GraphDriver = { Name: 'overlay2', Data: x.graphDriver };
  out.RootFS = { Type: 'layers', Layers: c.rootfs.diff_ids };
  out.Metadata = { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' };
  return out;
}
