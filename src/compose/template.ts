// Variable substitution in compose values, as compose-go's template package does it (same
// pattern, same precedence of operators, same errors), so a file interpolates to the same text
// under berth as under docker compose:
//
//   $VAR ${VAR}          the value, or '' with a warning when unset
//   ${VAR:-default}      default when unset or empty      ${VAR-default}  when unset
//   ${VAR:+alt}          alt when set and not empty       ${VAR+alt}      when set
//   ${VAR:?message}      error when unset or empty        ${VAR?message}  when unset
//   $$                   a literal $
//   defaults, alternatives and messages are substituted themselves: ${A:-${B:-x}}
//
//   substitute('${PORT:-8080}:80', lookup) → '8080:80' when PORT is unset
//
// `$` before anything else (`$1`, `$ `) is left as it is; `${` not followed by a name and `}`
// is an "Invalid template" error.
import { ComposeError } from './errors.ts';

export type Lookup = (name: string) => string | undefined;

export class InvalidTemplateError extends ComposeError {
  template: string;
  constructor(template: string) {
    super(`Invalid template: ${JSON.stringify(template)}`);
    this.template = template;
  }
}

export class MissingRequiredError extends ComposeError {
  readonly variable: string;
  readonly reason: string;
  constructor(variable: string, reason: string) {
    super(reason ? `required variable ${variable} is missing a value: ${reason}` : `required variable ${variable} is missing a value`);
    this.variable = variable;
    this.reason = reason;
  }
}

export interface SubstituteOptions {
  /** Called for `$VAR` / `${VAR}` when VAR is unset (compose logs a warning and uses ''). */
  onUnset?: (name: string) => void;
}

// compose-go's DefaultPattern; the `i` flag stands for its (?i:...) group.
const PATTERN = /\$(?:(?<escaped>\$)|(?<named>[_a-z][_a-z0-9]*)|\{(?:(?<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?<invalid>)))/i;
const PATTERN_G = new RegExp(PATTERN.source, 'gi');

type SubstFn = (substitution: string, lookup: Lookup, o: SubstituteOptions) => [string, boolean];

const OPERATORS: Array<[string, SubstFn]> = [
  [':?', (s, l, o) => withRequired(s, l, ':?', (v) => v !== '', o)],
  ['?', (s, l, o) => withRequired(s, l, '?', () => true, o)],
  [':-', (s, l, o) => withDefaultWhenAbsence(s, l, true, o)],
  ['-', (s, l, o) => withDefaultWhenAbsence(s, l, false, o)],
  [':+', (s, l, o) => withDefaultWhenPresence(s, l, true, o)],
  ['+', (s, l, o) => withDefaultWhenPresence(s, l, false, o)],
];

/** Substitutes every variable of `template`; throws InvalidTemplateError or MissingRequiredError. */
export function substitute(template: string, lookup: Lookup, o: SubstituteOptions = {}): string {
  let firstError: Error | undefined;
  const result = template.replace(PATTERN_G, (match) => {
    try {
      return replacement(match, lookup, o);
    } catch (e) {
      if (e instanceof InvalidTemplateError && e.template === '') {
        e.template = template;
        e.message = `Invalid template: ${JSON.stringify(template)}`;
      }
      firstError ??= e as Error;
      return '';
    }
  });
  if (firstError) throw firstError;
  return result;
}

function replacement(substring: string, lookup: Lookup, o: SubstituteOptions): string {
  const subsFn = operatorFor(substring);
  const closing = firstBraceClosingIndex(substring);
  let rest = '';
  if (closing > -1) {
    rest = substring.slice(closing + 1);
    substring = substring.slice(0, closing + 1);
  }
  const m = PATTERN.exec(substring);
  const g = m?.groups ?? {};
  if (g.escaped) return g.escaped;
  let braced = false;
  let name = g.named ?? '';
  if (name === '') {
    name = g.braced ?? '';
    braced = true;
  }
  if (name === '') throw new InvalidTemplateError('');
  if (braced && subsFn) {
    const [value, applied] = subsFn(name, lookup, o);
    if (applied) return value + substitute(rest, lookup, o);
  }
  const v = lookup(name);
  if (v === undefined) {
    o.onUnset?.(name);
    return '';
  }
  return v;
}

/** The operator that appears first in the text (compose-go sorts its table by index). */
function operatorFor(s: string): SubstFn | undefined {
  let best: SubstFn | undefined;
  let at = Infinity;
  for (const [op, fn] of OPERATORS) {
    const i = s.indexOf(op);
    if (i >= 0 && i < at) {
      at = i;
      best = fn;
    }
  }
  return best;
}

/** Index of the `}` closing the first `{` (a `{` skips the character after it, as compose-go does). */
function firstBraceClosingIndex(s: string): number {
  let open = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '}') {
      open--;
      if (open === 0) return i;
    }
    if (s[i] === '{') {
      open++;
      i++;
    }
  }
  return -1;
}

function partition(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

function withDefaultWhenPresence(s: string, lookup: Lookup, notEmpty: boolean, o: SubstituteOptions): [string, boolean] {
  const sep = notEmpty ? ':+' : '+';
  if (!s.includes(sep)) return ['', false];
  const [name, alt] = partition(s, sep);
  const v = lookup(name);
  if (v !== undefined && (!notEmpty || v !== '')) return [substitute(alt, lookup, o), true];
  return [v ?? '', true];
}

function withDefaultWhenAbsence(s: string, lookup: Lookup, emptyOrUnset: boolean, o: SubstituteOptions): [string, boolean] {
  const sep = emptyOrUnset ? ':-' : '-';
  if (!s.includes(sep)) return ['', false];
  const [name, def] = partition(s, sep);
  const v = lookup(name);
  if (v === undefined || (emptyOrUnset && v === '')) return [substitute(def, lookup, o), true];
  return [v, true];
}

function withRequired(s: string, lookup: Lookup, sep: string, valid: (v: string) => boolean, o: SubstituteOptions): [string, boolean] {
  if (!s.includes(sep)) return ['', false];
  const [name, message] = partition(s, sep);
  const v = lookup(name);
  if (v === undefined || !valid(v)) throw new MissingRequiredError(name, substitute(message, lookup, o));
  return [v, true];
}
