// Which changed files a `develop.watch` rule takes, as compose v2 decides it (pkg/compose/watch.go
// watchRule.Matches, pkg/watch/dockerignore.go, ephemeral.go):
//
//   - the path must be the rule's `path` or under it;
//   - `include` (when given) must match it;
//   - nothing of `ignore`, the build context's .dockerignore (`<Dockerfile>.dockerignore` first),
//     editors' temporary files (vim swap files, emacs `#x#`, `.idea`, ...) and `.git/` may match it.
//
// Patterns are .dockerignore patterns made absolute against the rule's path (a pattern matches a
// path or any directory above it; `!x` re-includes). As compose does, a list holding `*` keeps only
// its `!` exceptions. The container path is the rule's `target` joined with the path relative to
// the rule's `path`.
//
//   const rules = watchRules(project, ['web']);
//   matchRule(rules[0], '/srv/app/src/index.js') → { hostPath: '/srv/app/src/index.js', containerPath: '/app/src/index.js' }
//   matchRule(rules[0], '/srv/app/node_modules/x.js') → undefined   (ignore: [node_modules/])
//   planBatch(rules, changedPaths) → { rebuild: ['api'], sync: { web: [...] }, restart: [], exec: {} }
import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { PatternMatcher, parseDockerignore } from '../../build/context/dockerignore.ts';
import { ComposeError } from '../errors.ts';
import type { Build, Hook, Project, Service } from '../model.ts';

export interface Matcher { matches(absPath: string): boolean }

/** compose's dockerPathMatcher: patterns made absolute against `root`, matching a path or a parent. */
export class RootedMatcher implements Matcher {
  readonly #pm: PatternMatcher;
  readonly root: string;
  constructor(root: string, patterns: string[]) {
    this.root = resolve(root);
    let ps = patterns;
    if (ps.includes('*')) ps = ps.filter((p) => p !== '' && p.startsWith('!'));
    const abs: string[] = [];
    for (let p of ps) {
      p = p.trim();
      if (p === '') continue;
      const ex = p.startsWith('!');
      let body = posix.normalize(ex ? p.slice(1) : p).replace(/\/$/, '');
      if (!isAbsolute(body)) body = join(this.root, body);
      abs.push(ex ? `!${body}` : body);
    }
    this.#pm = new PatternMatcher(abs);
  }

  matches(absPath: string): boolean {
    return this.#pm.matches(isAbsolute(absPath) ? absPath : join(this.root, absPath));
  }
}

export const EMPTY: Matcher = { matches: () => false };

/** compose's EphemeralPathMatcher: editors' and tools' temporary files. */
export const EPHEMERAL: Matcher = new RootedMatcher('/', [
  '**/*___jb_old___', '**/*___jb_tmp___', '**/.idea/**',
  '**/.#*', '**/#*#',
  '**/4913', '**/*~', '**/.*.swp', '**/.*.swx', '**/.*.swo', '**/.*.swn',
  '**/.*.kate-swp',
  '**/*-go-tmp-umask',
]);

/**
 * `.git` directories and what is in them. compose means the same with a `.git/` pattern rooted at
 * `/`, which in fact only matches `/.git`; berth ignores them wherever they are.
 */
const ANY_GIT: Matcher = { matches: (p) => p.split('/').includes('.git') };

/** compose's LoadDockerIgnore: `<dockerfile>.dockerignore` in the context, else `.dockerignore`. */
export function buildIgnore(build: Build | undefined): Matcher {
  if (!build) return EMPTY;
  const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; /* no such file: try the next */ } };
  const text = read(join(build.context, `${build.dockerfile ?? 'Dockerfile'}.dockerignore`)) ?? read(join(build.context, '.dockerignore'));
  return new RootedMatcher(build.context, text ? parseDockerignore(text) : []);
}

export interface WatchRule {
  service: string;
  action: string;
  /** Absolute host path. */
  path: string;
  target?: string;
  exec?: Hook;
  initialSync?: boolean;
  include?: Matcher;
  ignore: Matcher[];
}

/** The watch rules of the selected services (all when none named), checked as compose checks them. */
export function watchRules(project: Project, services: string[] = []): WatchRule[] {
  const names = services.length ? services : Object.keys(project.services).sort();
  const rules: WatchRule[] = [];
  for (const name of names) {
    const s: Service | undefined = project.services[name];
    if (!s) throw new ComposeError(`no such service: ${name}`);
    const watch = s.develop?.watch ?? [];
    const dockerignore = buildIgnore(s.build);
    for (const w of watch) {
      if (w.action === 'rebuild' && !s.build) throw new ComposeError(`can't watch service ${JSON.stringify(name)} with action ${w.action} without a build context`);
      if (w.action === 'sync+exec' && !w.exec?.command?.length) throw new ComposeError(`can't watch with action ${JSON.stringify(w.action)} on service ${name} without a command`);
      const path = resolve(project.workingDir, w.path);
      rules.push({
        service: name, action: w.action, path, target: w.target, exec: w.exec, initialSync: w.initialSync,
        include: w.include?.length ? new RootedMatcher(path, w.include) : undefined,
        ignore: [dockerignore, EPHEMERAL, ANY_GIT, new RootedMatcher(path, w.ignore ?? [])],
      });
    }
  }
  return rules;
}

/** A host path and where it goes in the container. */
export interface PathMapping { hostPath: string; containerPath: string }

export function isChild(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function matchRule(r: WatchRule, hostPath: string): PathMapping | undefined {
  if (!isChild(r.path, hostPath)) return undefined;
  if (r.include && !r.include.matches(hostPath)) return undefined;
  if (r.ignore.some((m) => m.matches(hostPath))) return undefined;
  const rel = relative(r.path, hostPath).split('\\').join('/');
  return { hostPath, containerPath: r.target ? posix.join(r.target, rel) : '' };
}

export interface BatchPlan {
  rebuild: string[];
  sync: Record<string, PathMapping[]>;
  restart: string[];
  /** service → indexes of its sync+exec rules to run. */
  exec: Record<string, number[]>;
}

/** compose's handleWatchBatch: what a batch of changed paths asks of each service. */
export function planBatch(rules: WatchRule[], paths: string[]): BatchPlan {
  const rebuild = new Set<string>();
  const restart = new Set<string>();
  const sync: Record<string, PathMapping[]> = {};
  const exec: Record<string, number[]> = {};
  for (const p of paths) {
    rules.forEach((r, i) => {
      const m = matchRule(r, p);
      if (!m) return;
      switch (r.action) {
        case 'rebuild': rebuild.add(r.service); break;
        case 'sync': (sync[r.service] ??= []).push(m); break;
        case 'restart': restart.add(r.service); break;
        case 'sync+restart': (sync[r.service] ??= []).push(m); restart.add(r.service); break;
        case 'sync+exec':
          (sync[r.service] ??= []).push(m);
          if (!(exec[r.service] ??= []).includes(i)) exec[r.service].push(i);
          break;
        default: break;
      }
    });
  }
  return { rebuild: [...rebuild].sort(), sync, restart: [...restart].sort(), exec };
}
