// Loads @peculiar/x509 (X.509 generation: Node's crypto only parses certificates).
//
// The package resolves its services through tsyringe, which refuses to load unless a Reflect
// metadata API exists (it expects the `reflect-metadata` polyfill). tsyringe only stores and reads
// plain metadata entries, so the three functions it calls are provided here, backed by a WeakMap,
// and only when nothing else installed them. The import is dynamic on purpose: a static import of
// an external package is hoisted above this module's code by the bundler, and tsyringe would run
// its check before the shim exists.
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: object) => unknown;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
};

function installReflectMetadata(): void {
  const r = Reflect as MetadataReflect;
  if (r.getMetadata) return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  r.defineMetadata = (key, value, target) => {
    let m = store.get(target);
    if (!m) store.set(target, (m = new Map()));
    m.set(key, value);
  };
  r.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  r.getMetadata = (key, target) => {
    for (let o: object | null = target; o != null; o = Object.getPrototypeOf(o) as object | null) {
      const m = store.get(o);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
}

let loaded: Promise<typeof X509> | undefined;

export function x509(): Promise<typeof X509> {
  loaded ??= (async () => {
    installReflectMetadata();
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })();
  return loaded;
}
