// Layer application: an OCI/Docker layer tar (already gunzipped) is unpacked into a directory,
// either as an overlayfs lower layer of its own ('overlay') or onto an existing tree ('flatten').
// What is a layer's own lives here: whiteouts (`.wh.<name>`) and opaque markers
// (`.wh..wh..opq`). Reading the tar and writing entries safely is src/archive's (tar-reader.ts,
// extract.ts); this file only adds the whiteout rules on top of that extractor.
import { lstatSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { invalid } from '../../common/errors.ts';
import * as sys from '../../sys/index.ts';
import type { Dir } from '../../sys/dirfd.ts';
import { Extractor, runExtractor, type ExtractOptions } from '../../archive/extract.ts';
import type { TarEntry } from '../../archive/archive.ts';

export interface ApplyLayerOptions extends ExtractOptions {
  /**
   * 'overlay': `root` is an empty layer directory that will be an overlayfs lowerdir; whiteouts
   * become 0/0 character devices and opaque markers the `trusted.overlay.opaque=y` xattr.
   * 'flatten': the tar is applied onto the existing tree in `root`; whiteouts delete.
   * 'plain': an ordinary archive: `.wh.` names are files (archive/extract.ts extractTar).
   */
  mode: 'overlay' | 'flatten' | 'plain';
}

/**
 * Unpacks a layer tar into `root` (an existing directory) and returns the total size of the
 * regular files written. Safety and the input's handling are archive/extract.ts's (see there).
 *
 * On failure `root` is left partially extracted: the caller must delete it (the snapshotter
 * unpacks into a temp dir and removes it).
 */
export async function applyLayer(root: string | Dir, tar: NodeJS.ReadableStream | Readable, opts: ApplyLayerOptions): Promise<{ size: number }> {
  const x = opts.mode === 'plain' ? new Extractor(root, opts) : new LayerExtractor(root, opts.mode, opts);
  return runExtractor(x, tar);
}

const WH = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const WH_META = '.wh..wh.'; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): never image content

/** The extractor with a layer's whiteouts and opaque markers. */
class LayerExtractor extends Extractor {
  readonly #mode: 'overlay' | 'flatten';

  constructor(root: string | Dir, mode: 'overlay' | 'flatten', o: ExtractOptions) {
    super(root, o);
    this.#mode = mode;
    // flatten: every path this tar wrote, with its ancestors; an opaque marker keeps exactly these.
    if (mode === 'flatten') this.written = new Set();
  }

  protected override async special(parts: string[], e: TarEntry): Promise<boolean> {
    const base = parts.length ? parts[parts.length - 1] : '';
    if (base === WH_OPAQUE) await this.#opaque(parts.slice(0, -1), e.name);
    else if (parts.length && parts[0].startsWith(WH_META)) { /* never image content: skipped */ }
    else if (base.startsWith(WH)) await this.#whiteout(parts, e.name);
    else return false;
    return true;
  }

  /** `.wh.<name>`: delete `<name>` of the layers below. The marker itself is never written. */
  async #whiteout(parts: string[], entry: string): Promise<void> {
    const name = parts[parts.length - 1].slice(WH.length);
    if (name === '' || name === '.' || name === '..') throw invalid(`invalid layer: bad whiteout ${JSON.stringify(entry)}`);
    const target = [...parts.slice(0, -1), name];
    if (this.#mode === 'overlay') {
      this.root.parents(target, entry, { create: true });
      this.remove(target);
      await sys.mknodWhiteout(this.root.abs(target));
      return;
    }
    if (!this.root.parents(target, entry, { create: false })) return;
    this.remove(target);
  }

  /** `<dir>/.wh..wh..opq`: hide everything the layers below have in `<dir>`. */
  async #opaque(dir: string[], entry: string): Promise<void> {
    if (this.#mode === 'overlay') {
      this.root.dir(dir, entry, { create: true });
      await sys.markOpaque(this.root.abs(dir));
      return;
    }
    if (!this.root.dir(dir, entry, { create: false })) return;
    this.#prune(dir);
  }

  /** flatten: removes what is under `dir` that this tar did not write (so far). */
  #prune(dir: string[]): void {
    for (const name of readdirSync(this.root.abs(dir))) {
      const child = [...dir, name];
      if (!this.written!.has(child.join('/'))) this.remove(child);
      else if (lstatSync(this.root.abs(child)).isDirectory()) this.#prune(child);
    }
  }
}
