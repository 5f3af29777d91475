// Checks that keep web browsers from driving berthd. The API is root on the host, and a browser
// can be made to send requests to it by any page it visits:
//
//   - Cross-site requests without a CORS preflight may carry a body with a "simple" content type
//     (text/plain, application/x-www-form-urlencoded, multipart/form-data). A page posting
//     `{"Image":"busybox","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}` as text/plain to
//     http://127.0.0.1:2375/containers/create created a privileged container with the host's root
//     mounted. JSON bodies must therefore say `Content-Type: application/json` (a type a browser
//     only sends cross-site after a preflight, which berthd never answers with CORS headers):
//     moby's httputils.CheckForJSON, with its texts.
//   - Requests without a body (start, kill, exec resize...) need no content type, so on TCP
//     listeners a request carrying an `Origin` header (what browsers add to cross-site and to
//     WebSocket requests; the docker CLI, docker-py and berth never send one) is refused, and on
//     plain-HTTP listeners (loopback only) the `Host` must be a loopback name or address: a page
//     at http://evil.example:2375 whose name is re-pointed at 127.0.0.1 (DNS rebinding) is
//     same-origin for the browser, but its requests still say `Host: evil.example:2375`.
//
// Neither applies to unix sockets (no browser reaches them) nor to TLS listeners that verify
// client certificates (a browser without the client key cannot connect at all). A TLS listener
// without client certificates keeps the Origin rule; its Host rule is the certificate itself (a
// rebound name fails the browser's certificate check), and remote clients name its public address.
import { isLoopbackHost } from '../common/loopback.ts';

// ------------------------------------------------------------------ Content-Type (CheckForJSON)

const TSPECIALS = '()<>@,;:\\"/[]?=';
const isTokenChar = (c: string) => c > ' ' && c < '\x7f' && !TSPECIALS.includes(c);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const trimLeft = (s: string) => { let i = 0; while (isSpace(s[i])) i++; return s.slice(i); };

function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v[i])) i++;
  return [v.slice(0, i), v.slice(i)];
}

/** A parameter value: a token or a quoted-string (Go's mime.consumeValue, without its decoding). */
function consumeValue(v: string): [string, string] {
  if (v[0] !== '"') return consumeToken(v);
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i];
    if (c === '"') return [out, v.slice(i + 1)];
    if (c === '\\' && i + 1 < v.length) { out += v[++i]; continue; }
    if (c === '\r' || c === '\n') return ['', v];
    out += c;
  }
  return ['', v];
}

/**
 * Go's mime.ParseMediaType, as far as moby relies on it: the lower-cased media type, or the
 * error text Go gives for a malformed header ("mime: no media type", ...).
 *   parseMediaType('Application/JSON; charset=utf-8') → { type: 'application/json' }
 *   parseMediaType('text/plain;')                      → { type: 'text/plain' } (trailing `;` is fine)
 *   parseMediaType('')                                 → { error: 'mime: no media type' }
 */
export function parseMediaType(v: string): { type: string; error?: undefined } | { type?: undefined; error: string } {
  const semi = v.indexOf(';');
  const base = semi < 0 ? v : v.slice(0, semi);
  const type = base.toLowerCase().trim();
  const [main, afterMain] = consumeToken(type);
  if (!main) return { error: 'mime: no media type' };
  if (afterMain) {
    if (afterMain[0] !== '/') return { error: 'mime: expected slash after first token' };
    const [sub, afterSub] = consumeToken(afterMain.slice(1));
    if (!sub) return { error: 'mime: expected token after slash' };
    if (afterSub) return { error: 'mime: unexpected content after media subtype' };
  }
  const seen = new Set<string>();
  let rest = v.slice(base.length);
  while (rest.length) {
    rest = trimLeft(rest);
    if (!rest) break;
    const param = consumeMediaParam(rest);
    if (!param) {
      if (rest.trim() === ';') break; // a trailing semicolon is not an error
      return { error: 'mime: invalid media parameter' };
    }
    if (seen.has(param.key)) return { error: 'mime: duplicate parameter name' };
    seen.add(param.key);
    rest = param.rest;
  }
  return { type };
}

