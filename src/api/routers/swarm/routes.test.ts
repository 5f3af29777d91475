// The swarm router against a fake cluster (src/api/inject.ts): which node may serve which call
// (dockerd's 503 texts), reference resolution, filters, status, version parsing, and what reaches
// the backend.
import { test, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { conflict } from '../../../common/errors.ts';
import type { Node, SecretObject, Service, ServiceSpec, SwarmInfo, Task } from '../../types/swarm.ts';
import { injector } from '../../inject.ts';
import type { SwarmBackend } from './backend.ts';
import { MANAGER_NOT_READY, NOT_A_MANAGER, NOT_IN_SWARM, SWARM_EXISTS, SWARM_LOCKED, WORKER_NOT_MANAGER, swarmRoutes } from './routes.ts';

const TS = '2026-12-06T18:00:00Z';
const node = (ID: string, Hostname: string, o: Partial<Node> = {}): Node => ({
  ID, Version: { Index: 3 }, Spec: { Availability: 'active', Role: 'worker', Labels: {} }, Description: { Hostname, Engine: { Labels: {} } },
  Status: { State: 'ready', Addr: '10.0.0.1' }, ...o,
});
const TEMPLATE = { ContainerSpec: { Image: 'busybox' }, ForceUpdate: 0 };
const service = (ID: string, Name: string, Spec: Partial<ServiceSpec> = {}): Service => ({
  ID, Version: { Index: 7 }, CreatedAt: TS, UpdatedAt: TS,
  Spec: { Name, Labels: {}, TaskTemplate: structuredClone(TEMPLATE), Mode: { Replicated: { Replicas: 2 } }, ...Spec },
});
const task = (ID: string, ServiceID: string, o: Partial<Task> = {}): Task => ({
  ID, Version: { Index: 9 }, ServiceID, Slot: 1, NodeID: 'n1', Spec: structuredClone(TEMPLATE),
  Status: { Timestamp: TS, State: 'running' }, DesiredState: 'running', ...o,
});

const NODES = [
  node('n1aaaa', 'alpha', { Spec: { Availability: 'active', Role: 'manager', Labels: { zone: 'a' } }, ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' } }),
  node('n2bbbb', 'beta', { Description: { Hostname: 'beta', Engine: { Labels: { disk: 'ssd' } } } }),
  node('n2cccc', 'gamma', { Status: { State: 'down' } }),
];
const SERVICES = [
  service('s1web00', 'web', { Labels: { tier: 'front' } }),
  service('s2db000', 'db', { Mode: { Global: {} } }),
];
const TASKS = [
  task('t1', 's1web00', { NodeID: 'n1aaaa' }),
  task('t2', 's1web00', { Slot: 2, NodeID: 'n2cccc' }), // running, but on a down node
  task('t3', 's1web00', { Slot: 1, DesiredState: 'shutdown', Status: { Timestamp: TS, State: 'shutdown' }, NodeID: 'n1aaaa' }),
  task('t4', 's2db000', { Slot: undefined, NodeID: 'n2bbbb', Spec: { ContainerSpec: { Image: 'postgres' } } }),
  task('t5', 's2db000', { Slot: undefined, NodeID: 'n1aaaa', Status: { Timestamp: TS, State: 'preparing' } }),
];

const SECRETS: SecretObject[] = [
  { ID: 'sec1aaaa', Version: { Index: 3 }, CreatedAt: TS, UpdatedAt: TS, Spec: { Name: 'db_password', Labels: { env: 'prod' } } },
  { ID: 'sec2bbbb', Version: { Index: 4 }, CreatedAt: TS, UpdatedAt: TS, Spec: { Name: 'api_key', Labels: {} } },
];

const ACTIVE_MANAGER: SwarmInfo = { NodeID: 'n1aaaa', NodeAddr: '10.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: [{ NodeID: 'n1aaaa', Addr: '10.0.0.1:2377' }] };
const INACTIVE: SwarmInfo = { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
let state: SwarmInfo = ACTIVE_MANAGER;
const seen: { op: string; args: unknown[] }[] = [];
const rec = (op: string, ...args: unknown[]) => { seen.push({ op, args }); };

const backend: SwarmBackend = {
  info: () => state,
  isManager: () => state.ControlAvailable,
  inspect: async () => ({ ID: 'c1' } as never),
  init: async (req) => { rec('init', req); return 'newnode'; },
  join: async (req) => { rec('join', req); },
  leave: async (force) => { rec('leave', force); },
  update: async (spec, o) => { rec('update', spec, o); },
  unlockKey: async () => 'SWMKEY-1-abc',
  unlock: async (key) => { rec('unlock', key); },
  nodes: async () => structuredClone(NODES),
  updateNode: async (id, version, spec) => { if (version !== 3) throw conflict('update out of sequence'); rec('updateNode', id, version, spec); },
  removeNode: async (id, force) => { rec('removeNode', id, force); },
  services: async () => structuredClone(SERVICES),
  tasks: async () => structuredClone(TASKS),
  createService: async (spec, auth) => { rec('createService', spec, auth); return { ID: 'snew' }; },
  updateService: async (id, version, spec, o) => { rec('updateService', id, version, spec, o); return { Warnings: null }; },
  removeService: async (id) => { rec('removeService', id); },
  logs: async (target, o) => { rec('logs', target, { ...o, signal: undefined }); return Readable.from([Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('hi\n')]); },
  serviceDefaults: (spec) => ({ ...spec, UpdateConfig: { Parallelism: 1 } }),
  secrets: async (kind) => structuredClone(kind === 'secret' ? SECRETS : []),
  createSecret: async (kind, spec) => { rec('createSecret', kind, spec); return { ID: 'xnew' }; },
  updateSecret: async (kind, id, version, spec) => { rec('updateSecret', kind, id, version, spec); },
  removeSecret: async (kind, id) => { rec('removeSecret', kind, id); },
};

const api = await injector(swarmRoutes(backend));
after(() => api.close());
beforeEach(() => { state = ACTIVE_MANAGER; seen.length = 0; });

const q = (f: Record<string, string[]>) => 'filters=' + encodeURIComponent(JSON.stringify(f));
const ids = (r: { json: () => { ID: string }[] }) => r.json().map((o) => o.ID);

test('outside a swarm: manager-only calls 503 with dockerd\'s text, leave 503 "not part of a swarm", init and join reach the backend', async () => {
  state = INACTIVE;
  for (const [m, p] of [['GET', '/swarm'], ['GET', '/nodes'], ['GET', '/services'], ['GET', '/tasks/x'], ['GET', '/secrets'], ['POST', '/configs/create'], ['GET', '/swarm/unlockkey'], ['DELETE', '/services/web']]) {
    const r = await api.request(m, p);
    assert.equal(r.status, 503, `${m} ${p}`);
    assert.deepEqual(r.json(), { message: NOT_A_MANAGER });
  }
  let r = await api.request('POST', '/swarm/leave?force=1');
  assert.equal(r.status, 503);
  assert.deepEqual(r.json(), { message: NOT_IN_SWARM });
  r = await api.request('POST', '/swarm/init', { body: { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '10.0.0.1' } });
  assert.equal(r.status, 200);
  assert.equal(r.json(), 'newnode');
  r = await api.request('POST', '/swarm/join', { body: { RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'SWMTKN-1-x' } });
  assert.equal(r.status, 200);
  assert.deepEqual(seen.map((s) => s.op), ['init', 'join']);
});

test('in a swarm: init and join 503 "already part of a swarm" (init with ForceNewCluster goes through); leave takes force', async () => {
  for (const p of ['/swarm/init', '/swarm/join']) {
    const r = await api.request('POST', p, { body: { RemoteAddrs: ['x'] } });
    assert.equal(r.status, 503);
    assert.deepEqual(r.json(), { message: SWARM_EXISTS });
  }
  assert.equal((await api.request('POST', '/swarm/init', { body: { ForceNewCluster: true } })).status, 200);
  assert.equal((await api.request('POST', '/swarm/leave')).status, 200);
  assert.equal((await api.request('POST', '/swarm/leave?force=true')).status, 200);
  // force is read as moby's BoolValue: anything but "", 0, no, false, none.
  assert.equal((await api.request('POST', '/swarm/leave?force=no')).status, 200);
  assert.equal((await api.request('POST', '/swarm/leave?force=yes')).status, 200);
  assert.deepEqual(seen.map((s) => [s.op, ...(s.op === 'leave' ? s.args : [])]), [['init'], ['leave', false], ['leave', true], ['leave', false], ['leave', true]]);
});

test('a worker, a manager not ready, a locked node: each gets dockerd\'s text; a locked node may unlock', async () => {
  state = { ...ACTIVE_MANAGER, NodeID: 'n2bbbb', ControlAvailable: false };
  let r = await api.request('GET', '/nodes');
  assert.equal(r.status, 503);
  assert.deepEqual(r.json(), { message: WORKER_NOT_MANAGER });
  state = { ...ACTIVE_MANAGER, ControlAvailable: false };
  assert.deepEqual((await api.request('GET', '/services')).json(), { message: MANAGER_NOT_READY });
  state = { ...INACTIVE, LocalNodeState: 'locked' };
  assert.deepEqual((await api.request('GET', '/swarm')).json(), { message: SWARM_LOCKED });
  r = await api.request('POST', '/swarm/leave');
  assert.equal(r.status, 503);
  assert.match(r.json().message, /Please unlock it first or use `--force`/);
  assert.equal((await api.request('POST', '/swarm/unlock', { body: { UnlockKey: 'SWMKEY-1-abc' } })).status, 200);
  state = INACTIVE;
  assert.equal((await api.request('POST', '/swarm/unlock', { body: { UnlockKey: 'k' } })).status, 503);
  assert.deepEqual(seen, [{ op: 'unlock', args: ['SWMKEY-1-abc'] }]);
});

test('GET /nodes: filters as swarmkit (name and id prefixes, engine and node labels, role, membership); bad ones 400', async () => {
  assert.deepEqual(ids(await api.request('GET', '/nodes')), ['n1aaaa', 'n2bbbb', 'n2cccc']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ id: ['n2'] }))), ['n2bbbb', 'n2cccc']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ name: ['al', 'gam'] }))), ['n1aaaa', 'n2cccc']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ role: ['manager'] }))), ['n1aaaa']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ role: ['WORKER'] }))), ['n2bbbb', 'n2cccc']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ 'node.label': ['zone=a'] }))), ['n1aaaa']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ label: ['disk'] }))), ['n2bbbb']);
  assert.deepEqual(ids(await api.request('GET', '/nodes?' + q({ membership: ['accepted'] }))), ['n1aaaa', 'n2bbbb', 'n2cccc']);
  let r = await api.request('GET', '/nodes?' + q({ role: ['boss'] }));
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'Invalid role filter: \'boss\'' });
  r = await api.request('GET', '/nodes?' + q({ colour: ['red'] }));
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid filter \'colour\'' });
});

