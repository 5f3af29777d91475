// Fuzz tests of the Go-template subset behind `--format` (see src/common/fuzz-testing.ts):
// templates built from actions (fields, variables, pipelines, every function, literals with
// escapes, parentheses, if/else/range/with/break/continue, trim markers, comments), nested and
// mutated, executed on API-shaped data. A template parses and runs, or fails with a
// TemplateError, in bounded time; deep nesting included.
import assert from 'node:assert/strict';
import { expectError, fc, fuzz, mutatedString } from '../../common/fuzz-testing.ts';
import { TemplateError, parseTemplate } from './template.ts';

const templateError = (e: Error) => e instanceof TemplateError;

const FUNCS = ['json', 'join', 'split', 'upper', 'lower', 'title', 'pad', 'truncate', 'println', 'print', 'printf', 'len', 'index', 'slice',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'not', 'and', 'or', 'urlquery', 'nosuch'];
const operand = fc.oneof(
  fc.constantFrom('.', '$', '.Names', '.State.Status', '.Labels', '.Config.Env', '.Size', '.Missing.X', '$x', '$x.Y', '.constructor', '.__proto__', '.toString', '.__defineGetter__', '.length', '.Names.length'),
  fc.constantFrom('"a"', '"\\n\\t"', '"\\x41"', '"\\u00e9"', '"\\U0001F600"', '"\\UFFFFFFFF"', '"\\uD800"', '"\\q"', '`raw`', "'a'", "'\\n'", "'\\U00110000'", '1', '-2', '3.5', '0x1F', '1e3', '1e300', '1_000', 'true', 'false', 'nil', '.5'),
  fc.constantFrom(...FUNCS),
);
const command = fc.tuple(fc.option(fc.constantFrom(...FUNCS), { nil: undefined }), fc.array(operand, { maxLength: 3 }))
  .map(([f, args]) => [f, ...args].filter((x) => x !== undefined).join(' '));
const pipeline = fc.tuple(fc.option(fc.constantFrom('$x := ', '$i, $e := ', '$x = ', '$y = '), { nil: undefined }), fc.array(command, { minLength: 1, maxLength: 3 }))
  .map(([decl, cmds]) => (decl ?? '') + cmds.join(' | '));
const action = (inner: string) => fc.constantFrom('{{', '{{- ').chain((open) => fc.constantFrom('}}', ' -}}').map((close) => `${open}${inner}${close}`));
const template = fc.letrec<{ t: string }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 8 }),
    pipeline.chain((p) => action(p)),
    pipeline.chain((p) => action(`(${p}).Field`)),
    fc.tuple(fc.constantFrom('if', 'with', 'range', 'range $k, $v :='), pipeline, tie('t'), fc.option(tie('t'), { nil: undefined }))
      .map(([kw, p, body, alt]) => `{{${kw} ${p}}}${body}${alt !== undefined ? `{{else}}${alt}` : ''}{{end}}`),
    fc.tuple(pipeline, tie('t'), tie('t')).map(([p, a, b]) => `{{if ${p}}}${a}{{else if ${p}}}${b}{{end}}`),
    fc.constantFrom('{{break}}', '{{continue}}', '{{/* c */}}', '{{- /* c */ -}}', '{{end}}', '{{else}}', '{{define "x"}}', '{{', '}}', '{{}}', '{{(}}', '{{)}}', '{{|}}', 'table {{.ID}}\t{{.Names}}'),
    fc.array(tie('t'), { maxLength: 3 }).map((ts) => ts.join('')),
  ),
})).t;
const src = fc.oneof(
  { weight: 4, arbitrary: template },
  { weight: 2, arbitrary: mutatedString(template, '{}()|$."\'`\\-:= \n', 5) },
  // Deep nesting: parentheses and blocks past the 1000 levels the parser allows.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('(', '{{if .}}', '{{range .}}', '{{with .}}')).map(([n, open]) =>
    open === '(' ? `{{${'('.repeat(n)}.${')'.repeat(n)}}}` : `${open.repeat(n)}x${'{{end}}'.repeat(n)}`) },
);
/** Integers kept small: `{{range .N}}` runs N times, in Go as here, and a case has a time bound. */
const tame = (v: unknown): unknown => {
  if (typeof v === 'number') return Number.isSafeInteger(v) && Math.abs(v) > 1000 ? v % 1000 : v;
  if (Array.isArray(v)) return v.map(tame);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tame(x)]));
  return v;
};
const data = fc.oneof(
  fc.constant({ Names: ['/a', '/b'], State: { Status: 'running' }, Labels: { 'com.x': 'y' }, Config: { Env: ['A=1'] }, Size: 3 }),
  fc.jsonValue({ maxDepth: 3 }).map(tame),
  fc.constant([1, 2, 3]),
  fc.constant(null),
);

fuzz('template: any format string parses and runs, or fails with a TemplateError', fc.tuple(src, data), ([s, d]) => {
  const t = expectError(() => parseTemplate(s), templateError);
  if (!t) return;
  const out = expectError(() => t.execute(d), templateError);
  if (out !== undefined) assert.equal(typeof out, 'string');
}, { runs: 2500, caseMs: 1000, hangMs: 15_000 });
