import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabwrite } from './tabwriter.ts';
import { renderList } from './formatter.ts';
import { parseTemplate } from './template.ts';

test('tabwriter: docker ps header and rows (minwidth 10, padding 3)', () => {
  const text = 'CONTAINER ID\tIMAGE\tCOMMAND\tNAMES\n31cc5dffbb7b\tbusybox\t"sh"\tweb\n';
  assert.equal(tabwrite(text),
    'CONTAINER ID   IMAGE     COMMAND   NAMES\n' +
    '31cc5dffbb7b   busybox   "sh"      web\n');
});

test('tabwriter: empty cells, last column unpadded, no trailing newline kept as is', () => {
  assert.equal(tabwrite('A\tB\tC\n\t\tx\n'), 'A         B         C\n                    x\n');
  assert.equal(tabwrite('a\tb'), 'a         b');
  assert.equal(tabwrite(''), '');
});

test('tabwriter: column blocks end at a line with fewer cells (Go semantics)', () => {
  const text = 'aaaaaaaaaaaaaa\tb\nshort\n1\t2\n';
  assert.equal(tabwrite(text), 'aaaaaaaaaaaaaa   b\nshort\n1         2\n');
});

test('tabwriter: widths count runes, not bytes', () => {
  assert.equal(tabwrite('"echo …"\tx\nab\ty\n'), '"echo …"   x\nab         y\n');
});

const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Image: 'IMAGE', Label: () => 'LABEL' };
const rows = [
  { ID: 'abc', Names: 'web', Image: 'busybox', Label: (k: string) => (k === 'app' ? 'x' : '') },
  { ID: 'def', Names: 'db', Image: 'postgres', Label: () => '' },
];

test('renderList: default table, custom table, json, plain template', () => {
  const def = 'table {{.ID}}\t{{.Image}}\t{{.Names}}';
  assert.equal(renderList(undefined, def, rows, headers),
    'CONTAINER ID   IMAGE      NAMES\nabc            busybox    web\ndef            postgres   db\n');
  assert.equal(renderList('table', def, [], headers), 'CONTAINER ID   IMAGE     NAMES\n');
  assert.equal(renderList('table {{.Names}}\\t{{.ID}}', def, rows, headers), 'NAMES     CONTAINER ID\nweb       abc\ndb        def\n');
  assert.equal(renderList('{{.Names}}\\t{{.ID}}', def, rows, headers), 'web\tabc\ndb\tdef\n');
  assert.equal(renderList('json', def, [{ A: '1' }], headers), '{"A":"1"}\n');
  assert.equal(renderList('table {{.Names | upper}}\t{{.Label "app"}}', def, rows, headers), 'NAMES     LABEL\nWEB       x\nDB        \n');
});

import { indentJson } from './json-indent.ts';

test('indentJson matches JSON.stringify layout and keeps the text exact', () => {
  const v = { a: [1, {}, [], 'x,y:{z}'], b: { c: null, d: true }, e: 'q"\\' };
  assert.equal(indentJson(JSON.stringify(v), '    '), JSON.stringify(v, null, 4));
  assert.equal(indentJson('{"n": 9223372036854775807, "s":"\\u003c"}', '  '), '{\n  "n": 9223372036854775807,\n  "s": "\\u003c"\n}');
  assert.equal(indentJson('[{"a":1}]', '    ', '    '), '[\n        {\n            "a": 1\n        }\n    ]');
});

test('renderList: templates of plain fields give what the template engine gives, for any row', () => {
  // Such templates skip the engine for rows of own string fields; every other row goes to it.
  const rows: object[] = [
    { ID: 'a', Names: 'web', Size: '1B' },
    { ID: 'b', Names: '', Size: 7 }, // a number
    { ID: 'c', Names: null, Size: '' }, // null
    { ID: 'd', Names: ['x', 'y'], Size: '2B' }, // a list
    Object.assign(Object.create({ Names: 'inherited' }), { ID: 'e', Size: '3B' }), // not own
    { ID: 'f', Size: '4B', Names: () => 'method' },
  ];
  const formats = ['{{.ID}}', '{{ .ID }}:{{.Names}}', 'x{{.Size}}y{{.ID}}z', 'plain text', '{{.ID}}{{.Nope}}'];
  for (const f of formats) {
    for (const r of rows) {
      let want: string;
      try { want = `${parseTemplate(f).execute(r)}\n`; } catch (e) { want = `error: ${(e as Error).message}`; }
      let got: string;
      try { got = renderList(f, 'table {{.ID}}', [r], {}); } catch (e) { got = `error: ${(e as Error).message}`; }
      assert.equal(got, want, `${f} on ${JSON.stringify(r)}`);
    }
  }
  // The table path, header row included, against the engine line by line.
  const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Size: 'SIZE' };
  const out = renderList('table {{.ID}}\t{{.Names}}\t{{.Size}}', 'table {{.ID}}', rows.slice(0, 4), headers);
  const engine = parseTemplate('{{.ID}}\t{{.Names}}\t{{.Size}}');
  const lines = [engine.execute(headers), ...rows.slice(0, 4).map((r) => engine.execute(r))];
  assert.equal(out, tabwrite(`${lines.join('\n')}\n`));
});
