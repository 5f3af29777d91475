import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EPHEMERAL, RootedMatcher, buildIgnore, matchRule, planBatch, watchRules, type WatchRule } from './rules.ts';
import type { Project, Service } from '../model.ts';

function project(services: Record<string, Partial<Service>>, dir = '/srv/app'): Project {
  const s: Record<string, Service> = {};
  for (const [name, x] of Object.entries(services)) s[name] = { name, ...x } as Service;
  return { name: 'p', workingDir: dir, composeFiles: [], environment: {}, envFiles: [], services: s, disabledServices: {}, profiles: [], networks: {}, volumes: {}, secrets: {}, configs: {} };
}

test('rooted patterns: relative to the rule path, a parent match counts, ! re-includes, * keeps only exceptions', () => {
  const m = new RootedMatcher('/srv/app', ['node_modules/', '*.log', '!keep.log', 'build/**/*.o']);
  assert.equal(m.matches('/srv/app/node_modules/x/y.js'), true);
  assert.equal(m.matches('/srv/app/node_modules'), true);
  assert.equal(m.matches('/srv/app/a.log'), true);
  assert.equal(m.matches('/srv/app/keep.log'), false);
  assert.equal(m.matches('/srv/app/sub/a.log'), false, '*.log is rooted: only at the top');
  assert.equal(m.matches('/srv/app/build/x/y/z.o'), true);
  assert.equal(m.matches('/srv/app/src/index.js'), false);
  assert.equal(m.matches('/elsewhere/node_modules/x'), false);
  // compose drops every non-exception pattern of a list holding "*".
  assert.equal(new RootedMatcher('/srv/app', ['*', '!src']).matches('/srv/app/anything'), false);
  assert.equal(new RootedMatcher('/srv/app', ['/abs/path']).matches('/abs/path/x'), true);
});

test('editors\' temporary files are ignored everywhere', () => {
  for (const p of ['/a/.main.go.swp', '/a/b/file~', '/x/#x#', '/x/.#lock', '/x/4913', '/x/.idea/workspace.xml', '/x/f___jb_tmp___', '/x/f.kate-swp'.replace('f.', '.f.')]) {
    assert.equal(EPHEMERAL.matches(p), true, p);
  }
  for (const p of ['/a/main.go', '/a/swp', '/a/idea/x']) assert.equal(EPHEMERAL.matches(p), false, p);
});

test('matchRule: under the path, include then ignore, .dockerignore and .git; the container path follows target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rules-'));
  try {
    writeFileSync(join(dir, '.dockerignore'), 'secret.txt\n');
    const p = project({
      web: {
        build: { context: dir, dockerfile: 'Dockerfile' },
        develop: { watch: [
          { path: './src', target: '/app/src', action: 'sync', ignore: ['vendor/'] },
          { path: 'package.json', action: 'rebuild' },
          { path: './conf', target: '/etc/app', action: 'sync+restart', include: ['*.conf'] },
        ] },
      },
      db: { image: 'x' },
    }, dir);
    const rules = watchRules(p);
    assert.equal(rules.length, 3);
    const [sync, rebuild, conf] = rules;
    assert.deepEqual(matchRule(sync, join(dir, 'src/a/b.js')), { hostPath: join(dir, 'src/a/b.js'), containerPath: '/app/src/a/b.js' });
    assert.deepEqual(matchRule(sync, join(dir, 'src')), { hostPath: join(dir, 'src'), containerPath: '/app/src' });
    assert.equal(matchRule(sync, join(dir, 'srcx/a.js')), undefined, 'a sibling with the same prefix');
    assert.equal(matchRule(sync, join(dir, 'src/vendor/lib.js')), undefined);
    assert.equal(matchRule(sync, join(dir, 'src/.index.js.swp')), undefined);
    assert.equal(matchRule(sync, join(dir, 'src/.git/HEAD')), undefined);
    assert.equal(matchRule(sync, join(dir, 'secret.txt')), undefined);
    assert.ok(matchRule(rebuild, join(dir, 'package.json')));
    assert.equal(matchRule(rebuild, join(dir, 'package.json.bak')), undefined);
    assert.ok(matchRule(conf, join(dir, 'conf/app.conf')));
    assert.equal(matchRule(conf, join(dir, 'conf/README')), undefined, 'include leaves it out');
    // .dockerignore of the build context applies to every rule of the service.
    writeFileSync(join(dir, 'src/secret.txt'.replace('src/', '')), 'x');
    assert.equal(buildIgnore(p.services.web.build).matches(join(dir, 'secret.txt')), true);

    const plan = planBatch(rules, [join(dir, 'src/a.js'), join(dir, 'src/b.js'), join(dir, 'package.json'), join(dir, 'conf/app.conf'), join(dir, 'unrelated')]);
    assert.deepEqual(plan.rebuild, ['web']);
    assert.deepEqual(plan.restart, ['web']);
    assert.deepEqual(plan.sync.web.map((m) => m.containerPath), ['/app/src/a.js', '/app/src/b.js', '/etc/app/app.conf']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watchRules refuses what compose refuses', () => {
  assert.throws(() => watchRules(project({ a: { image: 'x', develop: { watch: [{ path: '.', action: 'rebuild' }] } } })), /can't watch service "a" with action rebuild without a build context/);
  assert.throws(() => watchRules(project({ a: { image: 'x', develop: { watch: [{ path: '.', target: '/x', action: 'sync+exec' }] } } })), /without a command/);
  assert.throws(() => watchRules(project({ a: { image: 'x' } }), ['b']), /no such service: b/);
  const rules: WatchRule[] = watchRules(project({ a: { image: 'x' } }));
  assert.deepEqual(rules, []);
});
