// The cluster's certificate authority, shaped as swarmkit's (moby/swarmkit ca/certificates.go,
// ca/config.go): a self-signed ECDSA P-256 root with CN "swarm-ca", valid 20 years; node
// certificates ECDSA P-256 with CN = node ID, OU = role ("swarm-manager" / "swarm-worker"),
// O = cluster ID, valid 90 days and backdated one hour against clock drift. Only the public key is
// taken from a node's CSR: every name in the certificate comes from the CA's own inputs, as
// swarmkit's signing policy whitelists only the key fields of a CSR.
//
// Pure functions over PEM strings; no file I/O (store.ts saves and loads).
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { EngineError, invalid } from '../../common/errors.ts';
import { x509 } from './x509-lib.ts';

export const ROOT_CN = 'swarm-ca';
export const MANAGER_ROLE = 'swarm-manager';
export const WORKER_ROLE = 'swarm-worker';
/** The DNS name every manager certificate also carries, so nodes can reach "the CA" by name. */
export const CA_ROLE = 'swarm-ca';
export type NodeRole = typeof MANAGER_ROLE | typeof WORKER_ROLE;

const HOUR = 3600_000;
/** swarmkit RootCAExpiration: 630720000s (20 years). */
export const ROOT_CA_VALIDITY_MS = 630_720_000_000;
/** swarmkit DefaultNodeCertExpiration: 2160h (90 days). */
export const NODE_CERT_VALIDITY_MS = 2160 * HOUR;
/** swarmkit MinNodeCertExpiration: shorter requests fall back to the default, as swarmkit does. */
export const MIN_NODE_CERT_VALIDITY_MS = HOUR;
/** swarmkit CertBackdate. */
export const CERT_BACKDATE_MS = HOUR;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface RootCA {
  certPem: string;
  keyPem: string; // PKCS#8
}

export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueRequest {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  /** The joining node's CSR (PEM); without it a key pair is generated and returned. */
  csrPem?: string;
  /** Extra SANs (IP addresses or DNS names) the node is reached at, beyond swarmkit's role/ID names. */
  addresses?: string[];
  validityMs?: number;
  now?: Date;
}

// IDs and role go into the subject verbatim and are read back from Node's one-line-per-field
// subject text; a plain charset keeps that round trip unambiguous (swarmkit IDs are base36).
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkName(what: string, v: string): void {
  if (typeof v !== 'string' || !NAME_RE.test(v)) throw invalid(`invalid ${what} ${JSON.stringify(v)}`);
}

function isRole(v: unknown): v is NodeRole {
  return v === MANAGER_ROLE || v === WORKER_ROLE;
}

/** A positive 128-bit serial (the first byte below 0x80 keeps the DER INTEGER positive). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  } catch (e) {
    throw new EngineError('InvalidParameter', 'invalid CA key', { cause: e });
  }
  return webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
}

function parseCert(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new EngineError('InvalidParameter', `failed to parse ${what} PEM`, { cause: e });
  }
}

function isP256(cert: X509Certificate): boolean {
  const k = cert.publicKey;
  return k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** Creates the cluster's root CA: a fresh P-256 key and a self-signed CA certificate. */
