// Loads @peculiar/x509 (X.509 generation: Node's crypto only parses certificates).
//
// The package resolves its services through tsyringe, which refuses to load unless the Reflect
// metadata API exists: `reflect-metadata` installs it. Both load on first use (a dynamic import,
// in this order), so the CLI and a daemon that never touches the swarm CA do not pay for them.
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let loaded: Promise<typeof X509> | undefined;

export function x509(): Promise<typeof X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })();
  return loaded;
}
