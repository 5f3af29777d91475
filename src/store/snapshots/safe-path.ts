// Path handling for untrusted tar entries (DESIGN.md "Safety rules for the code"). Node has no
// openat2(RESOLVE_IN_ROOT), so berth resolves "resolve-then-check on every component": every
// parent of an entry is lstat'ed and must be a real directory, never a symlink. This is sound here
// because the extraction root is private to the daemon and the only thing that changes it while
// a layer is unpacked is the extractor itself, one entry at a time: the tar cannot race us.
// The calls are synchronous for the reason given in apply-layer.ts (thread-pool round trips).
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../../common/errors.ts';

/**
 * Cleans a tar entry name lexically, as if it were rooted at the extraction root, and returns its
 * components. Absolute names become relative (`/etc/x` → `etc/x`) and a `..` that would climb
 * above the root stays at the root (`../../etc/passwd` → `etc/passwd`). This is what Docker's
 * layer apply does in effect: it unpacks inside a chroot of the layer dir, where
 * `filepath.Join("/", name)` clamps at `/` the same way. `[]` means the root itself (`./`).
 */
export function cleanEntryPath(name: string): string[] {
  if (name.includes('\0')) throw invalid(`invalid tar entry name ${JSON.stringify(name)}: contains NUL`);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/**
 * Cleans a hard link target. Unlike entry names, a target that climbs above the root is rejected,
 * not clamped: no honest tar writer produces one, and silently re-pointing a link at another
 * file would be worse than refusing the layer. A leading `/` is dropped (targets are root-relative).
 */
export function cleanLinkTarget(target: string, entry: string): string[] {
  if (target.includes('\0')) throw invalid(`invalid hard link target in ${JSON.stringify(entry)}: contains NUL`);
  const out: string[] = [];
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalid(`layer breakout: hard link ${JSON.stringify(entry)} points outside the root (${JSON.stringify(target)})`);
      out.pop();
    } else out.push(c);
  }
  if (out.length === 0) throw invalid(`invalid hard link ${JSON.stringify(entry)}: target is the root`);
  return out;
}

/**
 * An extraction root in which parent directories are checked component by component with lstat.
 * Directories already verified (or created) are cached; call `forget()` after removing anything,
 * since a removed directory may come back as a symlink.
 */
export class SafeRoot {
  readonly root: string;
  #dirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Absolute path of clean components (no `..`, no `/` inside a component, so join cannot escape). */
  abs(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** Records that `parts` is now a real directory created or verified by the caller. */
  noteDir(parts: readonly string[]): void {
    if (parts.length) this.#dirs.add(parts.join('/'));
  }

  forget(): void {
    this.#dirs.clear();
  }

  /**
   * Checks that every parent of `parts` (all components but the last) is a real directory.
   * A symlink anywhere on the way rejects the entry as a breakout (`entry` names it in the
   * message). Missing parents are created 0755 root-owned when `create` is set, as Docker does;
   * otherwise `false` is returned. `onCreate` sees each directory made here.
   */
  parents(parts: readonly string[], entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    return this.#walk(parts, parts.length - 1, entry, opts);
  }

  /** Like `parents`, but the whole path must be a directory too (the target of an opaque marker). */
  dir(parts: readonly string[], entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    return this.#walk(parts, parts.length, entry, opts);
  }

  #walk(parts: readonly string[], count: number, entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    let rel = '';
    for (let i = 0; i < count; i++) {
      rel = i === 0 ? parts[0] : `${rel}/${parts[i]}`;
      if (this.#dirs.has(rel)) continue;
      const p = join(this.root, rel);
      let st;
      try {
        st = lstatSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        if (!opts.create) return false;
        mkdirSync(p);
        chmodSync(p, 0o755); // exact, whatever the daemon's umask
        opts.onCreate?.(rel);
        this.#dirs.add(rel);
        continue;
      }
      if (st.isSymbolicLink()) {
        throw invalid(`layer breakout: ${JSON.stringify(entry)} goes through the symbolic link ${JSON.stringify(rel)}`);
      }
      if (!st.isDirectory()) {
        throw invalid(`invalid layer: ${JSON.stringify(entry)}: ${JSON.stringify(rel)} is not a directory`);
      }
      this.#dirs.add(rel);
    }
    return true;
  }
}
