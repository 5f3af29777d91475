import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, TemplateError, sprintf } from './template.ts';

const run = (src: string, data: unknown, opts = {}) => parseTemplate(src, opts).execute(data);

const container = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0, Health: null },
  Config: { Env: ['A=1', 'B=2'], Cmd: ['sh', '-c', 'echo hi'], Labels: { z: '1', a: 'x' }, Entrypoint: null },
  HostConfig: { Memory: 67108864, NanoCpus: 1500000000 },
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } },
};

test('fields, nested fields, dot and root', () => {
  assert.equal(run('{{.Id}}', container), 'abc123');
  assert.equal(run('{{.State.Status}} {{.State.Pid}}', container), 'running 42');
  assert.equal(run('{{.State.Running}}', container), 'true');
  assert.equal(run('{{.HostConfig.Memory}}', container), '67108864');
  assert.equal(run('{{with .State}}{{$.Name}}:{{.Status}}{{end}}', container), '/web:running');
  assert.equal(run('{{.}}', 'plain'), 'plain');
});

test('Go %v printing of arrays, maps, null and missing keys', () => {
  assert.equal(run('{{.Config.Env}}', container), '[A=1 B=2]');
  assert.equal(run('{{.Config.Labels}}', container), 'map[a:x z:1]');
  assert.equal(run('{{.Config.Entrypoint}}', container), '<nil>');
  assert.equal(run('{{.NoSuch}}', container), '<no value>');
  assert.equal(run('{{.Config.Entrypoint}}', container, { nullText: (f: string) => (f === 'Entrypoint' ? '[]' : '<nil>') }), '[]');
  assert.equal(run('{{.X}}', { X: 1.5 }), '1.5');
  assert.equal(run('{{.X}}', { X: 1e21 }), '1e+21');
});

test('json, pipes and parenthesised pipelines', () => {
  assert.equal(run('{{json .Config.Labels}}', container), '{"z":"1","a":"x"}');
  assert.equal(run('{{.Config.Cmd | json}}', container), '["sh","-c","echo hi"]');
  assert.equal(run('{{json .}}', { a: '<b>&' }), '{"a":"<b>&"}');
  assert.equal(run('{{json .Missing}}', {}), 'null');
  assert.equal(run('{{(index .NetworkSettings.Networks "bridge").IPAddress}}', container), '172.17.0.2');
  assert.equal(run('{{.Name | upper | lower}}', container), '/web');
});

test('index, join, split, upper, lower, title, len, printf, println, pad, truncate', () => {
  assert.equal(run('{{index .Config.Labels "a"}}', container), 'x');
  assert.equal(run('{{index .Config.Cmd 2}}', container), 'echo hi');
  assert.equal(run('{{index .Config.Labels "nope"}}', container), '<no value>');
  assert.equal(run('{{join .Config.Env ","}}', container), 'A=1,B=2');
  assert.equal(run('{{split "a:b:c" ":"}}', {}), '[a b c]');
  assert.equal(run('{{upper .State.Status}}{{lower "ABC"}}{{title "hello world"}}', container), 'RUNNINGabcHello World');
  assert.equal(run('{{len .Config.Env}}', container), '2');
  assert.equal(run('{{printf "%s-%d-%5s|%-4s|%03d" "a" 7 "b" "c" 5}}', {}), 'a-7-    b|c   |005');
  assert.equal(run('{{println "a" 1}}', {}), 'a 1\n');
  assert.equal(run('{{pad "x" 1 2}}|{{truncate "abcdef" 3}}', {}), ' x  |abc');
  assert.equal(sprintf('%q', ['hi']), '"hi"');
});

test('if / else if / else, comparisons and logic', () => {
  const t = '{{if eq .State.Status "exited"}}E{{else if .State.Running}}R{{else}}?{{end}}';
  assert.equal(run(t, container), 'R');
  assert.equal(run(t, { State: { Status: 'exited' } }), 'E');
  assert.equal(run(t, { State: { Status: 'created', Running: false } }), '?');
  assert.equal(run('{{if and .A (not .B)}}y{{else}}n{{end}}', { A: 1, B: 0 }), 'y');
  assert.equal(run('{{if or .A .B}}y{{else}}n{{end}}', { A: '', B: [] }), 'n');
  assert.equal(run('{{if gt .N 3}}big{{end}}{{if le .N 3}}small{{end}}', { N: 5 }), 'big');
  assert.equal(run('{{if ne .S "a"}}diff{{end}}', { S: 'b' }), 'diff');
  assert.equal(run('{{if .M}}has{{else}}empty{{end}}', { M: {} }), 'empty');
});

