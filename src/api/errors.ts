// The one place error kinds become HTTP statuses (STYLE.md point 5). Bodies are Docker's
// `{"message": "..."}`.
import { EngineError, type ErrorKind } from '../common/errors.ts';

const STATUS: Record<ErrorKind, number> = {
  NotFound: 404,
  InvalidParameter: 400,
  Conflict: 409,
  NotModified: 304,
  Unauthorized: 401,
  Forbidden: 403,
  NotImplemented: 501,
  Unavailable: 503,
  System: 500,
};

export function statusOf(e: unknown): number {
  return e instanceof EngineError ? STATUS[e.kind] : 500;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