test('node references: full ID, hostname, unique ID prefix; unknown 404, ambiguous 400 with dockerd\'s texts', async () => {
  assert.equal((await api.request('GET', '/nodes/n1aaaa')).json().ID, 'n1aaaa');
  assert.equal((await api.request('GET', '/nodes/beta')).json().ID, 'n2bbbb');
  assert.equal((await api.request('GET', '/nodes/n2c')).json().ID, 'n2cccc');
  let r = await api.request('GET', '/nodes/zeta');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { message: 'node zeta not found' });
  r = await api.request('GET', '/nodes/n2');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'node n2 is ambiguous (2 matches found)' });
  assert.equal((await api.request('DELETE', '/nodes/beta?force=1')).status, 200);
  assert.deepEqual(seen, [{ op: 'removeNode', args: ['n2bbbb', true] }]);
});

test('POST /nodes/{id}/update: version required and parsed as dockerd (400 texts), then the full ID reaches the backend', async () => {
  const spec = { Availability: 'drain', Role: 'worker' };
  let r = await api.request('POST', '/nodes/beta/update', { body: spec });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid node version \'\': strconv.ParseUint: parsing "": invalid syntax' });
  r = await api.request('POST', '/nodes/beta/update?version=-1', { body: spec });
  assert.deepEqual(r.json(), { message: 'invalid node version \'-1\': strconv.ParseUint: parsing "-1": invalid syntax' });
  r = await api.request('POST', '/nodes/beta/update?version=99999999999999999999', { body: spec });
  assert.equal(r.status, 400);
  assert.match(r.json().message, /value out of range$/);
  assert.equal((await api.request('POST', '/nodes/beta/update?version=3', { body: spec })).status, 200);
  assert.equal((await api.request('POST', '/nodes/beta/update?version=2', { body: spec })).status, 409);
  assert.deepEqual(seen, [{ op: 'updateNode', args: ['n2bbbb', 3, spec] }]);
  // A node that cannot serve the call says so first, whatever the input.
  state = INACTIVE;
  assert.equal((await api.request('POST', '/nodes/beta/update', { body: spec })).status, 503);
});

