// The registry's error catalogue (OCI Distribution Spec "error codes", Docker Registry HTTP API v2).
// Each code is defined once with its HTTP status and distribution's default message; handlers and
// storage throw `RegistryError`, and server.ts writes every one of them the same way:
//
//   {"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:…"}]}
//
// Clients match on `code` (docker prints `message`), so the texts follow distribution's.
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'The operation is unsupported.' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (a 416's `Range`, a 401's `WWW-Authenticate`). */
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, opts: { message?: string; detail?: unknown; status?: number; headers?: Record<string, string> } = {}) {
    super(opts.message ?? ERROR_CODES[code].message);
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code].status;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
  }
  body(): string {
    const e: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) e.detail = this.detail;
    return JSON.stringify({ errors: [e] });
  }
}

export const regError = (code: ErrorCode, detail?: unknown, message?: string) => new RegistryError(code, { detail, message });
