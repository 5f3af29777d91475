// The swarm objects as the cluster stores them, in the Engine API v1.47 shapes (Swarm, Node,
// Service, Task in docker-engine-api-v1.47.yaml), so a stored object can be served as-is by the
// swarm routes; and the bodies of the /swarm requests. Only the fields the orchestrators and the scheduler read are typed; everything else the
// API carries rides along through the index signatures untouched.
//
// Worked example: a replicated service with two replicas and the task of its slot 1, running:
//   Service { ID: 's1', Version: { Index: 7 }, Spec: { Name: 'web', Mode: { Replicated: { Replicas: 2 } },
//             TaskTemplate: { RestartPolicy: { Condition: 'any', Delay: 5e9 } } }, ... }
//   Task    { ID: 't1', ServiceID: 's1', Slot: 1, NodeID: 'n1', DesiredState: 'running',
//             Status: { Timestamp: '2026-12-06T18:00:00Z', State: 'running', Message: 'started' }, ... }
// Durations (RestartPolicy.Delay, Window) are nanoseconds, as on the wire.

/** The task states of the API's TaskState enum; their order is task-state.ts's business. */
export type TaskState =
  | 'new' | 'allocated' | 'pending' | 'assigned' | 'accepted' | 'preparing' | 'ready' | 'starting'
  | 'running' | 'complete' | 'shutdown' | 'failed' | 'rejected' | 'remove' | 'orphaned';

export interface ObjectVersion { Index: number }

export interface RestartPolicy {
  /** Docker's default is 'any'. */
  Condition?: 'none' | 'on-failure' | 'any';
  /** Nanoseconds between a task ending and its replacement starting (default 5s). */
  Delay?: number;
  /** 0 = unlimited. */
  MaxAttempts?: number;
  /** Nanoseconds; the window MaxAttempts counts in (0 = forever). */
  Window?: number;
}

export interface TaskSpec {
  RestartPolicy?: RestartPolicy;
  Placement?: { Constraints?: string[]; [k: string]: unknown };
  ForceUpdate?: number;
  [k: string]: unknown;
}

/** UpdateConfig and RollbackConfig; durations in nanoseconds. Defaults are update.ts's business. */
export interface UpdateConfig {
  /** 0 = all at once. */
  Parallelism?: number;
  Delay?: number;
  /** RollbackConfig has no 'rollback'. */
  FailureAction?: 'continue' | 'pause' | 'rollback';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: TaskSpec;
  Mode?: {
    Replicated?: { Replicas?: number };
    Global?: Record<string, never>;
    [k: string]: unknown;
  };
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  [k: string]: unknown;
}

export interface UpdateStatus {
  State?: 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface Service {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  UpdateStatus?: UpdateStatus;
  [k: string]: unknown;
}

export interface ContainerStatus { ContainerID?: string; PID?: number; ExitCode?: number }

export interface TaskStatus {
  /** RFC 3339 time of the last state change. */
  Timestamp: string;
  State: TaskState;
  Message?: string;
  Err?: string;
  ContainerStatus?: ContainerStatus;
  [k: string]: unknown;
}

export interface Task {
  ID: string;
  Version: ObjectVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  ServiceID: string;
  /** Replicated tasks only: the replica number, from 1. Global tasks have none. */
  Slot?: number;
  /** Empty until the scheduler assigns the task. */
  NodeID?: string;
  Spec: TaskSpec;
  Status: TaskStatus;
  DesiredState: TaskState;
  /** Its addresses on cluster networks, allocated by the leader before it is assigned. */
  NetworksAttachments?: NetworkAttachment[];
  [k: string]: unknown;
}

/**
 * A cluster-scoped network (driver `overlay`) as the cluster stores it: swarmkit's api.Network,
 * trimmed. The leader allocates its VNI and subnet at creation; GET /networks serves it converted
 * to a NetworkResource with Scope "swarm".
 *   { ID: 'n1…', Spec: { Name: 'appnet', Attachable: true, DriverConfiguration: { Name: 'overlay' } },
 *     DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
 *     IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] } }
 */
export interface ClusterNetwork {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    DriverConfiguration?: { Name: string; Options?: Record<string, string> };
    Ingress?: boolean;
    Attachable?: boolean;
    Internal?: boolean;
    EnableIPv6?: boolean;
    IPAMOptions?: { Driver?: { Name: string; Options?: Record<string, string> }; Configs?: { Subnet?: string; Range?: string; Gateway?: string }[] };
    [k: string]: unknown;
  };
  DriverState: { Name: 'overlay'; Options: Record<string, string> };
  /** What was allocated: one IPv4 subnet and its gateway. */
  IPAMOptions: { Driver: { Name: string }; Configs: { Subnet: string; Gateway: string }[] };
}

