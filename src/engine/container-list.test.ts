import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from '../common/errors.ts';
import { parseFilters } from '../common/filters.ts';
import { filterContainers, listContainers, type ContainerListLookups, type ContainerListSource } from './container-list.ts';
import type { ContainerRecord } from './container/record.ts';
import { containerRecord, endpoint, exited, running } from './testing/container-record.ts';

const IMG_A = 'sha256:' + 'a'.repeat(64);
const IMG_B = 'sha256:' + 'b'.repeat(64);
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

// Oldest first: web (running, published 8080->80), db (exited 0), job (exited 3), fresh (created).
const RECORDS: ContainerRecord[] = [
  containerRecord('web', {
    Created: at(1), Image: IMG_A, State: running(), Config: { Image: 'nginx', Labels: { tier: 'web' }, ExposedPorts: { '80/tcp': {} } },
    berth: { runtime: 'runc', manuallyStopped: false, hasBeenStarted: true, networks: { front: {} }, endpoints: [endpoint('front', { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] })] },
  }),
  containerRecord('db', {
    Created: at(2), Image: IMG_B, State: exited(0), Config: { Image: 'postgres', Labels: { tier: 'db' } },
    Mounts: [{ Type: 'volume', Name: 'pgdata', Source: '/v/pgdata/_data', Destination: '/var/lib/postgresql', Mode: '', RW: true, Propagation: '' }],
  }),
  containerRecord('job', { Created: at(3), Image: IMG_B, State: { ...exited(3), Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] } } }),
  containerRecord('fresh', { Created: at(4), HostConfig: { NetworkMode: 'container:web' } }),
];

const lookups: ContainerListLookups = {
  resolve: (ref) => {
    const c = RECORDS.find((r) => r.Name === `/${ref}` || r.ID.startsWith(ref));
    if (!c) throw new EngineError('NotFound', `No such container: ${ref}`);
    return c;
  },
  imageIdOf: (ref) => ({ nginx: IMG_A, postgres: IMG_B } as Record<string, string | undefined>)[ref],
};

const names = (filters: Record<string, string[]>, o: { all?: boolean; limit?: number } = { all: true }) =>
  filterContainers(RECORDS, { ...o, filters: parseFilters(JSON.stringify(filters)) }, lookups).map((c) => c.Name.slice(1));

test('list: running only by default, newest first; all; limit', () => {
  assert.deepEqual(names({}, {}), ['web']);
  assert.deepEqual(names({}), ['fresh', 'job', 'db', 'web']);
  assert.deepEqual(names({}, { all: true, limit: 2 }), ['fresh', 'job']);
  assert.deepEqual(names({}, { all: true, limit: 0 }), ['fresh', 'job', 'db', 'web']);
});

test('list: status and exited imply all', () => {
  assert.deepEqual(names({ status: ['exited'] }, {}), ['job', 'db']);
  assert.deepEqual(names({ exited: ['3'] }, {}), ['job']);
  assert.deepEqual(names({ status: ['created', 'running'] }, {}), ['fresh', 'web']);
});

test('list: id prefix, name pattern with or without its slash, label', () => {
  assert.deepEqual(names({ id: [RECORDS[1].ID.slice(0, 6)] }), ['db']);
  assert.deepEqual(names({ name: ['^/?we'] }), ['web']);
  assert.deepEqual(names({ name: ['b$'] }), ['job', 'db', 'web']);
  assert.deepEqual(names({ label: ['tier'] }), ['db', 'web']);
  assert.deepEqual(names({ label: ['tier=db'] }), ['db']);
});

test('list: ancestor by the image a reference names now; health (none when no healthcheck)', () => {
  assert.deepEqual(names({ ancestor: ['postgres'] }), ['job', 'db']);
  assert.deepEqual(names({ ancestor: ['unknown'] }), []);
  assert.deepEqual(names({ health: ['unhealthy'] }), ['job']);
  assert.deepEqual(names({ health: ['none'] }), ['fresh', 'db', 'web']);
});

test('list: before and since by another container\'s creation (unknown: NotFound)', () => {
  assert.deepEqual(names({ before: ['job'] }), ['db', 'web']);
  assert.deepEqual(names({ since: ['db'] }), ['fresh', 'job']);
  assert.throws(() => names({ since: ['nope'] }), (e: unknown) => e instanceof EngineError && e.kind === 'NotFound');
});

test('list: network by name or ID prefix (a joined namespace has none); volume by name or destination', () => {
  assert.deepEqual(names({ network: ['front'] }), ['web']);
  assert.deepEqual(names({ network: ['front-id'] }), ['web']);
  assert.deepEqual(names({ network: ['bridge'] }), ['job', 'db']);
  assert.deepEqual(names({ volume: ['pgdata'] }), ['db']);
  assert.deepEqual(names({ volume: ['/var/lib/postgresql'] }), ['db']);
});

test('list: publish by host port, expose by container port, tcp by default', () => {
  assert.deepEqual(names({ publish: ['8080'] }), ['web']);
  assert.deepEqual(names({ publish: ['8080/udp'] }), []);
  assert.deepEqual(names({ publish: ['80'] }), []);
  assert.deepEqual(names({ expose: ['80/tcp'] }), ['web']);
});

test('list: unknown filters and bad values are InvalidParameter, with Docker\'s texts', () => {
  const bad = (f: Record<string, string[]>, msg: string) =>
    assert.throws(() => names(f), (e: unknown) => e instanceof EngineError && e.kind === 'InvalidParameter' && e.message === msg);
  bad({ status: ['sleeping'] }, "invalid filter 'status=sleeping'");
  bad({ health: ['sick'] }, 'Unrecognised filter value for health: sick');
  assert.throws(() => names({ colour: ['red'] }), (e: unknown) => e instanceof EngineError && e.kind === 'InvalidParameter' && /colour/.test(e.message));
  // Accepted and matching nothing special (moby takes them for swarm tasks and Windows).
  assert.deepEqual(names({ 'is-task': ['false'], isolation: ['default'] }).length, 4);
});

test('listContainers: the list Image gives way to the ID once the reference names another image; sizes on request', async () => {
  const src: ContainerListSource = {
    ...lookups,
    // `postgres` now names another image: db and job were made from the old one.
    imageIdOf: (ref) => ({ nginx: IMG_A, postgres: 'sha256:' + 'f'.repeat(64) } as Record<string, string | undefined>)[ref],
    list: () => RECORDS,
    sizeRw: async (id) => (id === RECORDS[0].ID ? 10 : 1),
    imageSize: (id) => (id === IMG_A ? 1000 : 0),
  };
  const all = await listContainers(src, { all: true, filters: parseFilters(undefined) });
  assert.deepEqual(all.map((e) => [e.container.Name, e.image]), [['/fresh', 'sha256:' + 'c'.repeat(64)], ['/job', IMG_B], ['/db', IMG_B], ['/web', 'nginx']]);
  assert.equal(all[0].sizeRw, undefined);
  const sized = await listContainers(src, { size: true, filters: parseFilters(undefined) });
  assert.deepEqual(sized.map((e) => [e.container.Name, e.sizeRw, e.sizeRootFs]), [['/web', 10, 1010]]);
});
