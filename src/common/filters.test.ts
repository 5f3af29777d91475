import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { Filters, parseFilters } from './filters.ts';

function invalidWith(msg: string) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;
}

test('absent, empty and null parameters mean no filters', () => {
  for (const raw of [undefined, null, '', 'null']) {
    const f = parseFilters(raw);
    assert.equal(f.size, 0);
    assert.deepEqual(f.get('label'), []);
    assert.equal(f.has('label'), false);
  }
});

test('set form and legacy list form give the same filters', () => {
  const a = parseFilters('{"status":{"running":true,"paused":true},"label":{"a=1":true}}');
  const b = parseFilters('{"status":["running","paused"],"label":["a=1"]}');
  for (const f of [a, b]) {
    assert.deepEqual(f.get('status'), ['running', 'paused']);
    assert.deepEqual(f.get('label'), ['a=1']);
    assert.deepEqual(f.keys(), ['status', 'label']);
    assert.equal(f.has('status'), true);
    assert.equal(f.size, 2);
  }
  // Duplicates in the list form collapse, as they do in moby's set.
  assert.deepEqual(parseFilters('{"id":["x","x"]}').get('id'), ['x']);
});

test('a key with null or no values is present but has no values', () => {
  const f = parseFilters('{"dangling":null,"label":{}}');
  assert.equal(f.has('dangling'), true);
  assert.deepEqual(f.get('dangling'), []);
  assert.equal(f.has('label'), true);
  assert.equal(f.matchKVList('label', {}), true);
  assert.equal(parseFilters('{"a":null,"b":["x"]}').get('b')[0], 'x');
});

test('malformed parameters are refused', () => {
  for (const raw of ['{', 'not json', '42', '"x"', '[]', 'true', '{"a":"b"}', '{"a":{"b":1}}',
    '{"a":[1]}', '{"a":{"x":true},"b":["y"]}']) {
    assert.throws(() => parseFilters(raw), invalidWith('invalid filter'), raw);
  }
});

test('validate names the first unknown key', () => {
  const f = parseFilters('{"status":["running"],"xyz":["1"]}');
  assert.throws(() => f.validate(['status', 'label']), invalidWith("invalid filter 'xyz'"));
  assert.doesNotThrow(() => f.validate(['status', 'xyz']));
  assert.doesNotThrow(() => parseFilters(undefined).validate([]));
});

test('matchKVList: label=k, label=k=v, several values all required', () => {
  const labels = { env: 'prod', tier: 'web', empty: '', eq: 'a=b' };
  const m = (json: string, l: Record<string, string> | null = labels) => parseFilters(json).matchKVList('label', l);
  assert.equal(m('{}'), true);
  assert.equal(m('{"label":["env"]}'), true);
  assert.equal(m('{"label":["env=prod"]}'), true);
  assert.equal(m('{"label":["env=dev"]}'), false);
  assert.equal(m('{"label":["missing"]}'), false);
  assert.equal(m('{"label":["env=prod","tier=web"]}'), true);
  assert.equal(m('{"label":["env=prod","tier=db"]}'), false);
  assert.equal(m('{"label":["empty="]}'), true);
  assert.equal(m('{"label":["empty"]}'), true);
  assert.equal(m('{"label":["eq=a=b"]}'), true, 'split at the first =');
  assert.equal(m('{"label":["env"]}', {}), false, 'values given, no labels');
  assert.equal(m('{"label":["env"]}', null), false);
  assert.equal(m('{"label":["toString"]}', { a: '1' }), false, 'inherited properties are not labels');
});

test('matchLabels applies label! as an exclusion', () => {
  const labels = { keep: 'yes', env: 'dev' };
  const ml = (json: string) => parseFilters(json).matchLabels(labels);
  assert.equal(ml('{}'), true);
  assert.equal(ml('{"label!":["keep"]}'), false);
  assert.equal(ml('{"label!":["keep=no"]}'), true);
  assert.equal(ml('{"label!":["other"]}'), true);
  assert.equal(ml('{"label":["env=dev"],"label!":["keep"]}'), false);
  assert.equal(ml('{"label":["env=prod"]}'), false);
  // Exclusion needs every label! value to match (moby's MatchKVList on "label!").
  assert.equal(ml('{"label!":["keep","other"]}'), true);
  assert.equal(parseFilters('{"label!":["keep"]}').matchLabels({}), true);
});

test('exactMatch, uniqueExactMatch, fuzzyMatch', () => {
  const f = parseFilters('{"id":["abc","def"],"one":["x"],"none":[]}');
  assert.equal(f.exactMatch('id', 'abc'), true);
  assert.equal(f.exactMatch('id', 'abcd'), false);
  assert.equal(f.exactMatch('absent', 'anything'), true);
  assert.equal(f.exactMatch('none', 'anything'), true);
  assert.equal(f.uniqueExactMatch('one', 'x'), true);
  assert.equal(f.uniqueExactMatch('id', 'abc'), false, 'more than one value');
  assert.equal(f.uniqueExactMatch('absent', 'q'), true);
  assert.equal(f.fuzzyMatch('id', 'abc123'), true);
  assert.equal(f.fuzzyMatch('id', 'def'), true);
  assert.equal(f.fuzzyMatch('id', 'xabc'), false);
  assert.equal(f.fuzzyMatch('absent', 'x'), true);
});

