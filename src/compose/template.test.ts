import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substitute, InvalidTemplateError, MissingRequiredError } from './template.ts';

const env: Record<string, string> = { SET: 'value', EMPTY: '', NUM: '5', B: 'bee' };
const lookup = (k: string) => (Object.prototype.hasOwnProperty.call(env, k) ? env[k] : undefined);

test('substitution table (compose-go template semantics)', () => {
  const cases: Array<[string, string]> = [
    ['$SET', 'value'], ['${SET}', 'value'], ['x${SET}y', 'xvaluey'], ['$SET-x', 'value-x'], ['$set', ''],
    ['${UNSET}', ''], ['${EMPTY}', ''],
    ['${UNSET:-d}', 'd'], ['${EMPTY:-d}', 'd'], ['${SET:-d}', 'value'],
    ['${UNSET-d}', 'd'], ['${EMPTY-d}', ''], ['${SET-d}', 'value'],
    ['${UNSET:+a}', ''], ['${EMPTY:+a}', ''], ['${SET:+a}', 'a'],
    ['${UNSET+a}', ''], ['${EMPTY+a}', 'a'], ['${SET+a}', 'a'],
    ['${EMPTY?x}', ''], ['${SET:?x}', 'value'],
    ['$$', '$'], ['$$SET', '$SET'], ['$${SET}', '${SET}'], ['a $ b', 'a $ b'], ['$1', '$1'], ['cost: 5$', 'cost: 5$'],
    ['${UNSET:-${B}}', 'bee'], ['${UNSET:-${UNSET2:-deep}}', 'deep'], ['${UNSET:-a${B}c}', 'abeec'], ['${UNSET:-$B}', 'bee'],
    ['${UNSET:-x} and ${B}', 'x and bee'], ['${SET:-x}}', 'value}'], ['${UNSET:-a:b}', 'a:b'], ['${UNSET:-a-b}', 'a-b'],
    ['${SET:+${B}-${NUM}}', 'bee-5'], ['${Set:-d}', 'd'],
  ];
  for (const [t, want] of cases) assert.equal(substitute(t, lookup), want, t);
});

test('a default is only evaluated when it is used', () => {
  assert.equal(substitute('${SET:-${NOPE:?never}}', lookup), 'value');
  assert.throws(() => substitute('${UNSET:-${NOPE:?needed}}', lookup), /required variable NOPE is missing a value: needed/);
});

test('unset variables are reported (compose warns and uses an empty string)', () => {
  const unset: string[] = [];
  assert.equal(substitute('${A}$NOPE${C:-x}', lookup, { onUnset: (n) => unset.push(n) }), 'x');
  assert.deepEqual(unset, ['A', 'NOPE']);
});

test('required variables: compose messages', () => {
  const check = (t: string, msg: string) => assert.throws(() => substitute(t, lookup), (e: Error) => e instanceof MissingRequiredError && e.message === msg, t);
  check('${UNSET:?}', 'required variable UNSET is missing a value');
  check('${UNSET?}', 'required variable UNSET is missing a value');
  check('${EMPTY:?must be set}', 'required variable EMPTY is missing a value: must be set');
  check('${UNSET:?set ${B} please}', 'required variable UNSET is missing a value: set bee please');
});

test('invalid templates', () => {
  for (const t of ['${', '${}', '${1abc}', 'a ${ b']) {
    assert.throws(() => substitute(t, lookup), (e: Error) => e instanceof InvalidTemplateError && e.message === `Invalid template: ${JSON.stringify(t)}`, t);
  }
  // An invalid nested default is reported with its own text, as compose-go does.
  assert.throws(() => substitute('${UNSET:-${B}', lookup), (e: Error) => e.message === 'Invalid template: "${B"');
});
