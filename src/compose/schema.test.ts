import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateSchema, precompiled, compileNow, describe } from './schema.ts';
import { parseYaml } from './parse.ts';
import type { Dict } from './tree.ts';

const check = (text: string): string | undefined => {
  try {
    validateSchema(parseYaml(text, 'f')[0].value as Dict);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

test('a valid file passes', () => {
  assert.equal(check([
    'version: "3.8"',
    'name: x',
    'services:',
    '  web:',
    '    image: nginx',
    '    ports: ["80:80", {target: 81, published: "8081"}]',
    '    environment: {A: 1, B: null, C: true}',
    '    x-custom: anything',
    'volumes:',
    '  data:',
    'x-top: 1',
  ].join('\n')), undefined);
});

test('violations are reported as compose v2 reports them', () => {
  const cases: Array<[string, string]> = [
    ['services:\n  web:\n    image: x\n    foo: 1\n', "services.web additional properties 'foo' not allowed"],
    ['services:\n  web:\n    image: x\n    foo: 1\n    bar: 2\n', "services.web additional properties 'bar', 'foo' not allowed"],
    ['services:\n  web: {}\nfoo: 1\n', " additional properties 'foo' not allowed"],
    ['services:\n  web:\n    image: 123\n', 'services.web.image must be a string'],
    ['services:\n  web:\n    environment: 12\n', 'services.web.environment must be a mapping'],
    ['services:\n  web:\n    environment: {A: [1]}\n', 'services.web.environment.A must be a boolean, null, number or string'],
    ['services:\n  web:\n    ports: [{target: 80, bogus: 1}]\n', "services.web.ports.0 additional properties 'bogus' not allowed"],
    ['services:\n  web:\n    depends_on: {db: {condition: nope}}\n', "services.web.depends_on.db.condition value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'"],
    ['services:\n  web:\n    develop: {watch: [{path: x}]}\n', "services.web.develop.watch.0 missing property 'action'"],
    ['services:\n  "a b": {}\n', "services additional properties 'a b' not allowed"],
    ['services: []\n', 'services must be a mapping'],
    ['services:\n  web:\n    volumes: [{type: tmpfs, target: /t, tmpfs: {size: -1}}]\n', 'services.web.volumes.0.tmpfs.size must be greater than or equal to 0'],
    // oneOf [string, integer 0..100]: the first branch's error is as specific, and wins (as in compose).
    ['services:\n  web:\n    cpu_percent: 200\n', 'services.web.cpu_percent must be a string'],
    ['networks:\n  n:\n    driver: [x]\n', 'networks.n.driver must be a string'],
  ];
  for (const [text, msg] of cases) assert.equal(check(text), msg, text);
});

test("the build's precompiled validator is the schema's, and reports exactly as a fresh compile", () => {
  let root = resolve(new URL('.', import.meta.url).pathname);
  while (!existsSync(join(root, 'package.json')) && root !== '/') root = resolve(root, '..');
  // Where the CLI looks: beside the chunk that holds precompiled() (every compose command paid
  // ~150 ms compiling the schema while the build wrote the file one directory up).
  const chunks = join(root, 'dist', 'chunks');
  const holder = readdirSync(chunks).find((f) => /\.c?js$/.test(f) && readFileSync(join(chunks, f), 'utf8').includes('function precompiled('));
  assert.ok(holder, 'no CLI chunk holds precompiled() (run the build)');
  const pre = precompiled(join(chunks, 'compose-schema.cjs'));
  assert.ok(pre, 'dist/chunks/compose-schema.cjs missing or for another schema (run the build)');
  const now = compileNow();
  const docs = [
    'services:\n  web:\n    image: x\n    foo: 1\n', 'services:\n  web: {}\nfoo: 1\n', 'services:\n  web:\n    environment: {A: [1]}\n',
    'services:\n  web:\n    ports: [{target: 80, bogus: 1}]\n', 'services:\n  web:\n    depends_on: {db: {condition: nope}}\n',
    'services:\n  web:\n    image: nginx\n', 'networks:\n  n:\n    ipam: {config: [{subnet: 1}]}\n',
  ];
  for (const text of docs) {
    const tree = JSON.parse(JSON.stringify(parseYaml(text, 'f')[0].value));
    assert.equal(pre(tree), now(tree), text);
    assert.equal(describe(pre.errors ?? []), describe(now.errors ?? []), text);
  }
  assert.equal(precompiled(join(root, 'nope.cjs')), undefined);
});
