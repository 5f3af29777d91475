// One error taxonomy for the whole engine (STYLE.md point 5). The API maps `kind` to an HTTP
// status in one place (src/api/errors.ts); the message is Docker's text, shown to users as is.
export type ErrorKind =
  | 'NotFound'
  | 'InvalidParameter'
  | 'Conflict'
  | 'NotModified'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotImplemented'
  | 'Unavailable'
  | 'System';

export class EngineError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  constructor(kind: ErrorKind, message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.code = opts.code ?? kind;
  }
}

export const notFound = (msg: string, code?: string) => new EngineError('NotFound', msg, { code });
export const invalid = (msg: string, code?: string) => new EngineError('InvalidParameter', msg, { code });
export const conflict = (msg: string, code?: string) => new EngineError('Conflict', msg, { code });
export const notModified = (msg = '') => new EngineError('NotModified', msg);
export const notImplemented = (msg: string) => new EngineError('NotImplemented', msg);
export const unavailable = (msg: string) => new EngineError('Unavailable', msg);
export const system = (msg: string, cause?: unknown) => new EngineError('System', msg, { cause });

export function isEngineError(e: unknown, kind?: ErrorKind): e is EngineError {
  return e instanceof EngineError && (kind === undefined || e.kind === kind);
}
