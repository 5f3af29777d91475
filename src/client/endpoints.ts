// Typed Engine API endpoints over ApiClient's low-level request/json/call/hijack: one method per
// endpoint the CLI and compose use, grouped as moby's client is (containers, exec, images,
// networks, volumes, system, build).
//
//   await client.containers.start(id);
//   const list = await client.containers.list<Summary>({ all: true, filters });
//   const res = await client.images.create({ fromImage: 'alpine', tag: 'latest' }, { headers });
//
// Path parameters are encoded here and only here (`path` below); query strings are built by
// client.ts's queryString (undefined/false left out, true → 1, lists repeated). A method whose
// answer is a stream returns the Response (read it, or `.resume()` it); a JSON answer is typed
// with src/api/types/ or with the caller's own narrower view (the type parameter).
import type { Readable } from 'node:stream';
import type { ApiClient, Hijacked, QueryValue, Response } from './client.ts';
import type {
  AuthResponse, BuildCachePruneReport, ContainerPruneReport, ExecInspect, FilesystemChange, IdResponse,
  ImageDeleteItem, ImagePruneReport, NetworkPruneReport, TopResponse, UpdateResponse, VolumePruneReport,
} from '../api/types/responses.ts';
import type {
  Node, NodeSpec, SecretObject, SecretSpec, Service, ServiceCreateResponse, ServiceSpec, Swarm, SwarmInitRequest, SwarmJoinRequest, SwarmSpec, Task,
} from '../api/types/swarm.ts';

export type Query = Record<string, QueryValue>;

