// `berth version`: its own module, so the command loads the client and nothing else; the template
// engine (in system.ts's runTemplate) only with --format.
import type { OptionsOf, VERSION_COMMAND } from '../spec.ts';
import { MAX_API_VERSION, compareVersions } from '../../client/client.ts';
import type { Ctx } from '../context.ts';
import { VERSION } from '../version.ts';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * Go templates name struct fields, JSON names them by tag: give the Go names as hidden aliases.
 * A field the daemon omitted (omitempty) reads as the Go zero value, `zero`.
 */
export function alias<T extends object>(obj: T, names: Record<string, string>, zero: Record<string, unknown> = {}): T {
  for (const [goName, jsonName] of Object.entries(names)) {
    if (goName in obj) continue;
    Object.defineProperty(obj, goName, { get: () => (obj as any)[jsonName] ?? zero[goName], enumerable: false });
  }
  return obj;
}

/** docker shows the daemon's RFC 3339 build time as Go's time.ANSIC in the local zone. */
function ansic(s: string): string {
  const t = Date.parse(s);
  if (!s || Number.isNaN(t)) return s;
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export async function version(ctx: Ctx, _args: string[], o: OptionsOf<typeof VERSION_COMMAND>): Promise<number> {
  const c = ctx.client;
  let server: Record<string, any> | undefined;
  let serverErr: unknown;
  try {
    server = await c.system.version<Record<string, any>>();
  } catch (e) {
    serverErr = e;
  }
  const apiVersion = await c.version().catch(() => MAX_API_VERSION /* no daemon: the client's own version is shown, the error is serverErr's */);
  const client = alias({
    Version: VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: MAX_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: process.platform,
    Arch: GOARCH[process.arch] ?? process.arch,
    BuildTime: '',
    Context: 'default',
  }, { APIVersion: 'ApiVersion' });
  if (server) alias(server, { APIVersion: 'ApiVersion' });
  const data = { Client: client, Server: server ?? null };
  if (o.format) {
    let text = '';
    try {
      const { runTemplate } = await import('./system.ts');
      text = runTemplate(o.format, data, 'version');
    } catch (e) {
      // Without a server the template may well fail on .Server: the connection error matters.
      if (!serverErr) throw e;
    }
    process.stdout.write(text);
    if (serverErr) throw serverErr;
    return 0;
  }
  const downgraded = compareVersions(apiVersion, MAX_API_VERSION) < 0 ? ` (downgraded from ${MAX_API_VERSION})` : '';
  let out = 'Client:\n';
  out += ` Version:           ${client.Version}\n`;
  out += ` API version:       ${apiVersion}${downgraded}\n`;
  out += ` Node version:      ${client.GoVersion}\n`;
  out += ` OS/Arch:           ${client.Os}/${client.Arch}\n`;
  out += ` Context:           ${client.Context}\n`;
  if (server) {
    out += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
    const components: Array<{ Name: string; Version: string; Details?: Record<string, string> }> = server.Components ?? [
      { Name: 'Engine', Version: server.Version, Details: server },
    ];
    for (const comp of components) {
      out += ` ${comp.Name}:\n`;
      const d = comp.Details ?? {};
      if (comp.Name === 'Engine') {
        out += `  Version:          ${comp.Version}\n`;
        out += `  API version:      ${d.ApiVersion ?? server.ApiVersion} (minimum version ${d.MinAPIVersion ?? server.MinAPIVersion})\n`;
        if (d.GoVersion ?? server.GoVersion) out += `  Go version:       ${d.GoVersion ?? server.GoVersion}\n`;
        out += `  Git commit:       ${d.GitCommit ?? server.GitCommit ?? ''}\n`;
        out += `  Built:            ${ansic(d.BuildTime ?? server.BuildTime ?? '')}\n`;
        out += `  OS/Arch:          ${d.Os ?? server.Os}/${d.Arch ?? server.Arch}\n`;
        out += `  Experimental:     ${d.Experimental ?? server.Experimental ?? false}\n`;
      } else {
        out += `  Version:          ${comp.Version}\n`;
        for (const k of Object.keys(d).sort()) out += `  ${`${k}:`.padEnd(18)}${d[k]}\n`;
      }
    }
  }
  process.stdout.write(out);
  if (serverErr) throw serverErr;
  return 0;
}

