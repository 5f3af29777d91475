import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { parseLink } from './links.ts';

test('parseLink: Docker\'s forms and texts', () => {
  assert.deepEqual(parseLink('db'), ['db', 'db']);
  assert.deepEqual(parseLink('upstream:bar'), ['upstream', 'bar']);
  assert.deepEqual(parseLink('/db:/web/db'), ['db', 'db']);
  assert.deepEqual(parseLink('/proj_db_1:/proj_web_1/database'), ['proj_db_1', 'database']);
  assert.throws(() => parseLink(''), (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === 'empty string specified for links');
  assert.throws(() => parseLink('a:b:c'), (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === 'bad format for links: a:b:c');
});