/** The local bridge network every node gives its overlay-attached task containers for their way
 *  out and their DNS server (Docker's docker_gwbridge). */
export const GWBRIDGE_NETWORK = 'docker_gwbridge';

/** The overlay driver option carrying a network's VNI. */
export const VXLANID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

/** An address on a cluster network: Task.NetworksAttachments[i] (and a node's load-balancer address). */
export interface NetworkAttachment { Network: ClusterNetwork; Addresses: string[] /* '10.0.1.3/24' */; Aliases?: string[] }

/** A service's allocated endpoint (Service.Endpoint): its ports with the published ports chosen, and one VIP per network in VIP mode. */
export interface ServiceEndpoint {
  Spec?: { Mode?: 'vip' | 'dnsrr'; Ports?: unknown[] };
  Ports?: { Name?: string; Protocol?: 'tcp' | 'udp' | 'sctp'; TargetPort?: number; PublishedPort?: number; PublishMode?: 'ingress' | 'host' }[];
  VirtualIPs?: { NetworkID: string; Addr: string }[];
}

/**
 * What a node must know of one cluster network it has a part in, sent by its manager on the
 * dispatcher session (SessionMessage.networks) and applied by the node's networking: the overlay's
 * peers (every endpoint on another node), the names its embedded DNS answers, the VIPs its task
 * containers balance, and on `ingress` the routing mesh's published ports.
 *   { network: <appnet>, endpoints: [{ ip: '10.0.1.3', vtep: '192.168.5.2', names: ['web.1.t1'], service: 's1', running: true }],
 *     services: [{ id: 's1', name: 'web', mode: 'vip', vip: '10.0.1.2', aliases: [], backends: ['10.0.1.3'], ports: [] }] }
 */
export interface NodeNetworkView {
  network: ClusterNetwork;
  /** Every endpoint on the network across the cluster (tasks, node load balancers); this node's too. */
  endpoints: { ip: string; vtep: string; names: string[]; service?: string; running: boolean }[];
  services: {
    id: string; name: string; mode: 'vip' | 'dnsrr'; vip?: string; aliases: string[];
    /** The running tasks' addresses on this network. */
    backends: string[];
    /** Ingress only: the published ports. */
    ports: { protocol: 'tcp' | 'udp' | 'sctp'; published: number; target: number }[];
  }[];
  /** Ingress only: this node's load-balancer address (the ingress sandbox's). */
  lb?: string;
}

export interface NodeSpec {
  Name?: string;
  Availability: 'active' | 'pause' | 'drain';
  Role?: 'worker' | 'manager';
  Labels?: Record<string, string>;
  [k: string]: unknown;
}

export interface NodeDescription {
  Hostname?: string;
  Platform?: { Architecture?: string; OS?: string };
  Resources?: { NanoCPUs?: number; MemoryBytes?: number; GenericResources?: unknown[] };
  Engine?: { EngineVersion?: string; Labels?: Record<string, string>; Plugins?: { Type: string; Name: string }[] };
  TLSInfo?: TLSInfo;
  [k: string]: unknown;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: 'unknown' | 'unreachable' | 'reachable';
  /** host:port of the manager's swarm (dispatcher) listener, e.g. 10.0.0.46:2377. */
  Addr: string;
}

export interface Node {
  ID: string;
  Version?: ObjectVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: NodeSpec;
  Description?: NodeDescription;
  Status: {
    State: 'unknown' | 'down' | 'ready' | 'disconnected';
    Addr?: string;
    Message?: string;
    [k: string]: unknown;
  };
  ManagerStatus?: ManagerStatus;
  [k: string]: unknown;
}

export interface TLSInfo {
  TrustRoot?: string;
  CertIssuerSubject?: string;
  CertIssuerPublicKey?: string;
}

