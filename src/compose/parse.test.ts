import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml, resolvePlain, applyResets, MAX_NODES } from './parse.ts';
import { ComposeError } from './errors.ts';

const one = (text: string) => {
  const docs = parseYaml(text, 'compose.yaml');
  assert.equal(docs.length, 1);
  return docs[0];
};
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

test('plain scalars resolve as go-yaml v3 does', () => {
  const cases: Array<[string, unknown]> = [
    ['true', true], ['False', false], ['yes', 'yes'], ['on', 'on'], ['~', null], ['', null], ['Null', null],
    ['0777', 0o777], ['0o17', 15], ['0x1F', 31], ['0b101', 5], ['-0b11', -3], ['1_000', 1000], ['+5', 5],
    ['1.5', 1.5], ['.5', 0.5], ['1e3', 1000], ['08', 8], ['12:30', '12:30'], ['2001-12-14', '2001-12-14'],
    ['1.2.3', '1.2.3'], ['.inf', Infinity], ['-.Inf', -Infinity], ['abc', 'abc'],
  ];
  for (const [src, want] of cases) assert.deepEqual(resolvePlain(src), want, src);
  assert.ok(Number.isNaN(resolvePlain('.nan') as number));
  // Quoted and explicitly tagged scalars stay what they say.
  const d = one('a: "0777"\nb: !!str 5\nc: \'true\'\nd: !custom 0777\n');
  assert.deepEqual(plain(d.value), { a: '0777', b: '5', c: 'true', d: '0777' });
});

test('anchors, aliases and merge keys (explicit keys win, earlier sources win)', () => {
  const d = one(`
x-a: &a { image: a, restart: always, labels: [l1] }
x-b: &b { image: b, user: bob }
services:
  web:
    <<: [*a, *b]
    image: mine
  db:
    restart: "no"
    <<: *a
`);
  const s = (d.value as any).services;
  assert.deepEqual(plain(s.web), { image: 'mine', restart: 'always', labels: ['l1'], user: 'bob' });
  assert.deepEqual(plain(s.db), { restart: 'no', image: 'a', labels: ['l1'] });
  // Aliases are copies: changing one does not change the other.
  s.web.labels.push('x');
  assert.deepEqual(s.db.labels, ['l1']);
});

test('!reset drops the node and !override keeps it; both record their path', () => {
  const d = one(`
services:
  web:
    ports: !reset []
    environment: !reset
    command: !override [a, b]
    volumes:
      - !reset x
      - y
`);
  assert.deepEqual(plain(d.value), { services: { web: { command: ['a', 'b'], volumes: ['y'] } } });
  assert.deepEqual(d.resets, [
    ['services', 'web', 'ports'], ['services', 'web', 'environment'], ['services', 'web', 'command'], ['services', 'web', 'volumes', '0'],
  ]);
  // Applying them removes those keys from the model built so far (sequence items are not touched).
  const earlier = { services: { web: { ports: ['80'], environment: { A: '1' }, command: ['x'], image: 'i', volumes: ['z'] } } };
  applyResets(earlier, d.resets);
  assert.deepEqual(earlier, { services: { web: { image: 'i', volumes: ['z'] } } });
});

test('a tag on an anchored node applies where the alias is used', () => {
  const d = one('x-r: &r !reset []\nservices:\n  web:\n    ports: *r\n');
  assert.deepEqual(plain(d.value), { services: { web: {} } });
  assert.deepEqual(d.resets, [['x-r'], ['services', 'web', 'ports']]);
});

test('multiple documents, empty documents and files', () => {
  assert.deepEqual(parseYaml('', 'f'), []);
  assert.deepEqual(parseYaml('# nothing\n', 'f'), []);
  const docs = parseYaml('a: 1\n---\nb: 2\n', 'f');
  assert.deepEqual(docs.map((d) => plain(d.value)), [{ a: 1 }, { b: 2 }]);
});

test('errors with compose texts: syntax, duplicate keys, unknown anchors, non-string keys', () => {
  const err = (text: string, re: RegExp) => assert.throws(() => parseYaml(text, '/p/compose.yaml'), (e: Error) => e instanceof ComposeError && re.test(e.message), text);
  err('a: [\n', /^failed to parse \/p\/compose\.yaml: yaml: line 2: /);
  err('services:\n  web:\n    command: a\n    command: b\n', /^failed to parse \/p\/compose\.yaml: line 4: mapping key "command" already defined at line 3$/);
  err('a: *nope\n', /unknown anchor 'nope' referenced/);
  err('a: &x [*x]\n', /anchor 'x' value contains itself/);
  err('a:\n  <<: 1\n', /map merge requires map or sequence of maps as the value/);
  err('123: a\n', /^non-string key at top level: 123$/);
  err('services:\n  true: {}\n', /^non-string key in services: true$/);
  err('networks:\n  default:\n    ipam:\n      config:\n        - 1: x\n', /^non-string key in networks\.default\.ipam\.config\[0\]: 1$/);
});

test('nested aliases cannot blow up (billion laughs is refused)', () => {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 9; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  const t0 = Date.now();
  assert.throws(() => parseYaml(text, 'f'), /excessive aliasing/);
  assert.ok(Date.now() - t0 < 10_000);
  assert.ok(MAX_NODES >= 100_000);
});

test('keys that are prototype names are plain data', () => {
  const d = one('services:\n  __proto__:\n    image: a\n  constructor:\n    image: b\n');
  const s = (d.value as any).services;
  assert.equal(Object.getPrototypeOf(s), null);
  assert.deepEqual(Object.keys(s), ['__proto__', 'constructor']);
  assert.equal(s.__proto__.image, 'a');
});