test('range over arrays and maps, with variables and else', () => {
  assert.equal(run('{{range .Config.Env}}[{{.}}]{{end}}', container), '[A=1][B=2]');
  assert.equal(run('{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}};{{end}}', container), '0=sh;1=-c;2=echo hi;');
  assert.equal(run('{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}', container), 'a:x z:1 ');
  assert.equal(run('{{range .L}}x{{else}}none{{end}}', { L: [] }), 'none');
  assert.equal(run('{{range .L}}x{{end}}', { L: null }), '');
  assert.equal(run('{{range $n, $net := .NetworkSettings.Networks}}{{$n}} {{$net.IPAddress}}{{end}}', container), 'bridge 172.17.0.2');
  assert.equal(run('{{range .L}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}', { L: [1, 2, 3] }), '1');
  assert.equal(run('{{$x := .State.Status}}{{$x}}{{$x = "b"}}{{$x}}', container), 'runningb');
});

test('whitespace trimming and comments', () => {
  assert.equal(run('a  {{- .X -}}  b', { X: 1 }), 'a1b');
  assert.equal(run('{{range .L -}}\n  {{.}}\n{{- end}}', { L: ['a', 'b'] }), 'ab');
  assert.equal(run('x{{/* note */}}y{{- /* t */ -}} z', {}), 'xyz');
  assert.equal(run('{{-3}}', {}), '-3');
});

test('methods: a function field is called, with arguments at the end of a chain', () => {
  const row = { Label: (k: string) => ({ app: 'web' } as Record<string, string>)[k] ?? '', ID: () => 'abc' };
  assert.equal(run('{{.Label "app"}}-{{.ID}}', row), 'web-abc');
});

test('string literals with Go escapes, raw strings and numbers', () => {
  assert.equal(run('{{"a\\tb\\n"}}', {}), 'a\tb\n');
  assert.equal(run('{{`raw\\n`}}', {}), 'raw\\n');
  assert.equal(run('{{printf "%d" 0x10}}', {}), '16');
});

