// The tar reader: a pull-style stream of entries, shared by layer application
// (store/snapshots/apply-layer.ts), `cp` into a container or out of one (extract.ts, copy.ts)
// and the build (COPY/ADD of a context or a local tar).
//
// Why a reader of our own instead of tar-stream's extract: tar-stream decodes PAX records as
// UTF-8 text, which corrupts binary xattr values (`security.capability` of e.g. newuidmap holds
// bytes >= 0x80), and it reads data blocks after link/device headers that Go's archive/tar (the
// writer of nearly every layer) treats as header-only. This one keeps PAX values as bytes and
// follows Go's rules. It is small: ustar, GNU long names, PAX local and global headers.
import { invalid } from '../common/errors.ts';
import type { TarEntry, TarKind } from './archive.ts';

export type { TarEntry, TarKind } from './archive.ts';

const BLOCK = 512;
/**
 * Upper bound for one PAX ('x', 'g') or GNU long-name ('L', 'K') payload: metadata, never file
 * data. Go's archive/tar (maxSpecialFileSize, which every layer Docker unpacks goes through)
 * refuses larger ones with ErrFieldTooLong.
 */
export const MAX_META = 1 << 20;
const EMPTY = Buffer.alloc(0);
const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

const KINDS: Record<string, TarKind> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

/**
 * A pull-style streaming tar reader: `next()` gives the next entry header, `body()` its data.
 * Data not read by the caller is skipped by the following `next()`.
 *
 * Metadata headers follow Go's archive/tar (Reader.next), so that memory stays bounded whatever a
 * tar holds: each is at most MAX_META bytes, and a header *replaces* the one of its kind before
 * it instead of adding to it. Before one entry, five 'x' headers leave only the fifth's records
 * (at most 1 MiB of them), two 'L' headers only the second name. A global 'g' header is read
 * (and checked) and then ignored, as Docker's unpacker ignores it ("PAX Global Extended Headers
 * found and ignored"): Go hands it back as an entry of its own, so it applies to no later entry
 * and drops the local headers read before it. So one entry's metadata is at most three payloads
 * of MAX_META, and nothing is kept from one entry to the next.
 */
export class TarReader {
  readonly #it: AsyncIterator<Buffer | string>;
  #chunk: Buffer = EMPTY;
  #pos = 0;
  #eof = false;
  #data = 0; // unread data bytes of the current entry
  #pad = 0;

