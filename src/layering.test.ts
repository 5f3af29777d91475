// The layering check: no module imports from a layer above its own, and the top-level folders of
// src/ form no cycle. The table below is the layout STYLE.md describes, lowest layer first; a
// folder may import only the units listed for it (a unit is a top-level folder, `api/types`, or a
// narrower path such as `build/context`). Test files are not checked: a test may reach anything.
//
// Why these edges and not others:
// - `api/types` holds the Engine API's wire types (moby's api/types): a leaf every layer may use.
// - `archive` (tar reading and writing, path confinement) sits on `sys` (fd-relative file access).
// - `swarm` (the cluster CA, etcd) sits beside the other engine services, below `engine`.
// - `build` sits below `engine`: the engine composes the builder and hands it narrow interfaces.
// - `api` reaches the engine through each router's backend.ts; it never touches store, runtime,
//   network, volume or sys itself.
// - The CLI and compose are API clients: they reach the daemon only through `client`, and share
//   the client-side halves of archives and build contexts (`archive`, `build/context`). The one
//   exception is `berth registry serve|gc`, which runs berth's registry server in its own process
//   (`registry/server`, loaded on demand) and does not talk to berthd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAYERS: Record<string, string[]> = {
  'api/types': [],
  common: ['api/types'],
  sys: ['common'],
  archive: ['common', 'sys', 'api/types'],
  store: ['common', 'sys', 'archive', 'api/types'],
  registry: ['common', 'store', 'api/types'],
  runtime: ['common', 'sys', 'archive', 'store', 'api/types'],
  volume: ['common', 'sys', 'archive', 'store', 'runtime', 'api/types'],
  network: ['common', 'sys', 'store', 'api/types'],
  build: ['common', 'sys', 'archive', 'store', 'registry', 'runtime', 'network', 'api/types'],
  swarm: ['common', 'sys', 'store', 'api/types'],
  engine: ['common', 'sys', 'archive', 'store', 'registry', 'runtime', 'volume', 'network', 'build', 'api/types'],
  api: ['common', 'api/types', 'engine', 'build', 'registry'],
  client: ['common', 'api/types'],
  compose: ['common', 'api/types', 'client', 'archive', 'build/context'],
  cli: ['common', 'api/types', 'client', 'compose', 'archive', 'build/context', 'registry/server', '../package.json'],
  daemon: ['common', 'sys', 'archive', 'store', 'registry', 'runtime', 'volume', 'network', 'build', 'swarm', 'engine', 'api', 'api/types'],
};

export interface Edge { from: string; to: string; file: string; spec: string }

/** The unit a path under src/ belongs to: its top-level folder, or `api/types`. */
export function unitOf(rel: string): string {
  const parts = rel.split('/');
  if (parts[0] === 'api' && parts[1] === 'types') return 'api/types';
  return parts.length > 1 ? parts[0] : '.';
}

/** Relative import specifiers of a module's source (static, re-exports and dynamic). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\n;])\s*(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|(?:^|[\n;])\s*import\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Edges that break the table: an import of a unit not listed for the importer. */
export function violations(edges: Edge[], layers = LAYERS): Edge[] {
  return edges.filter((e) => {
    if (e.from === e.to) return false;
    const allowed = layers[e.from];
    if (!allowed) return true;
    return !allowed.some((u) => e.to === u || e.spec === u || e.spec.startsWith(u + '/'));
  });
}

/** Cycles between units, as lists of units (one per strongly connected component of size > 1). */
export function cycles(edges: Edge[]): string[][] {
  const g = new Map<string, Set<string>>();
  for (const e of edges) if (e.from !== e.to) (g.get(e.from) ?? g.set(e.from, new Set()).get(e.from)!).add(e.to);
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every cross-unit import of the non-test modules under `src`. */
export function edgesOf(src: string): Edge[] {
  const edges: Edge[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) { walk(p); continue; }
      if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
      const from = unitOf(relative(src, p));
      for (const spec of importsOf(readFileSync(p, 'utf8'))) {
        const target = relative(src, resolve(dirname(p), spec));
        edges.push({ from, to: target.startsWith('..') ? target : unitOf(target), file: relative(src, p), spec: target });
      }
    }
  };
  walk(src);
  return edges;
}

/** src/ of this checkout: up from the built test until a folder holds src/daemon/main.ts. */
function srcDir(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'src', 'daemon', 'main.ts'))) return join(dir, 'src');
    if (dirname(dir) === dir) break;
  }
  const cwd = join(process.cwd(), 'src');
  return existsSync(join(cwd, 'daemon', 'main.ts')) ? cwd : undefined;
}

test('the layer table itself has no cycle', () => {
  const edges = Object.entries(LAYERS).flatMap(([from, tos]) => tos.map((to) => ({ from, to: to === 'api/types' ? to : to.split('/')[0], file: '', spec: to })));
  assert.deepEqual(cycles(edges.filter((e) => e.to in LAYERS)), []);
});

test('the checker finds an upward import, a cycle, and all three import forms', () => {
  const found = importsOf("import { a } from './a.ts';\nexport * from '../b/b.ts';\nconst m = await import('./c.ts');\nimport './d.ts';\nimport x from 'node:fs';");
  assert.deepEqual(found.sort(), ['../b/b.ts', './a.ts', './c.ts', './d.ts']);
  const up: Edge = { from: 'store', to: 'engine', file: 'store/x.ts', spec: 'engine/images.ts' };
  const down: Edge = { from: 'engine', to: 'store', file: 'engine/x.ts', spec: 'store/metadata/atomic.ts' };
  assert.deepEqual(violations([up, down]), [up]);
  assert.deepEqual(violations([{ from: 'cli', to: 'build', file: 'cli/x.ts', spec: 'build/context/dockerignore.ts' }]), []);
  assert.equal(violations([{ from: 'cli', to: 'build', file: 'cli/x.ts', spec: 'build/builder.ts' }]).length, 1);
  assert.deepEqual(cycles([up, down]), [['engine', 'store']]);
  assert.equal(unitOf('api/types/container.ts'), 'api/types');
  assert.equal(unitOf('api/routers/x/routes.ts'), 'api');
});

test('no module under src/ imports from a layer above it, and the folders form no cycle', (t) => {
  const src = srcDir();
  if (!src) { t.skip('the sources are not beside this build'); return; }
  const edges = edgesOf(src);
  assert.ok(edges.length > 100, `found only ${edges.length} imports under ${src}`);
  const bad = violations(edges);
  assert.deepEqual(bad.map((e) => `${e.file} imports ${e.spec} (${e.from} may not import ${e.to})`), []);
  assert.deepEqual(cycles(edges), []);
});
