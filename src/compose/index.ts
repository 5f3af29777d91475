// berth's compose: the entry points commands use. A compose command resolves the global
// flags into a project, then works from the typed model (model.ts documents it):
//
//   const project = loadComposeProject({ files: ['-f', ...], envFiles: [], profiles: [] }, host, { services: ['web'] })
//   for (const name of dependencyOrder(project)) { ... project.services[name] ... }
//
// Nothing here talks to an engine: the runtime (up, down, ps, ...) builds on this over the
// Engine API client.
import { loadProject } from './load.ts';
import type { Project } from './model.ts';
import { resolveOptions, type Host, type ProjectFlags } from './options.ts';

export interface LoadFlags {
  /** Services named on the command line (they, and what they depend on, are kept). */
  services?: string[];
  /** Keep unused top-level networks, volumes, secrets, configs. */
  allResources?: boolean;
  /** Read env_file/label_file into the services (default true; `config --services` skips it). */
  resolveEnvironment?: boolean;
}

export function loadComposeProject(flags: ProjectFlags, host: Host, o: LoadFlags = {}): Project {
  const lo = resolveOptions(flags, host);
  return loadProject({ ...lo, services: o.services, allResources: o.allResources, resolveEnvironment: o.resolveEnvironment });
}

export * from './model.ts';
export { ComposeError, isComposeError } from './errors.ts';
export { dependencyOrder, dependents, serviceNames, withSelectedServices } from './project.ts';
export { serviceHash } from './hash.ts';
export { toJson, toYaml } from './render.ts';
export { COMPOSE_VERSION } from './version.ts';
export type { Host, ProjectFlags } from './options.ts';
