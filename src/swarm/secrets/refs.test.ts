import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, Task, TaskState } from '../../api/types/swarm.ts';
import { deliveryFor, inUseText, missingRefs, notFoundText, servicesUsing, targetPath, taskFiles, validateObjectSpec } from './refs.ts';

const file = (Name: string, extra: object = {}) => ({ Name, UID: '0', GID: '0', Mode: 0o444, ...extra });
const spec = (secrets: object[], configs: object[] = []) => ({ ContainerSpec: { Image: 'busybox', Secrets: secrets, Configs: configs } });
function task(id: string, nodeId: string, desired: TaskState, state: TaskState, s = spec([{ SecretID: 's1', SecretName: 'db', File: file('db') }])): Task {
  return { ID: id, ServiceID: 'svc', NodeID: nodeId, DesiredState: desired, Status: { Timestamp: '', State: state }, Spec: s } as unknown as Task;
}

test('deliveryFor: only the objects the node\'s own live tasks reference', () => {
  const tasks = [
    task('t1', 'n2', 'running', 'running'),
    task('t2', 'n1', 'running', 'preparing', spec([{ SecretID: 's2', SecretName: 'api', File: file('api') }], [{ ConfigID: 'c1', ConfigName: 'conf', File: file('/etc/c') }])),
    // Over: shut down, or failed while still desired running.
    task('t3', 'n3', 'shutdown', 'shutdown', spec([{ SecretID: 's3', SecretName: 'old', File: file('old') }])),
    task('t4', 'n3', 'running', 'failed', spec([{ SecretID: 's4', SecretName: 'x', File: file('x') }])),
    task('t5', 'n3', 'running', 'assigned', spec([], [{ ConfigID: 'c2', ConfigName: 'cred', Runtime: {} }])),
  ];
  assert.deepEqual(deliveryFor('n2', tasks), { secret: new Set(['s1']), config: new Set() });
  assert.deepEqual(deliveryFor('n1', tasks), { secret: new Set(['s2']), config: new Set(['c1']) });
  assert.deepEqual(deliveryFor('n3', tasks), { secret: new Set(), config: new Set(['c2']) });
  assert.deepEqual(deliveryFor('n9', tasks), { secret: new Set(), config: new Set() });
});

test('missingRefs and the texts: a gone or renamed object is missing; in-use lists the services', () => {
  const stored = [{ ID: 's1', Spec: { Name: 'db' } }, { ID: 's2', Spec: { Name: 'renamed' } }];
  const c = spec([{ SecretID: 's1', SecretName: 'db', File: file('db') }, { SecretID: 's2', SecretName: 'api', File: file('api') }, { SecretID: 's9', SecretName: 'gone', File: file('g') }]).ContainerSpec;
  assert.deepEqual(missingRefs('secret', c, stored), ['api', 'gone']);
  assert.equal(notFoundText('secret', ['api', 'gone']), 'rpc error: code = InvalidArgument desc = secrets not found: api, gone');
  assert.equal(notFoundText('config', ['a']), 'rpc error: code = InvalidArgument desc = config not found: a');
  const svc = (name: string, s: object) => ({ ID: name, Spec: { Name: name, TaskTemplate: s } }) as unknown as Service;
  const services = [svc('web', spec([{ SecretID: 's1', SecretName: 'db', File: file('db') }])), svc('api', spec([{ SecretID: 's1', SecretName: 'db', File: file('x') }])), svc('other', spec([]))];
  const users = servicesUsing('secret', 's1', services);
  assert.deepEqual(users.map((s) => s.ID), ['web', 'api']);
  assert.equal(inUseText('secret', 'db', users.slice(0, 1)), "rpc error: code = InvalidArgument desc = secret 'db' is in use by the following service: web");
  assert.equal(inUseText('config', 'db', users), "rpc error: code = InvalidArgument desc = config 'db' is in use by the following services: web, api");
});

test('taskFiles: targets (secrets under /run/secrets, configs under /), owner and mode; data not sent → missing', () => {
  const t = { Spec: spec(
    [{ SecretID: 's1', SecretName: 'db', File: file('db', { UID: '1000', GID: '1001', Mode: 0o400 }) }, { SecretID: 's2', SecretName: 'k', File: file('/etc/k') }],
    [{ ConfigID: 'c1', ConfigName: 'conf', File: file('app.conf') }, { ConfigID: 'c2', ConfigName: 'cred', Runtime: {} }],
  ) } as unknown as Task;
  const material = { secret: new Map([['s1', Buffer.from('pw')], ['s2', Buffer.from('key')]]), config: new Map([['c1', Buffer.from('conf')]]) };
  const { files, missing } = taskFiles(t, material);
  assert.deepEqual(missing, []);
  assert.deepEqual(files.map((f) => [f.kind, f.target, f.uid, f.gid, f.mode, f.data.toString()]), [
    ['secret', '/run/secrets/db', 1000, 1001, 0o400, 'pw'], ['secret', '/etc/k', 0, 0, 0o444, 'key'], ['config', '/app.conf', 0, 0, 0o444, 'conf'],
  ]);
  assert.deepEqual(taskFiles(t, { secret: new Map(), config: new Map() }).missing, ['secret db', 'secret k', 'config conf']);
  assert.equal(targetPath('secret', '../../etc/passwd'), '/etc/passwd');
});

test('validateObjectSpec: swarmkit\'s name and size rules', () => {
  const rpc = (d: string) => `rpc error: code = InvalidArgument desc = ${d}`;
  assert.doesNotThrow(() => validateObjectSpec('secret', 'db.pass-1_x', Buffer.from('x')));
  assert.throws(() => validateObjectSpec('secret', '', Buffer.from('x')), { message: rpc('name must be provided') });
  assert.throws(() => validateObjectSpec('secret', '-x', Buffer.from('x')), { message: rpc('invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]') });
  assert.throws(() => validateObjectSpec('secret', 'x'.repeat(65), Buffer.from('x')), /invalid name/);
  assert.throws(() => validateObjectSpec('secret', 'x', Buffer.alloc(0)), { message: rpc('secret data must be larger than 0 and less than 512000 bytes') });
  assert.throws(() => validateObjectSpec('config', 'x', Buffer.alloc(1024000)), { message: rpc('config data must be larger than 0 and less than 1024000 bytes') });
});
