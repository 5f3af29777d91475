// Operations on a loaded project, as compose-go's types.Project has them: profiles, the
// selection of services named on the command line, the consistency checks and the dependency
// graph (cycle detection and the order in which services start).
//
//   withProfiles(p, ['debug'])            services whose profiles match (or have none) stay active
//   withServicesEnabled(p, ['phpmyadmin']) naming a service enables its profiles (compose's rule)
//   withSelectedServices(p, ['web'])       web and what it depends on; others are disabled
//   dependencyOrder(p)                     ['db', 'web']: dependencies first
import { ComposeError } from './errors.ts';
import type { Project, Service } from './model.ts';

const sorted = (xs: Iterable<string>) => [...xs].sort(byteOrder);
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function hasProfile(s: Service, profiles: string[]): boolean {
  if (!s.profiles || s.profiles.length === 0) return true;
  return profiles.some((p) => p === '*' || s.profiles!.includes(p));
}

/** Services with a profile are active only when one of their profiles is (`*` enables all). */
export function withProfiles(p: Project, profiles: string[]): Project {
  const all = { ...p.disabledServices, ...p.services };
  const services: Record<string, Service> = {};
  const disabled: Record<string, Service> = {};
  for (const name of sorted(Object.keys(all))) {
    if (hasProfile(all[name], profiles)) services[name] = all[name];
    else disabled[name] = all[name];
  }
  return { ...p, services, disabledServices: disabled, profiles };
}

/** Services named on the command line are enabled, and with them their profiles. */
export function withServicesEnabled(p: Project, names: string[]): Project {
  if (names.length === 0) return p;
  const profiles = [...p.profiles];
  for (const n of names) {
    if (p.services[n]) continue;
    profiles.push(...(p.disabledServices[n]?.profiles ?? []));
  }
  return withProfiles(p, profiles);
}

