// What compose's runtime asks of an engine, as Engine API calls over the CLI's client
// (src/client): berthd or dockerd, whichever DOCKER_HOST / -H / BERTH_HOST names. Compose is a
// client: nothing here knows berth's engine, only the API's JSON.
//
//   const api = new ComposeApi(ctx.client);
//   const cs = await api.listContainers({ label: ['com.docker.compose.project=shop'] }, true);
//   const { Id } = await api.createContainer('shop-web-1', body);
//   await api.startContainer(Id);
//
// Label filters are re-applied here on what the engine answers (every `label` must hold), so an
// engine that ORs several label filters, or ignores a key-only one, still gives compose the
// containers it means.
import type { Readable } from 'node:stream';
import { ApiClient, ApiError, compareVersions, readAll, type Hijacked } from '../../client/client.ts';

export { ApiError };

export interface MountSummary {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
  Driver?: string;
}

export interface EndpointSummary {
  NetworkID?: string;
  Aliases?: string[] | null;
  IPAddress?: string;
}

export interface PortSummary { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/** GET /containers/json's item: what compose works from. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image?: string;
  ImageID?: string;
  Command?: string;
  Labels: Record<string, string>;
  State: string;
  Status?: string;
  Created?: number;
  Ports?: PortSummary[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts?: MountSummary[];
  NetworkSettings?: { Networks?: Record<string, EndpointSummary> };
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: { Labels?: Record<string, string> | null; Tty?: boolean; Healthcheck?: unknown; Image?: string };
  State: { Status: string; Running: boolean; Restarting?: boolean; ExitCode: number; StartedAt?: string; Health?: { Status: string } | null };
  Mounts?: MountSummary[];
  NetworkSettings?: { Networks?: Record<string, EndpointSummary> };
}

export interface NetworkSummary {
  Name: string;
  Id: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
  Containers?: Record<string, unknown> | null;
}

export interface VolumeSummary {
  Name: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
}

export interface ImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  Config?: { Volumes?: Record<string, unknown> | null } | null;
  Metadata?: { LastTagTime?: string };
}

export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
}

export interface EngineEventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano?: number;
}

export type Filters = Record<string, string[]>;

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;

/** Every `label` filter (`k` or `k=v`) holds on `labels`. */
export function matchLabels(filters: Filters | undefined, labels: Record<string, string> | null | undefined): boolean {
  for (const f of filters?.label ?? []) {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    if (!labels || !Object.prototype.hasOwnProperty.call(labels, k)) return false;
    if (eq >= 0 && labels[k] !== f.slice(eq + 1)) return false;
  }
  return true;
}

export class ComposeApi {
  readonly client: ApiClient;
  constructor(client: ApiClient) { this.client = client; }

  /** The API version requests are made with (compose compares it with 1.44 for networks at create). */
  version(): Promise<string> { return this.client.version(); }

  async apiAtLeast(v: string): Promise<boolean> {
    return compareVersions(await this.version(), v) >= 0;
  }

  // -- containers -------------------------------------------------------------------------------

  async listContainers(filters: Filters, all: boolean): Promise<ContainerSummary[]> {
    const list = await this.client.containers.list<ContainerSummary>({ all, filters: JSON.stringify(filters) });
    return (list ?? []).filter((c) => matchLabels(filters, c.Labels));
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.client.containers.inspect<ContainerInspect>(id);
  }

  async createContainer(name: string, body: unknown, platform?: string): Promise<{ Id: string; Warnings?: string[] | null }> {
    return this.client.containers.create(body, { name, platform });
  }

  startContainer(id: string): Promise<void> {
    return this.client.containers.start(id);
  }

  async stopContainer(id: string, timeout?: number): Promise<void> {
    try {
      await this.client.containers.stop(id, { t: timeout });
    } catch (e) {
      // 304: already stopped (the client reads it as success; older engines answered 304 with a body).
      if (e instanceof ApiError && e.status === 304) return;
      throw e;
    }
  }

