// The containers router against a fake backend (src/api/inject.ts): statuses, query parsing,
// version gates and stream framing, as a client sees them. The list goes through the engine's
// real filtering (engine/container-list.ts) over fixture records.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, EngineError, notFound } from '../../../common/errors.ts';
import { demux } from '../../../common/stdcopy.ts';
import { listContainers } from '../../../engine/container-list.ts';
import type { ContainerRecord } from '../../../engine/container/record.ts';
import type { CreateOptions } from '../../../engine/container/create.ts';
import type { LogEntry } from '../../../engine/logs.ts';
import { containerStats, type StatsSample, zeroStats } from '../../../engine/stats.ts';
import { containerRecord, endpoint, exited, running } from '../../../engine/testing/container-record.ts';
import { injector } from '../../inject.ts';
import type { ArchiveBackend, ContainersBackend, StatsBackend } from './backend.ts';
import { containerRoutes } from './routes.ts';
import { statsRoutes } from './stats-routes.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const RECORDS: ContainerRecord[] = [
  containerRecord('web', {
    Created: at(1), State: running(), Config: { Labels: { tier: 'web' } },
    berth: { runtime: 'runc', manuallyStopped: false, hasBeenStarted: true, endpoints: [endpoint('bridge', { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] })] },
  }),
  containerRecord('db', { Created: at(2), State: exited(0), Config: { Labels: { tier: 'db' } } }),
  containerRecord('tty', { Created: at(3), State: running(), Config: { Tty: true } }),
];
const byRef = (ref: string) => {
  const c = RECORDS.find((r) => r.Name === `/${ref}` || r.ID.startsWith(ref));
  if (!c) throw notFound(`No such container: ${ref}`);
  return c;
};

const calls: { op: string; args: unknown[] }[] = [];
const logLines: LogEntry[] = [
  { stream: 1, timeNs: 1_767_225_600_000_000_000n, time: '2026-01-01T00:00:00Z', data: Buffer.from('out\n') },
  { stream: 2, timeNs: 1_767_225_601_000_000_000n, time: '2026-01-01T00:00:01Z', data: Buffer.from('err\n') },
];
async function* entries(): AsyncGenerator<LogEntry> { for (const e of logLines) yield e; }

const archive: ArchiveBackend = {
  stat: async (ref, path) => { byRef(ref); if (path !== '/etc/hostname') throw notFound(`Could not find the file ${path} in container ${ref}`); return { name: 'hostname', size: 4, mode: 0o644, mtime: at(0), linkTarget: '' }; },
  get: async () => { throw new EngineError('NotImplemented', 'not faked'); },
  put: async () => { throw new EngineError('NotImplemented', 'not faked'); },
};

const backend = {
  list: () => RECORDS,
  listContainers: (o) => listContainers({
    list: () => RECORDS, resolve: byRef, imageIdOf: () => undefined,
    sizeRw: async () => 7, imageSize: () => 100,
  }, o),
  inspect: byRef,
  create: async (o: CreateOptions) => { calls.push({ op: 'create', args: [o] }); return { Id: 'f'.repeat(64), Warnings: [] }; },
  start: async (ref: string) => {
    const c = byRef(ref);
    // As the engine answers a start of a running container (Docker: 304).
    if (c.State.Running) throw new EngineError('NotModified', 'container already started');
  },
  stop: async (ref: string, o: unknown) => { byRef(ref); calls.push({ op: 'stop', args: [o] }); },
  kill: async (ref: string) => { if (!byRef(ref).State.Running) throw conflict(`Container ${ref} is not running`); },
  remove: async (ref: string, o: unknown) => { byRef(ref); calls.push({ op: 'remove', args: [o] }); },
  wait: async (ref: string) => { byRef(ref); return { StatusCode: 3 }; },
  logs: (ref: string) => ({ tty: !!byRef(ref).Config.Tty, entries: entries() }),
  attachTarget: (ref: string) => { const c = byRef(ref); return { id: c.ID, tty: !!c.Config.Tty, openStdin: false, stdinOnce: false }; },
  archive,
} as Partial<ContainersBackend> as ContainersBackend;

/** Samples of a running container whose CPU counter grows by 1000 each time; it stops after two. */
function statsBackend(): StatsBackend {
  let n = 0;
  const target = (ref: string) => { const c = byRef(ref); return { id: c.ID, name: c.Name, running: c.State.Running && n < 2, pid: c.State.Pid }; };
  const sample = async (): Promise<StatsSample> => {
    n++;
    const s = zeroStats();
    return { ...s, read: new Date().toISOString(), cpu_stats: { ...s.cpu_stats, cpu_usage: { ...s.cpu_stats.cpu_usage, total_usage: n * 1000 } } };
  };
  return { stats: (ref, o) => containerStats({ statsTarget: target }, ref, o, sample), update: async () => ({ Warnings: [] }) };
}

