// Secrets and configs at rest: what a manager writes to etcd is AES-256-GCM ciphertext under the
// swarm's data key, never the data. The key is made at `swarm init`, kept in each manager's
// <data-root>/swarm/data.key (0600) and handed to a new manager in its join or renew response
// over the mutual-TLS dispatcher; it is never written to etcd, so etcd's files (and a copy of
// them) hold only ciphertext. Workers never hold the key: they get the plaintext of what their
// tasks use, over their session.
//
//   const key = newDataKey();
//   const sealed = seal(key, Buffer.from('s3cret'), 'secret/abc')   → 'v1:' + base64(iv | tag | ciphertext)
//   open(key, sealed, 'secret/abc')                                 → Buffer 's3cret'
//   open(key, sealed, 'secret/xyz')                                 → throws (bound to its object)
//
// The object's kind and ID are the additional authenticated data, so a ciphertext moved to
// another object's key in etcd does not decrypt there.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EngineError } from '../../common/errors.ts';

const VERSION = 'v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  if (key.length !== DATA_KEY_BYTES) throw new EngineError('System', 'the swarm data key has the wrong length');
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return VERSION + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

export function open(key: Buffer, sealed: string, aad: string): Buffer {
  if (!sealed.startsWith(VERSION)) throw new EngineError('System', 'stored secret data is in an unknown format');
  const raw = Buffer.from(sealed.slice(VERSION.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new EngineError('System', 'stored secret data is truncated');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]);
  } catch {
    throw new EngineError('System', 'stored secret data does not decrypt with this manager\'s data key');
  }
}
