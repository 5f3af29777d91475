import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule, type SchedulerNode, type TaskToPlace, type Decision } from './scheduler.ts';

const GiB = 1024 ** 3;
const CPU = 1e9;

function node(id: string, over: Partial<SchedulerNode> = {}): SchedulerNode {
  return {
    id, hostname: `host-${id}`, role: 'worker', availability: 'active', state: 'ready',
    resources: { nanoCPUs: 4 * CPU, memoryBytes: 8 * GiB }, ...over,
  };
}

function tasks(n: number, over: Partial<TaskToPlace> = {}, serviceId = 'web'): TaskToPlace[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${serviceId}.${i + 1}`, serviceId, ...over }));
}

/** Tasks placed per node ID (only nodes that got some), and the errors of the rest. */
function tally(decisions: Decision[]): { perNode: Record<string, number>; errors: string[] } {
  const perNode: Record<string, number> = {};
  const errors: string[] = [];
  for (const d of decisions) {
    if (d.nodeId !== undefined) perNode[d.nodeId] = (perNode[d.nodeId] ?? 0) + 1;
    else errors.push(d.error);
  }
  return { perNode, errors };
}

test('spread: 3 replicas over 3 equal nodes land 1/1/1, 6 land 2/2/2', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];
  assert.deepEqual(tally(schedule(nodes, tasks(3))), { perNode: { n1: 1, n2: 1, n3: 1 }, errors: [] });
  assert.deepEqual(tally(schedule(nodes, tasks(6))), { perNode: { n1: 2, n2: 2, n3: 2 }, errors: [] });
  // The same inputs give the same decisions, in task order, and the inputs are not modified.
  const before = JSON.stringify(nodes);
  assert.deepEqual(schedule(nodes, tasks(3)), [
    { taskId: 'web.1', nodeId: 'n1' }, { taskId: 'web.2', nodeId: 'n2' }, { taskId: 'web.3', nodeId: 'n3' },
  ]);
  assert.equal(JSON.stringify(nodes), before);
});

test('spread: fewest tasks of the service first, then fewest tasks in total', () => {
  const nodes = [
    node('n1', { tasks: [{ serviceId: 'web' }] }),
    node('n2', { tasks: [{ serviceId: 'db' }, { serviceId: 'db' }] }),
    node('n3', { tasks: [{ serviceId: 'db' }] }),
  ];
  // n2 and n3 hold no "web" task; n3 has fewer tasks in total. Then n2 (0 web), then all hold one
  // web task and n1 (1 task in total) wins over n3 (2) and n2 (3).
  assert.deepEqual(schedule(nodes, tasks(3)).map((d) => d.nodeId), ['n3', 'n2', 'n1']);
  // The header comment's worked example.
  const ex = [node('n1'), node('n2'), node('n3', { tasks: [{ serviceId: 'web' }] })];
  assert.deepEqual(schedule(ex, tasks(3, { constraints: ['node.role==worker'] })).map((d) => d.nodeId), ['n1', 'n2', 'n1']);
});

test('drained, paused and down nodes take no new tasks', () => {
  const nodes = [
    node('n1', { availability: 'drain' }),
    node('n2', { availability: 'pause' }),
    node('n3', { state: 'down' }),
    node('n4'),
    node('n5', { state: 'unknown' }),
  ];
  assert.deepEqual(tally(schedule(nodes, tasks(4))), { perNode: { n4: 4 }, errors: [] });
  const none = [node('n1', { availability: 'drain' }), node('n2', { state: 'down' })];
  assert.deepEqual(tally(schedule(none, tasks(1))).errors, ['no suitable node (2 nodes not available for new tasks)']);
  assert.deepEqual(tally(schedule([node('n1', { availability: 'pause' })], tasks(1))).errors,
    ['no suitable node (1 node not available for new tasks)']);
  assert.deepEqual(tally(schedule([], tasks(1))).errors, ['no suitable node']);
});

test('constraints of each kind select the nodes', () => {
  const nodes = [
    node('n1', { role: 'manager', labels: { zone: 'east' }, engineLabels: { disk: 'ssd' }, platform: { os: 'linux', architecture: 'aarch64' } }),
    node('n2', { labels: { zone: 'west' }, engineLabels: { disk: 'hdd' }, platform: { os: 'linux', architecture: 'x86_64' } }),
    node('n3', { hostname: 'special', labels: { zone: 'West' } }),
  ];
  const placed = (constraints: string[]) => tally(schedule(nodes, tasks(6, { constraints }))).perNode;
  assert.deepEqual(placed(['node.role==manager']), { n1: 6 });
  assert.deepEqual(placed(['node.role!=manager']), { n2: 3, n3: 3 });
  assert.deepEqual(placed(['node.id==N2']), { n2: 6 });
  assert.deepEqual(placed(['node.id!=n2']), { n1: 3, n3: 3 });
  assert.deepEqual(placed(['node.hostname==SPECIAL']), { n3: 6 });
  assert.deepEqual(placed(['node.hostname!=special']), { n1: 3, n2: 3 });
  assert.deepEqual(placed(['node.labels.zone==west']), { n2: 3, n3: 3 });
  assert.deepEqual(placed(['node.labels.zone!=west']), { n1: 6 });
  assert.deepEqual(placed(['engine.labels.disk==ssd']), { n1: 6 });
  assert.deepEqual(placed(['engine.labels.disk!=ssd']), { n2: 3, n3: 3 });
  assert.deepEqual(placed(['node.platform.arch==x86_64']), { n2: 6 });
  assert.deepEqual(placed(['node.platform.os==linux', 'node.role==worker']), { n2: 6 });
  assert.deepEqual(placed(['node.labels.zone==west', 'node.hostname!=special']), { n2: 6 });
});

test('a task no node satisfies gets swarmkit\'s explanation', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];
  assert.deepEqual(tally(schedule(nodes, tasks(2, { constraints: ['node.role==manager'] }))).errors, [
    'no suitable node (scheduling constraints not satisfied on 3 nodes)',
    'no suitable node (scheduling constraints not satisfied on 3 nodes)',
  ]);
  assert.deepEqual(tally(schedule([node('n1')], tasks(1, { constraints: ['node.labels.x==y'] }))).errors,
    ['no suitable node (scheduling constraints not satisfied on 1 node)']);
  // Each node counts against the first filter it fails; most refusals first.
  const mixed = [
    node('n1', { state: 'down', role: 'manager' }),
    node('n2'), node('n3'),
    node('n4', { role: 'manager', resources: { nanoCPUs: 0, memoryBytes: 0 } }),
  ];
  assert.deepEqual(
    tally(schedule(mixed, tasks(1, { constraints: ['node.role==manager'], reservations: { nanoCPUs: CPU, memoryBytes: 0 } }))).errors,
    ['no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks; insufficient resources on 1 node)'],
  );
});

test('resources: reservations take from what the node has left, and a full node is skipped', () => {
  const nodes = [
    node('n1', { resources: { nanoCPUs: 2 * CPU, memoryBytes: 4 * GiB } }),
    node('n2', { resources: { nanoCPUs: 2 * CPU, memoryBytes: 4 * GiB }, tasks: [{ serviceId: 'db', reservations: { nanoCPUs: CPU, memoryBytes: 3 * GiB } }] }),
  ];
  const res = { nanoCPUs: CPU, memoryBytes: GiB };
  // n1 fits two, n2 one (1 GiB left after the db task): 3 placed, the 4th has nowhere to go.
  const d = schedule(nodes, tasks(4, { reservations: res }));
  assert.deepEqual(tally(d), { perNode: { n1: 2, n2: 1 }, errors: ['no suitable node (insufficient resources on 2 nodes)'] });
  assert.equal(d[3].nodeId, undefined);
  // Memory alone can exhaust a node.
  assert.deepEqual(tally(schedule([node('n1', { resources: { nanoCPUs: 8 * CPU, memoryBytes: 2 * GiB } })], tasks(3, { reservations: { nanoCPUs: 0, memoryBytes: GiB } }))),
    { perNode: { n1: 2 }, errors: ['no suitable node (insufficient resources on 1 node)'] });
  // A reservation exactly equal to what is left fits.
  assert.deepEqual(tally(schedule([node('n1', { resources: { nanoCPUs: CPU, memoryBytes: GiB } })], tasks(1, { reservations: res }))).perNode, { n1: 1 });
  // No reservation: resources are not looked at, even on a node that describes none.
  assert.deepEqual(tally(schedule([node('n1', { resources: undefined })], tasks(2))).perNode, { n1: 2 });
  // Tasks placed earlier in the batch count for a later service.
  const one = [node('n1', { resources: { nanoCPUs: CPU, memoryBytes: GiB } })];
  assert.deepEqual(tally(schedule(one, [...tasks(1, { reservations: res }), ...tasks(1, { reservations: res }, 'api')])).errors,
    ['no suitable node (insufficient resources on 1 node)']);
});

test('max replicas per node', () => {
  const nodes = [node('n1'), node('n2', { tasks: [{ serviceId: 'web' }] }), node('n3')];
  // n2 already holds one: with maxReplicas 2, the nodes take 2 + 1 + 2 = 5 more.
  const d = schedule(nodes, tasks(6, { maxReplicas: 2 }));
  assert.deepEqual(tally(d), { perNode: { n1: 2, n2: 1, n3: 2 }, errors: ['no suitable node (max replicas per node limit exceed)'] });
  // Only tasks of the same service count.
  const other = [node('n1', { tasks: [{ serviceId: 'db' }, { serviceId: 'db' }] })];
  assert.deepEqual(tally(schedule(other, tasks(1, { maxReplicas: 1 }))).perNode, { n1: 1 });
  // Ties between refusals keep the pipeline order: ready, resources, constraints, max replicas.
  const ex = [node('n1'), node('n2', { availability: 'drain' }), node('n3', { role: 'manager' })];
  assert.deepEqual(tally(schedule(ex, tasks(3, { constraints: ['node.role==worker'], maxReplicas: 1 }))), {
    perNode: { n1: 1 },
    errors: Array(2).fill('no suitable node (1 node not available for new tasks; scheduling constraints not satisfied on 1 node; max replicas per node limit exceed)'),
  });
});

test('spread preference over a node label evens out the label values first', () => {
  const nodes = [
    node('a1', { labels: { zone: 'a' } }), node('a2', { labels: { zone: 'a' } }), node('a3', { labels: { zone: 'a' } }),
    node('b1', { labels: { zone: 'b' } }),
  ];
  const prefs = [{ spread: 'node.labels.zone' }];
  // Without the preference the four nodes get one each; with it zone a and zone b get two each.
  assert.deepEqual(tally(schedule(nodes, tasks(4))).perNode, { a1: 1, a2: 1, a3: 1, b1: 1 });
  assert.deepEqual(tally(schedule(nodes, tasks(4, { preferences: prefs }))).perNode, { a1: 1, a2: 1, b1: 2 });
  // A node without the label forms its own "" branch; an unsupported descriptor is ignored.
  const withBare = [...nodes, node('x1')];
  assert.deepEqual(tally(schedule(withBare, tasks(3, { preferences: prefs }))).perNode, { a1: 1, b1: 1, x1: 1 });
  assert.deepEqual(tally(schedule(nodes, tasks(4, { preferences: [{ spread: 'node.hostname' }] }))).perNode, { a1: 1, a2: 1, a3: 1, b1: 1 });
  // A branch with no accepting node is passed over.
  assert.deepEqual(tally(schedule(nodes, tasks(2, { preferences: prefs, constraints: ['node.id!=b1'] }))).perNode, { a1: 1, a2: 1 });
  // Engine labels work the same way, and existing tasks count for their branch.
  const eng = [
    node('e1', { engineLabels: { rack: 'r1' }, tasks: [{ serviceId: 'web' }, { serviceId: 'web' }] }),
    node('e2', { engineLabels: { rack: 'r2' } }), node('e3', { engineLabels: { rack: 'r2' } }),
  ];
  assert.deepEqual(tally(schedule(eng, tasks(2, { preferences: [{ spread: 'engine.labels.rack' }] }))).perNode, { e2: 1, e3: 1 });
});

test('a task whose constraints do not parse is placed as if it had none, as swarmkit does', () => {
  assert.deepEqual(tally(schedule([node('n1')], tasks(1, { constraints: ['node.role=manager'] }))).perNode, { n1: 1 });
});

test('nested spread preferences: zone first, then rack within it (swarmkit\'s scale-up case)', () => {
  const running = (n: number) => Array.from({ length: n }, () => ({ serviceId: 'web' }));
  const nodes = [
    node('id11', { labels: { az: 'dc1', rack: 'r1' }, tasks: running(3) }),
    node('id12', { labels: { az: 'dc1', rack: 'r2' }, tasks: running(1) }),
    node('id21', { labels: { az: 'dc2', rack: 'r1' }, tasks: running(3) }),
  ];
  const prefs = [{ spread: 'node.labels.az' }, { spread: 'node.labels.rack' }];
  // dc1 holds 4 and dc2 3: the first new task evens the zones (id21); then, zones tied, dc1's
  // emptier rack r2 (id12). swarmkit accepts any split that puts both on id12 or id21.
  assert.deepEqual(schedule(nodes, tasks(2, { preferences: prefs })).map((d) => d.nodeId), ['id21', 'id12']);
  // Without preferences the spread is per node: id12 holds the fewest.
  assert.deepEqual(schedule(nodes, tasks(2)).map((d) => d.nodeId), ['id12', 'id12']);
});

test('explanation for an oversized task among unready nodes matches swarmkit\'s resource-constraint case', () => {
  const nodes = [
    node('underprovisioned', { resources: { nanoCPUs: 1e9, memoryBytes: 1e9 } }),
    node('nonready1', { state: 'unknown', resources: { nanoCPUs: 2e9, memoryBytes: 2e9 } }),
    node('nonready2', { state: 'unknown', resources: { nanoCPUs: 2e9, memoryBytes: 2e9 } }),
  ];
  const d = schedule(nodes, tasks(1, { reservations: { nanoCPUs: 0, memoryBytes: 2e9 } }));
  assert.deepEqual(d, [{ taskId: 'web.1', error: 'no suitable node (2 nodes not available for new tasks; insufficient resources on 1 node)' }]);
  // A big enough node joining takes it.
  const more = [...nodes, node('bignode', { resources: { nanoCPUs: 4e9, memoryBytes: 8e9 } })];
  assert.deepEqual(schedule(more, tasks(1, { reservations: { nanoCPUs: 0, memoryBytes: 2e9 } })), [{ taskId: 'web.1', nodeId: 'bignode' }]);
});

test('host-mode published ports: one task per node and port, with swarmkit\'s explanation', () => {
  const nodes = ['a', 'b'].map((id) => ({ id, role: 'worker' as const, availability: 'active' as const, state: 'ready' as const }));
  const task = (id: string) => ({ id, serviceId: 's', hostPorts: ['tcp/8080'] });
  const d = schedule(nodes, [task('t1'), task('t2'), task('t3'), { id: 't4', serviceId: 's', hostPorts: ['udp/8080'] }]);
  assert.deepEqual(new Set(d.slice(0, 2).map((x) => x.nodeId)), new Set(['a', 'b']));
  assert.deepEqual(d[2], { taskId: 't3', error: 'no suitable node (host-mode port already in use on 2 nodes)' });
  assert.ok(d[3]!.nodeId, 'another protocol is another port');
  const held = schedule([{ ...nodes[0]!, tasks: [{ serviceId: 'x', hostPorts: ['tcp/8080'] }] }], [task('t5')]);
  assert.deepEqual(held[0], { taskId: 't5', error: 'no suitable node (host-mode port already in use on 1 node)' });
});
