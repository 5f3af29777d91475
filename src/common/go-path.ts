// Go's path handling where Docker's behaviour depends on it (slash-separated paths only).

/** Go filepath.Clean (POSIX): `a/../../x` → `../x`, `/../x` → `/x`, `` → `.`. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(c);
  }
  const s = out.join('/');
  return abs ? `/${s}` : s || '.';
}
