// The swarm routes (/swarm, /nodes, /services, /tasks, /secrets, /configs) of a node that is not
// part of a swarm: berth has no swarm mode yet, and dockerd outside a swarm answers each route
// with a 503, not a 404, which clients rely on (docker-py's `leave_swarm(force=True)` swallows only
// the 503 of /swarm/leave; `docker node ls` prints the daemon's text). The texts are dockerd's
// (daemon/cluster errors.go and errNoManager for a node without a swarm). Init and join would make
// a swarm in dockerd; here they say that berth cannot yet (501). The swarm work replaces this
// router with one over a swarm backend.
import { EngineError } from '../../../common/errors.ts';
import type { Route } from '../../server.ts';

/** dockerd's Leave without a swarm (errNoSwarm). */
export const NOT_IN_SWARM = 'This node is not part of a swarm';
/** dockerd's errNoManager for a node without a swarm: every manager-only call. */
export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

const notInSwarm = () => new EngineError('Unavailable', NOT_IN_SWARM);
const notAManager = () => new EngineError('Unavailable', NOT_A_MANAGER);
const noSwarmMode = (what: string) => new EngineError('NotImplemented', `${what}: swarm mode is not implemented in berth yet`);

export function swarmRoutes(): Route[] {
  const manager = (method: string, path: string): Route => ({ method, path, handler: async () => { throw notAManager(); } });
  /** The routes of one swarm object kind (services, nodes, secrets, …), manager-only. */
  const objects = (kind: string, o: { create?: boolean; logs?: boolean; readOnly?: boolean } = {}): Route[] => [
    manager('GET', `/${kind}`),
    ...(o.create ? [manager('POST', `/${kind}/create`)] : []),
    manager('GET', `/${kind}/{id}`),
    ...(o.readOnly ? [] : [manager('DELETE', `/${kind}/{id}`), manager('POST', `/${kind}/{id}/update`)]),
    ...(o.logs ? [manager('GET', `/${kind}/{id}/logs`)] : []),
  ];
  return [
    manager('GET', '/swarm'),
    { method: 'POST', path: '/swarm/init', handler: async () => { throw noSwarmMode('This node cannot initialize a swarm'); } },
    { method: 'POST', path: '/swarm/join', handler: async () => { throw noSwarmMode('This node cannot join a swarm'); } },
    { method: 'POST', path: '/swarm/leave', handler: async () => { throw notInSwarm(); } },
    manager('POST', '/swarm/update'),
    manager('GET', '/swarm/unlockkey'),
    manager('POST', '/swarm/unlock'),
    ...objects('nodes'),
    ...objects('services', { create: true, logs: true }),
    ...objects('tasks', { logs: true, readOnly: true }),
    ...objects('secrets', { create: true }),
    ...objects('configs', { create: true }),
  ];
}
