import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEngineError } from '../../common/errors.ts';
import {
  createRootCA, createCSR, issueNodeCertificate, verifyNodeCertificate, keyMatchesCert,
  MANAGER_ROLE, WORKER_ROLE, ROOT_CA_VALIDITY_MS, NODE_CERT_VALIDITY_MS, CERT_BACKDATE_MS,
} from './ca.ts';

const HOUR = 3600_000;

test('root CA: self-signed P-256 CA with CN swarm-ca, valid 20 years', async () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ca = await createRootCA({ now });
  const c = new X509Certificate(ca.certPem);
  assert.equal(c.subject, 'CN=swarm-ca');
  assert.equal(c.issuer, 'CN=swarm-ca');
  assert.ok(c.ca);
  assert.ok(c.verify(c.publicKey));
  assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(new Date(c.validFrom).getTime(), now.getTime() - CERT_BACKDATE_MS);
  assert.equal(new Date(c.validTo).getTime(), now.getTime() + ROOT_CA_VALIDITY_MS);
  assert.ok(keyMatchesCert(ca.keyPem, ca.certPem));
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('node certificate from a generated key: subject O/OU/CN, P-256, 90 days, swarmkit SANs', async () => {
  const ca = await createRootCA();
  const now = new Date();
  const { certPem, keyPem } = await issueNodeCertificate(ca, {
    nodeId: 'node1abc', role: MANAGER_ROLE, clusterId: 'clusterxyz', addresses: ['10.0.0.7'], now,
  });
  assert.ok(keyPem && keyMatchesCert(keyPem, certPem));
  const c = new X509Certificate(certPem);
  assert.equal(c.subject, 'O=clusterxyz\nOU=swarm-manager\nCN=node1abc');
  assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(c.ca, false);
  assert.equal(new Date(c.validTo).getTime() - new Date(c.validFrom).getTime(), NODE_CERT_VALIDITY_MS + CERT_BACKDATE_MS);
  assert.equal(c.subjectAltName, 'DNS:swarm-manager, DNS:node1abc, DNS:swarm-ca, IP Address:10.0.0.7');
  assert.deepEqual(c.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);

  const w = await issueNodeCertificate(ca, { nodeId: 'node2', role: WORKER_ROLE, clusterId: 'clusterxyz' });
  assert.equal(new X509Certificate(w.certPem).subjectAltName, 'DNS:swarm-worker, DNS:node2');
});

test('node certificate from a CSR takes only the key; the identity comes from the CA', async () => {
  const ca = await createRootCA();
  const csr = await createCSR();
  const out = await issueNodeCertificate(ca, { nodeId: 'n3', role: WORKER_ROLE, clusterId: 'c1', csrPem: csr.csrPem });
  assert.equal(out.keyPem, undefined);
  assert.ok(keyMatchesCert(csr.keyPem, out.certPem));
  const id = verifyNodeCertificate(ca.certPem, out.certPem);
  assert.deepEqual([id.nodeId, id.role, id.clusterId], ['n3', WORKER_ROLE, 'c1']);
});

test('a tampered CSR (signature broken) is refused', async () => {
  const ca = await createRootCA();
  const { csrPem } = await createCSR();
  const b64 = csrPem.replace(/-----[^-]+-----|\s/g, '');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 5] ^= 0xff; // inside the signature
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(issueNodeCertificate(ca, { nodeId: 'n', role: WORKER_ROLE, clusterId: 'c', csrPem: bad }),
    (e) => isEngineError(e, 'InvalidParameter'));
});

test('bad identities and roles are refused before signing', async () => {
  const ca = await createRootCA();
  for (const r of [
    { nodeId: 'a\nOU=swarm-manager', role: WORKER_ROLE, clusterId: 'c' },
    { nodeId: '', role: WORKER_ROLE, clusterId: 'c' },
    { nodeId: 'a', role: 'swarm-ca', clusterId: 'c' },
    { nodeId: 'a', role: WORKER_ROLE, clusterId: 'c,O=x' },
  ]) {
    await assert.rejects(issueNodeCertificate(ca, r as never), (e) => isEngineError(e, 'InvalidParameter'), JSON.stringify(r));
  }
});

test('verify: role and node ID read back; another CA, expiry and a CA cert are refused', async () => {
  const ca = await createRootCA();
  const other = await createRootCA();
  const m = await issueNodeCertificate(ca, { nodeId: 'mgr1', role: MANAGER_ROLE, clusterId: 'cl' });
  const id = verifyNodeCertificate(ca.certPem, m.certPem);
  assert.equal(id.role, MANAGER_ROLE);
  assert.equal(id.nodeId, 'mgr1');
  assert.equal(id.clusterId, 'cl');

  const forged = await issueNodeCertificate(other, { nodeId: 'mgr1', role: MANAGER_ROLE, clusterId: 'cl' });
  assert.throws(() => verifyNodeCertificate(ca.certPem, forged.certPem), (e) => isEngineError(e, 'Forbidden'));
  assert.throws(() => verifyNodeCertificate(ca.certPem, other.certPem), (e) => isEngineError(e, 'Forbidden'));
  assert.throws(() => verifyNodeCertificate(ca.certPem, ca.certPem), (e) => isEngineError(e, 'Forbidden'));
  assert.throws(() => verifyNodeCertificate(ca.certPem, m.certPem, new Date(Date.now() + NODE_CERT_VALIDITY_MS + HOUR)),
    (e) => isEngineError(e, 'Forbidden'));
  assert.throws(() => verifyNodeCertificate(ca.certPem, 'not a cert'), (e) => isEngineError(e, 'InvalidParameter'));
});

test('interop: openssl verifies the issued certificate against the CA and shows the subject', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ca-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createRootCA();
  const other = await createRootCA();
  const n = await issueNodeCertificate(ca, { nodeId: 'nodeid1', role: WORKER_ROLE, clusterId: 'clusterid1' });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'other.crt'), other.certPem);
  writeFileSync(join(dir, 'node.crt'), n.certPem);
  const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'node.crt')], { encoding: 'utf8' });
  assert.match(out, /node\.crt: OK/);
  const subj = execFileSync('openssl', ['x509', '-noout', '-subject', '-in', join(dir, 'node.crt')], { encoding: 'utf8' });
  assert.equal(subj.trim(), 'subject=O = clusterid1, OU = swarm-worker, CN = nodeid1');
  assert.throws(() => execFileSync('openssl', ['verify', '-CAfile', join(dir, 'other.crt'), join(dir, 'node.crt')], { stdio: 'pipe' }));
});
