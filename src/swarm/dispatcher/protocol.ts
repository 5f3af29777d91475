// The dispatcher protocol: what a node's agent and a manager's dispatcher say to each other over
// HTTPS with mutual TLS on the swarm port (2377, as Docker's). Workers reach the cluster only
// through it: they hold no etcd credentials, so a worker can never change cluster state beyond
// reporting its own tasks' status.
//
// The exchange, worked through for a worker W joining manager M (M at 10.0.0.1:2377):
// 1. W: GET https://10.0.0.1:2377/ca (no client certificate; W does not trust M yet) → the CA
//    certificate; W checks its digest against the join token's (SWMTKN-1-<digest>-<secret>).
// 2. W: POST /join with the token, a CSR and its addresses, now trusting only that CA → its node
//    ID and a certificate carrying its role (and, for a manager, an etcd certificate and the
//    member list to start its etcd member with).
// 3. W, from then on with its certificate: POST /session (a long response of JSON lines: its task
//    assignments and the manager list, sent again on every change), POST /heartbeat every third of
//    the heartbeat period (each keeps its liveness lease in etcd alive), POST /status with task
//    state reports (applied forward only, for its own tasks only), POST /attach and /detach for a
//    standalone container's address on an attachable overlay network (the leader allocates it).
// 4. If M goes away, W moves to the next manager in the last list it received.
import type { NodeDescription, NodeNetworkView, Task, TaskStatus } from '../../api/types/swarm.ts';

/** Docker's swarm port: the dispatcher (and, in Docker, raft) listens here. */
export const SWARM_PORT = 2377;
/** etcd's client and peer ports on a manager's advertise address. */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** swarmkit's default dispatcher heartbeat period. */
export const DEFAULT_HEARTBEAT_NS = 5_000_000_000;

export interface JoinRequest {
  token: string;
  csrPem: string;
  hostname: string;
  /** The joining node's advertise IP (its certificate's address, its node's Status.Addr). */
  advertiseAddr: string;
  /** host:port it will listen on as a manager. */
  listenAddr: string;
  description?: NodeDescription;
  availability?: 'active' | 'pause' | 'drain';
}

export interface ManagerAddr { NodeID: string; Addr: string }

export interface JoinResponse {
  nodeId: string;
  clusterId: string;
  role: 'worker' | 'manager';
  certPem: string;
  caCertPem: string;
  managers: ManagerAddr[];
  /** A manager's credentials for etcd (signed by the etcd CA, for the CSR's key) and the member list. */
  etcd?: { caCertPem: string; certPem: string; initialCluster: string; name: string; endpoints: string[] };
  /** A manager's copy of the data key secrets and configs are sealed with in etcd (base64). */
  dataKey?: string;
}

/** One task this node must run (or stop), with the name its container is named after. */
export interface WireAssignment { task: Task; serviceName: string }

/** A logs request's options on the wire (nanosecond bounds as decimal strings). */
export interface WireLogOptions {
  stdout: boolean; stderr: boolean; tail: number; follow: boolean; timestamps: boolean; details: boolean;
  since?: string; until?: string;
}

/** A task whose container's log a node is asked for. */
export interface LogTask { ID: string; ServiceID: string; NodeID: string; ContainerID: string }

/**
 * A manager asks a node for its tasks' logs: the node uploads them, framed, with POST /logs/<id> to
 * `replyTo` (the asking manager's dispatcher), until the lines end or the upload is closed.
 */
export interface LogRequest { id: string; nodeId: string; replyTo: string; tasks: LogTask[]; options: WireLogOptions }

export interface SessionMessage {
  logRequests?: LogRequest[];
  assignments?: WireAssignment[];
  managers?: ManagerAddr[];
  heartbeatPeriodMs?: number;
  /** The node's role changed (promote/demote): the agent's berthd reloads its swarm state. */
  role?: 'worker' | 'manager';
  /** The cluster networks this node has a part in (src/swarm/netview/view.ts); always sent with assignments. */
  networks?: NodeNetworkView[];
  /**
   * The secrets and configs the node's live tasks use, in plaintext (the session is mutual TLS),
   * sent with every assignments message: only what this node's tasks reference, never more.
   */
  secrets?: WireSecret[];
  configs?: WireSecret[];
}

/** One secret's or config's data for a node (base64). */
export interface WireSecret { ID: string; Name: string; Data: string }

/** POST /renew: a node's new certificate for the role the cluster now gives it (promote, demote). */
export interface RenewRequest { csrPem: string; listenAddr: string }

export interface StatusUpdate { taskId: string; status: TaskStatus }

/** POST /attach: an address for a standalone container on an attachable cluster network (name or ID). */
export interface AttachRequest { network: string; containerId: string; /** The container's name: the others' embedded DNS answers it. */ name?: string }
/** POST /detach: gives the container's address on that network back. */
export interface DetachRequest { networkId: string; containerId: string }
