import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration, float32String, goJson, F32, renderService, toYaml, toJson } from './render.ts';
import type { Project, Service } from './model.ts';

test('Go duration strings', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [1, '1ns'], [1500, '1.5µs'], [2e6, '2ms'], [5e8, '500ms'], [1e9, '1s'], [90e9, '1m30s'],
    [3600e9, '1h0m0s'], [86400e9, '24h0m0s'], [1.5e9, '1.5s'], [-2e9, '-2s'], [3723e9 + 5e8, '1h2m3.5s'],
  ];
  for (const [ns, s] of cases) assert.equal(goDuration(ns), s, String(ns));
});

test('float32 values print as Go prints a float32', () => {
  assert.equal(float32String(0.5), '0.5');
  assert.equal(float32String(0.1), '0.1');
  assert.equal(float32String(1.5), '1.5');
  assert.equal(float32String(0.3), '0.3');
  assert.equal(float32String(2), '2');
  assert.equal(float32String(0.001), '0.001');
  assert.equal(goJson(new F32(0.1)), '0.1');
});

test('Go JSON: field order kept, HTML-safe escapes, compact', () => {
  assert.equal(goJson({ b: 1, a: ['<x>', 'a&b', 'q"\\', '\n\t\b\f\u0001', '\u2028'], c: null, d: {}, e: [] }),
    '{"b":1,"a":["\\u003cx\\u003e","a\\u0026b","q\\"\\\\","\\n\\t\\b\\f\\u0001","\\u2028"],"c":null,"d":{},"e":[]}');
  assert.equal(goJson({ a: { b: [1] } }, '  '), '{\n  "a": {\n    "b": [\n      1\n    ]\n  }\n}');
});

const svc = (s: Partial<Service>): Service => ({ name: 'web', ...s });

test('service fields in compose-go order; JSON keeps command/entrypoint and struct values', () => {
  const s = svc({ image: 'nginx', environment: { B: '2', A: null }, command: ['a'], deploy: { resources: {} }, networks: { default: null }, privileged: false, init: false });
  assert.deepEqual(Object.keys(renderService(s, 'yaml')), ['command', 'deploy', 'environment', 'image', 'init', 'networks']);
  assert.equal(goJson(renderService(s, 'json')),
    '{"command":["a"],"deploy":{"resources":{},"placement":{}},"entrypoint":null,"environment":{"A":null,"B":"2"},"image":"nginx","init":false,"networks":{"default":null}}');
});

const project = (services: Record<string, Partial<Service>>, extra: Partial<Project> = {}): Project => ({
  name: 'p', workingDir: '/p', composeFiles: [], environment: {}, envFiles: [], disabledServices: {}, profiles: [],
  networks: {}, volumes: {}, secrets: {}, configs: {},
  services: Object.fromEntries(Object.entries(services).map(([k, v]) => [k, { name: k, ...v }])),
  ...extra,
});

test('YAML as go-yaml writes it: quoting, block literals, empty collections, $ escaped', () => {
  const y = toYaml(project({
    web: {
      image: 'a',
      environment: {
        NUM: '1', OCT: '0777', FLOAT: '1.5', BOOL: 'true', OLD: 'yes', OFF: 'off', NULL: 'null', EMPTY: '', TIME: '12:30',
        COLON: 'a: b', HASH: 'a #b', LEAD: '-x', DASH: '- x', STAR: '*x', PLAIN: 'a:b', DOLLAR: 'x$y', MULTI: 'a\nb\n', SPACE: ' x', V: null,
      },
      volumes: [{ type: 'volume', target: '/v', volume: {} }],
      entrypoint: [],
    },
  }));
  const lines = y.split('\n');
  const env = (k: string) => lines.find((l) => l.startsWith(`      ${k}:`));
  assert.equal(env('NUM'), '      NUM: "1"');
  assert.equal(env('OCT'), '      OCT: "0777"');
  assert.equal(env('FLOAT'), '      FLOAT: "1.5"');
  assert.equal(env('BOOL'), '      BOOL: "true"');
  assert.equal(env('OLD'), '      OLD: "yes"');
  // Keys follow the same rules.
  assert.ok(lines.includes('      "OFF": "off"'));
  assert.ok(lines.includes('      "NULL": "null"'));
  assert.equal(env('EMPTY'), '      EMPTY: ""');
  assert.equal(env('TIME'), '      TIME: "12:30"');
  assert.equal(env('COLON'), "      COLON: 'a: b'");
  assert.equal(env('HASH'), "      HASH: 'a #b'");
  assert.equal(env('LEAD'), '      LEAD: -x');
  assert.equal(env('DASH'), "      DASH: '- x'");
  assert.equal(env('STAR'), "      STAR: '*x'");
  assert.equal(env('PLAIN'), '      PLAIN: a:b');
  assert.equal(env('DOLLAR'), '      DOLLAR: x$$y');
  assert.equal(env('MULTI'), '      MULTI: |');
  assert.equal(env('SPACE'), "      SPACE: ' x'");
  assert.equal(env('V'), '      V: null');
  assert.ok(y.includes('    entrypoint: []\n'));
  assert.ok(y.includes('        volume: {}\n'));
});

test('secrets never show their content; configs hide content that came from the environment', () => {
  const p = project({ web: { image: 'a' } }, {
    secrets: { s: { name: 'p_s', environment: 'TOKEN', content: 'hidden' } },
    configs: { c: { name: 'p_c', environment: 'CONF', content: 'from-env' }, d: { name: 'p_d', content: 'inline' } },
  });
  const y = toYaml(p);
  assert.ok(!y.includes('hidden') && !y.includes('from-env'));
  assert.ok(y.includes('    content: inline\n'));
  const j = JSON.parse(toJson(p));
  assert.deepEqual(Object.keys(j), ['configs', 'name', 'secrets', 'services']);
  assert.deepEqual(j.secrets.s, { name: 'p_s', environment: 'TOKEN' });
});
