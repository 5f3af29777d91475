import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootCA, issueNodeCertificate, WORKER_ROLE } from './ca.ts';
import { saveRootCA, loadRootCA, saveNodeCredentials, loadNodeCredentials } from './store.ts';

test('store: CA and node credentials round trip, keys 0600, dir 0700, mismatched pair refused', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'berth-ca-store-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'certificates');
  assert.equal(await loadRootCA(dir), undefined);
  assert.equal(await loadNodeCredentials(dir), undefined);

  const ca = await createRootCA();
  await saveRootCA(dir, ca);
  assert.deepEqual(await loadRootCA(dir), ca);
  const n = await issueNodeCertificate(ca, { nodeId: 'n1', role: WORKER_ROLE, clusterId: 'c1' });
  await saveNodeCredentials(dir, { certPem: n.certPem, keyPem: n.keyPem! });
  assert.deepEqual(await loadNodeCredentials(dir), { certPem: n.certPem, keyPem: n.keyPem });

  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'swarm-root-ca.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'swarm-node.key')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ['swarm-node.crt', 'swarm-node.key', 'swarm-root-ca.crt', 'swarm-root-ca.key']);

  // A worker's directory: the CA certificate only.
  const wdir = join(base, 'worker');
  await saveRootCA(wdir, { certPem: ca.certPem });
  assert.deepEqual(await loadRootCA(wdir), { certPem: ca.certPem });

  // A key that is not the certificate's (a crash between the two writes) is refused.
  writeFileSync(join(dir, 'swarm-node.key'), ca.keyPem);
  await assert.rejects(loadNodeCredentials(dir), /does not match/);
});
