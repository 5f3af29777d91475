// API version negotiation: a request's version comes from its `/vX.Y/` path prefix (server.ts),
// and handlers gate fields on it as moby's routers do with versions.LessThan (the spec's
// "Version history" says which field changed when).

/** Compares two `major.minor` API versions numerically (1.9 < 1.24). */
export function cmpVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** Whether a request's API version is older than `v` (moby's versions.LessThan). */
export function versionBefore(ctx: { apiVersion: string }, v: string): boolean {
  return cmpVersion(ctx.apiVersion, v) < 0;
}
