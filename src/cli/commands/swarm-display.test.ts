// The swarm tables and the converge display against the docker CLI 28's output for the same
// objects (docker run against test/tools/swarm-recorder.mjs, its output pasted here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service, Task } from '../../api/types/swarm.ts';
import {
  ConvergeProgress, currentState, formatLogLine, logContext, parseLogLine, progressBlock, renderNodes, renderServices, renderTasks,
  servicePorts, shortImage,
} from './swarm-display.ts';

const NODES = [
  { ID: 'node3abcdefghijklmnop', Spec: { Role: 'worker', Availability: 'pause' }, Description: { Hostname: 'h3' }, Status: { State: 'ready', Addr: '10.0.0.4' } },
  { ID: 'node1234567890abcdef', Spec: { Labels: { old: 'x' }, Role: 'worker', Availability: 'active' }, Description: { Hostname: 'h1', Engine: { EngineVersion: '28.2.2' } }, Status: { State: 'ready', Addr: '10.0.0.2' }, ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' } },
  { ID: 'node2abcdefghijklmnop', Spec: { Role: 'manager', Availability: 'drain' }, Description: { Hostname: 'h2', Engine: { EngineVersion: '28.0.0' } }, Status: { State: 'down', Addr: '10.0.0.3' }, ManagerStatus: { Reachability: 'unreachable', Addr: '10.0.0.3:2377' } },
] as unknown as Node[];

test('node ls: docker\'s table, sorted by hostname, the current node starred', () => {
  assert.equal(renderNodes(NODES, 'node1234567890abcdef', undefined, false), [
    'ID                        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION',
    'node1234567890abcdef *    h1         Ready     Active         Leader           28.2.2',
    'node2abcdefghijklmnop     h2         Down      Drain          Unreachable      28.0.0',
    'node3abcdefghijklmnop     h3         Ready     Pause                           ',
    ''].join('\n'));
  assert.equal(renderNodes(NODES, 'x', undefined, true), 'node1234567890abcdef\nnode2abcdefghijklmnop\nnode3abcdefghijklmnop\n');
  assert.equal(renderNodes(NODES, 'node2abcdefghijklmnop', '{{.Hostname}} {{.Self}} {{.ManagerStatus}}', false), 'h1 false Leader\nh2 true Unreachable\nh3 false \n');
});

const SPEC = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox:latest@sha256:' + 'b'.repeat(64) } }, Mode: { Replicated: { Replicas: 3 } } };
const SERVICES = [
  { ID: 'svc1234567890abcdef', Spec: SPEC, ServiceStatus: { RunningTasks: 2, DesiredTasks: 3 }, Endpoint: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } },
  { ID: 'glob567890abcdef', Spec: { ...SPEC, Name: 'g', Mode: { Global: {} } }, Endpoint: {}, ServiceStatus: { RunningTasks: 1, DesiredTasks: 3 } },
] as unknown as Service[];

test('service ls: docker\'s table, sorted by name, REPLICAS from ServiceStatus, the image without its digest', () => {
  assert.equal(renderServices(SERVICES, undefined, false), [
    'ID             NAME      MODE         REPLICAS   IMAGE            PORTS',
    'glob567890ab   g         global       1/3        busybox:latest   ',
    'svc123456789   web       replicated   2/3        busybox:latest   *:8080->80/tcp',
    ''].join('\n'));
  assert.equal(renderServices(SERVICES, undefined, true), 'glob567890abcdef\nsvc1234567890abcdef\n');
  assert.equal(renderServices(SERVICES, '{{.Name}}: {{.Replicas}}', false), 'g: 1/3\nweb: 2/3\n');
});

test('servicePorts: ingress ports only, consecutive ones folded into ranges', () => {
  const p = (PublishedPort: number, TargetPort: number, Protocol = 'tcp', PublishMode = 'ingress') => ({ PublishedPort, TargetPort, Protocol, PublishMode });
  assert.equal(servicePorts([p(8081, 81), p(8080, 80), p(53, 53, 'udp'), p(9000, 90, 'tcp', 'host')]), '*:8080-8081->80-81/tcp, *:53->53/udp');
  assert.equal(servicePorts([p(8080, 80), p(9090, 80)]), '*:8080->80/tcp, *:9090->80/tcp');
  assert.equal(servicePorts(null), '');
  // docker service ls for these Endpoint.Ports: "*:8080-8081->80-81/tcp, *:9090->80/tcp, *:53->53/udp".
  assert.equal(servicePorts([p(8081, 81), p(8080, 80), p(53, 53, 'udp'), p(30001, 9000, 'tcp', 'host'), p(9090, 80)]), '*:8080-8081->80-81/tcp, *:9090->80/tcp, *:53->53/udp');
});

