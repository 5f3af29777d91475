// API version negotiation: a request's version comes from its `/vX.Y/` path prefix (server.ts),
// and handlers gate fields on it as moby's routers do with versions.LessThan (the spec's
// "Version history" says which field changed when).

/**
 * Compares two API versions part by part, numerically (1.9 < 1.24), as Go's versions.compare
 * does: a missing part is 0 and a part that is not a number counts as 0 (`1` < `1.24`).
 */
export function cmpVersion(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = /^\d+$/.test(pa[i] ?? '') ? Number(pa[i]) : 0;
    const y = /^\d+$/.test(pb[i] ?? '') ? Number(pb[i]) : 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** Whether a request's API version is older than `v` (moby's versions.LessThan). */
export function versionBefore(ctx: { apiVersion: string }, v: string): boolean {
  return cmpVersion(ctx.apiVersion, v) < 0;
}
