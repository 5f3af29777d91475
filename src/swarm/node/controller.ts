// SwarmController: this berthd's part in a swarm, from `swarm init`/`join` to `leave`, and across
// restarts. It owns the parts local-state.ts lists on disk and, while active, the running ones:
//
//   every node:     DispatcherSession (to one manager at a time) → the Agent (runs the assigned tasks)
//   managers also:  EtcdMember (child process) → EtcdClient → ClusterStore + ClusterCache
//                   Dispatcher (HTTPS on the swarm port), the election, and while elected the Leader
//
// Worked example, three nodes A, B, C (advertise 10.0.0.1-3):
//   A: init → CA and etcd CA created, etcd member A started (one-member cluster), cluster object,
//      CA keys and node A written, dispatcher on :2377, campaign (A leads), agent session to A itself.
//   B: join --token SWMTKN-…(manager) 10.0.0.1:2377 → fetchCA + digest check, /join → A adds etcd
//      member B and answers with B's certificates and the member list; B starts its member
//      (initial-cluster-state existing), its dispatcher and candidacy, and its agent session.
//   C: join --token SWMTKN-…(worker) → only a node certificate; C's agent talks to A or B.
// After a berthd restart, start() finds state.json and brings the same parts up again.
import { hostname as osHostname } from 'node:os';
import { randomInt } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { EngineError, invalid, unavailable } from '../../common/errors.ts';
import { writeFileAtomic } from '../../store/metadata/atomic.ts';
import { NOT_A_MANAGER, NOT_IN_SWARM, SWARM_EXISTS, WORKER_NOT_MANAGER, type Node, type NodeDescription, type NodeNetworkView, type NetworkAttachment, type Swarm, type SwarmInfo, type SwarmInitRequest, type SwarmJoinRequest, type SwarmSpec, type TaskStatus } from '../../api/types/swarm.ts';
import { createCSR, createRootCA, issueNodeCertificate, MANAGER_ROLE, WORKER_ROLE, type RootCA } from '../ca/ca.ts';
import { checkCAAgainstToken, newJoinTokens, parseJoinToken, roleForJoinToken, rotateJoinToken } from '../ca/token.ts';
import { loadNodeCredentials, loadRootCA, saveNodeCredentials, saveRootCA } from '../ca/store.ts';
import { EtcdClient } from '../etcd/client.ts';
import { EtcdMember } from '../etcd/member.ts';
import { Election } from '../etcd/election.ts';
import { ClusterStore, KEYS, ROOT as KEYS_ROOT, type ClusterSecrets } from '../cluster/store.ts';
import { ClusterCache } from '../cluster/cache.ts';
import { defaultAddrPoolError, ingressNetwork } from '../allocator/allocator.ts';
import { Dispatcher, managersOf } from '../dispatcher/server.ts';
import { DispatcherSession, fetchCA, requestJoin, uploadLogs, type NodeTls } from '../dispatcher/client.ts';
import type { Readable } from 'node:stream';
import { DEFAULT_HEARTBEAT_NS, ETCD_CLIENT_PORT, ETCD_PEER_PORT, SWARM_PORT, type JoinRequest, type JoinResponse, type LogRequest, type LogTask, type RenewRequest, type SessionMessage, type WireLogOptions, type WireAssignment } from '../dispatcher/protocol.ts';
import { certDir, clearLocalState, defaultAdvertiseAddr, etcdTlsDir, loadDataKey, loadLocalState, parseAddr, removeDataKey, saveDataKey, saveLocalState, type LocalState } from './local-state.ts';
import { newDataKey, open as openSealed } from '../secrets/crypto.ts';
import type { StoredSecret } from '../cluster/store.ts';
import type { SecretKind } from '../../api/types/swarm.ts';

/** dockerd's text for leaving as the last manager (the others are api/types/swarm.ts's). */
export const LAST_MANAGER = 'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.';

export interface AgentLike {
  start(): Promise<void>;
  setAssignments(a: WireAssignment[]): void;
  /** The secrets' and configs' data of the same session message, before its assignments. */
  setMaterial?(m: Pick<SessionMessage, 'secrets' | 'configs'>): void;
  close(): Promise<void>;
}
export interface LeaderLike { start(): void; stop(): Promise<void> }

export interface SwarmControllerOptions {
  dataRoot: string;
  /** The engine's view of this node, sent to the managers (hostname, platform, resources, engine). */
  description: () => NodeDescription;
  /** The agent that runs this node's tasks through the engine. */
  agent: (nodeId: string, reporter: { report(taskId: string, status: TaskStatus): Promise<void> }) => AgentLike;
  /** The orchestration loops, run while this manager leads. */
  leader: (ctx: { cache: ClusterCache; election: Election; store: ClusterStore; nodeId: string }) => LeaderLike;
  /** This node's answer to a manager's log request: its tasks' lines, framed. */
  serveLogs?: (req: LogRequest, signal: AbortSignal) => Readable;
  /** Removes this node's task containers (swarm leave). */
  removeTaskContainers: () => Promise<void>;
  /** The cluster networks this node has a part in, on every session message (before its assignments). */
  onNetworks?: (views: NodeNetworkView[]) => void;
  /** An external etcd cluster (berthd --cluster-store etcd://…) instead of an embedded member; TLS files if it speaks TLS. */
  externalEtcd?: { endpoints: string[]; tls?: { caFile: string; certFile: string; keyFile: string } };
  etcdBinary?: string;
  log?: (level: string, msg: string) => void;
}

