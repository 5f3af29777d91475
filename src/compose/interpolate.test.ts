import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolate } from './interpolate.ts';
import { parseYaml } from './parse.ts';
import type { Dict } from './tree.ts';

const env: Record<string, string> = { TAG: '1.2', PRIV: 'true', PORT: '80', YES: 'yes', BAD: 'maybe', KEY: 'k' };
const lookup = (k: string) => env[k];
const load = (text: string) => parseYaml(text, 'f')[0].value as Dict;
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

test('values are interpolated, keys never', () => {
  const out = interpolate(load('services:\n  ${KEY}:\n    image: app:${TAG}\n    environment:\n      $KEY: $TAG\n    command: [a, "${TAG}"]\n'), { lookup });
  assert.deepEqual(plain(out), { services: { '${KEY}': { image: 'app:1.2', environment: { $KEY: '1.2' }, command: ['a', '1.2'] } } });
});

test('typed fields are cast back from the substituted text', () => {
  const warnings: string[] = [];
  const out = interpolate(load([
    'services:',
    '  web:',
    '    privileged: ${PRIV}',
    '    tty: ${YES}',
    '    scale: "3"',
    '    ports: [{ target: "${PORT}" }]',
    '    cpus: "1.5"',
    '    ulimits: { nofile: "10" }',
    '    depends_on: { db: { required: "false" } }',
    '    labels: { x: "${PORT}" }',
    'networks:',
    '  n: { external: "${PRIV}" }',
  ].join('\n')), { lookup, warn: (m) => warnings.push(m) }) as any;
  const web = out.services.web;
  assert.equal(web.privileged, true);
  assert.equal(web.tty, true);
  assert.equal(web.scale, 3);
  assert.equal(web.ports[0].target, 80);
  assert.equal(web.cpus, 1.5);
  assert.equal(web.ulimits.nofile, 10);
  assert.equal(web.depends_on.db.required, false);
  assert.equal(web.labels.x, '80');
  assert.equal(out.networks.n.external, true);
  assert.deepEqual(warnings, ['"yes" for boolean is not supported by YAML 1.2, please use `true`']);
});

test('errors name the path as compose does', () => {
  const err = (text: string, msg: string) => assert.throws(() => interpolate(load(text), { lookup }), (e: Error) => e.message === msg, text);
  err('services:\n  web:\n    environment: ["A=${NOPE:?set NOPE}"]\n', 'error while interpolating services.web.environment.[]: required variable NOPE is missing a value: set NOPE');
  err('services:\n  web:\n    image: ${NOPE?}\n', 'error while interpolating services.web.image: required variable NOPE is missing a value');
  err('services:\n  web:\n    image: "a ${"\n', 'invalid interpolation format for services.web.image.\nYou may need to escape any $ with another $.\na ${');
  err('services:\n  web:\n    privileged: ${BAD}\n', 'error while interpolating services.web.privileged: failed to cast to expected type: invalid boolean: maybe');
  err('services:\n  web:\n    scale: "x${PORT}"\n', 'error while interpolating services.web.scale: failed to cast to expected type: strconv.ParseInt: parsing "x80": invalid syntax');
});

test('unset variables warn and become empty', () => {
  const warnings: string[] = [];
  const out = interpolate(load('services:\n  web:\n    image: "x${NOPE}"\n'), { lookup, warn: (m) => warnings.push(m) }) as any;
  assert.equal(out.services.web.image, 'x');
  assert.deepEqual(warnings, ['The "NOPE" variable is not set. Defaulting to a blank string.']);
});
