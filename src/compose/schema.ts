// Validation of the raw tree against the Compose Specification's JSON schema (the project's own
// copy, compose-spec.json, bundled into the CLI), reported as compose v2 reports it: of all
// the violations the deepest one is shown (an unknown key counts one level deeper than its
// mapping), named by its dotted path, in the wording of the validator compose uses
// (santhosh-tekuri/jsonschema v6) with compose's own phrasing for types and bounds:
//
//   services.web additional properties 'foo' not allowed
//   services.web.image must be a string
//   services.web.environment must be a mapping
//   services.web.depends_on.db.condition value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'
//   services.web.develop.watch.0 missing property 'action'
//
// The validator is ajv's code for the schema, compiled by the build (dist/chunks/compose-schema.cjs,
// beside the CLI chunk that loads it; ~20 ms to load) or, where that file is missing or for another
// schema, compiled here on first use (~0.3 s); only compose commands pay either.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import spec from './compose-spec.json' with { type: 'json' };
import ajvOptions from './ajv-options.json' with { type: 'json' };
import { ComposeError } from './errors.ts';
import type { Dict } from './tree.ts';

let validator: ValidateFunction | undefined;

/** The build's compiled validator next to this bundle, if it is for this schema. */
export function precompiled(path = './compose-schema.cjs'): ValidateFunction | undefined {
  const require = createRequire(import.meta.url);
  let mod: (ValidateFunction & { specHash?: string }) | undefined;
  try {
    mod = require(path);
  } catch {
    // No precompiled validator beside the bundle: the caller compiles one.
    return undefined;
  }
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  return mod && typeof mod === 'function' && mod.specHash === hash ? mod : undefined;
}

/** ajv's validator compiled now. */
export function compileNow(): ValidateFunction {
  // ajv is CommonJS; require() keeps its default export simple to reach under ESM.
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv').default as typeof import('ajv').default;
  // The spec names its meta-schema by an https URL ajv does not know; the schema is ours and
  // known good, so it is not validated itself.
  const { $schema: _ignored, ...schema } = spec as Record<string, unknown>;
  return new Ajv(ajvOptions).compile(schema);
}

function compile(): ValidateFunction {
  validator ??= precompiled() ?? compileNow();
  return validator;
}

/**
 * The tree as JSON data (compose validates json.Marshal's output too): ordinary objects (ajv's
 * deep-equality needs prototypes), and Go's error for numbers JSON cannot hold.
 */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new ComposeError(`json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}`);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: jsonValue(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Throws a ComposeError naming the most specific violation, or returns. */
export function validateSchema(tree: Dict): void {
  const validate = compile();
  if (validate(jsonValue(tree))) return;
  throw new ComposeError(describe(validate.errors ?? []));
}

const COMPOSITE = new Set(['oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$ref']);

function depth(e: ErrorObject): number {
  const parts = e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1;
  return parts + (e.keyword === 'additionalProperties' ? 1 : 0);
}

/** The message for the most specific error, as compose's validationError prints it. */
export function describe(errors: ErrorObject[]): string {
  let best: ErrorObject | undefined;
  for (const e of errors) {
    if (COMPOSITE.has(e.keyword)) continue;
    if (!best || depth(e) > depth(best)) best = e;
  }
  best ??= errors[0];
  if (!best) return 'validation failed';
  const path = best.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
  return `${path} ${message(best, errors)}`;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const display = (v: unknown) => (typeof v === 'string' ? quote(v) : Array.isArray(v) || (typeof v === 'object' && v !== null) ? 'value' : String(v));

function humanType(t: string | string[]): string {
  const want = (Array.isArray(t) ? t : String(t).split(',')).map((w) => (w === 'object' ? 'mapping' : w));
  if (want.length === 1) return want[0];
  want.sort();
  return `${want.slice(0, -1).join(', ')} or ${want[want.length - 1]}`;
}

function message(e: ErrorObject, all: ErrorObject[]): string {
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'type': return `must be a ${humanType(p.type)}`;
    case 'minimum': return `must be greater than or equal to ${p.limit}`;
    case 'maximum': return `must be less than or equal to ${p.limit}`;
    case 'exclusiveMinimum': return `exclusiveMinimum: got ${e.data}, want ${p.limit}`;
    case 'exclusiveMaximum': return `exclusiveMaximum: got ${e.data}, want ${p.limit}`;
    case 'additionalProperties': {
      // One error for all the unknown keys of the mapping, as santhosh-tekuri reports it.
      const props = all.filter((x) => x.keyword === 'additionalProperties' && x.instancePath === e.instancePath && x.schemaPath === e.schemaPath)
        .map((x) => String((x.params as Record<string, unknown>).additionalProperty));
      return `additional properties ${[...new Set(props)].sort().map(quote).join(', ')} not allowed`;
    }
    case 'required': {
      const missing = all.filter((x) => x.keyword === 'required' && x.instancePath === e.instancePath && x.schemaPath === e.schemaPath)
        .map((x) => String((x.params as Record<string, unknown>).missingProperty));
      const uniq = [...new Set(missing)];
      return uniq.length === 1 ? `missing property ${quote(uniq[0])}` : `missing properties ${uniq.map(quote).join(', ')}`;
    }
    case 'enum': {
      const want = p.allowedValues as unknown[];
      if (want.every((w) => typeof w !== 'object' || w === null)) {
        return want.length === 1 ? `value must be ${display(want[0])}` : `value must be one of ${want.map(display).join(', ')}`;
      }
      return 'enum failed';
    }
    case 'const': return typeof p.allowedValue === 'object' && p.allowedValue !== null ? 'const failed' : `value must be ${display(p.allowedValue)}`;
    case 'pattern': return `${quote(String(e.data))} does not match pattern ${quote(String(p.pattern))}`;
    case 'minItems': return `minItems: got ${(e.data as unknown[]).length}, want ${p.limit}`;
    case 'maxItems': return `maxItems: got ${(e.data as unknown[]).length}, want ${p.limit}`;
    case 'minLength': return `minLength: got ${[...String(e.data)].length}, want ${p.limit}`;
    case 'maxLength': return `maxLength: got ${[...String(e.data)].length}, want ${p.limit}`;
    case 'minProperties': return `minProperties: got ${Object.keys(e.data as object).length}, want ${p.limit}`;
    case 'maxProperties': return `maxProperties: got ${Object.keys(e.data as object).length}, want ${p.limit}`;
    case 'uniqueItems': return `items at ${p.j} and ${p.i} are equal`;
    case 'dependencies': return `properties ${String(p.deps).split(', ').map(quote).join(', ')} required, if ${quote(String(p.property))} exists`;
    case 'propertyNames': return `invalid propertyName ${quote(String(p.propertyName))}`;
    case 'format': return `${display(e.data)} is not valid ${p.format}`;
    case 'oneOf': return 'oneOf failed, none matched';
    case 'anyOf': return 'anyOf failed';
    case 'not': return 'not failed';
    default: return e.message ?? 'validation failed';
  }
}
