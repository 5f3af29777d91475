// TEMPORARY minimal stand-in (the full implementation is being written): parse + matcher.
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (let l of text.split(/\r?\n/)) {
    l = l.trim();
    if (!l || l.startsWith('#')) continue;
    const neg = l.startsWith('!');
    let p = neg ? l.slice(1).trim() : l;
    p = p.replace(/^\/+/, '').replace(/^\.\//, '');
    out.push(neg ? `!${p}` : p);
  }
  return out;
}
export class PatternMatcher {
  #pats: { re: RegExp; neg: boolean }[];
  constructor(patterns: string[]) {
    this.#pats = patterns.map((p) => {
      const neg = p.startsWith('!');
      const body = neg ? p.slice(1) : p;
      const re = body.split('/').map((c) => (c === '**' ? '.*' : c.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/');
      return { re: new RegExp(`^${re.replace(/\.\*\//g, '(?:.*/)?')}(/.*)?$`), neg };
    });
  }
  matches(rel: string): boolean {
    let m = false;
    for (const p of this.#pats) if (p.re.test(rel)) m = !p.neg;
    return m;
  }
  exclusions(): boolean { return this.#pats.some((p) => p.neg); }
}
