// What a node remembers of its swarm across berthd restarts, in <data-root>/swarm/: state.json (its
// identity, role and addresses, and the managers it last knew), certificates/ (the CA certificate
// and its node certificate and key, ca/store.ts's files), and on managers etcd-tls/ (the etcd CA
// certificate and the member's certificate and key), etcd/ (the member's data) and data.key (the
// key secrets and configs are sealed with in etcd, 0600; see secrets/crypto.ts). Each file is
// written atomically; the state file last, so a crash mid-join leaves no half-joined node: without
// state.json the node is simply not in a swarm, and the next init or join starts over.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/metadata/atomic.ts';
import { EngineError, invalid } from '../../common/errors.ts';

export interface LocalState {
  version: 1;
  nodeId: string;
  clusterId: string;
  role: 'worker' | 'manager';
  /** The IP other nodes reach this one at. */
  advertiseAddr: string;
  /** host:port the dispatcher listens on (managers). */
  listenAddr: string;
  /** Dispatcher addresses (host:port) of the managers, as last known. */
  managers: string[];
  /** Managers: the etcd member's name and client URLs of the cluster's members. */
  etcd?: { name: string; endpoints: string[] };
}

export const swarmDir = (dataRoot: string) => join(dataRoot, 'swarm');
export const certDir = (dataRoot: string) => join(swarmDir(dataRoot), 'certificates');
export const etcdTlsDir = (dataRoot: string) => join(swarmDir(dataRoot), 'etcd-tls');
const statePath = (dataRoot: string) => join(swarmDir(dataRoot), 'state.json');
const dataKeyPath = (dataRoot: string) => join(swarmDir(dataRoot), 'data.key');

/** A manager's data key (raw bytes), undefined when this node has none (workers). */
export async function loadDataKey(dataRoot: string): Promise<Buffer | undefined> {
  try { return await readFile(dataKeyPath(dataRoot)); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function saveDataKey(dataRoot: string, key: Buffer): Promise<void> {
  await mkdir(swarmDir(dataRoot), { recursive: true, mode: 0o700 });
  await writeFileAtomic(dataKeyPath(dataRoot), key, 0o600);
}

/** A demoted manager keeps no key. */
export async function removeDataKey(dataRoot: string): Promise<void> {
  await rm(dataKeyPath(dataRoot), { force: true });
}

export async function loadLocalState(dataRoot: string): Promise<LocalState | undefined> {
  let text: string;
  try { text = await readFile(statePath(dataRoot), 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const s = JSON.parse(text) as LocalState;
  if (s.version !== 1 || !s.nodeId) throw new EngineError('System', `${statePath(dataRoot)}: unknown swarm state`);
  return s;
}

export async function saveLocalState(dataRoot: string, s: LocalState): Promise<void> {
  await mkdir(swarmDir(dataRoot), { recursive: true, mode: 0o700 });
  await writeFileAtomic(statePath(dataRoot), JSON.stringify(s, null, 2), 0o600);
}

/** Forgets the swarm: the state file first (so a crash midway leaves "not in a swarm"), then the rest. */
export async function clearLocalState(dataRoot: string): Promise<void> {
  await rm(statePath(dataRoot), { force: true });
  await rm(swarmDir(dataRoot), { recursive: true, force: true });
}

/** Splits "host:port", "host" (port = def) or "[v6]:port"; an interface name stands for its address. */
export function parseAddr(s: string, defPort: number, what = 'listen'): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]*)(?::(\d+))?$/.exec(s);
  if (!m) throw invalid(`invalid ${what} address ${JSON.stringify(s)}`);
  let host = m[1]!;
  const port = m[2] === undefined ? defPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid ${what} address ${JSON.stringify(s)}: bad port`);
  if (host && !isIP(host)) host = interfaceAddr(host, what);
  return { host: host || '0.0.0.0', port };
}

/** The IPv4 address of a network interface (Docker accepts `--advertise-addr eth0`). */
function interfaceAddr(name: string, what: string): string {
  const r = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
  const list = r.status === 0 ? (JSON.parse(r.stdout || '[]') as { addr_info?: { local: string }[] }[]) : [];
  const addrs = list.flatMap((l) => l.addr_info ?? []).map((a) => a.local);
  if (addrs.length === 0) throw invalid(`failed to parse ${what} address ${JSON.stringify(name)}: no such interface or it has no IPv4 address`);
  if (addrs.length > 1) throw invalid(`interface ${name} has more than one IPv4 address (${addrs.join(' and ')})`);
  return addrs[0]!;
}

/**
 * The address to advertise when none was given: the address of the interface the default route
 * goes through (Docker's rule), or the only global address there is.
 */
export function defaultAdvertiseAddr(): string {
  const r = spawnSync('ip', ['-j', '-4', 'route', 'show', 'default'], { encoding: 'utf8' });
  const routes = r.status === 0 ? (JSON.parse(r.stdout || '[]') as { dev?: string; prefsrc?: string }[]) : [];
  const dev = routes.find((x) => x.dev)?.dev;
  if (dev) {
    try { return interfaceAddr(dev, 'advertise'); } catch (e) {
      throw invalid(`could not choose an IP address to advertise since this system has multiple addresses on interface ${dev} (${(e as Error).message})`);
    }
  }
  const a = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' });
  const all = (JSON.parse(a.stdout || '[]') as { addr_info?: { local: string }[] }[]).flatMap((l) => l.addr_info ?? []).map((x) => x.local);
  if (all.length === 1) return all[0]!;
  throw invalid(all.length === 0
    ? 'could not find the system\'s IP address - specify one with --advertise-addr'
    : `could not choose an IP address to advertise since this system has multiple addresses on different interfaces (${all.join(' and ')})`);
}
