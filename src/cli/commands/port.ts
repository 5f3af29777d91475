// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]` (also `berth container port`), as docker CLI 28's
// cli/command/container/port.go: the container's NetworkSettings.Ports, one line per binding,
// the whole lines sorted in natural order.
//
//   berth port web            → `80/tcp -> 0.0.0.0:8080` / `80/tcp -> [::]:8080` / `81/udp -> 127.0.0.1:32768`
//   berth port web 80         → `0.0.0.0:8080` / `[::]:8080`
//   berth port web 82/udp     → `Error: No public port '82/udp' published for web`, exit 1
import { StatusError, type Ctx } from '../context.ts';
import { naturalLess } from './volumes.ts';

type Binding = { HostIp?: string; HostPort?: string };
export type PortMap = Record<string, Binding[] | null>;

/** Go's net.JoinHostPort: an address with a colon (IPv6) goes in brackets; an empty one stays empty. */
export function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** strconv.ParseUint(port, 10, 16)'s error text, or undefined when the port is valid. */
export function portSyntaxError(port: string): string | undefined {
  const quoted = JSON.stringify(port);
  if (port === '') return `strconv.ParseUint: parsing ${quoted}: invalid syntax`;
  let n = 0;
  for (const c of port) {
    if (c < '0' || c > '9') return `strconv.ParseUint: parsing ${quoted}: invalid syntax`;
    n = n * 10 + (c.charCodeAt(0) - 48);
    // Go stops at the first digit that overflows 16 bits, before looking at what follows.
    if (n > 0xffff) return `strconv.ParseUint: parsing ${quoted}: value out of range`;
  }
  return undefined;
}

const sortNatural = (lines: string[]) => lines.sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));

/**
 * The text `docker port` prints for these bindings: every binding as `KEY -> HOST:PORT`, or with
 * a private port only that port's `HOST:PORT`s (PROTO defaults to tcp). Throws docker's errors.
 */
export function portOutput(ports: PortMap | null | undefined, container: string, privatePort?: string): string {
  const out: string[] = [];
  if (privatePort !== undefined && privatePort !== '') {
    const slash = privatePort.indexOf('/');
    const port = slash < 0 ? privatePort : privatePort.slice(0, slash);
    const proto = (slash < 0 ? '' : privatePort.slice(slash + 1)) || 'tcp';
    const bad = portSyntaxError(port);
    if (bad) throw new StatusError(`Error: invalid port (${port}): ${bad}`, 1);
    const frontends = ports?.[`${port}/${proto}`];
    if (!frontends?.length) throw new StatusError(`Error: No public port '${privatePort}' published for ${container}`, 1);
    for (const f of frontends) out.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
  } else {
    for (const [from, frontends] of Object.entries(ports ?? {})) {
      for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
    }
  }
  return out.length ? `${sortNatural(out).join('\n')}\n` : '';
}

export async function port(ctx: Ctx, args: string[]): Promise<number> {
  if (args.length < 1 || args.length > 2) {
    // cobra's RequiresRangeArgs(1, 2), which berth's shared argument check does not word.
    throw new StatusError(`berth: '${ctx.commandPath}' requires at least 1 and at most 2 arguments\n\nUsage:  ${ctx.usage}\n\nRun '${ctx.commandPath} --help' for more information`, 1);
  }
  const [container, privatePort] = args;
  const id = container.trim();
  if (!id) throw new StatusError('invalid container name or ID: value is empty', 1);
  const c = await ctx.client.containers.inspect<{ NetworkSettings?: { Ports?: PortMap | null } | null }>(id);
  process.stdout.write(portOutput(c?.NetworkSettings?.Ports, container, privatePort));
  return 0;
}