test('GET /services: filters (name and id prefixes, label, mode); ?status=true adds ServiceStatus (API ≥ 1.41)', async () => {
  assert.deepEqual(ids(await api.request('GET', '/services')), ['s1web00', 's2db000']);
  assert.deepEqual(ids(await api.request('GET', '/services?' + q({ mode: ['global'] }))), ['s2db000']);
  assert.deepEqual(ids(await api.request('GET', '/services?' + q({ mode: ['replicated'] }))), ['s1web00']);
  assert.deepEqual(ids(await api.request('GET', '/services?' + q({ name: ['w'] }))), ['s1web00']);
  assert.deepEqual(ids(await api.request('GET', '/services?' + q({ label: ['tier=front'] }))), ['s1web00']);
  assert.deepEqual(ids(await api.request('GET', '/services?' + q({ id: ['s2'] }))), ['s2db000']);
  assert.equal((await api.request('GET', '/services?' + q({ node: ['x'] }))).status, 400);
  let r = await api.request('GET', '/services?status=true');
  assert.deepEqual(r.json().map((s: { ServiceStatus: unknown }) => s.ServiceStatus), [
    // t2 runs on a down node; t3 is history.
    { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 },
    // global: one task meant to run on each node that is not down.
    { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 },
  ]);
  r = await api.request('GET', '/v1.40/services?status=true');
  assert.equal(r.json()[0].ServiceStatus, undefined);
  r = await api.request('GET', '/services?status=yes');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid value for status: yes: strconv.ParseBool: parsing "yes": invalid syntax' });
});

