import type { Readable } from 'node:stream';
import type { ReadLogsOptions } from '../../../engine/logs.ts';
import type {
  Node, NodeSpec, SecretKind, SecretObject, SecretSpec, Service, ServiceCreateResponse, ServiceSpec, Swarm, SwarmInfo, SwarmInitRequest,
  SwarmJoinRequest, SwarmSpec, Task,
} from '../../types/swarm.ts';

/**
 * `GET /services/{id}/logs` and `/tasks/{id}/logs`: the container logs' options, plus the two
 * the stream's lines carry: `timestamps` (an RFC 3339 time first) and `details` (the
 * `com.docker.swarm.*=…` attributes before the message; the CLI always asks for them and strips
 * them unless `--details`).
 */
export type LogsOptions = Omit<ReadLogsOptions, 'stopped'> & { timestamps: boolean; details: boolean };

/**
 * What the swarm router (/swarm, /nodes, /services, /tasks) needs from the cluster. The router
 * does the HTTP side: it checks this node may serve a call (isManager, info's state), resolves
 * references (full ID, name, ID prefix) and filters over the lists below, so the backend takes
 * full IDs only. Errors thrown are EngineErrors with dockerd's texts (a stale `version` is the
 * backend's: swarmkit's "update out of sequence").
 */
export interface SwarmBackend {
  /** /info's Swarm section; sync and cheap. LocalNodeState 'inactive' outside a swarm. */
  info(): SwarmInfo;
  /** This node is a manager that can serve cluster state (false on workers and outside a swarm). */
  isManager(): boolean;
  inspect(): Promise<Swarm>;
  /** The new node's ID. */
  init(req: SwarmInitRequest): Promise<string>;
  join(req: SwarmJoinRequest): Promise<void>;
  leave(force: boolean): Promise<void>;
  update(spec: SwarmSpec, o: { version: number; rotateWorkerToken: boolean; rotateManagerToken: boolean; rotateManagerUnlockKey: boolean }): Promise<void>;
  unlockKey(): Promise<string>;
  unlock(key: string): Promise<void>;
  nodes(): Promise<Node[]>;
  /** Full ID; a stale version → the backend throws. */
  updateNode(id: string, version: number, spec: NodeSpec): Promise<void>;
  removeNode(id: string, force: boolean): Promise<void>;
  services(): Promise<Service[]>;
  tasks(): Promise<Task[]>;
  /** The spec as given (the backend validates it, src/swarm/spec/service-spec.ts); X-Registry-Auth as sent. */
  createService(spec: ServiceSpec, registryAuth?: string): Promise<ServiceCreateResponse>;
  /** Full ID. `rollback`: back to PreviousSpec (`spec` is then ignored, as swarmkit does). */
  updateService(id: string, version: number, spec: ServiceSpec, o: { rollback: boolean; registryAuth?: string }): Promise<{ Warnings: string[] | null }>;
  removeService(id: string): Promise<void>;
  /**
   * The log stream's body, ready to send: one frame per line in Docker's multiplexed framing
   * (8-byte header, stream 1 or 2), or the bare lines when the service's container has a TTY.
   * `target` holds a full ID. The stream ends when the logs do (or, following, on `o.signal`).
   */
  logs(target: { service?: string; task?: string }, o: LogsOptions): Promise<Readable>;
  /** Secrets or configs: a secret's Spec has no Data; a config's has it (base64), as dockerd's. */
  secrets(kind: SecretKind): Promise<SecretObject[]>;
  createSecret(kind: SecretKind, spec: SecretSpec): Promise<{ ID: string }>;
  /** Full ID; labels only (swarmkit refuses other changes). */
  updateSecret(kind: SecretKind, id: string, version: number, spec: SecretSpec): Promise<void>;
  /** Full ID; refused while a service uses it. */
  removeSecret(kind: SecretKind, id: string): Promise<void>;
  /**
   * The spec with the defaults dockerd fills for `GET /services/{id}?insertDefaults=true`
   * (src/swarm/spec/service-spec.ts's withDefaults; the api layer may not import swarm). Absent →
   * the spec as stored.
   */
  serviceDefaults?(spec: ServiceSpec): ServiceSpec;
}
