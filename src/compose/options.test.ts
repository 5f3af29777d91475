import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { resolveOptions, findDefaultFiles, type ProjectFlags } from './options.ts';

const roots: string[] = [];
after(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-compose-opts-'));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const svc = 'services:\n  web:\n    image: x\n';
const flags = (f: Partial<ProjectFlags> = {}): ProjectFlags => ({ files: [], envFiles: [], profiles: [], ...f });

function resolve(f: Partial<ProjectFlags>, cwd: string, env: Record<string, string> = {}) {
  const warnings: string[] = [];
  const o = resolveOptions(flags(f), { cwd, env, warn: (m) => warnings.push(m), readStdin: () => svc });
  return { o, warnings };
}

test('default files: first name in order, walking up; the matching override', () => {
  const root = tree({
    'app/compose.yml': svc,
    'app/docker-compose.yaml': svc,
    'app/docker-compose.override.yml': svc,
    'app/compose.override.yaml': svc,
    'app/deep/er/.keep': '',
  });
  const { o, warnings } = resolve({}, join(root, 'app/deep/er'));
  assert.deepEqual(o.files.map((f) => f.filename), [join(root, 'app/compose.yml'), join(root, 'app/compose.override.yaml')]);
  assert.equal(o.workingDir, join(root, 'app'));
  assert.deepEqual(o.projectName, { name: 'app', explicit: false });
  assert.deepEqual(warnings, [
    `Found multiple config files with supported names: ${join(root, 'app/compose.yml')}, ${join(root, 'app/docker-compose.yaml')}`,
    `Using ${join(root, 'app/compose.yml')}`,
    `Found multiple override files with supported names: ${join(root, 'app/compose.override.yaml')}, ${join(root, 'app/docker-compose.override.yml')}`,
    `Using ${join(root, 'app/compose.override.yaml')}`,
  ]);
  assert.deepEqual(findDefaultFiles(join(root), () => {}), []);
});

test('-f is relative to the cwd, repeatable, and `-` is stdin; the project directory is the first file\'s', () => {
  const root = tree({ 'a/one.yaml': svc, 'b/two.yaml': svc });
  const { o } = resolve({ files: ['a/one.yaml', 'b/two.yaml', '-'] }, root);
  assert.deepEqual(o.files.map((f) => f.filename), [join(root, 'a/one.yaml'), join(root, 'b/two.yaml'), '-']);
  assert.equal(o.files[2].content, svc);
  assert.equal(o.workingDir, join(root, 'a'));
  assert.equal(resolve({ files: ['-'] }, root).o.workingDir, root);
  assert.equal(resolve({ files: ['a/one.yaml'], projectDirectory: 'b' }, root).o.workingDir, join(root, 'b'));
  assert.throws(() => resolve({ files: ['gone.yaml'] }, root), new RegExp(`open ${join(root, 'gone.yaml')}: no such file or directory`));
  assert.throws(() => resolve({}, join(root, 'a')), /no configuration file provided: not found/);
});

test('COMPOSE_FILE, split on COMPOSE_PATH_SEPARATOR (default `:`); -f wins', () => {
  const root = tree({ 'x.yaml': svc, 'y.yaml': svc, 'compose.yaml': svc });
  assert.deepEqual(resolve({}, root, { COMPOSE_FILE: 'x.yaml:y.yaml' }).o.files.map((f) => f.filename), [join(root, 'x.yaml'), join(root, 'y.yaml')]);
  assert.deepEqual(resolve({}, root, { COMPOSE_FILE: 'x.yaml;y.yaml', COMPOSE_PATH_SEPARATOR: ';' }).o.files.map((f) => f.filename), [join(root, 'x.yaml'), join(root, 'y.yaml')]);
  assert.deepEqual(resolve({ files: ['y.yaml'] }, root, { COMPOSE_FILE: 'x.yaml' }).o.files.map((f) => f.filename), [join(root, 'y.yaml')]);
  assert.throws(() => resolve({}, root, { COMPOSE_FILE: 'nope.yaml' }), /stat .*nope\.yaml: no such file or directory/);
});

test('.env: from the project directory, under the process environment; COMPOSE_* in it count', () => {
  const root = tree({
    'proj/compose.yaml': svc,
    'proj/other.yaml': svc,
    'proj/.env': 'A=dotenv\nB=dotenv\nCOMPOSE_FILE=other.yaml\nCOMPOSE_PROJECT_NAME=fromdotenv\nCOMPOSE_PROFILES=p1,p2\n',
    'alt.env': 'A=alt\n',
  });
  const { o } = resolve({}, join(root, 'proj'), { B: 'process' });
  assert.equal(o.environment.A, 'dotenv');
  assert.equal(o.environment.B, 'process');
  assert.deepEqual(o.files.map((f) => f.filename), [join(root, 'proj/other.yaml')]);
  assert.deepEqual(o.projectName, { name: 'fromdotenv', explicit: true });
  assert.deepEqual(o.profiles, ['p1', 'p2']);
  assert.deepEqual(o.envFiles, []);
  // --env-file replaces .env (relative to the cwd); COMPOSE_ENV_FILES is its default.
  const alt = resolve({ envFiles: ['../alt.env'] }, join(root, 'proj')).o;
  assert.equal(alt.environment.A, 'alt');
  assert.equal(alt.environment.B, undefined);
  assert.equal(resolve({}, join(root, 'proj'), { COMPOSE_ENV_FILES: join(root, 'alt.env') }).o.environment.A, 'alt');
  assert.throws(() => resolve({ envFiles: ['nope.env'] }, root), /couldn't find env file: .*nope\.env/);
  // COMPOSE_DISABLE_ENV_FILE turns the default .env off.
  assert.equal(resolve({}, join(root, 'proj'), { COMPOSE_DISABLE_ENV_FILE: 'true' }).o.environment.A, undefined);
});

test('project name: -p and COMPOSE_PROJECT_NAME are explicit; a file\'s name: defers to the loader', () => {
  const root = tree({ 'Dir.X/compose.yaml': svc, 'named/compose.yaml': `name: mine\n${svc}` });
  assert.deepEqual(resolve({}, join(root, 'Dir.X')).o.projectName, { name: 'dirx', explicit: false });
  assert.deepEqual(resolve({ projectName: 'p' }, join(root, 'Dir.X')).o.projectName, { name: 'p', explicit: true });
  assert.deepEqual(resolve({}, join(root, 'Dir.X'), { COMPOSE_PROJECT_NAME: 'e' }).o.projectName, { name: 'e', explicit: true });
  assert.deepEqual(resolve({}, join(root, 'named')).o.projectName, { name: '', explicit: false });
  assert.throws(() => resolve({ projectName: 'Nope' }, join(root, 'named')), /invalid project name "Nope"/);
  // A project directory reached through a symlink: its own basename, with compose's warning.
  symlinkSync(join(root, 'Dir.X'), join(root, 'link'));
  const { o, warnings } = resolve({ projectDirectory: join(root, 'link') }, root);
  assert.equal(o.projectName.name, 'link');
  assert.deepEqual(warnings, ['project has been loaded without an explicit name from a symlink. Using name "link"']);
});

test('profiles: --profile, else COMPOSE_PROFILES', () => {
  const root = tree({ 'compose.yaml': svc });
  assert.deepEqual(resolve({ profiles: ['a', 'b'] }, root, { COMPOSE_PROFILES: 'c' }).o.profiles, ['a', 'b']);
  assert.deepEqual(resolve({}, root, { COMPOSE_PROFILES: 'c, d' }).o.profiles, ['c', 'd']);
  assert.equal(resolve({}, root).o.environment.PWD, root);
});