test('service references and insertDefaults; DELETE resolves first', async () => {
  assert.equal((await api.request('GET', '/services/web')).json().ID, 's1web00');
  assert.equal((await api.request('GET', '/services/s2')).json().ID, 's2db000');
  let r = await api.request('GET', '/services/nope');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { message: 'service nope not found' });
  r = await api.request('GET', '/services/s');
  assert.deepEqual(r.json(), { message: 'service s is ambiguous (2 matches found)' });
  assert.equal((await api.request('GET', '/services/web')).json().Spec.UpdateConfig, undefined);
  assert.deepEqual((await api.request('GET', '/services/web?insertDefaults=true')).json().Spec.UpdateConfig, { Parallelism: 1 });
  r = await api.request('GET', '/services/web?insertDefaults=nah');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid value for insertDefaults: nah: strconv.ParseBool: parsing "nah": invalid syntax' });
  assert.equal((await api.request('DELETE', '/services/db')).status, 200);
  assert.equal((await api.request('DELETE', '/services/nope')).status, 404);
  assert.deepEqual(seen, [{ op: 'removeService', args: ['s2db000'] }]);
});

test('POST /services/create: 201 {ID, Warnings}; X-Registry-Auth passed through; an empty body is an empty spec (moby\'s ReadJSON), a non-object 400', async () => {
  const spec = { Name: 'api', TaskTemplate: { ContainerSpec: { Image: 'nginx' } } };
  let r = await api.request('POST', '/services/create', { body: spec, headers: { 'X-Registry-Auth': 'eyJ1c2VybmFtZSI6ImEifQ==' } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { ID: 'snew', Warnings: null });
  r = await api.request('POST', '/services/create', { body: spec });
  assert.equal(r.status, 201);
  assert.deepEqual(seen, [{ op: 'createService', args: [spec, 'eyJ1c2VybmFtZSI6ImEifQ=='] }, { op: 'createService', args: [spec, undefined] }]);
  assert.equal((await api.request('POST', '/services/create', { body: [1] })).status, 400);
  assert.equal((await api.request('POST', '/services/create')).status, 201);
  assert.deepEqual(seen[2], { op: 'createService', args: [{}, undefined] });
});

test('POST /services/{id}/update: version required; rollback=previous; the registry auth header; Warnings', async () => {
  const spec = SERVICES[0].Spec;
  let r = await api.request('POST', '/services/web/update', { body: spec });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid service version \'\': strconv.ParseUint: parsing "": invalid syntax' });
  r = await api.request('POST', '/services/web/update?version=abc', { body: spec });
  assert.deepEqual(r.json(), { message: 'invalid service version \'abc\': strconv.ParseUint: parsing "abc": invalid syntax' });
  r = await api.request('POST', '/services/web/update?version=7&rollback=previous', { body: spec, headers: { 'X-Registry-Auth': 'abc' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { Warnings: null });
  await api.request('POST', '/services/s1/update?version=8&rollback=none', { body: spec });
  assert.deepEqual(seen, [
    { op: 'updateService', args: ['s1web00', 7, spec, { rollback: true, registryAuth: 'abc' }] },
    { op: 'updateService', args: ['s1web00', 8, spec, { rollback: false, registryAuth: undefined }] },
  ]);
  assert.equal((await api.request('POST', '/services/nope/update?version=1', { body: spec })).status, 404);
});

test('POST /swarm/update: version and the rotate flags parsed as dockerd', async () => {
  assert.equal((await api.request('POST', '/swarm/update', { body: {} })).status, 400);
  let r = await api.request('POST', '/swarm/update?version=5&rotateWorkerToken=maybe', { body: {} });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'invalid value for rotateWorkerToken: maybe' });
  r = await api.request('POST', '/swarm/update?version=5&rotateWorkerToken=true&rotateManagerUnlockKey=1', { body: { Name: 'default' } });
  assert.equal(r.status, 200);
  assert.deepEqual(seen, [{ op: 'update', args: [{ Name: 'default' }, { version: 5, rotateWorkerToken: true, rotateManagerToken: false, rotateManagerUnlockKey: true }] }]);
  assert.deepEqual((await api.request('GET', '/swarm/unlockkey')).json(), { UnlockKey: 'SWMKEY-1-abc' });
});