function globMatch(pattern: string, name: string): boolean {
  // Go's filepath.Match: * ? [...] and \ escapes, no separator in service names to worry about.
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 1);
      if (j < 0) return false;
      let cls = pattern.slice(i + 1, j);
      if (cls.startsWith('^')) cls = `\\^${cls.slice(1)}`;
      re += `[${cls.startsWith('!') ? `^${cls.slice(1)}` : cls}]`;
      i = j;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`).test(name);
  } catch {
    // A pattern that is not a valid expression matches nothing.
    return false;
  }
}

/**
 * Keeps the named services (glob patterns allowed, as compose matches them) and, recursively,
 * what they depend on; other services become disabled and dependencies on them are dropped.
 * An unknown name is compose's `no such service: x`.
 */
export function withSelectedServices(p: Project, names: string[], opts: { ignoreDependencies?: boolean } = {}): Project {
  if (names.length === 0) return p;
  const keep = new Set<string>();
  const visit = (list: string[], deps?: Record<string, { required: boolean }>) => {
    for (const n of list) {
      const matched = Object.keys(p.services).filter((s) => globMatch(n, s));
      if (matched.length === 0) {
        if (!deps || deps[n]?.required !== false) throw new ComposeError(`no such service: ${n}`);
        continue;
      }
      for (const m of matched) {
        if (keep.has(m)) continue;
        keep.add(m);
        const d = p.services[m].dependsOn;
        if (!opts.ignoreDependencies && d && Object.keys(d).length > 0) visit(sorted(Object.keys(d)), d);
      }
    }
  };
  visit(names);
  const services: Record<string, Service> = {};
  const disabled = { ...p.disabledServices };
  for (const [name, s] of Object.entries(p.services)) {
    if (!keep.has(name)) {
      disabled[name] = s;
      continue;
    }
    if (s.dependsOn) {
      const deps = Object.fromEntries(Object.entries(s.dependsOn).filter(([d]) => keep.has(d)));
      services[name] = { ...s, dependsOn: deps };
    } else services[name] = s;
  }
  return { ...p, services, disabledServices: disabled };
}

/** Drops top-level networks, volumes, secrets and configs no active service uses. */
export function withoutUnnecessaryResources(p: Project): Project {
  const nets = new Set<string>();
  const vols = new Set<string>();
  const secrets = new Set<string>();
  const configs = new Set<string>();
  for (const s of Object.values(p.services)) {
    for (const n of Object.keys(s.networks ?? {})) nets.add(n);
    for (const v of s.volumes ?? []) if (v.type === 'volume' && v.source) vols.add(v.source);
    for (const x of s.secrets ?? []) secrets.add(x.source);
    for (const x of s.build?.secrets ?? []) secrets.add(x.source);
    for (const x of s.configs ?? []) configs.add(x.source);
  }
  const pick = <T>(m: Record<string, T>, used: Set<string>) => Object.fromEntries(Object.entries(m).filter(([k]) => used.has(k)));
  return { ...p, networks: pick(p.networks, nets), volumes: pick(p.volumes, vols), secrets: pick(p.secrets, secrets), configs: pick(p.configs, configs) };
}

/** compose-go's checkConsistency, with its messages (`...: invalid compose project`). */
export function checkConsistency(p: Project): void {
  const invalid = (m: string) => new ComposeError(`${m}: invalid compose project`);
  for (const name of sorted(Object.keys(p.services))) {
    const s = p.services[name];
    if (!s.build && !s.image) throw invalid(`service ${JSON.stringify(name)} has neither an image nor a build context specified`);
    if (s.build) {
      if (s.build.dockerfileInline && s.build.dockerfile) throw invalid(`service ${JSON.stringify(name)} declares mutualy exclusive dockerfile and dockerfile_inline`);
      for (const [add, c] of Object.entries(s.build.additionalContexts ?? {})) {
        if (!c.startsWith('service:')) continue;
        const t = p.services[c.slice('service:'.length)];
        if (!t) throw new ComposeError(`service ${JSON.stringify(name)} declares unknown service ${JSON.stringify(c.slice(8))} as additional contexts ${add}`);
        if (!t.build) throw new ComposeError(`service ${JSON.stringify(name)} declares non-buildable service ${JSON.stringify(c.slice(8))} as additional contexts ${add}`);
      }
      if (s.build.platforms?.length && s.platform && !s.build.platforms.includes(s.platform)) {
        throw invalid(`service.build.platforms MUST include service.platform ${JSON.stringify(s.platform)}`);
      }
    }
    if (s.networkMode && s.networks && Object.keys(s.networks).length > 0) {
      throw invalid(`service ${name} declares mutually exclusive \`network_mode\` and \`networks\``);
    }
    for (const n of sorted(Object.keys(s.networks ?? {}))) {
      if (!p.networks[n]) throw invalid(`service ${JSON.stringify(name)} refers to undefined network ${n}`);
    }
    const test = s.healthcheck?.test;
    if (test && test.length > 0 && !['CMD', 'CMD-SHELL', 'NONE'].includes(test[0])) {
      throw new ComposeError('healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"');
    }
    for (const dep of sorted(Object.keys(s.dependsOn ?? {}))) {
      if (p.services[dep]) continue;
      if (p.disabledServices[dep] && !s.dependsOn![dep].required) continue;
      throw invalid(`service ${JSON.stringify(name)} depends on undefined service ${JSON.stringify(dep)}`);
    }
    if (s.networkMode?.startsWith('service:')) {
      const ref = s.networkMode.slice('service:'.length);
      if (!p.services[ref]) throw new ComposeError(`service ${JSON.stringify(ref)} not found for network_mode 'service:${ref}'`);
    }
    for (const v of s.volumes ?? []) {
      if (v.type === 'volume' && v.source && !p.volumes[v.source]) throw invalid(`service ${JSON.stringify(name)} refers to undefined volume ${v.source}`);
    }
    for (const x of s.build?.secrets ?? []) {
      if (!p.secrets[x.source]) throw invalid(`service ${JSON.stringify(name)} refers to undefined build secret ${x.source}`);
    }
    for (const x of s.configs ?? []) {
      if (!p.configs[x.source]) throw invalid(`service ${JSON.stringify(name)} refers to undefined config ${x.source}`);
    }
    for (const x of s.secrets ?? []) {
      if (!p.secrets[x.source]) throw invalid(`service ${JSON.stringify(name)} refers to undefined secret ${x.source}`);
    }
    if (s.scale !== undefined && s.deploy) {
      if (s.deploy.replicas !== undefined && s.scale !== s.deploy.replicas) {
        throw invalid(`services.${name}: can't set distinct values on 'scale' and 'deploy.replicas'`);
      }
      s.deploy.replicas = s.scale;
    }
    if (s.scale !== undefined && s.scale < 0) throw new ComposeError(`services.${name}.scale: must be greater than or equal to 0`);
    if (s.deploy?.replicas !== undefined && s.deploy.replicas < 0) throw new ComposeError(`services.${name}.deploy.replicas: must be greater than or equal to 0`);
    const limits = s.deploy?.resources.limits;
    const reservations = s.deploy?.resources.reservations;
    if (s.cpus && s.deploy && limits && Math.fround(limits.cpus ?? 0) !== Math.fround(s.cpus)) {
      throw invalid(`services.${name}: can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus'`);
    }
    if (s.memLimit && s.deploy && limits && (limits.memory ?? 0) !== s.memLimit) {
      throw invalid(`services.${name}: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'`);
    }
    if (s.memReservation && s.deploy && reservations && (reservations.memory ?? 0) !== s.memReservation) {
      throw invalid(`services.${name}: can't set distinct values on 'mem_reservation' and 'deploy.resources.reservations.memory'`);
    }
    if (s.pidsLimit && s.deploy && limits && (limits.pids ?? 0) !== s.pidsLimit) {
      throw invalid(`services.${name}: can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'`);
    }
    const scale = s.scale ?? s.deploy?.replicas ?? 1;
    if (scale > 1 && s.containerName) {
      // compose-go's message has its two arguments the other way round; kept as it prints.
      throw invalid(`services.${s.scale === undefined ? 'deploy.replicas' : 'scale'}: can't set container_name and ${name} as container name must be unique`);
    }
    for (const w of s.develop?.watch ?? []) {
      if (!w.target && w.action !== 'rebuild' && w.action !== 'restart') throw invalid(`services.${name}.develop.watch: target is required for non-rebuild actions`);
    }
    const mounts = new Map<string, string>();
    (s.tmpfs ?? []).forEach((t, i) => {
      const loc = `services.${name}.tmpfs[${i}]`;
      const path = t.split(':')[0];
      if (mounts.has(path)) throw new ComposeError(`${loc}: target ${path} already mounted as ${mounts.get(path)}`);
      mounts.set(path, loc);
    });
    (s.volumes ?? []).forEach((v, i) => {
      const loc = `services.${name}.volumes[${i}]`;
      if (mounts.has(v.target)) throw new ComposeError(`${loc}: target ${v.target} already mounted as ${mounts.get(v.target)}`);
      mounts.set(v.target, loc);
    });
  }
  for (const name of sorted(Object.keys(p.secrets))) {
    const x = p.secrets[name];
    if (!x.external && !x.file && !x.environment) throw invalid(`secret ${JSON.stringify(name)} must declare either \`file\` or \`environment\``);
  }
  checkCycle(p);
}