test('errors use Go template wording', () => {
  assert.throws(() => parseTemplate('{{nosuch .X}}'), (e: Error) => e instanceof TemplateError && e.message === 'template: :1: function "nosuch" not defined');
  assert.throws(() => parseTemplate('{{.X'), /unclosed action/);
  assert.throws(() => parseTemplate('{{if .X}}a'), /unexpected EOF/);
  assert.throws(() => parseTemplate('{{end}}'), /unexpected/);
  assert.throws(() => run('{{index .L 5}}', { L: [1] }), /index out of range/);
  assert.throws(() => run('{{.S.X}}', { S: 'str' }), /can't evaluate field X/);
});

test('escapes of invalid runes are Go\'s "invalid syntax", not a RangeError (found by the fuzz test)', () => {
  for (const bad of ['{{"\\UFFFFFFFF"}}', '{{"\\U00110000"}}', '{{"\\uD800"}}', '{{"\\uDFFF" | print}}', '{{"\\400"}}', '{{"\\u{00e9"}}', '{{"\\u12"}}', '{{"\\U"}}']) {
    assert.throws(() => parseTemplate(bad), (e: Error) => e instanceof TemplateError && e.message === 'template: :1: invalid syntax', bad);
  }
  assert.equal(run('{{"\\U0010FFFF\\u00e9\\377"}}', {}), '\u{10FFFF}\u00e9\u00ff');
});

test('deep nesting is Go\'s "max expression depth exceeded", not a stack overflow (found by the fuzz test)', () => {
  const deep = (n: number) => [`{{${'('.repeat(n)}.${')'.repeat(n)}}}`, `${'{{if .}}'.repeat(n)}x${'{{end}}'.repeat(n)}`, `${'{{with .}}'.repeat(n)}{{.}}${'{{end}}'.repeat(n)}`];
  for (const src of deep(20_000)) {
    assert.throws(() => parseTemplate(src), (e: Error) => e instanceof TemplateError && e.message === 'template: :1: max expression depth exceeded', src.slice(0, 12));
  }
  const [parens, ifs, withs] = deep(900);
  assert.equal(run(parens, 'v'), 'v');
  assert.equal(run(ifs, 1), 'x');
  assert.equal(run(withs, 'w'), 'w');
});

test('long templates lex in linear time (found by the fuzz test)', () => {
  // Every action searched back for its line's start (or on to the next newline), and `{{- `
  // trimmed with a regular expression anchored at the end: all quadratic (49 s for the second).
  const t0 = Date.now();
  assert.equal(run('{{.X}}{{2}}'.repeat(150_000), { X: 1 }).length, 300_000);
  assert.equal(run(`${' '.repeat(200_000)}x  {{- .X}}`, { X: 1 }), `${' '.repeat(200_000)}x1`);
  assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
  // Positions in messages as before, a trim marker's newline included.
  assert.throws(() => run('ab\n  {{.A}}{{ .B.C }}', { A: 1, B: 'q' }), (e: Error) => e.message === 'template: :2:10: executing "" at <.B.C>: can\'t evaluate field C in type string');
  assert.throws(() => run('{{- \n.A}}{{.B.C}}', { A: 1, B: 'q' }), (e: Error) => e.message === 'template: :2:6: executing "" at <.B.C>: can\'t evaluate field C in type string');
  assert.throws(() => run('{{-\n.A}}{{.B.C}}', { A: 1, B: 'q' }), (e: Error) => e.message === 'template: :1:6: executing "" at <.B.C>: can\'t evaluate field C in type string');
});

test('{{break}} and {{continue}} outside a range body are Go\'s parse error, not a thrown signal (found by the fuzz test)', () => {
  for (const [src, kw] of [['{{break}}', 'break'], ['{{if .}}{{continue}}{{end}}', 'continue'], ['{{range .}}{{else}}{{break}}{{end}}', 'break']]) {
    assert.throws(() => parseTemplate(src), (e: Error) => e instanceof TemplateError && e.message === `template: :1: {{${kw}}} outside {{range}}`, src);
  }
  assert.equal(run('{{range .}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}', [1, 2, 3]), '1');
  assert.equal(run('{{range .}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}', [1, 2, 3]), '13');
});

test('range over a large integer counts as it goes; past 2^53 it is an error, not a RangeError (found by the fuzz test)', () => {
  assert.equal(run('{{range .}}{{.}}{{end}}', 3), '012');
  assert.equal(run('{{range .}}x{{else}}none{{end}}', 0), 'none');
  assert.equal(run('{{range $i, $v := .}}{{if eq $i 2}}{{break}}{{end}}{{$v}}{{end}}', 4489422469165841), '01');
  assert.throws(() => run('{{range .}}x{{end}}', 1e300), (e: Error) => e instanceof TemplateError && /range can't iterate over 1e\+300$/.test(e.message));
});

test('a function as an operand is called without arguments, its failure an execution error (found by the fuzz test)', () => {
  assert.throws(() => run('{{and printf | json}}', [1]), (e: Error) => e instanceof TemplateError && /^template: :1:\d+: executing "" at <and printf \| json>: error calling printf: /.test(e.message));
  assert.throws(() => run('{{print lt}}', {}), (e: Error) => e instanceof TemplateError && /error calling lt: incompatible types for comparison$/.test(e.message));
  assert.equal(run('{{print json}}', {}), 'null');
});

test('fields are the data\'s own keys, never what every object or array inherits', () => {
  const d = { Names: ['a'], M: { constructor: 'own' } };
  for (const f of ['.__defineGetter__', '.constructor', '.toString', '.__proto__', '.valueOf', '.Names.push', '.Names.map']) {
    assert.equal(run(`{{${f}}}`, d), '<no value>', f);
  }
  assert.equal(run('{{.M.constructor}}', d), 'own');
  assert.throws(() => run('{{.toString}}', d, { strictRoot: true }), /map has no entry for key "toString"/);
  assert.equal(run('{{.Label "k"}}', { Label: (k: string) => `v-${k}` }), 'v-k');
});