  restartContainer(id: string, timeout?: number): Promise<void> {
    return this.client.containers.restart(id, { t: timeout });
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.client.containers.kill(id, { signal });
  }

  removeContainer(id: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.client.containers.remove(id, { force: o.force, v: o.volumes });
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.client.containers.rename(id, name);
  }

  pauseContainer(id: string): Promise<void> {
    return this.client.containers.pause(id);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.client.containers.unpause(id);
  }

  /** PUT /containers/{id}/archive: a tar extracted at `path`. */
  putArchive(id: string, path: string, tar: Buffer, copyUidGid = false): Promise<void> {
    return this.client.containers.putArchive(id, { path, copyUIDGID: copyUidGid ? 'true' : undefined }, tar);
  }

  /** A hijacked attach (stream only, no past logs): the container's output as it comes. */
  attach(id: string, signal?: AbortSignal): Promise<Hijacked> {
    return this.client.containers.attach(id, { stream: true, stdout: true, stderr: true }, { signal });
  }

  logs(id: string, o: { follow?: boolean; since?: string; signal?: AbortSignal }): Promise<Readable> {
    return this.client.containers.logs(id, { stdout: 1, stderr: 1, follow: o.follow ? 1 : undefined, since: o.since }, { signal: o.signal });
  }

  // -- networks ---------------------------------------------------------------------------------

  inspectNetwork(idOrName: string): Promise<NetworkSummary> {
    return this.client.networks.inspect<NetworkSummary>(idOrName);
  }

  async listNetworks(filters: Filters): Promise<NetworkSummary[]> {
    const list = await this.client.networks.list<NetworkSummary>({ filters: JSON.stringify(filters) });
    return (list ?? []).filter((n) => matchLabels(filters, n.Labels));
  }

  createNetwork(body: Record<string, unknown>): Promise<{ Id: string }> {
    return this.client.networks.create(body);
  }

  removeNetwork(id: string): Promise<void> {
    return this.client.networks.remove(id);
  }

  connectNetwork(network: string, container: string, endpoint: unknown): Promise<void> {
    return this.client.networks.connect(network, { Container: container, EndpointConfig: endpoint });
  }

  disconnectNetwork(network: string, container: string): Promise<void> {
    return this.client.networks.disconnect(network, { Container: container, Force: true });
  }

  // -- volumes ----------------------------------------------------------------------------------

  inspectVolume(name: string): Promise<VolumeSummary> {
    return this.client.volumes.inspect<VolumeSummary>(name);
  }

  async listVolumes(filters: Filters): Promise<VolumeSummary[]> {
    const r = await this.client.volumes.list<VolumeSummary>({ filters: JSON.stringify(filters) });
    return (r?.Volumes ?? []).filter((v) => matchLabels(filters, v.Labels));
  }

  createVolume(body: Record<string, unknown>): Promise<VolumeSummary> {
    return this.client.volumes.create<VolumeSummary>(body);
  }

  removeVolume(name: string, force = false): Promise<void> {
    return this.client.volumes.remove(name, { force });
  }

  // -- images -----------------------------------------------------------------------------------

  inspectImage(ref: string): Promise<ImageInspect> {
    return this.client.images.inspect<ImageInspect>(ref);
  }

  async listImages(filters: Filters): Promise<ImageSummary[]> {
    const list = await this.client.images.list<ImageSummary>({ filters: JSON.stringify(filters) });
    return (list ?? []).filter((i) => matchLabels(filters, i.Labels));
  }

  async removeImage(ref: string): Promise<void> {
    await this.client.images.remove(ref);
  }

  // -- events -----------------------------------------------------------------------------------

  events(filters: Filters, signal?: AbortSignal): Promise<Readable> {
    return this.client.system.events({ filters: JSON.stringify(filters) }, { signal });
  }
}

export { readAll };
