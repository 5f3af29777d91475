// inspect, container inspect, image inspect: a JSON array indented by 4 spaces (docker's
// json.Indent of the daemon's bytes), or one template execution per object with -f/--format.
// Without --type, each name is tried as a container, then an image, a network, a volume.
import type { OptionsOf, CONTAINER_COMMANDS, GENERIC_INSPECT, IMAGE_COMMANDS, NETWORK_COMMANDS } from '../spec.ts';
import { ApiError } from '../../client/client.ts';
import { StatusError, type Ctx } from '../context.ts';
import { parseTemplate, TemplateError, type Template } from '../format/template.ts';
import { normalizeFormat } from '../format/formatter.ts';
import { indentJson } from '../format/json-indent.ts';
import { readAll } from '../../client/client.ts';
import { path } from '../../client/endpoints.ts';

/** The generic inspect's flags: the typed forms' are a subset. */
type Opts = OptionsOf<typeof GENERIC_INSPECT>;
type Kind = 'container' | 'image' | 'network' | 'volume';

// Inspect templates run on typed structs in docker, where a nil slice prints `[]` and a nil map
// `map[]`; the JSON we hold only says null, so these field names tell which is which.
const SLICE_FIELDS = new Set([
  'Args', 'Env', 'Cmd', 'Entrypoint', 'OnBuild', 'Binds', 'Links', 'CapAdd', 'CapDrop', 'Dns', 'DnsOptions',
  'DnsSearch', 'ExtraHosts', 'GroupAdd', 'SecurityOpt', 'VolumesFrom', 'Devices', 'DeviceCgroupRules',
  'DeviceRequests', 'Ulimits', 'Mounts', 'ExecIDs', 'RepoTags', 'RepoDigests', 'Layers', 'MaskedPaths',
  'ReadonlyPaths', 'Aliases', 'DNSNames', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'ConsoleSize', 'Shell', 'Test', 'Log',
]);
const MAP_FIELDS = new Set([
  'Labels', 'Volumes', 'ExposedPorts', 'PortBindings', 'Ports', 'Tmpfs', 'Sysctls', 'StorageOpt', 'Options',
  'DriverOpts', 'Networks', 'Data', 'Annotations',
]);

export function inspectNullText(field: string | undefined): string {
  if (field && SLICE_FIELDS.has(field)) return '[]';
  if (field && MAP_FIELDS.has(field)) return 'map[]';
  return '<nil>';
}

/**
 * The inspect endpoint of each kind. Not the typed client methods: those parse the JSON, and
 * inspect prints the daemon's own text (re-indented), so it reads the raw response.
 */
function pathFor(kind: Kind, name: string): string {
  switch (kind) {
    case 'container': return path`/containers/${name}/json`;
    case 'image': return path`/images/${name}/json`;
    case 'network': return path`/networks/${name}`;
    case 'volume': return path`/volumes/${name}`;
  }
}

const NOT_FOUND_TEXT: Record<Kind, string> = {
  container: 'No such container', image: 'No such image', network: 'network', volume: 'no such volume',
};

/** The object's JSON text as the daemon sent it (printed re-indented, not re-encoded). */
async function fetchOne(ctx: Ctx, name: string, kinds: Kind[], size: boolean): Promise<string> {
  let lastErr: unknown;
  for (const kind of kinds) {
    try {
      const res = await ctx.client.request('GET', pathFor(kind, name), { query: kind === 'container' ? { size } : undefined });
      return (await readAll(res)).toString().trim();
    } catch (e) {
      // Not found (or a route this daemon lacks): try the next kind.
      if (e instanceof ApiError && (e.status === 404 || e.status === 400 || e.status === 501)) { lastErr = e; continue; }
      throw e;
    }
  }
  if (kinds.length > 1) throw new StatusError(`Error: No such object: ${name}`, 1);
  const e = lastErr as ApiError | undefined;
  throw new StatusError(`Error response from daemon: ${e?.message ?? `${NOT_FOUND_TEXT[kinds[0]]}: ${name}`}`, 1);
}

async function inspectAll(ctx: Ctx, names: string[], kinds: Kind[], o: Opts): Promise<number> {
  let tmpl: Template | undefined;
  let compact = false;
  if (o.format !== undefined && o.format !== '') {
    const f = normalizeFormat(o.format);
    // docker 28: `-f json` prints the array compact, on one line (below).
    if (f === 'json') compact = true;
    else {
      try {
        tmpl = parseTemplate(f, { nullText: inspectNullText, strictRoot: true });
      } catch (e) {
        if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
        throw e;
      }
    }
  }
  const found: string[] = [];
  const errors: string[] = [];
  let out = '';
  for (const name of names) {
    let raw: string;
    try {
      raw = await fetchOne(ctx, name, kinds, Boolean(o.size));
    } catch (e) {
      if (e instanceof StatusError) { errors.push(e.message); continue; }
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
    if (tmpl) {
      try {
        out += `${tmpl.execute(JSON.parse(raw))}\n`;
      } catch (e) {
        if (e instanceof TemplateError) {
          process.stdout.write(out);
          throw new StatusError(`template parsing error: ${e.message}`, 1);
        }
        throw e;
      }
    } else {
      found.push(raw);
    }
  }
  if (compact) out = `[${found.map((r) => goMarshal(JSON.parse(r))).join(',')}]\n`;
  else if (!tmpl) out = found.length ? `[\n    ${found.map((r) => indentJson(r, '    ', '    ')).join(',\n    ')}\n]\n` : '[]\n';
  process.stdout.write(out);
  if (errors.length) {
    process.stderr.write(`${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}

/** Compact JSON as the docker CLI's `-f json` writes it (no HTML escaping). */
function goMarshal(v: unknown): string {
  return JSON.stringify(v);
}

export async function inspect(ctx: Ctx, args: string[], o: OptionsOf<typeof GENERIC_INSPECT>): Promise<number> {
  const type = o.type as string | undefined;
  let kinds: Kind[];
  if (!type) kinds = ['container', 'image', 'network', 'volume'];
  else if (['container', 'image', 'network', 'volume'].includes(type)) kinds = [type as Kind];
  else throw new StatusError(`"${type}" is not a valid value for --type`, 1);
  return inspectAll(ctx, args, kinds, o);
}

export async function containerInspect(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.inspect>): Promise<number> {
  return inspectAll(ctx, args, ['container'], o);
}

export async function networkInspect(ctx: Ctx, args: string[], o: OptionsOf<typeof NETWORK_COMMANDS.inspect>): Promise<number> {
  return inspectAll(ctx, args, ['network'], o);
}

export async function imageInspect(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.inspect>): Promise<number> {
  return inspectAll(ctx, args, ['image'], o);
}
