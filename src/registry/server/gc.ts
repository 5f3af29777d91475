// `berth registry gc`: mark and sweep over the registry's storage (DESIGN.md: collection by
// scanning, never by stored reference counts).
//
//   mark   every manifest revision of every repository (tagged or not: a revision stays until
//          it is deleted by digest), plus the config, layers and child manifests it names
//   sweep  every blob in the content store that is not marked; the layer links that pointed at
//          those blobs go too, so a HEAD of them says BLOB_UNKNOWN rather than a dangling link
//
// Also removes uploads untouched for a day. Like distribution's garbage-collect, run it while the
// registry is stopped (or read-only): a push in flight has blobs no manifest names yet.
import { FsRegistryStorage } from './fs-storage.ts';
import { parseManifest } from './manifest.ts';

export interface GcOptions {
  dryRun?: boolean;
  /** Uploads idle longer than this are abandoned (default one day). */
  uploadMaxAgeMs?: number;
  log?: (line: string) => void;
}

export interface GcReport {
  dryRun: boolean;
  repositories: number;
  manifests: number;
  marked: number;
  removed: { digest: string; size: number }[];
  freedBytes: number;
  uploads: { id: string; size: number }[];
}

export async function collectGarbage(root: string, opts: GcOptions = {}): Promise<GcReport> {
  const log = opts.log ?? (() => {});
  // No init(): that would discard the content store's in-flight ingests.
  const s = new FsRegistryStorage(root);
  const marked = new Set<string>();
  const repos = await s.repositories();
  let manifests = 0;
  for (const name of repos) {
    for (const digest of await s.revisions(name)) {
      manifests++;
      marked.add(digest);
      let body: Buffer;
      try {
        body = await s.content.read(digest);
      } catch {
        log(`warning: ${name}@${digest}: manifest blob missing`);
        continue;
      }
      try {
        const m = parseManifest(body, undefined);
        for (const d of [...m.blobs, ...m.manifests]) marked.add(d.digest);
      } catch (e) {
        log(`warning: ${name}@${digest}: ${(e as Error).message}`);
      }
    }
  }

  const removed: { digest: string; size: number }[] = [];
  for (const digest of await s.content.list()) {
    if (marked.has(digest)) continue;
    const size = (await s.content.info(digest).catch(() => ({ size: 0 }))).size;
    removed.push({ digest, size });
    log(`${opts.dryRun ? 'would remove' : 'removing'} blob ${digest} (${size} bytes)`);
    if (!opts.dryRun) await s.content.delete(digest);
  }
  if (!opts.dryRun && removed.length) {
    const gone = new Set(removed.map((r) => r.digest));
    for (const name of repos) {
      for (const d of await s.layerLinks(name)) if (gone.has(d)) await s.unlinkLayer(name, d);
    }
  }

  const uploads = await s.staleUploads(opts.uploadMaxAgeMs ?? 24 * 3600_000);
  for (const u of uploads) {
    log(`${opts.dryRun ? 'would remove' : 'removing'} abandoned upload ${u.id} (${u.size} bytes)`);
    if (!opts.dryRun) await s.removeUpload(u.id);
  }
  return {
    dryRun: Boolean(opts.dryRun), repositories: repos.length, manifests, marked: marked.size,
    removed, freedBytes: removed.reduce((n, r) => n + r.size, 0), uploads,
  };
}
