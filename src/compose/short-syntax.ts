// The short syntaxes of `ports:` and `volumes:` turned into their long forms (raw mappings with
// the compose-spec keys), as compose-go's ParsePortConfig and format.ParseVolume do:
//
//   parsePortShort('127.0.0.1:8080-8081:80-81')
//   → [{ mode: 'ingress', host_ip: '127.0.0.1', target: 80, published: '8080', protocol: 'tcp' },
//      { mode: 'ingress', host_ip: '127.0.0.1', target: 81, published: '8081', protocol: 'tcp' }]
//   parseVolumeShort('./data:/var/lib/data:ro')
//   → { type: 'bind', source: './data', target: '/var/lib/data', read_only: true, bind: { create_host_path: true } }
//   parseVolumeShort('db:/var/lib/db')   → { type: 'volume', source: 'db', target: '/var/lib/db', volume: {} }
//   parseVolumeShort('/cache')           → { type: 'volume', target: '/cache', volume: {} }   (anonymous)
//
// A source starting with `.`, `/` or `~` is a bind mount; anything else names a volume.
import { isEngineError } from '../common/errors.ts';
import { parsePortSpec } from '../common/port-spec.ts';
import { ComposeError } from './errors.ts';
import { dict, type Dict } from './tree.ts';

/** One short-syntax port entry → its port configs (a range gives several). */
export function parsePortShort(spec: string): Dict[] {
  let mappings;
  try {
    mappings = parsePortSpec(spec);
  } catch (e) {
    if (isEngineError(e)) throw new ComposeError(e.message);
    throw e;
  }
  // nat.ParsePortSpecs returns a map keyed by port; compose-go sorts the keys as strings.
  const byPort = new Map<string, typeof mappings>();
  for (const m of mappings) {
    if (!byPort.has(m.port)) byPort.set(m.port, []);
    byPort.get(m.port)!.push(m);
  }
  const out: Dict[] = [];
  for (const port of [...byPort.keys()].sort()) {
    for (const m of byPort.get(port)!) {
      const [target, proto] = m.port.split('/');
      const d = dict([['mode', 'ingress']]);
      if (m.hostIp !== '') d.host_ip = m.hostIp;
      d.target = Number(target);
      if (m.hostPort !== '') d.published = m.hostPort;
      d.protocol = proto;
      out.push(d);
    }
  }
  return out;
}

const PROPAGATIONS = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);

function isWindowsDrive(buffer: string, c: string): boolean {
  return c === ':' && [...buffer].length === 1 && /\p{L}/u.test(buffer);
}

function isFilePath(source: string): boolean {
  if (source === '') return false;
  if ('./~'.includes(source[0])) return true;
  if (source.startsWith('\\\\')) return true;
  const chars = [...source];
  return chars.length > 1 && isWindowsDrive(chars[0], chars[1]);
}

/**
 * format.ParseVolume: `[source:]target[:options]`, options `ro`, `rw`, `nocopy`, a bind
 * propagation or `z`/`Z` (unknown options are ignored, as compose does). `${...}` may contain
 * colons. Errors: `invalid empty volume spec`, `invalid spec: SPEC: too many colons` /
 * `empty section between colons`.
 */
export function parseVolumeShort(spec: string): Dict {
  const v: { type?: string; source: string; target: string; readOnly: boolean; bind?: Dict; volume?: Dict } = { source: '', target: '', readOnly: false };
  const result = () => {
    const d = dict();
    if (isFilePath(v.source)) {
      d.type = 'bind';
      v.bind ??= dict();
      v.bind.create_host_path = true;
    } else {
      d.type = 'volume';
      v.volume ??= dict();
    }
    if (v.source !== '') d.source = v.source;
    if (v.target !== '') d.target = v.target;
    if (v.readOnly) d.read_only = true;
    if (v.bind) d.bind = v.bind;
    if (v.volume) d.volume = v.volume;
    return d;
  };
  const chars = [...spec];
  if (spec.length === 0) throw new ComposeError('invalid empty volume spec');
  if (Buffer.byteLength(spec) <= 2) {
    // Go counts bytes here.
    return dict([['type', 'volume'], ['target', spec], ['volume', dict()]]);
  }
  let buffer = '';
  let depth = 0;
  const END = '\0end';
  const all = [...chars, END];
  for (let i = 0; i < all.length; i++) {
    const c = all[i];
    if (c === '$' && i + 1 < chars.length && chars[i + 1] === '{') {
      depth++;
      buffer += c;
      continue;
    }
    if (c === '}' && depth > 0) {
      depth--;
      buffer += c;
      continue;
    }
    if (isWindowsDrive(buffer, c)) {
      buffer += c;
    } else if ((c === ':' || c === END) && depth === 0) {
      const err = populate(c === END, buffer, v);
      if (err) {
        throw new ComposeError(`invalid spec: ${spec}: ${err}`);
      }
      buffer = '';
    } else {
      buffer += c;
    }
  }
  return result();
}

function populate(atEnd: boolean, buffer: string, v: { source: string; target: string; readOnly: boolean; bind?: Dict; volume?: Dict }): string | undefined {
  if (buffer.length === 0) return 'empty section between colons';
  if (v.source === '' && atEnd) { v.target = buffer; return undefined; }
  if (v.source === '') { v.source = buffer; return undefined; }
  if (v.target === '') { v.target = buffer; return undefined; }
  if (!atEnd) return 'too many colons';
  for (const option of buffer.split(',')) {
    if (option === 'ro') v.readOnly = true;
    else if (option === 'rw') v.readOnly = false;
    else if (option === 'nocopy') v.volume = dict([['nocopy', true]]);
    else if (PROPAGATIONS.has(option)) (v.bind ??= dict()).propagation = option;
    else if (option === 'z' || option === 'Z') (v.bind ??= dict()).selinux = option;
    // Unknown options are ignored, as compose-go does.
  }
  return undefined;
}