/** What a caller may add to a request: headers (X-Registry-Auth), an abort signal. */
export interface CallOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * `path\`/containers/${id}/start\`` encodes every interpolated value as one path segment
 * (an image name's `/` and `:` become %2F and %3A: the daemon decodes each parameter).
 */
export function path(strings: TemplateStringsArray, ...params: string[]): string {
  let s = strings[0];
  for (let i = 0; i < params.length; i++) s += encodeURIComponent(params[i]) + strings[i + 1];
  return s;
}

/** POST /commit's parameters. */
export type CommitQuery = { container: string; repo?: string; tag?: string; comment?: string; author?: string; pause?: '0' | '1'; changes?: string[] };

/** A terminal size for /containers/{id}/resize and /exec/{id}/resize. */
export interface Size { h: number; w: number }

export class ContainersApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  /** GET /containers/json (`filters` is the JSON-encoded filter map). */
  list<T>(q: { all?: boolean; limit?: number; size?: boolean; filters?: string } = {}): Promise<T[]> {
    return this.#c.json<T[]>('GET', '/containers/json', { query: q });
  }
  create(body: unknown, q: { name?: string; platform?: string } = {}): Promise<IdResponse> {
    return this.#c.json<IdResponse>('POST', '/containers/create', { query: q, body });
  }
  inspect<T>(id: string, q: { size?: boolean } = {}): Promise<T> {
    return this.#c.json<T>('GET', path`/containers/${id}/json`, { query: q });
  }
  start(id: string): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/start`);
  }
  stop(id: string, q: { t?: number; signal?: string } = {}): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/stop`, { query: q });
  }
  restart(id: string, q: { t?: number; signal?: string } = {}): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/restart`, { query: q });
  }
  kill(id: string, q: { signal?: string } = {}): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/kill`, { query: q });
  }
  /** DELETE /containers/{id} (v: remove anonymous volumes). */
  remove(id: string, q: { force?: boolean; v?: boolean; link?: boolean } = {}): Promise<void> {
    return this.#c.call('DELETE', path`/containers/${id}`, { query: q });
  }
  rename(id: string, name: string): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/rename`, { query: { name } });
  }
  pause(id: string): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/pause`);
  }
  unpause(id: string): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/unpause`);
  }
  /** POST /containers/{id}/wait: the response carries `{"StatusCode": n}` once the condition holds. */
  wait(id: string, q: { condition?: 'not-running' | 'next-exit' | 'removed' } = {}): Promise<Response> {
    return this.#c.request('POST', path`/containers/${id}/wait`, { query: q });
  }
  attach(id: string, q: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string }, o: CallOptions = {}): Promise<Hijacked> {
    return this.#c.hijack('POST', path`/containers/${id}/attach`, { query: q, ...o });
  }
  resize(id: string, size: Size): Promise<void> {
    return this.#c.call('POST', path`/containers/${id}/resize`, { query: { h: size.h, w: size.w } });
  }
  logs(id: string, q: Query, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('GET', path`/containers/${id}/logs`, { query: q, ...o });
  }
  top(id: string, q: { ps_args?: string } = {}): Promise<TopResponse> {
    return this.#c.json<TopResponse>('GET', path`/containers/${id}/top`, { query: q });
  }
  export(id: string): Promise<Response> {
    return this.#c.request('GET', path`/containers/${id}/export`);
  }
  changes(id: string): Promise<FilesystemChange[] | null> {
    return this.#c.json<FilesystemChange[] | null>('GET', path`/containers/${id}/changes`);
  }
  /** GET /containers/{id}/stats?stream=false: one sample. */
  statsOnce<T>(id: string): Promise<T> {
    return this.#c.json<T>('GET', path`/containers/${id}/stats`, { query: { stream: 'false' } });
  }
  update(id: string, body: unknown): Promise<UpdateResponse> {
    return this.#c.json<UpdateResponse>('POST', path`/containers/${id}/update`, { body });
  }
  prune(q: { filters?: string } = {}): Promise<ContainerPruneReport> {
    return this.#c.json<ContainerPruneReport>('POST', '/containers/prune', { query: q });
  }
  /** HEAD /containers/{id}/archive: the path's stat in the X-Docker-Container-Path-Stat header. */
  statPath(id: string, p: string): Promise<Response> {
    return this.#c.request('HEAD', path`/containers/${id}/archive`, { query: { path: p } });
  }
  /** GET /containers/{id}/archive: a tar of the path. */
  getArchive(id: string, p: string): Promise<Response> {
    return this.#c.request('GET', path`/containers/${id}/archive`, { query: { path: p } });
  }
  /** PUT /containers/{id}/archive: extracts the tar `tar` under `q.path`. */
  putArchive(id: string, q: { path: string; noOverwriteDirNonDir?: 'true'; copyUIDGID?: 'true' }, tar: Readable | Buffer): Promise<void> {
    return this.#c.call('PUT', path`/containers/${id}/archive`, { query: q, raw: tar, contentType: 'application/x-tar' });
  }
  /** POST /commit (the container is a query parameter). */
  commit(q: CommitQuery): Promise<IdResponse> {
    return this.#c.json<IdResponse>('POST', '/commit', { query: q });
  }
}

export class ExecApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  /** POST /containers/{id}/exec. */
  create(container: string, body: unknown): Promise<IdResponse> {
    return this.#c.json<IdResponse>('POST', path`/containers/${container}/exec`, { body });
  }
  /** POST /exec/{id}/start, answered with the exec's output stream (or nothing when detached). */
  start(id: string, body: { Detach: boolean; Tty: boolean; ConsoleSize?: number[] }): Promise<Response> {
    return this.#c.request('POST', path`/exec/${id}/start`, { body });
  }
  /** POST /exec/{id}/start on an upgraded connection (stdin one way, the output the other). */
  startHijacked(id: string, body: { Detach: false; Tty: boolean; ConsoleSize?: number[] }): Promise<Hijacked> {
    return this.#c.hijack('POST', path`/exec/${id}/start`, { body });
  }
  inspect<T = ExecInspect>(id: string): Promise<T> {
    return this.#c.json<T>('GET', path`/exec/${id}/json`);
  }
  resize(id: string, size: Size): Promise<void> {
    return this.#c.call('POST', path`/exec/${id}/resize`, { query: { h: size.h, w: size.w } });
  }
}

export class ImagesApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  list<T>(q: { all?: boolean; filters?: string; 'shared-size'?: boolean; digests?: boolean } = {}): Promise<T[]> {
    return this.#c.json<T[]>('GET', '/images/json', { query: q });
  }
  /** POST /images/create: a pull (fromImage) or an import (fromSrc, `raw` the tar); a JSON-message stream. */
  create(q: Query, o: CallOptions & { raw?: Readable } = {}): Promise<Response> {
    return this.#c.request('POST', '/images/create', {
      query: q, headers: o.headers, signal: o.signal,
      ...(o.raw ? { raw: o.raw, contentType: 'application/x-tar' } : {}),
    });
  }
  inspect<T>(name: string): Promise<T> {
    return this.#c.json<T>('GET', path`/images/${name}/json`);
  }
  history<T>(name: string): Promise<T[]> {
    return this.#c.json<T[]>('GET', path`/images/${name}/history`);
  }
  tag(name: string, q: { repo: string; tag?: string }): Promise<void> {
    return this.#c.call('POST', path`/images/${name}/tag`, { query: q });
  }
  remove(name: string, q: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[] | undefined> {
    return this.#c.json<ImageDeleteItem[] | undefined>('DELETE', path`/images/${name}`, { query: q });
  }
  prune(q: { filters?: string } = {}): Promise<ImagePruneReport> {
    return this.#c.json<ImagePruneReport>('POST', '/images/prune', { query: q });
  }
  /** POST /images/{name}/push: a JSON-message stream. */
  push(name: string, q: { tag?: string; platform?: string }, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('POST', path`/images/${name}/push`, { query: q, ...o });
  }
  /** GET /distribution/{name}/json: the registry's descriptor (digest) and platforms. */
  distribution<T>(name: string, o: CallOptions = {}): Promise<T> {
    return this.#c.json<T>('GET', path`/distribution/${name}/json`, { ...o });
  }
  /** GET /images/get: a tar of the named images. */
  save(q: { names: string[]; platform?: string }, sink?: (piece: Buffer) => void): Promise<Response> {
    return this.#c.request('GET', '/images/get', { query: q, sink });
  }
  /** POST /images/load with the tar `tar`. */
  load(q: { quiet: '0' | '1'; platform?: string }, tar: Readable): Promise<Response> {
    return this.#c.request('POST', '/images/load', { query: q, raw: tar, contentType: 'application/x-tar' });
  }
}

export class NetworksApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  list<T>(q: { filters?: string } = {}): Promise<T[]> {
    return this.#c.json<T[]>('GET', '/networks', { query: q });
  }
  inspect<T>(id: string, q: { verbose?: boolean; scope?: string } = {}): Promise<T> {
    return this.#c.json<T>('GET', path`/networks/${id}`, { query: q });
  }
  create(body: unknown): Promise<IdResponse> {
    return this.#c.json<IdResponse>('POST', '/networks/create', { body });
  }
  remove(id: string): Promise<void> {
    return this.#c.call('DELETE', path`/networks/${id}`);
  }
  connect(id: string, body: { Container: string; EndpointConfig?: unknown }): Promise<void> {
    return this.#c.call('POST', path`/networks/${id}/connect`, { body });
  }
  disconnect(id: string, body: { Container: string; Force?: boolean }): Promise<void> {
    return this.#c.call('POST', path`/networks/${id}/disconnect`, { body });
  }
  prune(q: { filters?: string } = {}): Promise<NetworkPruneReport> {
    return this.#c.json<NetworkPruneReport>('POST', '/networks/prune', { query: q });
  }
}

export class VolumesApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  list<T>(q: { filters?: string } = {}): Promise<{ Volumes?: T[] | null; Warnings?: string[] | null }> {
    return this.#c.json('GET', '/volumes', { query: q });
  }
  inspect<T>(name: string): Promise<T> {
    return this.#c.json<T>('GET', path`/volumes/${name}`);
  }
  create<T>(body: unknown): Promise<T> {
    return this.#c.json<T>('POST', '/volumes/create', { body });
  }
  remove(name: string, q: { force?: boolean } = {}): Promise<void> {
    return this.#c.call('DELETE', path`/volumes/${name}`, { query: q });
  }
  prune(q: Query = {}): Promise<VolumePruneReport> {
    return this.#c.json<VolumePruneReport>('POST', '/volumes/prune', { query: q });
  }
}

export class SystemApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  info<T>(): Promise<T> { return this.#c.json<T>('GET', '/info'); }
  version<T>(): Promise<T> { return this.#c.json<T>('GET', '/version'); }
  df<T>(): Promise<T> { return this.#c.json<T>('GET', '/system/df'); }
  /** GET /events: a stream of JSON event messages (ends at `until`, or when aborted). */
  events(q: { since?: string; until?: string; filters?: string }, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('GET', '/events', { query: q, ...o });
  }
  /** POST /auth: checks credentials against a registry. */
  auth(body: unknown): Promise<AuthResponse> {
    return this.#c.json<AuthResponse>('POST', '/auth', { body });
  }
}

export class BuildApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  /** POST /build with the context tar: a JSON-message stream. */
  build(q: Query, context: Readable, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('POST', '/build', { query: q, raw: context, contentType: 'application/x-tar', ...o });
  }
  prune(q: { all?: boolean; 'keep-storage'?: number; filters?: string } = {}): Promise<BuildCachePruneReport> {
    return this.#c.json<BuildCachePruneReport>('POST', '/build/prune', { query: q });
  }
}

/** POST /swarm/update's query (docker always sends all three rotate flags). */
export interface SwarmUpdateQuery {
  version: number;
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateManagerUnlockKey?: boolean;
}

export class SwarmApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  /** GET /swarm (managers only: carries the join tokens). */
  inspect(): Promise<Swarm> { return this.#c.json<Swarm>('GET', '/swarm'); }
  /** POST /swarm/init: answers the new node's ID (a JSON string). */
  init(body: SwarmInitRequest & Record<string, unknown>): Promise<string> {
    return this.#c.json<string>('POST', '/swarm/init', { body });
  }
  join(body: SwarmJoinRequest & Record<string, unknown>): Promise<void> {
    return this.#c.call('POST', '/swarm/join', { body });
  }
  leave(q: { force?: boolean } = {}): Promise<void> {
    return this.#c.call('POST', '/swarm/leave', { query: q });
  }
  /** POST /swarm/update?version=N with the whole SwarmSpec. */
  update(q: SwarmUpdateQuery, body: SwarmSpec): Promise<void> {
    // Booleans as docker writes them (`rotateWorkerToken=false`), not queryString's 1/omitted.
    const query: Query = {
      rotateManagerToken: String(Boolean(q.rotateManagerToken)),
      rotateManagerUnlockKey: String(Boolean(q.rotateManagerUnlockKey)),
      rotateWorkerToken: String(Boolean(q.rotateWorkerToken)),
      version: q.version,
    };
    return this.#c.call('POST', '/swarm/update', { query, body });
  }
  unlockKey(): Promise<{ UnlockKey: string }> {
    return this.#c.json<{ UnlockKey: string }>('GET', '/swarm/unlockkey');
  }
  unlock(body: { UnlockKey: string }): Promise<void> {
    return this.#c.call('POST', '/swarm/unlock', { body });
  }
}

export class NodesApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  list(q: { filters?: string } = {}): Promise<Node[]> {
    return this.#c.json<Node[]>('GET', '/nodes', { query: q });
  }
  inspect(id: string): Promise<Node> {
    return this.#c.json<Node>('GET', path`/nodes/${id}`);
  }
  /** POST /nodes/{id}/update?version=N with the whole NodeSpec. */
  update(id: string, version: number, spec: NodeSpec): Promise<void> {
    return this.#c.call('POST', path`/nodes/${id}/update`, { query: { version }, body: spec });
  }
  remove(id: string, q: { force?: boolean } = {}): Promise<void> {
    return this.#c.call('DELETE', path`/nodes/${id}`, { query: q });
  }
}

/** POST /services/{id}/update's query. */
export interface ServiceUpdateQuery {
  version: number;
  registryAuthFrom?: 'spec' | 'previous-spec';
  rollback?: 'previous';
}

export class ServicesApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  /** GET /services (`status` adds ServiceStatus: running/desired task counts). */
  list(q: { filters?: string; status?: boolean } = {}): Promise<Service[]> {
    return this.#c.json<Service[]>('GET', '/services', { query: q.status ? { ...q, status: 'true' } : q });
  }
  inspect(id: string, q: { insertDefaults?: boolean } = {}): Promise<Service> {
    return this.#c.json<Service>('GET', path`/services/${id}`, { query: q.insertDefaults ? { insertDefaults: 'true' } : {} });
  }
  create(spec: ServiceSpec, o: CallOptions = {}): Promise<ServiceCreateResponse> {
    return this.#c.json<ServiceCreateResponse>('POST', '/services/create', { body: spec, ...o });
  }
  /** POST /services/{id}/update?version=N with the whole ServiceSpec. */
  update(id: string, q: ServiceUpdateQuery, spec: ServiceSpec, o: CallOptions = {}): Promise<{ Warnings?: string[] | null }> {
    return this.#c.json<{ Warnings?: string[] | null }>('POST', path`/services/${id}/update`, { query: { ...q }, body: spec, ...o });
  }
  remove(id: string): Promise<void> {
    return this.#c.call('DELETE', path`/services/${id}`);
  }
  /** GET /services/{id}/logs: multiplexed (or raw, for a TTY service) log stream. */
  logs(id: string, q: Query, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('GET', path`/services/${id}/logs`, { query: q, ...o });
  }
}

/** /secrets and /configs: swarm objects with a Spec.Name (secret|config verbs, stack deploy and rm). */
export class SwarmObjectsApi {
  readonly #c: ApiClient;
  readonly #base: '/secrets' | '/configs';
  constructor(c: ApiClient, base: '/secrets' | '/configs') { this.#c = c; this.#base = base; }

  list<T = { ID: string; Spec: { Name: string } }>(q: { filters?: string } = {}): Promise<T[]> {
    return this.#c.json<T[]>('GET', this.#base, { query: q });
  }
  remove(id: string): Promise<void> {
    return this.#c.call('DELETE', `${this.#base}/${encodeURIComponent(id)}`);
  }
  inspect<T = SecretObject>(id: string): Promise<T> {
    return this.#c.json<T>('GET', `${this.#base}/${encodeURIComponent(id)}`);
  }
  /** POST /<kind>/create: the spec with Data as base64. */
  create(spec: SecretSpec): Promise<{ ID: string }> {
    return this.#c.json<{ ID: string }>('POST', `${this.#base}/create`, { body: spec });
  }
  /** POST /<kind>/{id}/update?version=N with the whole spec (the manager lets only the labels change). */
  update(id: string, version: number, spec: SecretSpec): Promise<void> {
    return this.#c.call('POST', `${this.#base}/${encodeURIComponent(id)}/update`, { query: { version }, body: spec });
  }
}

export class TasksApi {
  readonly #c: ApiClient;
  constructor(c: ApiClient) { this.#c = c; }

  list(q: { filters?: string } = {}): Promise<Task[]> {
    return this.#c.json<Task[]>('GET', '/tasks', { query: q });
  }
  inspect(id: string): Promise<Task> {
    return this.#c.json<Task>('GET', path`/tasks/${id}`);
  }
  /** GET /tasks/{id}/logs: as /services/{id}/logs, for one task. */
  logs(id: string, q: Query, o: CallOptions = {}): Promise<Response> {
    return this.#c.request('GET', path`/tasks/${id}/logs`, { query: q, ...o });
  }
}