const api = await injector([...containerRoutes(backend), ...statsRoutes(statsBackend())]);
after(() => api.close());

test('GET /containers/json: running only unless all=1/true; all=0/false as absent', async () => {
  const names = async (q: string) => (await api.request('GET', `/v1.47/containers/json${q}`)).json().map((c: { Names: string[] }) => c.Names[0]);
  assert.deepEqual(await names(''), ['/tty', '/web']);
  assert.deepEqual(await names('?all=1'), ['/tty', '/db', '/web']);
  assert.deepEqual(await names('?all=true'), ['/tty', '/db', '/web']);
  assert.deepEqual(await names('?all=0'), ['/tty', '/web']);
  assert.deepEqual(await names('?all=false'), ['/tty', '/web']);
  assert.deepEqual(await names('?all=1&limit=1'), ['/tty']);
});

test('GET /containers/json: filters JSON (both of Docker\'s shapes), and 400 for bad ones', async () => {
  const q = (f: unknown) => `/containers/json?filters=${encodeURIComponent(JSON.stringify(f))}`;
  let r = await api.request('GET', q({ status: ['exited'] }));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().map((c: { Names: string[] }) => c.Names[0]), ['/db']);
  r = await api.request('GET', q({ label: { 'tier=web': true } }));
  assert.deepEqual(r.json().map((c: { Names: string[] }) => c.Names[0]), ['/web']);
  r = await api.request('GET', q({ publish: ['8080'] }));
  assert.deepEqual(r.json().map((c: { Ports: unknown }) => c.Ports), [[{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]]);
  r = await api.request('GET', q({ status: ['sleeping'] }));
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: "invalid filter 'status=sleeping'" });
  r = await api.request('GET', '/containers/json?filters=%7Bnot-json');
  assert.equal(r.status, 400);
  r = await api.request('GET', q({ before: ['nope'] }));
  assert.equal(r.status, 404);
  r = await api.request('GET', '/containers/json?limit=x');
  assert.equal(r.status, 400);
});

test('GET /containers/json?size=1: SizeRw and SizeRootFs from the engine', async () => {
  const [c] = (await api.request('GET', '/containers/json?size=1&filters=%7B%22name%22%3A%5B%22web%22%5D%7D')).json();
  assert.equal(c.SizeRw, 7);
  assert.equal(c.SizeRootFs, 107);
  const [d] = (await api.request('GET', '/containers/json?filters=%7B%22name%22%3A%5B%22web%22%5D%7D')).json();
  assert.equal('SizeRw' in d, false);
});

test('POST /containers/create: 201; IpcMode shareable for clients before API 1.40 only; bad bodies 400', async () => {
  calls.length = 0;
  let r = await api.request('POST', '/v1.39/containers/create?name=x', { body: { Image: 'busybox' } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { Id: 'f'.repeat(64), Warnings: [] });
  r = await api.request('POST', '/v1.47/containers/create', { body: { Image: 'busybox', HostConfig: {} } });
  assert.equal(r.status, 201);
  const [old, cur] = calls.map((c) => c.args[0] as CreateOptions);
  assert.equal(old.name, 'x');
  assert.equal(old.hostConfig.IpcMode, 'shareable');
  assert.equal(cur.hostConfig.IpcMode, undefined);
  assert.equal((await api.request('POST', '/containers/create', { body: [1] })).status, 400);
  assert.equal((await api.request('POST', '/containers/create', { body: Buffer.from('{"Image":'), headers: { 'Content-Type': 'application/json' } })).status, 400);
  assert.equal((await api.request('POST', '/containers/create', { body: Buffer.from('{}'), headers: { 'Content-Type': 'text/plain' } })).status, 400);
});

test('actions: 204, 304 when nothing to do, 404 unknown, 409 conflict; query numbers and booleans', async () => {
  assert.equal((await api.request('POST', '/containers/db/start')).status, 204);
  const again = await api.request('POST', '/containers/web/start');
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const missing = await api.request('POST', '/containers/nope/start');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json(), { message: 'No such container: nope' });
  assert.equal((await api.request('POST', '/containers/db/kill')).status, 409);
  calls.length = 0;
  assert.equal((await api.request('POST', '/containers/web/stop?t=5&signal=SIGINT')).status, 204);
  assert.deepEqual(calls[0].args[0], { signal: 'SIGINT', timeout: 5 });
  assert.equal((await api.request('POST', '/containers/web/stop?t=soon')).status, 400);
  calls.length = 0;
  assert.equal((await api.request('DELETE', '/containers/db?force=1&v=false')).status, 204);
  assert.equal((await api.request('DELETE', '/containers/db?force=0&v=true')).status, 204);
  assert.deepEqual(calls.map((c) => c.args[0]), [{ force: true, volumes: false }, { force: false, volumes: true }]);
  assert.equal((await api.request('GET', '/containers/no/such/route')).status, 404);
  assert.equal((await api.request('GET', '/v1.23/containers/json')).status, 400);
  assert.equal((await api.request('GET', '/v1.48/containers/json')).status, 400);
});

