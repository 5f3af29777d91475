// The config hash compose v2 labels containers with (com.docker.compose.config-hash), and
// compares to decide whether a container must be recreated: compose's ServiceHash marshals the
// service with Go's encoding/json and takes the sha256, after clearing what must not cause a
// recreate (build, pull_policy, scale, deploy.replicas, depends_on, profiles).
//
//   serviceHash(project.services.web) → '8a3c…' (64 hex digits)
//
// render.ts writes the service in compose-go's field order with encoding/json's rules (HTML-safe
// escapes, float32 precision for cpus, `command`/`entrypoint` as null when unset, struct-valued
// fields always present), so for the fields berth models the hash is the one docker compose
// computes for the same service. Fields berth does not model (models, provider, pre_start, ...)
// are not in it; services using them hash differently from compose.
import { createHash } from 'node:crypto';
import type { Service } from './model.ts';
import { goJson, renderService } from './render.ts';

/** The JSON compose hashes for a service (exported for tests and debugging). */
export function hashInput(s: Service): string {
  const o: Service = { ...s, build: undefined, pullPolicy: undefined, scale: undefined, dependsOn: undefined, profiles: undefined };
  if (s.deploy) o.deploy = { ...s.deploy, replicas: undefined };
  return goJson(renderService(o, 'json'));
}

export function serviceHash(s: Service): string {
  return createHash('sha256').update(hashInput(s)).digest('hex');
}
