// Where the daemon is and how to talk to it, decided the way the docker CLI decides it:
//
//   -H/--host  >  BERTH_HOST  >  DOCKER_HOST  >  unix:///run/berth/berth.sock
//
// Accepted forms: `unix:///path`, `tcp://host[:port]`, `http://…`, `https://…` (TLS), a bare
// `host:port` (tcp), and a bare `/path` (unix). TLS as docker does it: `--tlsverify` (or
// DOCKER_TLS_VERIFY set to anything non-empty) implies `--tls`; certificates default to
// `$DOCKER_CERT_PATH/{ca,cert,key}.pem`, DOCKER_CERT_PATH defaulting to ~/.berth (berth's config
// dir, as ~/.docker is docker's). With `--tls` but no verify, client certificates are sent when
// present and the server certificate is not checked. A tcp host without a port gets 2376 with
// TLS, 2375 without.
//
//   resolveEndpoint({ host: 'tcp://10.0.0.1', tlsverify: true }, process.env)
//     → { kind: 'tcp', host: '10.0.0.1', port: 2376, url: 'tcp://10.0.0.1:2376', tls: { verify: true, ca, cert, key } }
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export interface HostOptions {
  host?: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export interface TlsFiles {
  /** Check the server's certificate against `ca` (docker's --tlsverify). */
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export type Endpoint =
  | { kind: 'unix'; path: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string; tls?: TlsFiles };

export class HostError extends Error {}

export function resolveEndpoint(opts: HostOptions, env: NodeJS.ProcessEnv): Endpoint {
  const raw = opts.host || env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST;
  const verify = Boolean(opts.tlsverify) || Boolean(env.DOCKER_TLS_VERIFY);
  const useTls = verify || Boolean(opts.tls);
  const ep = parseHost(raw, useTls);
  if (ep.kind === 'tcp' && (useTls || raw.startsWith('https://'))) {
    const dir = env.DOCKER_CERT_PATH || join(homedir(), '.berth');
    ep.tls = {
      verify,
      ca: opts.tlscacert || join(dir, 'ca.pem'),
      cert: opts.tlscert || join(dir, 'cert.pem'),
      key: opts.tlskey || join(dir, 'key.pem'),
    };
  }
  return ep;
}

export function parseHost(raw: string, tls = false): Endpoint {
  const s = raw.trim();
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!path) throw new HostError(`invalid host: ${raw}`);
    return { kind: 'unix', path, url: s };
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s, url: `unix://${s}` };
  let rest = s;
  let secure = tls;
  const scheme = /^([a-z]+):\/\//.exec(s);
  if (scheme) {
    if (scheme[1] === 'https') secure = true;
    else if (scheme[1] !== 'tcp' && scheme[1] !== 'http') {
      throw new HostError(`unsupported protocol scheme "${scheme[1]}" in host ${raw}`);
    }
    rest = s.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  let host = rest;
  let port = secure ? 2376 : 2375;
  // [v6]:port, host:port, or a bare host.
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]*)(?::(\d+))?$/.exec(rest);
  if (!m) throw new HostError(`invalid host: ${raw}`);
  host = m[1] || '127.0.0.1';
  if (m[2] !== undefined) port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new HostError(`invalid host: ${raw}`);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { kind: 'tcp', host, port, url: `tcp://${shown}:${port}` };
}
