import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { validateName, isValidName, generateName, generateId, truncId, NAME_CHARS } from './names.ts';

test('valid names', () => {
  for (const n of ['ab', 'web-1', 'my_app.v2', 'A1', '/web', '00', 'a--b', 'a..', 'x_']) {
    assert.equal(isValidName(n), true, n);
    assert.doesNotThrow(() => validateName(n));
  }
});

test('invalid names carry docker\'s text with the name as given', () => {
  for (const n of ['a', '/a', '', '/', '//ab', '-ab', '_ab', '.ab', 'a b', 'a/b', 'ab:c', 'ü-ber', 'ab\n']) {
    assert.equal(isValidName(n), false, JSON.stringify(n));
    assert.throws(() => validateName(n),
      (e: unknown) => isEngineError(e, 'InvalidParameter')
        && (e as Error).message === `Invalid container name (${n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  assert.equal(NAME_CHARS, '[a-zA-Z0-9][a-zA-Z0-9_.-]');
});

test('generated names are adjective_surname and always valid', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const n = generateName();
    assert.match(n, /^[a-z]+_[a-z]+$/);
    assert.equal(isValidName(n), true);
    seen.add(n);
  }
  assert.ok(seen.size > 300, 'names vary');
  for (let i = 0; i < 50; i++) assert.match(generateName(1), /^[a-z]+_[a-z]+[0-9]$/);
});

test('generateId gives 64 lowercase hex characters', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const id = generateId();
    assert.match(id, /^[0-9a-f]{64}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 100);
});

test('generateId redraws IDs whose short form reads as a number', () => {
  const draws = [
    '123456789012' + 'a'.repeat(52), // all digits
    '123e45678901' + 'b'.repeat(52), // float with exponent
    '1234567890ab' + 'c'.repeat(52), // fine
  ].map((hex) => Buffer.from(hex, 'hex'));
  let calls = 0;
  const id = generateId((size) => { assert.equal(size, 32); return draws[calls++]; });
  assert.equal(calls, 3);
  assert.equal(id, '1234567890ab' + 'c'.repeat(52));
  // "e" alone, a leading or trailing "e", or two of them do not parse: kept.
  for (const short of ['e12345678901', '12345678901e', '12e45e789012', 'abcdef012345']) {
    let n = 0;
    assert.equal(generateId(() => { n++; return Buffer.from(short + '0'.repeat(52), 'hex'); }).slice(0, 12), short);
    assert.equal(n, 1);
  }
});

test('truncId', () => {
  const hex = '4e1f0c2b3a59' + 'd'.repeat(52);
  assert.equal(truncId(hex), '4e1f0c2b3a59');
  assert.equal(truncId(`sha256:${hex}`), '4e1f0c2b3a59');
  assert.equal(truncId('abc'), 'abc');
  assert.equal(truncId(''), '');
  assert.equal(truncId('sha256:abc'), 'abc');
});
