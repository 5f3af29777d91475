// Test fixtures: container records as the engine persists them, for the unit tests of pure
// logic over records (engine/container-list.ts) and the router tests' fake backends.
import type { ContainerRecord } from '../container/record.ts';
import type { EndpointState } from '../../api/types/network.ts';

const ZERO = '0001-01-01T00:00:00Z';

/**
 * A container as `docker create --name <name> busybox` leaves it (created, never started), with
 * `over` merged on top; `State` and `Config` are merged field by field.
 */
export function containerRecord(name: string, over: Omit<Partial<ContainerRecord>, 'State' | 'Config'> & {
  State?: Partial<ContainerRecord['State']>; Config?: Partial<ContainerRecord['Config']>;
} = {}): ContainerRecord {
  const id = (Buffer.from(name).toString('hex') + '0'.repeat(64)).slice(0, 64);
  const { State, Config, ...rest } = over;
  return {
    ID: id, Created: '2026-01-02T03:04:05.000Z', Path: 'sh', Args: [],
    Image: 'sha256:' + 'c'.repeat(64), Name: `/${name}`, RestartCount: 0, Driver: 'overlay2', Platform: 'linux',
    HostConfig: { NetworkMode: 'bridge' },
    LogPath: '', HostnamePath: '', HostsPath: '', ResolvConfPath: '', Mounts: [],
    berth: { runtime: 'runc', manuallyStopped: false, hasBeenStarted: false },
    ...rest,
    State: {
      Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
      Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO, FinishedAt: ZERO, ...State,
    },
    Config: { Hostname: id.slice(0, 12), Image: 'busybox', Cmd: ['sh'], Labels: {}, ...Config },
  };
}

/** A running container's state (started a minute before `now`). */
export function running(pid = 4242, now = Date.now()): Partial<ContainerRecord['State']> {
  return { Status: 'running', Running: true, Pid: pid, StartedAt: new Date(now - 60_000).toISOString() };
}

/** An exited container's state. */
export function exited(code: number, now = Date.now()): Partial<ContainerRecord['State']> {
  return { Status: 'exited', ExitCode: code, StartedAt: new Date(now - 120_000).toISOString(), FinishedAt: new Date(now - 60_000).toISOString() };
}

/** An endpoint on `network` (its ID `<network>-id`), optionally publishing ports. */
export function endpoint(network: string, portMap?: EndpointState['portMap']): EndpointState {
  return {
    network, networkId: `${network}-id`.padEnd(64, '0'), endpointId: 'e'.repeat(64), ip: '172.18.0.2', prefixLen: 16,
    gateway: '172.18.0.1', mac: '02:42:ac:12:00:02', aliases: [], dnsNames: [], ...(portMap ? { portMap } : {}),
  };
}
