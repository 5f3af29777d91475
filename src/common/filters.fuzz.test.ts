// Fuzz tests of the `filters` query parameter (see src/common/fuzz-testing.ts): JSON documents
// in both wire forms and in neither (numbers, nested objects, mixed forms), broken JSON, and
// `name` patterns built from regular-expression pieces (nested quantifiers included) matched
// against container-like names. Every document parses or is InvalidParameter; no query hangs.
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { parseFilters } from './filters.ts';
import { expectError, fc, fuzz, mutatedString } from './fuzz-testing.ts';

const invalidParam = (e: Error) => isEngineError(e, 'InvalidParameter');

const key = fc.constantFrom('label', 'label!', 'name', 'id', 'status', 'dangling', 'until', '__proto__', 'constructor', 'toString', '');
const value = fc.oneof(
  fc.constantFrom('true', 'false', '1', '0', 'a=b', 'env=prod', '=', '', 'running', 'toString', '__proto__'),
  fc.string({ maxLength: 12 }),
);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const filterValue = fc.oneof(
  { weight: 3, arbitrary: fc.array(value, { maxLength: 4 }) },
  { weight: 3, arbitrary: fc.dictionary(value, fc.boolean(), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.dictionary(value, anyJson, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(anyJson, { maxLength: 3 }) },
  { weight: 1, arbitrary: anyJson },
);
const doc = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(key, filterValue, { maxKeys: 4 }).map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
);
const raw = fc.oneof(
  { weight: 5, arbitrary: doc },
  { weight: 2, arbitrary: mutatedString(doc, '{}[]":,\\ truefalsn0-9e.') },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '{}', '[]', '""', '{"label":', '{"a":{"b":1}}', '{"__proto__":{"x":true}}') },
);
const labels = fc.option(fc.dictionary(value, fc.string({ maxLength: 6 }), { maxKeys: 4 }), { nil: undefined });

fuzz('filters: every document parses or is InvalidParameter, and the matchers answer with booleans', fc.tuple(raw, labels, fc.string({ maxLength: 20 })), ([text, lbls, source]) => {
  const f = expectError(() => parseFilters(text), invalidParam);
  if (!f) return;
  expectError(() => f.validate(['label', 'name', 'id']), invalidParam);
  for (const k of f.keys()) {
    assert.ok(Array.isArray(f.get(k)));
    for (const v of f.get(k)) assert.equal(typeof v, 'string');
    for (const r of [f.matchKVList(k, lbls), f.exactMatch(k, source), f.uniqueExactMatch(k, source), f.fuzzyMatch(k, source), f.match(k, source)]) {
      assert.equal(typeof r, 'boolean');
    }
  }
  assert.equal(typeof f.matchLabels(lbls), 'boolean');
  expectError(() => f.getBool('dangling', false), invalidParam);
  // What the CLI sends back parses to the same filters (in another order: JSON objects list
  // integer-like keys first, and Go's maps have no order at all).
  const again = parseFilters(JSON.stringify(f));
  const sorted = (a: string[]) => [...a].sort();
  assert.deepEqual(sorted(again.keys()), sorted(f.keys()));
  for (const k of f.keys()) assert.deepEqual(sorted(again.get(k)), sorted(f.get(k)));
}, { runs: 2000 });

// `--filter name=…` patterns are Go (RE2) regular expressions, which run in linear time whatever
// the pattern; a pattern with nested quantifiers must not stall the daemon on a long name.
const atom = fc.constantFrom('a', '.', '[a-z]', '\\w', 'ab', '(a|a)', '(a|ab)', '\\d', '[^/]');
const quant = fc.constantFrom('', '*', '+', '?', '{1,3}', '*?', '+?');
const regex = fc.letrec<{ re: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(atom, quant).map(([a, q]) => a + q),
    fc.tuple(tie('re'), quant).map(([r, q]) => `(${r})${q}`),
    fc.array(tie('re'), { minLength: 2, maxLength: 3 }).map((rs) => rs.join('')),
  ),
})).re;
const pattern = fc.tuple(fc.constantFrom('', '^', '(?i)', '(?s)', '(?U)'), regex, fc.constantFrom('', '$', 'b$', '!')).map((p) => p.join(''));
const name = fc.tuple(fc.constantFrom('a', 'ab', 'a1', 'A', 'web-'), fc.integer({ min: 1, max: 60 }), fc.constantFrom('', '!', 'b', '-1')).map(([u, n, t]) => u.repeat(n) + t);

fuzz('filters: a name pattern matches any name in bounded time', fc.tuple(pattern, name), ([p, n]) => {
  const f = parseFilters(JSON.stringify({ name: [p] }));
  assert.equal(typeof f.match('name', n), 'boolean');
}, { runs: 500, caseMs: 1000, hangMs: 15_000 });
