// Docker Engine API v1.47 wire types of a container that the engine keeps as its own record of a container's
// configuration (Docker stores them verbatim too: config.v2.json / hostconfig.json). Only the
// fields berth acts on are typed; unknown fields are kept (index signatures) and echoed back by
// inspect, as Docker does.

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** ContainerConfig (spec: definitions.ContainerConfig); also the image config's `config`. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
  [k: string]: unknown;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface DeviceMapping { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }
export interface Ulimit { Name: string; Soft: number; Hard: number }

/** Mount (spec: definitions.Mount), the `--mount` form. */
export interface MountSpec {
  Target: string;
  Source?: string;
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> }; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

/** HostConfig (spec: definitions.HostConfig, including Resources). */
export interface HostConfig {
  // Resources
  CpuShares?: number;
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  NanoCpus?: number;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  // Host
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: MountSpec[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: 'private' | 'host' | '';
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  [k: string]: unknown;
}

/**
 * `POST /containers/create`'s body (spec: ContainerCreateRequest): the ContainerConfig with the
 * HostConfig and NetworkingConfig beside it. The swarm agent builds one per task.
 */
export interface ContainerCreateBody extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
}
