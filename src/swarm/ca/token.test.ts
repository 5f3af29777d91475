import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import { createRootCA, caDigest, MANAGER_ROLE, WORKER_ROLE } from './ca.ts';
import {
  generateJoinToken, parseJoinToken, checkCAAgainstToken, newJoinTokens, rotateJoinToken, roleForJoinToken,
  INVALID_JOIN_TOKEN, JOIN_TOKEN_REQUIRED,
} from './token.ts';

const invalidToken = (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === INVALID_JOIN_TOKEN;

test('token format: SWMTKN-1-<50 base36>-<25 base36>, round trip of the CA digest', async () => {
  const ca = await createRootCA();
  const t = generateJoinToken(ca.certPem);
  assert.match(t, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  const p = parseJoinToken(t);
  assert.equal(p.version, 1);
  assert.equal(p.rootDigest, caDigest(ca.certPem));
  assert.equal(p.secret, t.split('-')[3]);
  checkCAAgainstToken(t, ca.certPem);
  assert.notEqual(generateJoinToken(ca.certPem), t, 'each token has its own secret');
});

test('a CA that does not match the token digest is refused (forged digest / MITM CA)', async () => {
  const ca = await createRootCA();
  const mitm = await createRootCA();
  const t = generateJoinToken(ca.certPem);
  assert.throws(() => checkCAAgainstToken(t, mitm.certPem), (e) => isEngineError(e, 'Forbidden')
    && (e as Error).message === `remote CA does not match fingerprint. Expected: ${caDigest(ca.certPem)}`);
  // A token whose digest was swapped for the MITM CA's does not get past the real CA's secret check.
  const tokens = newJoinTokens(ca.certPem);
  const secret = tokens.worker.split('-')[3];
  const forged = generateJoinToken(mitm.certPem).split('-').slice(0, 3).join('-') + '-' + secret;
  checkCAAgainstToken(forged, mitm.certPem);
  assert.throws(() => roleForJoinToken(tokens, forged), (e) => isEngineError(e, 'InvalidParameter') && (e as Error).message === JOIN_TOKEN_REQUIRED);
});

test('worker and manager tokens grant their role; a rotated-out secret is refused', async () => {
  const ca = await createRootCA();
  const tokens = newJoinTokens(ca.certPem);
  assert.notEqual(tokens.worker, tokens.manager);
  assert.equal(roleForJoinToken(tokens, tokens.worker), WORKER_ROLE);
  assert.equal(roleForJoinToken(tokens, tokens.manager), MANAGER_ROLE);

  const rotated = rotateJoinToken(tokens, WORKER_ROLE, ca.certPem);
  assert.equal(rotated.manager, tokens.manager);
  assert.notEqual(rotated.worker, tokens.worker);
  assert.equal(parseJoinToken(rotated.worker).rootDigest, parseJoinToken(tokens.worker).rootDigest);
  assert.equal(roleForJoinToken(rotated, rotated.worker), WORKER_ROLE);
  assert.throws(() => roleForJoinToken(rotated, tokens.worker), (e) => (e as Error).message === JOIN_TOKEN_REQUIRED);

  const r2 = rotateJoinToken(rotated, MANAGER_ROLE, ca.certPem);
  assert.throws(() => roleForJoinToken(r2, tokens.manager), (e) => (e as Error).message === JOIN_TOKEN_REQUIRED);
  assert.equal(roleForJoinToken(r2, r2.manager), MANAGER_ROLE);
});

test('malformed tokens get swarmkit\'s "invalid join token"', async () => {
  const ca = await createRootCA();
  const good = generateJoinToken(ca.certPem);
  const [, , d, s] = good.split('-') as [string, string, string, string];
  const bad = [
    '', 'SWMTKN', 'garbage', `SWMTKN-1-${d}`, `SWMTKN-1-${d}-${s}-x`, `SWMTKM-1-${d}-${s}`,
    `SWMTKN-0-${d}-${s}`, `SWMTKN-3-${d}-${s}`, `SWMTKN-2-1-${d}-${s}`,
    `SWMTKN-1-${d.slice(1)}-${s}`, `SWMTKN-1-${d}0-${s}`, `SWMTKN-1-${d}-${s.slice(1)}`, `SWMTKN-1-${d}-${s}0`,
    `SWMTKN-1-${'_'.repeat(50)}-${s}`, `SWMTKN-1-${d}-${'!'.repeat(25)}`, `SWMTKN-1-${'z'.repeat(50)}-${s}`,
  ];
  for (const t of bad) assert.throws(() => parseJoinToken(t), invalidToken, t);
  const tokens = newJoinTokens(ca.certPem);
  assert.throws(() => roleForJoinToken(tokens, 'SWMTKN-1-abc-def'), invalidToken);
});