test('shortImage drops a digest pin from a tagged image', () => {
  assert.equal(shortImage(`busybox:latest@sha256:${'b'.repeat(64)}`), 'busybox:latest');
  assert.equal(shortImage(`busybox@sha256:${'b'.repeat(64)}`), `busybox@sha256:${'b'.repeat(64)}`);
  assert.equal(shortImage('busybox:latest@sha256:x', false), 'busybox:latest@sha256:x');
});

const NOW = Date.parse('2026-12-06T12:00:00Z');
const at = (s: number) => new Date(NOW - s * 1000).toISOString();
const TASKS = [
  { ID: 'task4abcdefghijklmnopqrstu', ServiceID: 'svc1', Slot: 3, NodeID: '', DesiredState: 'running', Spec: { ContainerSpec: { Image: 'busybox:latest' } }, Status: { Timestamp: at(1), State: 'pending', Err: 'no suitable node (scheduling constraints not satisfied on 3 nodes; insufficient resources on 1 node)' } },
  { ID: 'task2abcdefghijklmnopqrstu', ServiceID: 'svc1', Slot: 1, NodeID: 'n1', DesiredState: 'shutdown', CreatedAt: at(600), Spec: { ContainerSpec: { Image: 'busybox:old' } }, Status: { Timestamp: at(300), State: 'failed', Err: 'task: non-zero exit (1)' } },
  { ID: 'task1abcdefghijklmnopqrstu', ServiceID: 'svc1', Slot: 1, NodeID: 'n1', DesiredState: 'running', CreatedAt: at(10), Spec: { ContainerSpec: { Image: 'busybox:latest@sha256:' + 'b'.repeat(64) } }, Status: { Timestamp: at(5), State: 'running', PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'host' }] } } },
  { ID: 'task3abcdefghijklmnopqrstu', ServiceID: 'svc1', Slot: 2, NodeID: 'n2', DesiredState: 'running', Spec: { ContainerSpec: { Image: 'busybox:latest' } }, Status: { Timestamp: at(7200), State: 'preparing' } },
] as unknown as Task[];
const SVC_NAMES = new Map([['svc1', 'web']]);
const NODE_NAMES = new Map([['n1', 'h1'], ['n2', 'h2']]);

test('service ps: docker\'s table, history indented under its slot, errors quoted and cut at 30', () => {
  assert.equal(renderTasks(TASKS, SVC_NAMES, NODE_NAMES, { trunc: true, now: NOW }), [
    'ID             NAME        IMAGE            NODE      DESIRED STATE   CURRENT STATE           ERROR                              PORTS',
    'task1abcdefg   web.1       busybox:latest   h1        Running         Running 5 seconds ago                                      *:30000->80/tcp',
    'task2abcdefg    \\_ web.1   busybox:old      h1        Shutdown        Failed 5 minutes ago    "task: non-zero exit (1)"          ',
    'task3abcdefg   web.2       busybox:latest   h2        Running         Preparing 2 hours ago                                      ',
    'task4abcdefg   web.3       busybox:latest             Running         Pending 1 second ago    "no suitable node (scheduling …"   ',
    ''].join('\n'));
  assert.equal(renderTasks(TASKS, SVC_NAMES, NODE_NAMES, { trunc: false, now: NOW }).split('\n')[4],
    'task4abcdefghijklmnopqrstu   web.3       busybox:latest                                                                                     Running         Pending 1 second ago    "no suitable node (scheduling constraints not satisfied on 3 nodes; insufficient resources on 1 node)"   ');
  assert.equal(renderTasks(TASKS, SVC_NAMES, NODE_NAMES, { trunc: true, quiet: true }),
    'task1abcdefghijklmnopqrstu\ntask2abcdefghijklmnopqrstu\ntask3abcdefghijklmnopqrstu\ntask4abcdefghijklmnopqrstu\n');
});

test('currentState: docker lower-cases the duration', () => {
  assert.equal(currentState({ Status: { State: 'running', Timestamp: at(0) } } as unknown as Task, NOW), 'Running less than a second ago');
});

const svc = (replicas: number) => ({ ID: 's', Spec: { Mode: { Replicated: { Replicas: replicas } } } }) as unknown as Service;
const task = (slot: number, state: string, node = 'n1', desired = 'running') => ({ ID: `t${slot}${state}`, Slot: slot, NodeID: node, DesiredState: desired, Status: { State: state, Timestamp: '' } }) as unknown as Task;

