// The header writer shared by berth's tar writers (the tree writer tree-tar.ts in all its uses,
// cp's rebasing in copy.ts, in-memory tars in context-tar.ts). Our own because xattr values are
// bytes and must go into PAX records as bytes, and every field must be under our control for
// byte-identical output (see tree-tar.ts).

export const BLOCK = 512;
/** Zero bytes that pad `n` data bytes to a whole block. */
export const tarPad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

const MAX_OCT7 = 0o7777777;
const MAX_OCT11 = 0o77777777777;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export interface TarHeader {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds. */
  mtime: number;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Written as `SCHILY.xattr.<name>` PAX records (byte order of names); overlay's own are left out. */
  xattrs?: Map<string, Buffer>;
}

/** ustar's name/prefix split; undefined when the name needs a PAX `path`. */
function splitName(name: string): [string, string] | undefined {
  if (!PRINTABLE_ASCII.test(name)) return undefined;
  if (name.length <= 100) return ['', name];
  for (let i = Math.min(name.length - 2, 155); i > 0; i--) {
    if (name[i] === '/' && name.length - i - 1 <= 100) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
  // The length prefix counts its own digits.
  let digits = String(body.length).length;
  if (String(body.length + digits).length > digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits)), body]);
}

/** One entry's header blocks: a PAX extended header first when ustar cannot hold a value, then ustar. */
export function encodeTarHeader(h: TarHeader): Buffer {
  const size = h.size ?? 0;
  const linkname = h.linkname ?? '';
  const recs: Buffer[] = [];
  const split = splitName(h.name);
  if (!split) recs.push(paxRecord('path', h.name));
  const linkFits = linkname.length <= 100 && PRINTABLE_ASCII.test(linkname);
  if (!linkFits) recs.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCT11) recs.push(paxRecord('size', String(size)));
  if (h.uid > MAX_OCT7) recs.push(paxRecord('uid', String(h.uid)));
  if (h.gid > MAX_OCT7) recs.push(paxRecord('gid', String(h.gid)));
  const mtimeFits = h.mtime >= 0 && h.mtime <= MAX_OCT11;
  if (!mtimeFits) recs.push(paxRecord('mtime', String(h.mtime)));
  if (h.xattrs) {
    const names = [...h.xattrs.keys()]
      .filter((n) => !n.startsWith('trusted.overlay.'))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const n of names) recs.push(paxRecord(`SCHILY.xattr.${n}`, h.xattrs.get(n)!));
  }
  const main = ustarBlock({
    name: split ? split[1] : asciiCut(h.name, 100),
    prefix: split ? split[0] : '',
    mode: h.mode,
    uid: h.uid > MAX_OCT7 ? 0 : h.uid,
    gid: h.gid > MAX_OCT7 ? 0 : h.gid,
    size: size > MAX_OCT11 ? 0 : size,
    mtime: mtimeFits ? h.mtime : 0,
    flag: h.type,
    linkname: linkFits ? linkname : asciiCut(linkname, 100),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (recs.length === 0) return main;
  const data = Buffer.concat(recs);
  const paxHeader = ustarBlock({
    name: 'PaxHeaders/entry', prefix: '', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0,
    flag: 'x', linkname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(tarPad(data.length)), main]);
}

/** A stand-in for a name that only the PAX record holds in full (readers ignore it). */
function asciiCut(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(-max);
}

function ustarBlock(f: {
  name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  flag: string; linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'latin1');
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b.write(f.flag, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octal(b, 329, 8, f.devmajor);
  octal(b, 337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
}
