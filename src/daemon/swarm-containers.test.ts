import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerRecord, exited, running } from '../engine/testing/container-record.ts';
import { agentContainerOf } from './swarm-containers.ts';

test('a record as the agent sees it: state, exit, pid, labels, name without the slash', () => {
  const r = containerRecord('web.1.t1', { State: exited(3), Config: { Labels: { 'com.docker.swarm.task.id': 't1' } } });
  const c = agentContainerOf(r);
  assert.deepEqual({ ...c, ports: undefined }, {
    id: r.ID, name: 'web.1.t1', labels: { 'com.docker.swarm.task.id': 't1' }, state: 'exited', exitCode: 3, pid: 0, error: '',
    health: 'none', ports: undefined,
  });
  assert.deepEqual(c.ports, {});
});

test('health: starting until the first probe, then the probe\'s verdict; NONE means no healthcheck', () => {
  const check = { Healthcheck: { Test: ['CMD', 'true'] } };
  assert.equal(agentContainerOf(containerRecord('a', { State: running(), Config: check })).health, 'starting');
  assert.equal(agentContainerOf(containerRecord('b', { State: { ...running(), Health: { Status: 'healthy', FailingStreak: 0, Log: [] } }, Config: check })).health, 'healthy');
  assert.equal(agentContainerOf(containerRecord('c', { State: { ...running(), Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] } }, Config: check })).health, 'unhealthy');
  assert.equal(agentContainerOf(containerRecord('d', { State: running(), Config: { Healthcheck: { Test: ['NONE'] } } })).health, 'none');
});