test('POST /containers/{id}/wait: the exit code as JSON', async () => {
  const r = await api.request('POST', '/containers/db/wait');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { StatusCode: 3 });
});

test('GET /containers/{id}/logs: stdcopy frames without a TTY, typed multiplexed from API 1.42; raw with a TTY', async () => {
  let r = await api.request('GET', '/v1.47/containers/web/logs?stdout=1&stderr=1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.deepEqual([...r.body.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 4]);
  assert.deepEqual(demux(r.body).map((f) => [f.stream, f.payload.toString()]), [[1, 'out\n'], [2, 'err\n']]);
  r = await api.request('GET', '/v1.41/containers/web/logs?stdout=true&stderr=true&timestamps=1');
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.deepEqual(demux(r.body).map((f) => f.payload.toString()), ['2026-01-01T00:00:00Z out\n', '2026-01-01T00:00:01Z err\n']);
  r = await api.request('GET', '/v1.47/containers/tty/logs?stdout=1');
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(r.body.toString(), 'out\nerr\n');
  r = await api.request('GET', '/containers/web/logs');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'Bad parameters: you must choose at least one stream' });
  assert.equal((await api.request('GET', '/containers/web/logs?stdout=1&tail=some')).status, 400);
  assert.equal((await api.request('GET', '/containers/nope/logs?stdout=1')).status, 404);
});

test('POST /containers/{id}/attach?logs=1 (no upgrade): the log replayed in stdcopy frames, then the end', async () => {
  const r = await api.request('POST', '/v1.47/containers/web/attach?logs=1&stdout=1&stderr=1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.deepEqual(demux(r.body).map((f) => [f.stream, f.payload.toString()]), [[1, 'out\n'], [2, 'err\n']]);
  assert.equal((await api.request('POST', '/containers/web/attach?detachKeys=ctrl-')).status, 400);
  assert.equal((await api.request('POST', '/containers/nope/attach?stream=1')).status, 404);
});

test('HEAD /containers/{id}/archive: the stat in its header; 400 without a path, 404 for a missing one', async () => {
  const r = await api.request('HEAD', '/containers/web/archive?path=/etc/hostname');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString()), { name: 'hostname', size: 4, mode: 0o644, mtime: at(0), linkTarget: '' });
  assert.equal((await api.request('HEAD', '/containers/web/archive')).status, 400);
  assert.equal((await api.request('HEAD', '/containers/web/archive?path=/nope')).status, 404);
});

test('GET /containers/{id}/stats: one object for a stopped container or one-shot; a JSON-lines stream that ends when it stops', async () => {
  let r = await api.request('GET', '/containers/db/stats?stream=false');
  assert.equal(r.status, 200);
  assert.equal(r.json().read, '0001-01-01T00:00:00Z');
  assert.equal(r.json().name, '/db');
  assert.equal((await api.request('GET', '/containers/web/stats?stream=1&one-shot=1')).status, 400);
  assert.equal((await api.request('GET', '/containers/nope/stats')).status, 404);
  // The fake container stops after two samples: two objects a second apart, then the zeroed one.
  r = await api.request('GET', '/containers/web/stats');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(r.body.toString(), /^\{.*\}\n\{.*\}\n\{.*\}\n$/);
  const [first, second, last] = r.lines();
  assert.equal(first.cpu_stats.cpu_usage.total_usage, 1000);
  assert.equal(first.precpu_stats.cpu_usage.total_usage, 0);
  assert.equal(first.preread, '0001-01-01T00:00:00Z');
  assert.equal(second.precpu_stats.cpu_usage.total_usage, 1000);
  assert.equal(second.preread, first.read);
  assert.equal(last.read, '0001-01-01T00:00:00Z');
});