test('false flags in the set form are listed but never match exactly (moby quirk)', () => {
  const f = parseFilters('{"status":{"running":false}}');
  assert.deepEqual(f.get('status'), ['running']);
  assert.equal(f.exactMatch('status', 'running'), false);
});

test('match takes values as unanchored regular expressions', () => {
  const f = parseFilters('{"name":["^web","db$","(?i)CACHE","[bad"]}');
  assert.equal(f.match('name', 'web-1'), true);
  assert.equal(f.match('name', 'my-db'), true);
  assert.equal(f.match('name', 'redis-cache-2'), true);
  assert.equal(f.match('name', 'api'), false);
  assert.equal(parseFilters('{"name":["[bad"]}').match('name', '[bad'), true, 'exact match first');
  assert.equal(parseFilters('{}').match('name', 'x'), true);
});

test('name patterns run in linear time, as Go\'s RE2 does: nested quantifiers cannot stall the daemon', () => {
  // Found by the fuzz test (filters.fuzz.test.ts, seed 42): V8's backtracking engine never returned.
  const found = parseFilters(JSON.stringify({ name: ['^([a-z]+)+?([a-z]+?){1,3}((\\w*?)*)+b$'] }));
  const t0 = Date.now();
  assert.equal(found.match('name', 'ab'.repeat(55) + '!'), false);
  assert.equal(parseFilters('{"name":["^(a+)+$"]}').match('name', `${'a'.repeat(40)}-x`), false);
  assert.equal(parseFilters('{"name":["(?i)^(A+)+$"]}').match('name', `${'a'.repeat(40)}-x`), false);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
  assert.equal(parseFilters('{"name":["(?i)^(A+)+-X$"]}').match('name', `${'a'.repeat(40)}-x`), true);
  assert.equal(parseFilters('{"name":["(?i)\\\\W"]}').match('name', 'ab'), false, 'escapes keep their case');
  // RE2 has no backreferences or lookarounds: such patterns do not compile and match nothing.
  assert.equal(parseFilters('{"name":["(a)\\\\1"]}').match('name', 'aa'), false);
  assert.equal(parseFilters('{"name":["a(?=b)"]}').match('name', 'ab'), false);
});

test('any key survives the trip to JSON and back, __proto__ included (found by the fuzz test)', () => {
  const f = parseFilters('{"__proto__":["x"],"label":["__proto__"]}');
  assert.deepEqual(f.keys(), ['__proto__', 'label']);
  const again = parseFilters(JSON.stringify(f));
  assert.deepEqual(again.keys(), ['__proto__', 'label']);
  assert.deepEqual(again.get('__proto__'), ['x']);
  assert.deepEqual(again.get('label'), ['__proto__']);
  assert.throws(() => again.validate(['label']), invalidWith("invalid filter '__proto__'"));
  // The CLI's side: `--filter __proto__=y` reaches the daemon (which refuses the key, as docker's does).
  assert.equal(JSON.stringify(new Filters().add('__proto__', 'y')), '{"__proto__":{"y":true}}');
});

test('getBool follows GetBoolOrDefault', () => {
  assert.equal(parseFilters('{}').getBool('dangling', false), false);
  assert.equal(parseFilters('{"dangling":["true"]}').getBool('dangling', false), true);
  assert.equal(parseFilters('{"dangling":["1"]}').getBool('dangling', false), true);
  assert.equal(parseFilters('{"dangling":["false"]}').getBool('dangling', true), false);
  assert.equal(parseFilters('{"dangling":["0","false"]}').getBool('dangling', true), false);
  assert.throws(() => parseFilters('{"dangling":[]}').getBool('dangling', true), invalidWith("invalid filter 'dangling'"));
  assert.throws(() => parseFilters('{"dangling":["maybe"]}').getBool('dangling', true),
    invalidWith("invalid filter 'dangling=[maybe]'"));
  assert.throws(() => parseFilters('{"dangling":["true","false"]}').getBool('dangling', true),
    invalidWith("invalid filter 'dangling=[true false]'"));
});

test('building filters on the client side and encoding them', () => {
  const f = new Filters({ label: ['a=1'] }).add('label', 'b').add('dangling', 'true');
  assert.equal(JSON.stringify(f), '{"label":{"a=1":true,"b":true},"dangling":{"true":true}}');
  f.delete('dangling', 'true');
  assert.equal(f.has('dangling'), false);
  f.delete('absent', 'x');
  assert.deepEqual(parseFilters(JSON.stringify(f)).get('label'), ['a=1', 'b']);
  assert.equal(JSON.stringify(new Filters()), '{}');
});