/** compose-go's graph.CheckCycle: `dependency cycle detected: a -> b -> a`. */
export function checkCycle(p: Project): void {
  const edges = new Map<string, string[]>();
  for (const name of Object.keys(p.services)) {
    const deps: string[] = [];
    for (const [dep, d] of Object.entries(p.services[name].dependsOn ?? {})) {
      if (p.services[dep]) deps.push(dep);
      else if (d.required) {
        if (p.disabledServices[dep]) {
          throw new ComposeError(`service ${JSON.stringify(dep)} is required by ${JSON.stringify(name)} but is disabled. Can be enabled by profiles [${(p.disabledServices[dep].profiles ?? []).join(' ')}]`);
        }
        throw new ComposeError(`service ${JSON.stringify(name)} depends on unknown service ${JSON.stringify(dep)}`);
      }
    }
    edges.set(name, sorted(deps));
  }
  const done = new Set<string>();
  const search = (path: string[]) => {
    const v = path[path.length - 1];
    for (const c of edges.get(v) ?? []) {
      const i = path.indexOf(c);
      if (i >= 0) throw new ComposeError(`dependency cycle detected: ${path.slice(i).join(' -> ')} -> ${c}`);
      // A vertex fully explored from elsewhere has no cycle through it (compose-go re-walks it;
      // the result is the same, this only bounds the work).
      if (done.has(c)) continue;
      search([...path, c]);
    }
    done.add(v);
  };
  for (const name of sorted(edges.keys())) if (!done.has(name)) search([name]);
}

/**
 * Active services in an order where each comes after what it depends on (ties by name), for
 * creating and starting; stop and remove in the reverse order. The project has no cycle (the
 * loader checked).
 */
export function dependencyOrder(p: Pick<Project, 'services'>, names: string[] = Object.keys(p.services)): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n) || !p.services[n]) return;
    seen.add(n);
    for (const d of sorted(Object.keys(p.services[n].dependsOn ?? {}))) visit(d);
    out.push(n);
  };
  for (const n of sorted(names)) visit(n);
  return out;
}

/** Services that depend on `name` (directly), sorted. */
export function dependents(p: Pick<Project, 'services'>, name: string): string[] {
  return sorted(Object.keys(p.services).filter((s) => p.services[s].dependsOn?.[name] !== undefined));
}

/** Active service names, sorted (compose's ServiceNames). */
export function serviceNames(p: Pick<Project, 'services'>): string[] {
  return sorted(Object.keys(p.services));
}
