// The swarm routes (/swarm, /nodes, /services, /tasks, /secrets, /configs), thin handlers over
// the SwarmBackend. The router answers as dockerd's swarm router and daemon/cluster do: which
// node may serve a call (manager-only calls on a worker or outside a swarm are 503s with
// dockerd's texts, which clients rely on: docker-py's `leave_swarm(force=True)` swallows only the
// 503 of /swarm/leave, `docker node ls` prints the text), how a reference is resolved and a list
// filtered (objects.ts), and the query parsing (`version`, `status`, `insertDefaults`,
// `rollback`). Secrets and configs: the same manager checks, references and filters.
import type { Readable } from 'node:stream';
import { EngineError, invalid, unavailable } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import { parseTimestamp } from '../../../common/units.ts';
import { apiAtLeast, MULTIPLEXED_STREAM, RAW_STREAM, readJsonBody, sendEmpty, sendJson, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import { versionBefore } from '../../version.ts';
import type { NodeSpec, SecretKind, SecretSpec, Service, ServiceSpec, SwarmInitRequest, SwarmJoinRequest, SwarmSpec } from '../../types/swarm.ts';
import type { LogsOptions, SwarmBackend } from './backend.ts';
import {
  filterNodes, filterSecrets, filterServices, filterTasks, parseObjectVersion, resolveNode, resolveSecret, resolveService, resolveTask, serviceStatus,
} from './objects.ts';

// dockerd's texts live with the wire types (the controller raises some of them too).
export { LEAVE_LOCKED, MANAGER_NOT_READY, NOT_A_MANAGER, NOT_IN_SWARM, SWARM_EXISTS, SWARM_LOCKED, WORKER_NOT_MANAGER } from '../../types/swarm.ts';
import { LEAVE_LOCKED, MANAGER_NOT_READY, NOT_A_MANAGER, NOT_IN_SWARM, SWARM_EXISTS, SWARM_LOCKED, WORKER_NOT_MANAGER } from '../../types/swarm.ts';

/** The error a manager-only call gets on this node, or undefined when it may serve it. */
export function managerError(b: Pick<SwarmBackend, 'info' | 'isManager'>): EngineError | undefined {
  const info = b.info();
  if (info.LocalNodeState === 'locked') return unavailable(SWARM_LOCKED);
  if (b.isManager()) return undefined;
  if (info.LocalNodeState !== 'active') return unavailable(NOT_A_MANAGER);
  // An active node listed among the managers is one that cannot serve yet.
  if (info.RemoteManagers?.some((m) => m.NodeID === info.NodeID)) return unavailable(MANAGER_NOT_READY);
  return unavailable(WORKER_NOT_MANAGER);
}

/** Go's strconv.ParseBool; undefined for what it refuses. */
function goParseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** A strict flag (moby: strconv.ParseBool when given): absent or empty → false; else 400 "invalid value for <name>: <v>". */
function parseBoolQuery(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  const b = goParseBool(v);
  if (b === undefined) throw invalid(`invalid value for ${name}: ${v}`);
  return b;
}

/** `status` and `insertDefaults`: ParseBool, with moby's wrapped error text. */
function parseBoolWrapped(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  const b = goParseBool(v);
  if (b === undefined) throw invalid(`invalid value for ${name}: ${v}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
  return b;
}

/** moby's httputils.BoolValue (force, the logs flags): anything but "", 0, no, false, none is true. */
function boolValue(q: URLSearchParams, name: string): boolean {
  return !['', '0', 'no', 'false', 'none'].includes((q.get(name) ?? '').trim().toLowerCase());
}

/** The body must be a JSON object (Go's decoder refuses anything else for a struct). */
function objectBody<T>(v: unknown, goType: string): T {
  if (v === null) return {} as T;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type ${goType}`);
  return v as T;
}

const registryAuth = (ctx: Ctx): string | undefined => {
  const h = ctx.req.headers['x-registry-auth'];
  return typeof h === 'string' && h !== '' ? h : undefined;
};

export function swarmRoutes(b: SwarmBackend): Route[] {
  const guard = () => { const e = managerError(b); if (e) throw e; };
  /**
   * A manager-only route: the node check, then `prepare` (body, query), then `run`. dockerd parses
   * some queries (an update's `version`, the logs' streams) before it asks the cluster, so a
   * non-manager answers bad input there with a 400 rather than the 503; berth answers every call
   * of a node that cannot serve it with the 503, whatever the input (what clients act on).
   */
  const manager = <T>(method: string, path: string, prepare: (ctx: Ctx) => Promise<T> | T, run: (ctx: Ctx, p: T) => Promise<void>): Route => ({
    method, path, handler: async (ctx) => { guard(); const p = await prepare(ctx); await run(ctx, p); },
  });
  const none = () => undefined;
  const filtersOf = (ctx: Ctx) => parseFilters(ctx.query.get('filters') ?? undefined);
  /** /secrets and /configs: the same routes over either kind. */
  const secretRoutes = (kind: SecretKind): Route[] => {
    const path = `/${kind}s`;
    const goType = kind === 'secret' ? 'swarm.SecretSpec' : 'swarm.ConfigSpec';
    const create = kind === 'secret' ? 'SecretCreate' : 'ConfigCreate';
    const update = kind === 'secret' ? 'SecretUpdate' : 'ConfigUpdate';
    const resolveId = async (ref: string) => resolveSecret(kind, await b.secrets(kind), ref).ID;
    return [
      manager('GET', path, filtersOf, async (ctx, f) => sendJson(ctx, 200, filterSecrets(await b.secrets(kind), f))),
      manager('POST', `${path}/create`, async (ctx) => objectBody<SecretSpec>(await readJsonBody(ctx, { optional: true, schema: create }), goType),
        async (ctx, spec) => sendJson(ctx, 201, await b.createSecret(kind, spec))),
      manager('GET', `${path}/{id}`, none, async (ctx) => sendJson(ctx, 200, resolveSecret(kind, await b.secrets(kind), ctx.params.id))),
      manager('DELETE', `${path}/{id}`, none, async (ctx) => {
        await b.removeSecret(kind, await resolveId(ctx.params.id));
        sendEmpty(ctx, 204);
      }),
      manager('POST', `${path}/{id}/update`, async (ctx) => ({
        spec: objectBody<SecretSpec>(await readJsonBody(ctx, { optional: true, schema: update }), goType),
        version: parseObjectVersion(ctx.query.get('version'), kind),
      }), async (ctx, p) => {
        await b.updateSecret(kind, await resolveId(ctx.params.id), p.version, p.spec);
        sendEmpty(ctx, 200);
      }),
    ];
  };

  return [
    // ----- /swarm -----
    manager('GET', '/swarm', none, async (ctx) => sendJson(ctx, 200, await b.inspect())),
    {
      method: 'POST', path: '/swarm/init', handler: async (ctx) => {
        const req = objectBody<SwarmInitRequest>(await readJsonBody(ctx, { optional: true, schema: 'SwarmInit' }), 'swarm.InitRequest');
        // dockerd ignores what older API versions did not have (DefaultAddrPool, SubnetSize: 1.39; DataPathPort: 1.40).
        if (versionBefore(ctx, '1.39')) { delete req.DefaultAddrPool; delete req.SubnetSize; }
        if (versionBefore(ctx, '1.40')) delete req.DataPathPort;
        // ForceNewCluster re-initialises the node's own swarm (disaster recovery): the backend's call.
        if (b.info().LocalNodeState !== 'inactive' && !req.ForceNewCluster) throw unavailable(SWARM_EXISTS);
        sendJson(ctx, 200, await b.init(req));
      },
    },
    {
      method: 'POST', path: '/swarm/join', handler: async (ctx) => {
        const req = objectBody<SwarmJoinRequest>(await readJsonBody(ctx, { optional: true, schema: 'SwarmJoin' }), 'swarm.JoinRequest');
        if (b.info().LocalNodeState !== 'inactive') throw unavailable(SWARM_EXISTS);
        await b.join(req);
        sendEmpty(ctx, 200);
      },
    },
    {
      method: 'POST', path: '/swarm/leave', handler: async (ctx) => {
        const force = boolValue(ctx.query, 'force');
        const st = b.info().LocalNodeState;
        if (st === 'inactive') throw unavailable(NOT_IN_SWARM);
        if (st === 'locked' && !force) throw unavailable(LEAVE_LOCKED);
        await b.leave(force);
        sendEmpty(ctx, 200);
      },
    },
    manager('POST', '/swarm/update', async (ctx) => {
      const spec = objectBody<SwarmSpec>(await readJsonBody(ctx, { optional: true, schema: 'SwarmUpdate' }), 'swarm.Spec');
      const q = ctx.query;
      return {
        spec,
        o: {
          version: parseObjectVersion(q.get('version'), 'swarm'),
          rotateWorkerToken: parseBoolQuery(q, 'rotateWorkerToken'),
          rotateManagerToken: parseBoolQuery(q, 'rotateManagerToken'),
          rotateManagerUnlockKey: parseBoolQuery(q, 'rotateManagerUnlockKey'),
        },
      };
    }, async (ctx, p) => { await b.update(p.spec, p.o); sendEmpty(ctx, 200); }),
    manager('GET', '/swarm/unlockkey', none, async (ctx) => sendJson(ctx, 200, { UnlockKey: await b.unlockKey() })),
    {
      method: 'POST', path: '/swarm/unlock', handler: async (ctx) => {
        const body = objectBody<{ UnlockKey?: unknown }>(await readJsonBody(ctx, { optional: true, schema: 'SwarmUnlock' }), 'swarm.UnlockRequest');
        if (body.UnlockKey !== undefined && typeof body.UnlockKey !== 'string') throw invalid('json: cannot unmarshal into Go struct field UnlockRequest.UnlockKey of type string');
        // A locked node is what unlock is for; an unlocked manager gets the backend's "not locked".
        if (b.info().LocalNodeState !== 'locked') guard();
        await b.unlock(body.UnlockKey ?? '');
        sendEmpty(ctx, 200);
      },
    },

    // ----- /nodes -----
    manager('GET', '/nodes', filtersOf, async (ctx, f) => sendJson(ctx, 200, filterNodes(await b.nodes(), f))),
    manager('GET', '/nodes/{id}', none, async (ctx) => sendJson(ctx, 200, resolveNode(await b.nodes(), ctx.params.id))),
    manager('DELETE', '/nodes/{id}', (ctx) => boolValue(ctx.query, 'force'), async (ctx, force) => {
      await b.removeNode(resolveNode(await b.nodes(), ctx.params.id).ID, force);
      sendEmpty(ctx, 200);
    }),
    manager('POST', '/nodes/{id}/update', async (ctx) => ({
      spec: objectBody<NodeSpec>(await readJsonBody(ctx, { optional: true, schema: 'NodeUpdate' }), 'swarm.NodeSpec'),
      version: parseObjectVersion(ctx.query.get('version'), 'node'),
    }), async (ctx, p) => {
      await b.updateNode(resolveNode(await b.nodes(), ctx.params.id).ID, p.version, p.spec);
      sendEmpty(ctx, 200);
    }),

    // ----- /services -----
    manager('GET', '/services', (ctx) => {
      // `status` is API 1.41's; older clients get none, whatever they send.
      const raw = ctx.query.get('status');
      const status = raw !== null && raw !== '' && !versionBefore(ctx, '1.41') ? parseBoolWrapped(ctx.query, 'status') : false;
      return { f: filtersOf(ctx), status };
    }, async (ctx, p) => {
      const services = filterServices(await b.services(), p.f);
      if (!p.status) return sendJson(ctx, 200, services);
      const [tasks, nodes] = await Promise.all([b.tasks(), b.nodes()]);
      sendJson(ctx, 200, services.map((s) => ({ ...s, ServiceStatus: serviceStatus(s, tasks, nodes) })));
    }),
    manager('POST', '/services/create', async (ctx) => objectBody<ServiceSpec>(await readJsonBody(ctx, { optional: true, schema: 'ServiceCreate' }), 'swarm.ServiceSpec'),
      async (ctx, spec) => {
        const r = await b.createService(spec, registryAuth(ctx));
        sendJson(ctx, 201, { ID: r.ID, Warnings: r.Warnings ?? null });
      }),
    manager('GET', '/services/{id}', (ctx) => parseBoolWrapped(ctx.query, 'insertDefaults'), async (ctx, insertDefaults) => {
      const s = resolveService(await b.services(), ctx.params.id);
      sendJson(ctx, 200, insertDefaults ? withDefaults(s, b) : s);
    }),
    manager('DELETE', '/services/{id}', none, async (ctx) => {
      await b.removeService(resolveService(await b.services(), ctx.params.id).ID);
      sendEmpty(ctx, 200);
    }),
    manager('POST', '/services/{id}/update', async (ctx) => {
      const spec = objectBody<ServiceSpec>(await readJsonBody(ctx, { optional: true, schema: 'ServiceUpdate' }), 'swarm.ServiceSpec');
      const version = parseObjectVersion(ctx.query.get('version'), 'service');
      // moby: rollback=previous goes back to PreviousSpec; any other value is a plain update.
      const rollback = ctx.query.get('rollback') === 'previous';
      return { spec, version, rollback };
    }, async (ctx, p) => {
      const id = resolveService(await b.services(), ctx.params.id).ID;
      const r = await b.updateService(id, p.version, p.spec, { rollback: p.rollback, registryAuth: registryAuth(ctx) });
      sendJson(ctx, 200, { Warnings: r.Warnings ?? null });
    }),
    manager('GET', '/services/{id}/logs', logsOptions, async (ctx, o) => {
      const s = resolveService(await b.services(), ctx.params.id);
      await streamLogs(ctx, await b.logs({ service: s.ID }, o), hasTty(s));
    }),

    // ----- /tasks -----
    manager('GET', '/tasks', filtersOf, async (ctx, f) => {
      const [tasks, services, nodes] = await Promise.all([b.tasks(), b.services(), b.nodes()]);
      sendJson(ctx, 200, filterTasks(tasks, f, { services, nodes }));
    }),
    manager('GET', '/tasks/{id}', none, async (ctx) => {
      const [tasks, services] = await Promise.all([b.tasks(), b.services()]);
      sendJson(ctx, 200, resolveTask(tasks, services, ctx.params.id));
    }),
    manager('GET', '/tasks/{id}/logs', logsOptions, async (ctx, o) => {
      const [tasks, services] = await Promise.all([b.tasks(), b.services()]);
      const t = resolveTask(tasks, services, ctx.params.id);
      await streamLogs(ctx, await b.logs({ task: t.ID }, o), hasTty({ Spec: { TaskTemplate: t.Spec } } as Service));
    }),

    ...secretRoutes('secret'),
    ...secretRoutes('config'),
  ];
}

/** `?insertDefaults=true`: the service with its spec (and previous spec) filled in by the backend. */
function withDefaults(s: Service, b: SwarmBackend): Service {
  if (!b.serviceDefaults) return s;
  return { ...s, Spec: b.serviceDefaults(s.Spec), ...(s.PreviousSpec ? { PreviousSpec: b.serviceDefaults(s.PreviousSpec) } : {}) };
}

const hasTty = (s: Pick<Service, 'Spec'>): boolean => (s.Spec.TaskTemplate?.ContainerSpec as { TTY?: boolean } | undefined)?.TTY === true;

/** The logs query as moby's router reads it (the container logs' rules: at least one stream). */
function logsOptions(ctx: Ctx): LogsOptions {
  const q = ctx.query;
  const stdout = boolValue(q, 'stdout');
  const stderr = boolValue(q, 'stderr');
  if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
  const now = Date.now() / 1000;
  const ts = (name: string) => {
    const v = q.get(name);
    return v && v !== '0' ? BigInt(Math.floor(parseTimestamp(v, now) * 1e9)) : undefined;
  };
  const tailRaw = q.get('tail') ?? 'all';
  const tail = tailRaw === 'all' || tailRaw === '' ? -1 : Number(tailRaw);
  if (!Number.isInteger(tail)) throw invalid(`invalid value for tail: ${tailRaw}`);
  return {
    stdout, stderr, sinceNs: ts('since'), untilNs: ts('until'), tail, follow: boolValue(q, 'follow'),
    timestamps: boolValue(q, 'timestamps'), details: boolValue(q, 'details'), signal: ctx.signal,
  };
}

/** Sends the backend's ready-framed log body; errors after the headers end the stream. */
async function streamLogs(ctx: Ctx, body: Readable, tty: boolean): Promise<void> {
  const res = startStream(ctx, !tty && apiAtLeast(ctx, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
  try {
    for await (const chunk of body) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      if (ctx.signal.aborted) break;
    }
  } finally {
    body.destroy();
    res.end();
  }
}
