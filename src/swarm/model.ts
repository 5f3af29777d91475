// The swarm objects as the cluster stores them, in the Engine API v1.47 shapes (Service, Task,
// Node in docker-engine-api-v1.47.yaml), so a stored object can be served as-is by the swarm
// routes. Only the fields the orchestrators and the scheduler read are typed; everything else the
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
  [k: string]: unknown;
}

export interface Node {
  ID: string;
  Version?: ObjectVersion;
  Spec: {
    Availability: 'active' | 'pause' | 'drain';
    Role?: 'worker' | 'manager';
    Labels?: Record<string, string>;
    [k: string]: unknown;
  };
  Status: {
    State: 'unknown' | 'down' | 'ready' | 'disconnected';
    Addr?: string;
    Message?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