test('ConvergeProgress (replicated): docker\'s lines, then converged when every slot runs', () => {
  const p = new ConvergeProgress();
  const active = new Set(['n1']);
  assert.equal(p.update(svc(2), [], active), false);
  // docker: "overall progress: 0 out of 2 tasks", "1/2:  ", "2/2:  " before any task shows up.
  assert.equal(progressBlock(p.lines(), 80), 'overall progress: 0 out of 2 tasks\n1/2:  \n2/2:  \n');
  assert.equal(p.update(svc(2), [task(1, 'running'), task(2, 'preparing')], active), false);
  assert.equal(progressBlock(p.lines(), 150), [
    'overall progress: 1 out of 2 tasks',
    '1/2: running   [==================================================>] ',
    '2/2: preparing [=================================>                 ] ',
    ''].join('\n'));
  assert.equal(p.update(svc(2), [task(1, 'running'), task(2, 'running')], active), true);
  // On a terminal of 110 columns or fewer there is no bar (docker: "1/2: running   ").
  assert.equal(progressBlock(p.lines(), 80), 'overall progress: 2 out of 2 tasks\n1/2: running   \n2/2: running   \n');
});

test('ConvergeProgress: a task on a down node does not count, an error shows in its slot', () => {
  const p = new ConvergeProgress();
  assert.equal(p.update(svc(2), [task(1, 'running'), task(2, 'running', 'n2')], new Set(['n1'])), false);
  assert.equal(p.lines()[0].action, '1 out of 2 tasks');
  const failing = { ...task(2, 'pending', ''), Status: { State: 'pending', Err: 'no suitable node (scheduling constraints not satisfied on 3 nodes)', Timestamp: '' } } as unknown as Task;
  p.update(svc(2), [task(1, 'running'), failing], new Set(['n1']));
  assert.equal(p.lines().find((l) => l.id === '2/2')!.action, 'no suitable node (scheduling constraints not sati…');
});

test('ConvergeProgress (global): one line per node', () => {
  const p = new ConvergeProgress();
  const g = { ID: 'g', Spec: { Mode: { Global: {} } } } as unknown as Service;
  assert.equal(p.update(g, [task(0, 'running', 'nodeaaaaaaaaaaaaaa'), task(0, 'starting', 'nodebbbbbbbbbbbbbb')], new Set(['nodeaaaaaaaaaaaaaa', 'nodebbbbbbbbbbbbbb'])), false);
  assert.equal(progressBlock(p.lines(), 80), 'overall progress: 1 out of 2 tasks\nnodeaaaaaaaa: running   \nnodebbbbbbbb: starting  \n');
});

const CTX = 'com.docker.swarm.node.id=node1234567890abcdef,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=task1abcdefghijklmnopqrstu,extra=x%20y';

test('service logs lines: details parsed, docker\'s context prefix (as docker printed it for the same stream)', () => {
  const l = parseLogLine(`${CTX} hello out`, false)!;
  assert.deepStrictEqual({ ...l }, { timestamp: undefined, nodeId: 'node1234567890abcdef', serviceId: 'svc1', taskId: 'task1abcdefghijklmnopqrstu', extra: ['extra=x y'], message: 'hello out' });
  const ctx = logContext({ serviceName: 'web', slot: 1, taskId: l.taskId, nodeName: 'h1', taskIds: true, trunc: true, padding: 1 });
  assert.equal(formatLogLine(l, ctx, false), 'web.1.task1abcdefg@h1    | hello out');
  assert.equal(formatLogLine(l, ctx, true), 'web.1.task1abcdefg@h1    | extra=x y hello out');
  assert.equal(formatLogLine(l, logContext({ serviceName: 'web', slot: 1, taskId: l.taskId, nodeName: 'h1', taskIds: false, trunc: false, padding: 1 }), false), 'web.1@h1    | hello out');
  const t = parseLogLine(`2026-01-01T00:00:00.000000000Z ${CTX} hello  spaced`, true)!;
  assert.equal(formatLogLine(t, ctx, false), '2026-01-01T00:00:00.000000000Z web.1.task1abcdefg@h1    | hello  spaced');
  // Slots padded to the widest (10 replicas: two digits).
  assert.equal(logContext({ serviceName: 'web', slot: 3, taskId: 'x', nodeName: 'h1', taskIds: false, trunc: true, padding: 2 }), 'web.3@h1 ');
  assert.equal(parseLogLine('no details here', false), undefined);
  assert.equal(parseLogLine('a=b hello', false), undefined);
});