  constructor(src: AsyncIterable<Buffer | string>) {
    this.#it = src[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#eof) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      this.#chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Exactly n bytes; undefined at a clean end of stream before the first byte. */
  async #read(n: number): Promise<Buffer | undefined> {
    if (!(await this.#fill())) return undefined;
    if (this.#chunk.length - this.#pos >= n) {
      const b = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      return b;
    }
    const parts: Buffer[] = [];
    for (let got = 0; got < n; ) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(n - got, this.#chunk.length - this.#pos);
      parts.push(this.#chunk.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      got += take;
    }
    return Buffer.concat(parts, n);
  }

  async #skip(n: number): Promise<void> {
    while (n > 0) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(n, this.#chunk.length - this.#pos);
      this.#pos += take;
      n -= take;
    }
  }

  /** The data of the current entry, as slices of the input chunks (no copy, no buffering). */
  async *body(): AsyncGenerator<Buffer> {
    while (this.#data > 0) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(this.#data, this.#chunk.length - this.#pos);
      const b = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      this.#data -= take;
      yield b;
    }
  }

  /** Reads to the end of the input (end-of-archive blocks, record padding, anything after). */
  async drain(): Promise<void> {
    this.#pos = this.#chunk.length;
    while (await this.#fill()) this.#pos = this.#chunk.length;
  }

  async next(): Promise<TarEntry | undefined> {
    await this.#skip(this.#data);
    // The end of the stream where the last entry's padding would start is a clean end, as in Go
    // (tryReadFull of the padding): the docker CLI's `build -f <file outside the context>` sends
    // such a context (its rewritten tar has neither that padding nor the end-of-archive blocks).
    const padding = this.#pad;
    this.#data = this.#pad = 0;
    if (padding) {
      if (!(await this.#fill())) return undefined;
      await this.#skip(padding);
    }
    let pax: Map<string, Buffer> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = await this.#read(BLOCK);
      // End of the stream at a header boundary is accepted without the two zero blocks, as Go does.
      if (!h) return undefined;
      if (isZero(h)) return undefined;
      checkChecksum(h);
      const flag = String.fromCharCode(h[156]);
      const size = octal(h, 124, 12, 'size');
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_META) {
          throw invalid(`invalid tar: header field too long: a ${size}-byte ${META_NAMES[flag]} header (at most ${MAX_META} bytes)`);
        }
        const data = size ? await this.#read(size) : EMPTY;
        if (!data) throw invalid('invalid tar: unexpected end of stream');
        await this.#skip(pad(size));
        // Each replaces the previous one of its kind (Go: `paxHdrs, err = parsePAX(tr)`).
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'L') longName = cString(data);
        else if (flag === 'K') longLink = cString(data);
        else {
          parsePax(data); // malformed records are an error, as in Go
          pax = longName = longLink = undefined;
        }
        continue;
      }
      const entry = this.#entry(h, flag, size, pax, longName, longLink);
      this.#data = entry.size;
      this.#pad = pad(entry.size);
      return entry;
    }
  }

  #entry(h: Buffer, flag: string, size: number, local: Map<string, Buffer> | undefined, longName?: string, longLink?: string): TarEntry {
    const pax = local ?? new Map<string, Buffer>();
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    let name = cString(h.subarray(0, 100));
    if (ustar && h[345] !== 0) name = `${cString(h.subarray(345, 500))}/${name}`;
    // Go: the PAX path replaces the header's name, and a GNU long name (when not empty) both.
    name = (longName || undefined) ?? paxString(pax, 'path') ?? name;
    let kind = KINDS[flag];
    if (!kind) {
      throw invalid(`invalid layer: unsupported tar entry type ${JSON.stringify(flag)} for ${JSON.stringify(name)}`);
    }
    // Pre-POSIX tars mark directories with a trailing slash only.
    if ((flag === '\0' || flag === '0') && name.endsWith('/')) kind = 'dir';
    for (const k of pax.keys()) {
      if (k.startsWith('GNU.sparse.')) throw invalid(`invalid layer: sparse file ${JSON.stringify(name)} is not supported`);
    }
    const mtime = paxNumber(pax, 'mtime') ?? octal(h, 136, 12, 'mtime');
    const uid = paxNumber(pax, 'uid') ?? octal(h, 108, 8, 'uid');
    const gid = paxNumber(pax, 'gid') ?? octal(h, 116, 8, 'gid');
    const dataSize = paxNumber(pax, 'size') ?? size;
    for (const [what, v] of [['uid', uid], ['gid', gid], ['size', dataSize]] as const) {
      // IDs are 32-bit on Linux (and to chown): a bigger one from PAX or base-256 is refused, not a RangeError later.
      if (!Number.isSafeInteger(v) || v < 0 || (what !== 'size' && v > 0xffffffff)) throw invalid(`invalid tar header: bad ${what} for ${JSON.stringify(name)}`);
    }
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax) {
      if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice(13), v);
    }
    for (const [k, v] of pax) {
      // bsdtar's spelling: URL-encoded name, base64 value.
      if (!k.startsWith('LIBARCHIVE.xattr.')) continue;
      let xn: string;
      // Not valid URL encoding: it names no attribute we could set, so the record is skipped.
      try { xn = decodeURIComponent(k.slice(17)); } catch { continue; }
      if (!xattrs.has(xn)) xattrs.set(xn, Buffer.from(v.toString('latin1'), 'base64'));
    }
    return {
      name,
      linkname: (longLink || undefined) ?? paxString(pax, 'linkpath') ?? cString(h.subarray(157, 257)),
      kind,
      mode: octal(h, 100, 8, 'mode') & 0o7777,
      uid,
      gid,
      // Header-only types carry no data whatever their size field says (Go's archive/tar rule).
      size: kind === 'file' ? dataSize : 0,
      mtime,
      atime: paxNumber(pax, 'atime') ?? mtime,
      devmajor: octal(h, 329, 8, 'devmajor'),
      devminor: octal(h, 337, 8, 'devminor'),
      xattrs,
    };
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function checkChecksum(h: Buffer): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const want = octal(h, 148, 8, 'checksum');
  if (want !== unsigned && want !== signed) throw invalid('invalid tar header: checksum mismatch');
}

/** A numeric header field: octal text (NUL/space padded) or GNU base-256. */
function octal(h: Buffer, off: number, len: number, what: string): number {
  if (h[off] & 0x80) {
    if (h[off] === 0xff) throw invalid(`invalid tar header: negative ${what}`);
    let v = h[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + h[off + i];
    if (!Number.isSafeInteger(v)) throw invalid(`invalid tar header: ${what} out of range`);
    return v;
  }
  let end = h.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  const s = h.toString('latin1', off, end).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalid(`invalid tar header: bad ${what} field`);
  return parseInt(s, 8);
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

const META_NAMES: Record<string, string> = { x: 'PAX', g: 'PAX global', L: 'GNU long name', K: 'GNU long link' };
const PAX_NAMES = new Set(['path', 'linkpath', 'uname', 'gname']);

/** PAX records: "<len> <key>=<value>\n"; values stay bytes (xattrs are binary). */
function parsePax(buf: Buffer): Map<string, Buffer> {
  const into = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length && buf[off] !== 0) {
    const sp = buf.indexOf(0x20, off);
    const len = sp < 0 ? NaN : Number(buf.toString('latin1', off, sp));
    if (!Number.isSafeInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw invalid('invalid tar: malformed PAX header');
    }
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalid('invalid tar: malformed PAX record');
    // Go's validPAXRecord: no NUL in a key (an xattr name), nor in a path, link or owner name.
    const key = rec.subarray(0, eq);
    const value = rec.subarray(eq + 1);
    if (key.includes(0) || (PAX_NAMES.has(key.toString('latin1')) && value.includes(0))) throw invalid('invalid tar: malformed PAX record');
    into.set(key.toString('utf8'), Buffer.from(value));
    off += len;
  }
  return into;
}

function paxString(pax: Map<string, Buffer>, key: string): string | undefined {
  const v = pax.get(key);
  return v && v.length ? v.toString('utf8') : undefined;
}

function paxNumber(pax: Map<string, Buffer>, key: string): number | undefined {
  const s = paxString(pax, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(s) || !Number.isFinite(n)) throw invalid(`invalid tar: bad PAX ${key} ${JSON.stringify(s)}`);
  return n;
}

