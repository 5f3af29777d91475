// On-disk CA and node credentials, under a directory the caller chooses, with swarmkit's file
// names (ca/config.go): swarm-root-ca.crt/.key, swarm-node.crt/.key. Each file is written
// atomically; keys are 0600 and the directory 0700. The key is written before the certificate, so
// a crash between the two leaves an old certificate with a new key, which load refuses, never a
// certificate whose key is missing.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/metadata/atomic.ts';
import { keyMatchesCert, type RootCA } from './ca.ts';

const ROOT_CERT = 'swarm-root-ca.crt';
const ROOT_KEY = 'swarm-root-ca.key';
const NODE_CERT = 'swarm-node.crt';
const NODE_KEY = 'swarm-node.key';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
}

async function prepare(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function savePair(dir: string, certName: string, keyName: string, certPem: string, keyPem: string | undefined): Promise<void> {
  await prepare(dir);
  if (keyPem !== undefined) await writeFileAtomic(join(dir, keyName), keyPem, 0o600);
  await writeFileAtomic(join(dir, certName), certPem, 0o644);
}

async function loadPair(dir: string, certName: string, keyName: string): Promise<{ certPem?: string; keyPem?: string }> {
  const certPem = await readOptional(join(dir, certName));
  const keyPem = await readOptional(join(dir, keyName));
  if (certPem !== undefined && keyPem !== undefined && !keyMatchesCert(keyPem, certPem)) {
    throw new Error(`${join(dir, keyName)} does not match ${join(dir, certName)}`);
  }
  return { ...(certPem === undefined ? {} : { certPem }), ...(keyPem === undefined ? {} : { keyPem }) };
}

/** Saves the root CA; a node that only trusts the CA (no key) saves just the certificate. */
export function saveRootCA(dir: string, ca: { certPem: string; keyPem?: string }): Promise<void> {
  return savePair(dir, ROOT_CERT, ROOT_KEY, ca.certPem, ca.keyPem);
}

/** The root CA certificate (and key, where this node holds it), or undefined when none is saved. */
export async function loadRootCA(dir: string): Promise<{ certPem: string; keyPem?: string } | RootCA | undefined> {
  const { certPem, keyPem } = await loadPair(dir, ROOT_CERT, ROOT_KEY);
  if (certPem === undefined) return undefined;
  return keyPem === undefined ? { certPem } : { certPem, keyPem };
}

export function saveNodeCredentials(dir: string, creds: NodeCredentials): Promise<void> {
  return savePair(dir, NODE_CERT, NODE_KEY, creds.certPem, creds.keyPem);
}

/** This node's certificate and key, or undefined unless both are saved. */
export async function loadNodeCredentials(dir: string): Promise<NodeCredentials | undefined> {
  const { certPem, keyPem } = await loadPair(dir, NODE_CERT, NODE_KEY);
  return certPem === undefined || keyPem === undefined ? undefined : { certPem, keyPem };
}