/** swarmkit's identifiers: 25 characters of [0-9a-z]. */
export function newId(): string {
  const a = '0123456789abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < 25; i++) s += a[randomInt(36)];
  return s;
}

/** The SwarmSpec dockerd fills in on init (swarmkit's defaults). */
export function defaultSwarmSpec(spec: SwarmSpec = {}): SwarmSpec {
  return {
    Name: 'default',
    Labels: spec.Labels ?? {},
    Orchestration: { TaskHistoryRetentionLimit: spec.Orchestration?.TaskHistoryRetentionLimit ?? 5 },
    // berth has no raft of its own (etcd is the consensus), but the CLI shows these: swarmkit's values.
    Raft: {
      SnapshotInterval: spec.Raft?.SnapshotInterval || 10000, KeepOldSnapshots: spec.Raft?.KeepOldSnapshots ?? 0,
      LogEntriesForSlowFollowers: spec.Raft?.LogEntriesForSlowFollowers || 500, ElectionTick: spec.Raft?.ElectionTick || 10, HeartbeatTick: spec.Raft?.HeartbeatTick || 1,
    },
    Dispatcher: { HeartbeatPeriod: spec.Dispatcher?.HeartbeatPeriod || DEFAULT_HEARTBEAT_NS },
    CAConfig: { NodeCertExpiry: spec.CAConfig?.NodeCertExpiry || 7_776_000_000_000_000 },
    TaskDefaults: spec.TaskDefaults ?? {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

export class SwarmController {
  readonly #o: SwarmControllerOptions;
  readonly #log: (level: string, msg: string) => void;
  #state: LocalState | undefined;
  #status: 'inactive' | 'pending' | 'active' | 'error' = 'inactive';
  #error = '';
  #member: EtcdMember | undefined;
  #client: EtcdClient | undefined;
  #store: ClusterStore | undefined;
  #cache: ClusterCache | undefined;
  #dispatcher: Dispatcher | undefined;
  #election: Election | undefined;
  #leader: LeaderLike | undefined;
  #leaderId: string | undefined;
  #observer: { cancel(): void } | undefined;
  #session: DispatcherSession | undefined;
  #agent: AgentLike | undefined;
  #tls: NodeTls | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;
  #managers: { NodeID: string; Addr: string }[] = [];
  /** A manager's data key (secrets and configs in etcd are sealed with it); undefined on workers. */
  #dataKey: Buffer | undefined;

  constructor(o: SwarmControllerOptions) {
    this.#o = o;
    this.#log = o.log ?? (() => {});
  }

  // --- lifecycle ---

  /** At berthd start: rejoin the swarm this node was part of. Errors leave the node in 'error', not the daemon down. */
  async start(): Promise<void> {
    const s = await loadLocalState(this.#o.dataRoot);
    if (!s) return;
    this.#state = s;
    this.#status = 'pending';
    void this.#serial(async () => {
      try {
        await this.#activate(s, { fresh: false });
      } catch (e) {
        this.#status = 'error';
        this.#error = (e as Error).message;
        this.#log('error', `swarm: rejoining the cluster: ${this.#error}`);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#deactivate();
  }

  /** Operations that change the node's swarm membership run one at a time. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#busy.then(f, f);
    this.#busy = p.catch(() => undefined);
    return p;
  }

  get nodeId(): string | undefined { return this.#state?.nodeId; }
  get isManager(): boolean { return this.#status === 'active' && this.#state?.role === 'manager' && !!this.#store; }

  /** The cluster store; throws the 503 a non-manager gives. */
  store(): ClusterStore {
    if (!this.#state) throw unavailable(NOT_A_MANAGER);
    if (this.#state.role !== 'manager') throw unavailable(WORKER_NOT_MANAGER);
    if (!this.#store) throw unavailable(`${NOT_A_MANAGER.split('.')[0]}: the cluster store is not available yet (${this.#error || this.#status})`);
    return this.#store;
  }

  cache(): ClusterCache | undefined { return this.#cache; }

  /** The data key secrets and configs are sealed with; only managers hold it. */
  dataKey(): Buffer {
    this.store();
    if (!this.#dataKey) throw unavailable('this manager holds no data key for secrets and configs (it joined before berth had them): demote and promote it again');
    return this.#dataKey;
  }
  leaderId(): string | undefined { return this.#leaderId; }

  info(): SwarmInfo {
    const s = this.#state;
    if (!s) return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    const base: SwarmInfo = {
      NodeID: s.nodeId, NodeAddr: s.advertiseAddr, LocalNodeState: this.#status, ControlAvailable: s.role === 'manager',
      Error: this.#error, RemoteManagers: this.#managers.length ? this.#managers : s.managers.map((Addr) => ({ NodeID: '', Addr })),
    };
    const c = this.#cache;
    if (s.role === 'manager' && c?.cluster) {
      const nodes = [...c.nodes.values()];
      const { JoinTokens: _t, ...cluster } = c.cluster;
      return { ...base, Nodes: nodes.length, Managers: nodes.filter((n) => n.Spec.Role === 'manager').length, Cluster: cluster };
    }
    return base;
  }

  // --- init ---

  init(req: SwarmInitRequest): Promise<string> {
    return this.#serial(async () => {
      if (this.#state) throw unavailable(SWARM_EXISTS);
      const listen = parseAddr(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT, 'listen');
      const adv = req.AdvertiseAddr
        ? parseAddr(req.AdvertiseAddr, listen.port, 'advertise').host
        : listen.host !== '0.0.0.0' ? listen.host : defaultAdvertiseAddr();
      if (adv === '0.0.0.0') throw invalid('advertise address must be a non-zero IP address');
      if (req.ForceNewCluster) throw invalid('--force-new-cluster is not supported by berth: the cluster state lives in etcd; restore its members instead');
      const poolError = defaultAddrPoolError(req.DefaultAddrPool, req.SubnetSize);
      if (poolError) throw invalid(poolError);
      const nodeId = newId();
      const clusterId = newId();
      const root = await createRootCA();
      const etcdCA = await createRootCA();
      const nodeCert = await issueNodeCertificate(root, { nodeId, role: MANAGER_ROLE, clusterId, addresses: [adv] });
      const etcdCert = await issueNodeCertificate(etcdCA, { nodeId, role: MANAGER_ROLE, clusterId, addresses: [adv, '127.0.0.1'] });
      await saveRootCA(certDir(this.#o.dataRoot), { certPem: root.certPem });
      await saveNodeCredentials(certDir(this.#o.dataRoot), { certPem: nodeCert.certPem, keyPem: nodeCert.keyPem! });
      await this.#saveEtcdTls(etcdCA.certPem, etcdCert.certPem, etcdCert.keyPem!);
      await saveDataKey(this.#o.dataRoot, newDataKey());
      const listenAddr = `${listen.host}:${listen.port}`;
      const s: LocalState = {
        version: 1, nodeId, clusterId, role: 'manager', advertiseAddr: adv, listenAddr,
        managers: [`${adv}:${listen.port}`],
        etcd: { name: nodeId, endpoints: this.#o.externalEtcd?.endpoints ?? [`https://${adv}:${ETCD_CLIENT_PORT}`] },
      };
      this.#status = 'pending';
      try {
        await this.#startEtcd(s, `${nodeId}=https://${adv}:${ETCD_PEER_PORT}`, 'new');
        const store = this.#store!;
        if (await store.cluster()) throw unavailable(`the cluster store at ${s.etcd!.endpoints.join(',')} already holds a swarm`);
        const now = new Date().toISOString();
        const tokens = newJoinTokens(root.certPem);
        const cluster: Swarm = {
          ID: clusterId, Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now, Spec: defaultSwarmSpec(req.Spec),
          TLSInfo: tlsInfo(root.certPem), RootRotationInProgress: false, DataPathPort: req.DataPathPort || 4789,
          DefaultAddrPool: req.DefaultAddrPool?.length ? req.DefaultAddrPool : ['10.0.0.0/8'], SubnetSize: req.SubnetSize || 24,
          JoinTokens: { Worker: tokens.worker, Manager: tokens.manager },
        };
        const secrets: ClusterSecrets = { rootCA: root, etcdCA };
        const node: Node = {
          ID: nodeId, Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now,
          Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
          Description: this.#o.description(),
          Status: { State: 'ready', Addr: adv },
          ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: `${adv}:${listen.port}` },
        };
        const ingress = ingressNetwork(newId(), now, cluster);
        const r = await store.client.txn([{ key: KEYS.cluster, target: 'create', result: '=', value: 0 }], [
          { put: { key: KEYS.cluster, value: JSON.stringify({ ...cluster, Version: undefined }) } },
          { put: { key: KEYS.ca, value: JSON.stringify(secrets) } },
          ClusterStore.putOp('nodes', node),
          // The ingress network, as swarmkit's manager creates it on a new cluster.
          ClusterStore.putOp('networks', ingress), { put: { key: KEYS.networkNames + ingress.Spec.Name, value: ingress.ID } },
        ]);
        if (!r.succeeded) throw unavailable('the cluster store already holds a swarm');
        await saveLocalState(this.#o.dataRoot, s);
        this.#state = s;
        await this.#activate(s, { fresh: true });
        return nodeId;
      } catch (e) {
        await this.#deactivate();
        this.#state = undefined;
        this.#status = 'inactive';
        await clearLocalState(this.#o.dataRoot);
        throw e;
      }
    });
  }

  // --- join ---

  join(req: SwarmJoinRequest): Promise<void> {
    return this.#serial(async () => {
      if (this.#state) throw unavailable(SWARM_EXISTS);
      if (!Array.isArray(req.RemoteAddrs) || req.RemoteAddrs.length === 0) throw invalid('at least 1 RemoteAddr is required to join');
      parseJoinToken(req.JoinToken);
      const listen = parseAddr(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT, 'listen');
      const remotes = req.RemoteAddrs.map((a) => { const p = parseAddr(a, SWARM_PORT, 'remote'); return `${p.host}:${p.port}`; });
      this.#status = 'pending';
      let lastErr: unknown;
      for (const remote of remotes) {
        try {
          const caPem = await fetchCA(remote);
          checkCAAgainstToken(req.JoinToken, caPem);
          const adv = req.AdvertiseAddr ? parseAddr(req.AdvertiseAddr, listen.port, 'advertise').host
            : listen.host !== '0.0.0.0' ? listen.host : await localAddrTowards(remote);
          const csr = await createCSR();
          const jr: JoinRequest = {
            token: req.JoinToken, csrPem: csr.csrPem, hostname: osHostname(), advertiseAddr: adv,
            listenAddr: `${listen.host}:${listen.port}`, description: this.#o.description(),
          };
          const resp = await requestJoin(remote, caPem, jr);
          await this.#completeJoin(resp, csr.keyPem, adv, listen);
          return;
        } catch (e) {
          lastErr = e;
          if (e instanceof EngineError && e.kind !== 'Unavailable') break;
        }
      }
      this.#status = 'inactive';
      await this.#deactivate();
      this.#state = undefined;
      await clearLocalState(this.#o.dataRoot);
      throw lastErr instanceof Error ? lastErr : unavailable('could not join the swarm');
    });
  }

  async #completeJoin(resp: JoinResponse, keyPem: string, adv: string, listen: { host: string; port: number }): Promise<void> {
    await saveRootCA(certDir(this.#o.dataRoot), { certPem: resp.caCertPem });
    await saveNodeCredentials(certDir(this.#o.dataRoot), { certPem: resp.certPem, keyPem });
    const s: LocalState = {
      version: 1, nodeId: resp.nodeId, clusterId: resp.clusterId, role: resp.role, advertiseAddr: adv,
      listenAddr: `${listen.host}:${listen.port}`, managers: resp.managers.map((m) => m.Addr),
    };
    if (resp.role === 'manager') {
      if (!resp.etcd) throw new EngineError('System', 'the manager sent no etcd credentials for a manager join');
      if (resp.dataKey) await saveDataKey(this.#o.dataRoot, Buffer.from(resp.dataKey, 'base64'));
      await this.#saveEtcdTls(resp.etcd.caCertPem, resp.etcd.certPem, keyPem);
      s.etcd = { name: resp.etcd.name, endpoints: resp.etcd.endpoints };
      await this.#startEtcd(s, resp.etcd.initialCluster, 'existing');
    }
    await saveLocalState(this.#o.dataRoot, s);
    this.#state = s;
    await this.#activate(s, { fresh: true });
  }

  /** The dispatcher's /join: admits a node that presents a valid token (runs on a manager). */
  async admit(req: JoinRequest, _remote: string): Promise<JoinResponse> {
    const store = this.store();
    const cluster = await store.cluster();
    const secrets = await store.secrets();
    if (!cluster || !secrets) throw unavailable('the swarm is not initialized yet');
    if (!req || typeof req.token !== 'string' || typeof req.csrPem !== 'string') throw invalid('join: a token and a CSR are required');
    const role = roleForJoinToken({ worker: cluster.JoinTokens.Worker, manager: cluster.JoinTokens.Manager }, req.token);
    const adv = String(req.advertiseAddr ?? '');
    parseAddr(adv, SWARM_PORT, 'advertise');
    const listenPort = parseAddr(String(req.listenAddr ?? ''), SWARM_PORT, 'listen').port;
    const nodeId = newId();
    const isManager = role === MANAGER_ROLE;
    const cert = await issueNodeCertificate(secrets.rootCA, { nodeId, role, clusterId: cluster.ID, csrPem: req.csrPem, addresses: [adv] });
    const now = new Date().toISOString();
    const node: Node = {
      ID: nodeId, Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now,
      Spec: { Labels: {}, Role: isManager ? 'manager' : 'worker', Availability: req.availability ?? 'active' },
      Description: { ...(req.description ?? {}), Hostname: req.description?.Hostname ?? req.hostname },
      Status: { State: 'unknown', Addr: adv },
      ...(isManager ? { ManagerStatus: { Reachability: 'reachable' as const, Addr: `${adv}:${listenPort}` } } : {}),
    };
    await store.create('nodes', node);
    const managers = managersOf([...(await store.list('nodes'))]);
    const resp: JoinResponse = { nodeId, clusterId: cluster.ID, role: isManager ? 'manager' : 'worker', certPem: cert.certPem, caCertPem: secrets.rootCA.certPem, managers };
    if (isManager) {
      resp.etcd = await this.#etcdCredentials(nodeId, adv, req.csrPem, cluster.ID, secrets);
      if (this.#dataKey) resp.dataKey = this.#dataKey.toString('base64');
    }
    this.#log('info', `swarm: node ${nodeId} (${req.hostname}, ${adv}) joined as a ${node.Spec.Role}`);
    return resp;
  }

  /** A manager's etcd certificate (etcd CA, for the node's key) and membership: added as a member unless it is one. */
  async #etcdCredentials(nodeId: string, adv: string, csrPem: string, clusterId: string, secrets: ClusterSecrets): Promise<NonNullable<JoinResponse['etcd']>> {
    const store = this.store();
    const etcdCert = await issueNodeCertificate(secrets.etcdCA, { nodeId, role: MANAGER_ROLE, clusterId, csrPem, addresses: [adv, '127.0.0.1'] });
    if (this.#o.externalEtcd) {
      return { caCertPem: secrets.etcdCA.certPem, certPem: etcdCert.certPem, initialCluster: '', name: nodeId, endpoints: this.#o.externalEtcd.endpoints };
    }
    const peer = `https://${adv}:${ETCD_PEER_PORT}`;
    let members = await store.client.memberList();
    if (!members.some((m) => m.peerUrls.includes(peer))) {
      // Two manager joins in a row: the second waits here until the first member is healthy.
      ({ members } = await retryReconfig(() => store.client.memberAdd([peer]), 60));
    }
    const initialCluster = members.map((m) => `${m.name || nodeId}=${m.peerUrls[0]}`).join(',');
    const endpoints = [...new Set([...members.flatMap((m) => m.clientUrls), `https://${adv}:${ETCD_CLIENT_PORT}`])];
    return { caCertPem: secrets.etcdCA.certPem, certPem: etcdCert.certPem, initialCluster, name: nodeId, endpoints };
  }

  /**
   * The dispatcher's /renew (runs on a manager): a node promoted or demoted asks for a certificate
   * of its new role; a promoted one also gets its etcd credentials and is added as a member.
   */
  async renew(nodeId: string, req: RenewRequest): Promise<JoinResponse> {
    const store = this.store();
    const [cluster, secrets, node] = [await store.cluster(), await store.secrets(), await store.get('nodes', nodeId)];
    if (!cluster || !secrets) throw unavailable('the swarm is not initialized yet');
    if (!node) throw new EngineError('NotFound', `node ${nodeId} is not part of this swarm`);
    if (!req || typeof req.csrPem !== 'string') throw invalid('renew: a CSR is required');
    const adv = node.Status.Addr ?? '';
    const manager = node.Spec.Role === 'manager';
    const role = manager ? MANAGER_ROLE : WORKER_ROLE;
    const cert = await issueNodeCertificate(secrets.rootCA, { nodeId, role, clusterId: cluster.ID, csrPem: req.csrPem, addresses: [adv] });
    const resp: JoinResponse = {
      nodeId, clusterId: cluster.ID, role: manager ? 'manager' : 'worker', certPem: cert.certPem, caCertPem: secrets.rootCA.certPem,
      managers: managersOf(await store.list('nodes')),
    };
    if (manager) {
      const port = parseAddr(String(req.listenAddr ?? ''), SWARM_PORT, 'listen').port;
      await store.modify('nodes', nodeId, (n) => (n.ManagerStatus?.Addr ? undefined
        : { ...n, ManagerStatus: { Reachability: 'reachable', Addr: `${adv}:${port}` }, UpdatedAt: new Date().toISOString() }));
      resp.etcd = await this.#etcdCredentials(nodeId, adv, req.csrPem, cluster.ID, secrets);
      if (this.#dataKey) resp.dataKey = this.#dataKey.toString('base64');
    }
    this.#log('info', `swarm: node ${nodeId} renewed its certificate as a ${resp.role}`);
    return resp;
  }

  /** This node was promoted or demoted: new certificate, etcd member started or dropped, parts restarted. */
  #changeRole(target: 'worker' | 'manager'): Promise<void> {
    return this.#serial(async () => {
      const s = this.#state;
      if (!s || s.role === target || !this.#session) return;
      this.#log('info', `swarm: this node is now a ${target}`);
      const csr = await createCSR();
      const resp = await this.#session.renew({ csrPem: csr.csrPem, listenAddr: s.listenAddr });
      if (resp.role !== target) return;
      await this.#deactivate();
      await saveNodeCredentials(certDir(this.#o.dataRoot), { certPem: resp.certPem, keyPem: csr.keyPem });
      const next: LocalState = { ...s, role: target, managers: resp.managers.map((m) => m.Addr) };
      if (target === 'manager') {
        await this.#saveEtcdTls(resp.etcd!.caCertPem, resp.etcd!.certPem, csr.keyPem);
        if (resp.dataKey) await saveDataKey(this.#o.dataRoot, Buffer.from(resp.dataKey, 'base64'));
        next.etcd = { name: resp.etcd!.name, endpoints: resp.etcd!.endpoints };
        await rm(join(this.#o.dataRoot, 'swarm', 'etcd'), { recursive: true, force: true });
        await this.#startEtcd(next, resp.etcd!.initialCluster, 'existing');
      } else {
        // A removed member must never start again on its old data.
        delete next.etcd;
        await removeDataKey(this.#o.dataRoot);
        await rm(join(this.#o.dataRoot, 'swarm', 'etcd'), { recursive: true, force: true });
        await rm(etcdTlsDir(this.#o.dataRoot), { recursive: true, force: true });
      }
      await saveLocalState(this.#o.dataRoot, next);
      this.#state = next;
      await this.#activate(next, { fresh: true });
    }).catch((e: Error) => {
      this.#log('error', `swarm: changing this node's role to ${target}: ${e.message}`);
      this.#status = 'error';
      this.#error = e.message;
    });
  }

  /** A stored secret's or config's plaintext (managers only). */
  openSecret(kind: SecretKind, o: StoredSecret): Buffer {
    return openSealed(this.dataKey(), o.Sealed, `${kind}/${o.ID}`);
  }

  /** Removes a demoted manager's etcd member (runs on the manager serving the demote). */
  async removeMember(nodeId: string): Promise<void> {
    if (this.#o.externalEtcd) return;
    const c = this.store().client;
    const members = await c.memberList();
    const me = members.find((m) => m.name === nodeId);
    // The only member is never removed: that is the last manager, whose leave erases the data.
    if (!me || members.length <= 1) return;
    await retryReconfig(() => c.memberRemove(me.id), 20);
  }

  // --- leave ---

  leave(force: boolean): Promise<void> {
    return this.#serial(async () => {
      const s = this.#state;
      if (!s) throw unavailable(NOT_IN_SWARM);
      if (s.role === 'manager' && !force) {
        // Quorum is etcd's: count its members (a manager that left is no member any more, though
        // its node stays listed as down until `node rm`, as in Docker).
        const alive = this.#cache?.alive ?? new Set<string>();
        if (this.#o.externalEtcd) {
          // The store's quorum is not ours to lose: only the last reachable manager is warned.
          const others = [...(this.#cache?.nodes.values() ?? [])].filter((n) => n.Spec.Role === 'manager' && n.ID !== s.nodeId && alive.has(n.ID));
          if (others.length === 0) throw unavailable(LAST_MANAGER);
        }
        const members = !this.#client || this.#o.externalEtcd ? [{ name: '' }, { name: '' }] : await this.#client.memberList().catch(() => []);
        if (members.length <= 1) throw unavailable(LAST_MANAGER);
        const reachable = members.filter((m) => alive.has(m.name)).length;
        if (!this.#o.externalEtcd && reachable - 1 <= Math.floor(members.length / 2)) {
          throw unavailable(`You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${reachable - 1} managers out of ${members.length}. Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`);
        }
      }
      // Tell the cluster first, while this node still has its credentials: best effort, a node
      // that cannot reach any manager still leaves (the leader marks it down when its lease lapses).
      await this.#session?.leave().catch((e: Error) => this.#log('warn', `swarm leave: telling the managers: ${e.message}`));
      if (s.role === 'manager' && this.#client && s.etcd && !this.#o.externalEtcd) {
        await this.removeMember(s.etcd.name).catch((e: Error) => this.#log('warn', `swarm leave: removing the etcd member: ${e.message}`));
      }
      if (s.role === 'manager' && this.#client && this.#o.externalEtcd) {
        // The last (reachable) manager erases the swarm, as in Docker: with an embedded member its
        // data dir goes below; an external store keeps keys that a later init would trip over.
        const managers = [...(this.#cache?.nodes.values() ?? [])].filter((n) => n.Spec.Role === 'manager' && n.ID !== s.nodeId && this.#cache?.alive.has(n.ID));
        if (managers.length === 0) await this.#client.delete(KEYS_ROOT, { prefix: true }).catch((e: Error) => this.#log('warn', `swarm leave: erasing the cluster state: ${e.message}`));
      }
      await this.#deactivate();
      await this.#o.removeTaskContainers().catch((e: Error) => this.#log('warn', `swarm leave: removing task containers: ${e.message}`));
      this.#state = undefined;
      this.#status = 'inactive';
      this.#error = '';
      this.#managers = [];
      await clearLocalState(this.#o.dataRoot);
    });
  }

  // --- update (swarm update, join-token --rotate) ---

  async update(spec: SwarmSpec, o: { version: number; rotateWorkerToken: boolean; rotateManagerToken: boolean; rotateManagerUnlockKey: boolean }): Promise<void> {
    const store = this.store();
    const cur = await store.cluster();
    if (!cur) throw unavailable(NOT_IN_SWARM);
    if (cur.Version.Index !== o.version) throw invalid('rpc error: code = Unknown desc = update out of sequence');
    if (spec.EncryptionConfig?.AutoLockManagers) throw new EngineError('NotImplemented', 'autolock is not supported by berth yet: the managers\' keys are kept in the cluster store');
    let tokens = { worker: cur.JoinTokens.Worker, manager: cur.JoinTokens.Manager };
    if (o.rotateWorkerToken) tokens = rotateJoinToken(tokens, WORKER_ROLE, (await store.secrets())!.rootCA.certPem);
    if (o.rotateManagerToken) tokens = rotateJoinToken(tokens, MANAGER_ROLE, (await store.secrets())!.rootCA.certPem);
    const next: Swarm = {
      ...cur, Spec: { ...defaultSwarmSpec(spec), Name: cur.Spec.Name ?? 'default' }, UpdatedAt: new Date().toISOString(),
      JoinTokens: { Worker: tokens.worker, Manager: tokens.manager },
    };
    const r = await store.client.txn([{ key: KEYS.cluster, target: 'mod', result: '=', value: o.version }],
      [{ put: { key: KEYS.cluster, value: JSON.stringify({ ...next, Version: undefined }) } }]);
    if (!r.succeeded) throw invalid('rpc error: code = Unknown desc = update out of sequence');
  }

  async inspect(): Promise<Swarm> {
    const c = await this.store().cluster();
    if (!c) throw unavailable(NOT_IN_SWARM);
    return c;
  }

  // --- the running parts ---

  async #saveEtcdTls(caPem: string, certPem: string, keyPem: string): Promise<void> {
    const dir = etcdTlsDir(this.#o.dataRoot);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'ca.crt'), caPem, 0o644);
    await writeFileAtomic(join(dir, 'member.key'), keyPem, 0o600);
    await writeFileAtomic(join(dir, 'member.crt'), certPem, 0o644);
  }

  async #startEtcd(s: LocalState, initialCluster: string, state: 'new' | 'existing'): Promise<void> {
    const dir = etcdTlsDir(this.#o.dataRoot);
    const tls = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'member.crt'), keyFile: join(dir, 'member.key') };
    if (!this.#o.externalEtcd) {
      this.#member = new EtcdMember({
        dataRoot: this.#o.dataRoot, name: s.etcd?.name ?? s.nodeId,
        clientUrls: [`https://${s.advertiseAddr}:${ETCD_CLIENT_PORT}`], peerUrls: [`https://${s.advertiseAddr}:${ETCD_PEER_PORT}`],
        initialCluster: initialCluster || `${s.nodeId}=https://${s.advertiseAddr}:${ETCD_PEER_PORT}`, initialClusterState: state, tls,
        binary: this.#o.etcdBinary, log: (m) => this.#log('info', `swarm: etcd: ${m}`),
      });
      await this.#member.start();
    }
    const { readFile } = await import('node:fs/promises');
    const ext = this.#o.externalEtcd;
    // This member first, then the others: requests go where they are cheapest while it is up.
    const own = ext?.endpoints ?? [`https://${s.advertiseAddr}:${ETCD_CLIENT_PORT}`];
    const endpoints = ext ? ext.endpoints : [...new Set([...own, ...(s.etcd?.endpoints ?? [])])];
    const files = ext ? ext.tls : tls;
    this.#client = new EtcdClient({
      endpoints,
      tls: files ? { ca: await readFile(files.caFile), cert: await readFile(files.certFile), key: await readFile(files.keyFile) } : undefined,
      timeoutMs: 5000,
    });
    this.#store = new ClusterStore(this.#client);
  }

  async #activate(s: LocalState, o: { fresh: boolean }): Promise<void> {
    const creds = await loadNodeCredentials(certDir(this.#o.dataRoot));
    const root = (await loadRootCA(certDir(this.#o.dataRoot))) as RootCA | { certPem: string } | undefined;
    if (!creds || !root) throw new EngineError('System', 'the swarm certificates are missing from the data root');
    this.#tls = { caCertPem: root.certPem, certPem: creds.certPem, keyPem: creds.keyPem };
    this.#dataKey = s.role === 'manager' ? await loadDataKey(this.#o.dataRoot) : undefined;
    if (s.role === 'manager') {
      if (!o.fresh || !this.#store) await this.#startEtcd(s, '', 'existing');
      this.#cache = new ClusterCache(this.#client!, this.#log);
      await this.#cache.start();
      const listen = parseAddr(s.listenAddr, SWARM_PORT);
      this.#dispatcher = new Dispatcher({
        store: this.#store!, cache: this.#cache, caCertPem: root.certPem, certPem: creds.certPem, keyPem: creds.keyPem,
        host: listen.host, port: listen.port, join: (req, remote) => this.admit(req, remote),
        renew: (id, req) => this.renew(id, req), log: this.#log,
        open: (kind, o) => this.openSecret(kind, o),
      });
      await this.#dispatcher.listen();
      this.#election = new Election({
        client: this.#client!, prefix: KEYS.leader, nodeId: s.nodeId, ttlSeconds: 3,
        onLost: (e) => { this.#log('warn', `swarm: orchestrator leadership lost: ${e.message}`); void this.#stopLeader().then(() => this.#campaign()); },
      });
      this.#observer = this.#election.observe((id) => { this.#leaderId = id; }, () => { /* the observer reconnects itself */ });
      void this.#campaign();
    }
    this.#agent = this.#o.agent(s.nodeId, { report: (id, st) => this.#session!.report(id, st) });
    this.#session = new DispatcherSession({
      managers: s.managers, tls: this.#tls, description: this.#o.description, log: this.#log,
      onMessage: (m) => this.#onSession(m),
    });
    await this.#agent.start();
    this.#session.start();
    this.#status = 'active';
    this.#error = '';
  }

  /** A standalone container's address on an attachable cluster network, from the cluster (the node's session). */
  async attachNetwork(ref: string, containerId: string, name: string): Promise<NetworkAttachment> {
    if (!this.#session) throw new EngineError('NotFound', `network ${ref} not found`);
    return this.#session.attach(ref, containerId, name);
  }

  /** Gives a standalone container's address back (best effort when the node left). */
  async detachNetwork(containerId: string, networkId: string): Promise<void> {
    await this.#session?.detach(networkId, containerId);
  }

  /** The node takes part in a swarm (its session with the managers is up or being re-established). */
  get inSwarm(): boolean { return !!this.#session; }

  #onSession(m: SessionMessage): void {
    if (m.managers?.length) {
      this.#managers = m.managers;
      const addrs = m.managers.map((x) => x.Addr);
      const s = this.#state;
      if (s && JSON.stringify(addrs) !== JSON.stringify(s.managers)) {
        s.managers = addrs;
        void saveLocalState(this.#o.dataRoot, s).catch((e: Error) => this.#log('warn', `swarm: saving the manager list: ${e.message}`));
      }
    }
    if (m.networks) this.#o.onNetworks?.(m.networks);
    if (m.assignments) {
      this.#agent?.setMaterial?.({ secrets: m.secrets ?? [], configs: m.configs ?? [] });
      this.#agent?.setAssignments(m.assignments);
    }
    if (m.role && this.#state && m.role !== this.#state.role) void this.#changeRole(m.role);
    for (const r of m.logRequests ?? []) this.#uploadLogs(r);
  }

  #uploadLogs(r: LogRequest): void {
    if (!this.#o.serveLogs || !this.#tls) return;
    const ac = new AbortController();
    try {
      uploadLogs(r.replyTo, r.id, this.#tls, this.#o.serveLogs(r, ac.signal), () => ac.abort());
    } catch (e) {
      this.#log('warn', `swarm: sending task logs to ${r.replyTo}: ${(e as Error).message}`);
    }
  }

  /**
   * The logs of tasks on another node: a log request through the store to whichever manager holds
   * that node's session, and the node's upload to this manager's dispatcher.
   */
  async relayLogs(nodeId: string, tasks: LogTask[], options: WireLogOptions): Promise<Readable> {
    const d = this.#dispatcher;
    const s = this.#state;
    const client = this.#client;
    if (!d || !s || !client) throw unavailable(NOT_A_MANAGER);
    const id = newId();
    const key = KEYS.logRequests + id;
    const upload = d.awaitLogs(id, nodeId);
    upload.catch(() => { /* awaited below; marked handled for the paths that throw before */ });
    const lease = await client.leaseGrant(30);
    const req: LogRequest = { id, nodeId, replyTo: `${s.advertiseAddr}:${parseAddr(s.listenAddr, SWARM_PORT).port}`, tasks, options };
    try {
      await client.put(key, JSON.stringify(req), { lease: lease.id });
      return await upload;
    } finally {
      // Done with as soon as the node connected (or did not): the lease is the backstop.
      void client.leaseRevoke(lease.id).catch(() => { /* expires on its own */ });
    }
  }

  async #campaign(): Promise<void> {
    const el = this.#election;
    if (!el || this.#closed) return;
    for (let attempt = 0; this.#election === el && !this.#closed; attempt++) {
      try {
        await el.campaign();
        if (this.#election !== el) return;
        this.#log('info', 'swarm: this manager now leads the orchestration');
        this.#leader = this.#o.leader({ cache: this.#cache!, election: el, store: this.#store!, nodeId: this.#state!.nodeId });
        this.#leader.start();
        return;
      } catch (e) {
        if (this.#election !== el) return;
        this.#log('debug', `swarm: campaign: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(3000, 250 * 2 ** Math.min(attempt, 4))));
      }
    }
  }

  async #stopLeader(): Promise<void> {
    const l = this.#leader;
    this.#leader = undefined;
    await l?.stop().catch((e: Error) => this.#log('warn', `swarm: stopping the orchestrator: ${e.message}`));
  }

  async #deactivate(): Promise<void> {
    const quiet = (what: string) => (e: Error) => this.#log('warn', `swarm: stopping ${what}: ${e.message}`);
    await this.#session?.close().catch(quiet('the dispatcher session'));
    this.#session = undefined;
    await this.#agent?.close().catch(quiet('the agent'));
    this.#agent = undefined;
    await this.#stopLeader();
    this.#observer?.cancel();
    this.#observer = undefined;
    const el = this.#election;
    this.#election = undefined;
    if (el) { await el.resign().catch(() => { /* the lease expires on its own */ }); el.close(); }
    await this.#dispatcher?.close().catch(quiet('the dispatcher'));
    this.#dispatcher = undefined;
    this.#cache?.close();
    this.#cache = undefined;
    this.#client?.close();
    this.#client = undefined;
    this.#store = undefined;
    this.#dataKey = undefined;
    await this.#member?.stop().catch(quiet('the etcd member'));
    this.#member = undefined;
  }

}

/**
 * etcd refuses a membership change that could cost quorum while a member joined only moments ago
 * ("unhealthy cluster", or "not enough started members": its strict reconfig check); such a
 * change succeeds once the new member has caught up, so it is retried every 500 ms, bounded.
 */
async function retryReconfig<T>(f: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 0; ; i++) {
    try { return await f(); } catch (e) {
      if (i >= attempts || !/unhealthy cluster|not enough started members/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function tlsInfo(caPem: string): Swarm['TLSInfo'] {
  return { TrustRoot: caPem, CertIssuerSubject: '', CertIssuerPublicKey: '' };
}

/** The local address the kernel picks to reach `remote` (Docker's advertise default on join). */
function localAddrTowards(remote: string): Promise<string> {
  const { host, port } = parseAddr(remote, SWARM_PORT, 'remote');
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host, port, timeout: 5000 }, () => { const a = sock.localAddress; sock.destroy(); a ? resolve(a) : reject(invalid('could not find the local address')); });
    sock.on('error', (e) => reject(unavailable(`could not reach ${remote}: ${e.message}`)));
    sock.on('timeout', () => { sock.destroy(); reject(unavailable(`timeout connecting to ${remote}`)); });
  });
}