export async function createRootCA(opts: { now?: Date } = {}): Promise<RootCA> {
  const lib = await x509();
  const now = opts.now?.getTime() ?? Date.now();
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [ROOT_CN] }],
    notBefore: new Date(now - CERT_BACKDATE_MS),
    notAfter: new Date(now + ROOT_CA_VALIDITY_MS),
    keys,
    signingAlgorithm: EC_ALG,
    extensions: [
      new lib.BasicConstraintsExtension(true, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  }, webcrypto as unknown as Crypto);
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** A key pair and CSR for a joining node (the key never leaves the node). */
export async function createCSR(): Promise<{ csrPem: string; keyPem: string }> {
  const lib = await x509();
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  // The CSR's subject is ignored by the CA; swarmkit's CSRs carry an empty one too.
  const csr = await lib.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: EC_ALG }, webcrypto as unknown as Crypto);
  return { csrPem: csr.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

async function publicKeyFromCSR(csrPem: string): Promise<CryptoKey> {
  const lib = await x509();
  let csr: InstanceType<typeof lib.Pkcs10CertificateRequest>;
  try {
    csr = new lib.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw new EngineError('InvalidParameter', 'failed to parse CSR', { cause: e });
  }
  // The CSR's self-signature proves the requester holds the private key.
  if (!(await csr.verify(webcrypto as unknown as Crypto).catch(() => false))) throw invalid('invalid CSR signature');
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw invalid('CSR key must be ECDSA P-256');
  return csr.publicKey.export(EC_ALG, ['verify'], webcrypto as unknown as Crypto);
}

/**
 * Issues a node certificate signed by `ca`. SANs follow swarmkit's PrepareCSR: the role and the
 * node ID as DNS names, plus "swarm-ca" for managers; `addresses` are added on top.
 */
export async function issueNodeCertificate(ca: RootCA, req: IssueRequest): Promise<{ certPem: string; keyPem?: string }> {
  checkName('node ID', req.nodeId);
  checkName('cluster ID', req.clusterId);
  if (!isRole(req.role)) throw invalid(`invalid role ${JSON.stringify(req.role)}`);
  const lib = await x509();
  const caCert = parseCert(ca.certPem, 'CA certificate');
  if (!caCert.ca) throw invalid('CA certificate is not a CA');
  const signingKey = await importSigningKey(ca.keyPem);

  let publicKey: CryptoKey;
  let keyPem: string | undefined;
  if (req.csrPem !== undefined) {
    publicKey = await publicKeyFromCSR(req.csrPem);
  } else {
    const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
    publicKey = keys.publicKey;
    keyPem = await exportKeyPem(keys.privateKey);
  }

  const sans: { type: 'dns' | 'ip'; value: string }[] = [
    { type: 'dns', value: req.role },
    { type: 'dns', value: req.nodeId },
  ];
  if (req.role === MANAGER_ROLE) sans.push({ type: 'dns', value: CA_ROLE });
  for (const a of req.addresses ?? []) {
    if (isIP(a)) sans.push({ type: 'ip', value: a });
    else if (/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(a)) sans.push({ type: 'dns', value: a });
    else throw invalid(`invalid address ${JSON.stringify(a)}`);
  }

  let validity = req.validityMs ?? NODE_CERT_VALIDITY_MS;
  if (validity < MIN_NODE_CERT_VALIDITY_MS) validity = NODE_CERT_VALIDITY_MS;
  const now = req.now?.getTime() ?? Date.now();
  const issuer = new lib.X509Certificate(ca.certPem);
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    // Go's pkix.Name (which swarmkit's signer uses) encodes O, then OU, then CN.
    subject: [{ O: [req.clusterId] }, { OU: [req.role] }, { CN: [req.nodeId] }],
    issuer: issuer.subject,
    notBefore: new Date(now - CERT_BACKDATE_MS),
    notAfter: new Date(now + validity),
    publicKey,
    signingKey,
    signingAlgorithm: EC_ALG,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth, lib.ExtendedKeyUsage.clientAuth]),
      new lib.SubjectAlternativeNameExtension(sans),
      await lib.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto as unknown as Crypto),
      await lib.AuthorityKeyIdentifierExtension.create(issuer, false, webcrypto as unknown as Crypto),
    ],
  }, webcrypto as unknown as Crypto);
  return { certPem: cert.toString('pem') + '\n', ...(keyPem === undefined ? {} : { keyPem }) };
}

function subjectFields(cert: X509Certificate): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of cert.subject.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

function one(fields: Map<string, string[]>, k: string): string | undefined {
  const v = fields.get(k);
  return v && v.length === 1 ? v[0] : undefined;
}

/**
 * Checks that `certPem` (a node certificate) was signed by the root `caCertPem` and is valid at
 * `now`, and returns the identity it carries. Anything else is refused with a Forbidden error.
 */
export function verifyNodeCertificate(caCertPem: string, certPem: string, now: Date = new Date()): NodeIdentity {
  const ca = parseCert(caCertPem, 'CA certificate');
  const cert = parseCert(certPem, 'certificate');
  const refuse = (why: string) => new EngineError('Forbidden', `certificate not trusted: ${why}`);
  if (!ca.ca || !ca.verify(ca.publicKey)) throw refuse('the root is not a self-signed CA');
  if (cert.ca) throw refuse('a CA certificate is not a node certificate');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw refuse('not signed by the cluster CA');
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore || now > notAfter) throw refuse('expired or not yet valid');
  if (!isP256(cert)) throw refuse('key is not ECDSA P-256');
  const f = subjectFields(cert);
  const nodeId = one(f, 'CN');
  const role = one(f, 'OU');
  const clusterId = one(f, 'O');
  if (!nodeId || !clusterId || !isRole(role)) throw refuse('no node ID, role or cluster ID in its subject');
  return { nodeId, role, clusterId, notBefore, notAfter };
}

/**
 * The CA digest a join token carries: sha256 of the root CA certificate bundle's bytes exactly as
 * served to a joining node (swarmkit's RootCA.Digest is digest.FromBytes of the PEM bundle, and
 * GetRemoteCA checks the bytes it received against it).
 */
export function caDigest(caCertPem: string): string {
  return createHash('sha256').update(caCertPem).digest('hex');
}

/** True when `keyPem` is the private half of `certPem`'s public key. */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = parseCert(certPem, 'certificate').publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}