function consumeMediaParam(v: string): { key: string; rest: string } | undefined {
  let rest = trimLeft(v);
  if (rest[0] !== ';') return undefined;
  rest = trimLeft(rest.slice(1));
  const [key, afterKey] = consumeToken(rest);
  if (!key) return undefined;
  rest = trimLeft(afterKey);
  if (rest[0] !== '=') return undefined;
  rest = trimLeft(rest.slice(1));
  const [value, afterValue] = consumeValue(rest);
  if (value === '' && afterValue === rest) return undefined;
  return { key: key.toLowerCase(), rest: afterValue };
}

/**
 * moby's CheckForJSON: a request to a JSON endpoint may omit Content-Type only when it has no
 * body; otherwise the media type must be application/json (parameters such as charset allowed).
 * Returns the 400 message, or undefined when the request may go on.
 *   jsonContentTypeError(undefined, 0)                  → undefined
 *   jsonContentTypeError('application/json; charset=utf-8', 9) → undefined
 *   jsonContentTypeError('text/plain', 9)   → "unsupported Content-Type header (text/plain): must be 'application/json'"
 *   jsonContentTypeError(undefined, 9)      → "malformed Content-Type header (): mime: no media type"
 */
export function jsonContentTypeError(contentType: string | undefined, bodyLength: number): string | undefined {
  const ct = contentType ?? '';
  if (ct === '' && bodyLength === 0) return undefined;
  const m = parseMediaType(ct);
  if (m.error !== undefined) return `malformed Content-Type header (${ct}): ${m.error}`;
  if (m.type !== 'application/json') return `unsupported Content-Type header (${ct}): must be 'application/json'`;
  return undefined;
}

// ------------------------------------------------------------------ Origin and Host

/** What a listener asks of its requests' headers (ApiServer decides it from the listener). */
export interface BrowserGuard {
  /** Refuse any request carrying an Origin header. */
  origin: boolean;
  /** Refuse a Host header that is not a loopback name or address. */
  loopbackHost: boolean;
}

/** The host part of a Host header (`localhost:2375`, `[::1]:2375`), or undefined if malformed. */
function hostOfHeader(h: string): string | undefined {
  // Only what a host[:port] can hold: `user@host` or a path would make URL parse something else.
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(h)) return undefined;
  try {
    // WHATWG parsing, as the browser did when it made the request: `127.1` is 127.0.0.1, names
    // are lower-cased, IPv6 is canonical (`[0::1]` → `[::1]`).
    return new URL(`http://${h}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * The 403 message for a request a browser may have sent, or undefined when it may go on.
 *   browserRequestError({ origin: 'https://evil.example' }, { origin: true, loopbackHost: true }) → "... Origin ..."
 *   browserRequestError({ host: 'evil.example:2375' }, { origin: true, loopbackHost: true })   → "... Host ..."
 *   browserRequestError({ host: '127.0.0.1:2375' }, { origin: true, loopbackHost: true })      → undefined
 */
export function browserRequestError(headers: { origin?: string; host?: string }, guard: BrowserGuard): string | undefined {
  if (guard.origin && headers.origin !== undefined) {
    return `request refused: it carries an Origin header (${JSON.stringify(headers.origin)}), so it comes from a web browser, and web pages may not use the Engine API; `
      + 'a TCP listener takes such requests only with TLS client certificates (--tlsverify)';
  }
  if (guard.loopbackHost && headers.host !== undefined) {
    const host = hostOfHeader(headers.host);
    if (host === undefined || !isLoopbackHost(host)) {
      return `request refused: Host header ${JSON.stringify(headers.host)} is not a loopback name or address; `
        + 'this plain-HTTP listener answers only requests addressed to localhost, 127.0.0.0/8 or [::1] (a page whose name was re-pointed at this address must not reach the Engine API)';
    }
  }
  return undefined;
}
