// Interpolation of a raw compose tree: every string *value* (never a key) goes through the
// template substitution, and values at paths the model types as numbers or booleans are cast
// back from the substituted text, as compose-go does (`privileged: ${PRIV:-false}` is the
// boolean false, `ports[].target: ${P}` a number). Errors name the path the way compose does:
//
//   error while interpolating services.web.environment.[]: required variable DB is missing a value: set it
//   invalid interpolation format for services.web.image.
//   You may need to escape any $ with another $.
//   ${
import { ComposeError } from './errors.ts';
import { substitute, InvalidTemplateError, type Lookup } from './template.ts';
import { dict, isDict, lookup as lookupPattern, type Dict } from './tree.ts';

type Cast = (v: string) => unknown;

function toInt(v: string): number {
  // Go's strconv.Atoi / ParseInt(v, 10, 64).
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}
function toFloat(v: string): number {
  const t = v.trim() === v ? v : '';
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?(inf|infinity|nan)$/i.test(t)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  return Number(/inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(t) ? NaN : t);
}
/** YAML 1.1 booleans are accepted (compose warns about them), anything else is an error. */
function toBoolean(warn: (m: string) => void): Cast {
  return (v) => {
    switch (v.toLowerCase()) {
      case 'true': return true;
      case 'false': return false;
      case 'y': case 'yes': case 'on':
        warn(`${JSON.stringify(v)} for boolean is not supported by YAML 1.2, please use \`true\``);
        return true;
      case 'n': case 'no': case 'off':
        warn(`${JSON.stringify(v)} for boolean is not supported by YAML 1.2, please use \`false\``);
        return false;
      default: throw new Error(`invalid boolean: ${v}`);
    }
  };
}

function castTable(warn: (m: string) => void): Array<[string, Cast]> {
  const b = toBoolean(warn);
  const s = (p: string) => `services.*.${p}`;
  return [
    [s('cpu_count'), toInt], [s('cpu_percent'), toFloat], [s('cpu_period'), toInt], [s('cpu_quota'), toInt],
    [s('cpu_rt_period'), toInt], [s('cpu_rt_runtime'), toInt], [s('cpus'), toFloat], [s('cpu_shares'), toInt],
    [s('init'), b], [s('depends_on.*.required'), b], [s('depends_on.*.restart'), b],
    [s('deploy.replicas'), toInt], [s('deploy.update_config.parallelism'), toInt],
    [s('deploy.update_config.max_failure_ratio'), toFloat], [s('deploy.rollback_config.parallelism'), toInt],
    [s('deploy.rollback_config.max_failure_ratio'), toFloat], [s('deploy.restart_policy.max_attempts'), toInt],
    [s('deploy.placement.max_replicas_per_node'), toInt], [s('healthcheck.retries'), toInt],
    [s('healthcheck.disable'), b], [s('oom_kill_disable'), b], [s('oom_score_adj'), toInt], [s('pids_limit'), toInt],
    [s('ports.[].target'), toInt], [s('privileged'), b], [s('read_only'), b], [s('scale'), toInt],
    [s('stdin_open'), b], [s('tty'), b], [s('ulimits.*'), toInt], [s('ulimits.*.hard'), toInt], [s('ulimits.*.soft'), toInt],
    [s('volumes.[].read_only'), b], [s('volumes.[].volume.nocopy'), b],
    ['networks.*.external', b], ['networks.*.internal', b], ['networks.*.attachable', b],
    ['networks.*.enable_ipv4', b], ['networks.*.enable_ipv6', b],
    ['volumes.*.external', b], ['secrets.*.external', b], ['configs.*.external', b],
  ];
}

export interface InterpolateOptions {
  lookup: Lookup;
  /** Warnings compose logs (an unset variable, a YAML 1.1 boolean). */
  warn?: (message: string) => void;
}

/** Interpolates a raw tree (returns a new tree; the input is not changed). */
export function interpolate(tree: Dict, o: InterpolateOptions): Dict {
  const warn = o.warn ?? (() => {});
  const casts = castTable(warn);
  const onUnset = (name: string) => warn(`The ${JSON.stringify(name)} variable is not set. Defaulting to a blank string.`);
  const walk = (v: unknown, path: string[]): unknown => {
    if (typeof v === 'string') {
      let out: string;
      try {
        out = substitute(v, o.lookup, { onUnset });
      } catch (e) {
        if (e instanceof InvalidTemplateError) {
          throw new ComposeError(`invalid interpolation format for ${path.join('.')}.\nYou may need to escape any $ with another $.\n${e.template}`);
        }
        throw new ComposeError(`error while interpolating ${path.join('.')}: ${(e as Error).message}`);
      }
      const cast = lookupPattern(casts, path);
      if (!cast) return out;
      try {
        return cast(out);
      } catch (e) {
        throw new ComposeError(`error while interpolating ${path.join('.')}: failed to cast to expected type: ${(e as Error).message}`);
      }
    }
    if (Array.isArray(v)) return v.map((e) => walk(e, [...path, '[]']));
    if (isDict(v)) {
      const out = dict();
      for (const k of Object.keys(v)) out[k] = walk(v[k], [...path, k]);
      return out;
    }
    return v;
  };
  return walk(tree, []) as Dict;
}
