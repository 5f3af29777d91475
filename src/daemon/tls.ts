// berthd's TLS material for tcp:// listeners, checked when the configuration is loaded: a bad
// certificate must stop the daemon before any socket exists, not after the unix socket is up.
//
// What dockerd does, and so berthd (moby daemon/command/options.go, daemon.go):
//   --tlsverify              TLS, client certificates required and checked against --tlscacert
//   --tls                    the same: since Docker 20.10 `--tls` alone turns verification on
//   --tls --tlsverify=false  TLS, no client certificate asked for (`"tlsverify": false` in
//                            daemon.json too: naming tlsverify at all turns TLS on)
// Files default to $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker: {ca,cert,key}.pem.
// Error texts follow docker/go-connections' tlsconfig.Server, behind "invalid TLS configuration".
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ServerTlsFiles { ca?: string; cert: string; key: string; verify: boolean }

/** The directory dockerd takes ca.pem, cert.pem and key.pem from when no path is given. */
export function defaultCertDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** Go's "open PATH: no such file or directory" shape for a failed read. */
function openError(path: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory' };
  return `open ${path}: ${why[err.code ?? ''] ?? err.message}`;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the listener's certificate, key and (when client certificates are verified)
 * CA bundle the way the https server will load them; throws with dockerd's wording otherwise.
 */
export async function checkServerTls(t: ServerTlsFiles): Promise<void> {
  const fail = (msg: string): never => { throw new Error(`invalid TLS configuration: ${msg}`); };
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  try {
    cert = await readFile(t.cert);
    key = await readFile(t.key);
  } catch (e) {
    fail(`could not load X509 key pair (cert: "${t.cert}", key: "${t.key}"): ${openError(cert ? t.key : t.cert, e)}`);
  }
  try {
    // The same call the https server makes: PEM syntax, and the key belongs to the certificate.
    createSecureContext({ cert, key });
  } catch (e) {
    fail(`error reading X509 key pair - make sure the key is not encrypted (cert: "${t.cert}", key: "${t.key}"): ${(e as Error).message}`);
  }
  if (!t.verify) return;
  if (!t.ca) fail('--tlsverify needs a CA certificate (--tlscacert) to check client certificates');
  const ca = t.ca!;
  let pem = '';
  try { pem = await readFile(ca, 'utf8'); } catch (e) { fail(`could not read CA certificate "${ca}": ${openError(ca, e)}`); }
  // OpenSSL skips what it cannot parse in a CA bundle; an empty pool would reject every client.
  const certs = pem.match(PEM_CERT) ?? [];
  let good = 0;
  for (const c of certs) { try { new X509Certificate(c); good++; } catch { /* not a certificate */ } }
  if (!good) fail(`failed to append certificates from PEM file: "${ca}"`);
}