test('GET /tasks: service and node filters resolve references; desired-state; name prefixes; _up-to-date', async () => {
  assert.deepEqual(ids(await api.request('GET', '/tasks')), ['t1', 't2', 't3', 't4', 't5']);
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ service: ['web'] }))), ['t1', 't2', 't3']);
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ service: ['web'], 'desired-state': ['running'] }))), ['t1', 't2']);
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ node: ['alpha'] }))), ['t1', 't3', 't5']);
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ name: ['web.1'] }))), ['t1', 't3']);
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ label: ['tier'] }))), ['t1', 't2', 't3']);
  // t3 is superseded; t4 runs an older template than its service's.
  assert.deepEqual(ids(await api.request('GET', '/tasks?' + q({ '_up-to-date': ['true'] }))), ['t1', 't2', 't5']);
  let r = await api.request('GET', '/tasks?' + q({ service: ['nope'] }));
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { message: 'service nope not found' });
  r = await api.request('GET', '/tasks?' + q({ 'desired-state': ['dancing'] }));
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'Invalid desired-state filter: \'dancing\'' });
});

test('task references: ID, full name web.1.<id>, the short name of a slot (its current task), prefix; unknown 404', async () => {
  assert.equal((await api.request('GET', '/tasks/t4')).json().ID, 't4');
  assert.equal((await api.request('GET', '/tasks/web.1.t3')).json().ID, 't3');
  assert.equal((await api.request('GET', '/tasks/web.1')).json().ID, 't1');
  assert.equal((await api.request('GET', '/tasks/web.2')).json().ID, 't2');
  assert.equal((await api.request('GET', '/tasks/db.n2bbbb')).json().ID, 't4');
  const r = await api.request('GET', '/tasks/web.9');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { message: 'task web.9 not found' });
  assert.equal((await api.request('GET', '/tasks/t')).status, 400);
});