/** SwarmSpec; durations in nanoseconds. */
export interface SwarmSpec {
  Name?: string;
  Labels?: Record<string, string>;
  Orchestration?: { TaskHistoryRetentionLimit?: number } | null;
  Raft?: { SnapshotInterval?: number; KeepOldSnapshots?: number; LogEntriesForSlowFollowers?: number; ElectionTick?: number; HeartbeatTick?: number };
  Dispatcher?: { HeartbeatPeriod?: number } | null;
  CAConfig?: { NodeCertExpiry?: number; ExternalCAs?: unknown[] | null; SigningCACert?: string; SigningCAKey?: string; ForceRotate?: number } | null;
  EncryptionConfig?: { AutoLockManagers?: boolean };
  TaskDefaults?: { LogDriver?: { Name?: string; Options?: Record<string, string> } | null };
  [k: string]: unknown;
}

export interface JoinTokens { Worker: string; Manager: string }

/** GET /swarm: ClusterInfo plus the join tokens (managers only). */
export interface Swarm {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DataPathPort: number;
  DefaultAddrPool: string[];
  SubnetSize: number;
  JoinTokens: JoinTokens;
}

/** /info's Swarm section (SwarmInfo); Nodes, Managers and Cluster only on a manager. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked';
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: Omit<Swarm, 'JoinTokens'>;
}

export interface SwarmInitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  DefaultAddrPool?: string[];
  ForceNewCluster?: boolean;
  SubnetSize?: number;
  Spec?: SwarmSpec;
}

export interface SwarmJoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs: string[];
  JoinToken: string;
}

export interface ServiceCreateResponse { ID: string; Warnings?: string[] | null }

// dockerd's swarm error texts (moby daemon/cluster/errors.go and Cluster.errNoManager): clients
// match on them (docker-py's leave_swarm(force=True) swallows only NOT_IN_SWARM's 503).
/** Leave without a swarm (errNoSwarm). */
export const NOT_IN_SWARM = 'This node is not part of a swarm';
/** errNoManager for a node without a swarm: every manager-only call. */
export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** errSwarmNotManager: a worker asked for cluster state. */
export const WORKER_NOT_MANAGER = 'This node is not a swarm manager. Worker nodes can\'t be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.';
/** errNoManager for a manager that cannot serve yet (joining, or cut off from the cluster). */
export const MANAGER_NOT_READY = 'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.';
/** errSwarmExists: init or join on a node already in a swarm. */
export const SWARM_EXISTS = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
/** errSwarmLocked: the node's keys are encrypted and wait for `docker swarm unlock`. */
export const SWARM_LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
/** Leave of a locked node without --force. */
export const LEAVE_LOCKED = 'Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.';

// Cluster networks' texts shared by the manager's allocator and the nodes' overlay driver.
/** berth refuses `--opt encrypted` rather than sending plain text (src/network/overlay/plan.ts has the same words). */
export const OVERLAY_ENCRYPTED_REFUSED = 'encrypted overlay networks are not supported by berth: refusing rather than sending plain text';
/** libnetwork's refusal of an overlay network created on a worker. */
export const WORKER_NETWORK_CREATE = 'Cannot create a multi-host network from a worker node. Please create the network from a manager node.';
/**
 * POST /secrets/create and /configs/create, and the Spec of both objects (SecretSpec, ConfigSpec).
 * Data is base64 on the wire; the cluster keeps it encrypted (src/swarm/secrets/) and a secret's
 * inspect never returns it (a config's does, as dockerd's).
 */
export interface SecretSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  Data?: string | null;
  Driver?: { Name?: string; Options?: Record<string, string> | null } | null;
  Templating?: { Name?: string; Options?: Record<string, string> | null } | null;
}

/** Secret and Config as GET /secrets and /configs return them. */
export interface SecretObject {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: SecretSpec;
}

/** Which of the two: the route prefix, the store's key and the word in dockerd's texts. */
export type SecretKind = 'secret' | 'config';

/**
 * A service's reference to a secret or config (ContainerSpec.Secrets / .Configs): a file in the
 * container (secrets under /run/secrets/, a config's Name may be any absolute path), or, for a
 * config only, Runtime (a credential spec; no file).
 */
export interface SecretReference {
  File?: { Name?: string; UID?: string; GID?: string; Mode?: number } | null;
  Runtime?: Record<string, never> | null;
  SecretID?: string;
  SecretName?: string;
  ConfigID?: string;
  ConfigName?: string;
}
