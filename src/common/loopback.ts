// What berth calls a loopback host: 127.0.0.0/8, ::1 and the name localhost. Plain-HTTP TCP
// listeners may bind only there (daemon/config.ts), and requests to them must be addressed
// there (api/request-guard.ts: a DNS-rebound browser names the attacker's host instead).
import { isIP } from 'node:net';

/** `host` is an address or name without port; IPv6 may come in brackets (`[::1]`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}
