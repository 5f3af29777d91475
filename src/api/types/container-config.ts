// Docker's container.Config on the wire (spec: definitions.ContainerConfig), shared by container
// inspect (`Config`) and image inspect (`Config`, `ContainerConfig`). Go marshals the struct in
// full: every field without omitempty is there with its zero value (`""`, `false`, `null`), and
// the omitempty ones only when set. berth keeps a container's Config as the client sent it, merged
// with the image's; this turns it into the struct's shape.
import type { ContainerConfig, HealthConfig } from './container.ts';
import { goEmpty } from './go-json.ts';

/** container.Config's fields in Go's order; `true`: omitempty (left out when unset). */
const CONFIG_FIELDS: [keyof ContainerConfig & string, unknown, boolean][] = [
  ['Hostname', '', false], ['Domainname', '', false], ['User', '', false],
  ['AttachStdin', false, false], ['AttachStdout', false, false], ['AttachStderr', false, false],
  ['ExposedPorts', undefined, true], ['Tty', false, false], ['OpenStdin', false, false], ['StdinOnce', false, false],
  ['Env', null, false], ['Cmd', null, false], ['Healthcheck', undefined, true], ['ArgsEscaped', undefined, true],
  ['Image', '', false], ['Volumes', null, false], ['WorkingDir', '', false], ['Entrypoint', null, false],
  ['NetworkDisabled', undefined, true], ['MacAddress', undefined, true], ['OnBuild', null, false], ['Labels', null, false],
  ['StopSignal', undefined, true], ['StopTimeout', undefined, true], ['Shell', undefined, true],
];
const KNOWN = new Set(CONFIG_FIELDS.map(([k]) => k));

/** The image spec's HealthcheckConfig: every field omitempty (the docker CLI sends zeros). */
function healthcheckJson(h: HealthConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (!goEmpty(h[k])) out[k] = h[k];
  return out;
}

/**
 * A Config as Docker's container.Config marshals. `keepUnknown`: fields Go's struct has not are
 * kept as stored (an image config's own extensions); a container's are dropped, as Docker's
 * decoder drops them at create.
 */
export function wireContainerConfig(c: ContainerConfig | null | undefined, o: { keepUnknown?: boolean } = { keepUnknown: true }): Record<string, unknown> {
  const src = c ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, zero, omitEmpty] of CONFIG_FIELDS) {
    const v = src[k];
    if (omitEmpty) {
      if (goEmpty(v, k === 'Healthcheck' || k === 'StopTimeout')) continue;
      out[k] = k === 'Healthcheck' && typeof v === 'object' ? healthcheckJson(v as HealthConfig) : v;
      continue;
    }
    out[k] = v === undefined ? zero : v;
  }
  if (o.keepUnknown) for (const [k, v] of Object.entries(src)) if (!KNOWN.has(k) && v !== undefined) out[k] = v;
  return out;
}