test('service and task logs: the options reach the backend, its framed bytes are sent as the multiplexed stream; no stream asked → 400', async () => {
  let r = await api.request('GET', '/services/web/logs?stdout=1&timestamps=1&details=1&tail=10');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.deepEqual(r.body, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('hi\n')]));
  r = await api.request('GET', '/tasks/web.1/logs?stderr=yes&follow=1&timestamps=no');
  assert.equal(r.status, 200);
  assert.deepEqual(seen, [
    { op: 'logs', args: [{ service: 's1web00' }, { stdout: true, stderr: false, sinceNs: undefined, untilNs: undefined, tail: 10, follow: false, timestamps: true, details: true, signal: undefined }] },
    { op: 'logs', args: [{ task: 't1' }, { stdout: false, stderr: true, sinceNs: undefined, untilNs: undefined, tail: -1, follow: true, timestamps: false, details: false, signal: undefined }] },
  ]);
  r = await api.request('GET', '/services/web/logs');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'Bad parameters: you must choose at least one stream' });
});

test('secrets: list with filters (names exact, name and id prefixes or-ed; labels and-ed), inspect by name or prefix, create, update, delete', async () => {
  const ids = async (q: string) => (await api.request('GET', `/secrets${q}`)).json().map((o: { ID: string }) => o.ID);
  assert.deepEqual(await ids(''), ['sec1aaaa', 'sec2bbbb']);
  const f = (o: object) => `?filters=${encodeURIComponent(JSON.stringify(o))}`;
  assert.deepEqual(await ids(f({ name: { db: true } })), ['sec1aaaa']);
  assert.deepEqual(await ids(f({ names: { db: true } })), []);
  assert.deepEqual(await ids(f({ names: { api_key: true }, id: { sec1: true } })), ['sec1aaaa', 'sec2bbbb']);
  assert.deepEqual(await ids(f({ label: { 'env=prod': true } })), ['sec1aaaa']);
  let r = await api.request('GET', `/secrets${f({ driver: { x: true } })}`);
  assert.equal(r.status, 400);
  assert.equal((await api.request('GET', '/secrets/api_key')).json().ID, 'sec2bbbb');
  assert.equal((await api.request('GET', '/secrets/sec1')).json().ID, 'sec1aaaa');
  r = await api.request('GET', '/secrets/sec');
  assert.equal(r.status, 400);
  assert.equal(r.json().message, 'secret sec is ambiguous (2 matches found)');
  r = await api.request('GET', '/secrets/nope');
  assert.equal(r.status, 404);
  assert.equal(r.json().message, 'secret nope not found');
  r = await api.request('GET', '/configs/nope');
  assert.equal(r.json().message, 'config nope not found');
  r = await api.request('POST', '/secrets/create', { body: { Name: 'x', Data: 'eA==' } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { ID: 'xnew' });
  r = await api.request('POST', '/secrets/api_key/update?version=4', { body: { Name: 'api_key', Labels: { a: 'b' } } });
  assert.equal(r.status, 200);
  r = await api.request('POST', '/secrets/api_key/update?version=x', { body: { Name: 'api_key' } });
  assert.equal(r.status, 400);
  assert.match(r.json().message, /^invalid secret version 'x'/);
  r = await api.request('DELETE', '/secrets/db_password');
  assert.equal(r.status, 204);
  assert.deepEqual(seen.map((x) => [x.op, ...x.args.slice(0, 3)]), [
    ['createSecret', 'secret', { Name: 'x', Data: 'eA==' }], ['updateSecret', 'secret', 'sec2bbbb', 4], ['removeSecret', 'secret', 'sec1aaaa'],
  ]);
});
