import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Project } from '../model.ts';
import { inDependencyOrder } from './graph.ts';
import { headStart } from './start.ts';

const project = (deps: Record<string, string[]>) => ({
  services: Object.fromEntries(Object.entries(deps).map(([n, d]) => [n, { name: n, dependsOn: Object.fromEntries(d.map((x) => [x, { condition: 'service_healthy', required: true }])) }])),
}) as unknown as Project;

async function order(p: Project, limit: number): Promise<string[]> {
  const log: string[] = [];
  const head = headStart(p, limit);
  await inDependencyOrder(p.services, async (name) => {
    await head.before(name);
    try {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 20));
      log.push(`${name}-`);
    } finally { head.after(name); }
  }, { limit });
  return log;
}

test('what others wait on starts first; the rest start once it has, then its dependants', async () => {
  const log = await order(project({ api: ['db'], db: [], web: [], cache: [] }), 0);
  assert.deepEqual(log.slice(0, 2), ['db+', 'db-']);
  assert.deepEqual(log.slice(2, 4).sort(), ['cache+', 'web+']);
  assert.ok(log.indexOf('api+') > log.indexOf('db-'));
});

test('no head start without dependencies, or with a --parallel limit (a waiting visit would hold a slot)', async () => {
  assert.deepEqual((await order(project({ a: [], b: [], c: [] }), 0)).slice(0, 3), ['a+', 'b+', 'c+']);
  const limited = await order(project({ api: ['db'], db: [], web: [] }), 1);
  assert.equal(limited.length, 6);
  assert.deepEqual(limited.slice(0, 2), ['db+', 'db-'], 'sorted walk, one at a time');
});
