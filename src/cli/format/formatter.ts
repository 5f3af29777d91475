// `--format` for list commands (ps, images, history, …), following docker's formatter.Context:
//
//   (none) / "table"    the command's default table
//   "json"              one `{{json .}}` line per row
//   "table <tmpl>"      a header row (the template run over the column names), then the rows,
//                       aligned by a tabwriter (minwidth 10, padding 3)
//   "<tmpl>"            each row's output followed by a newline
//
// As docker does, the two-character sequences `\t` and `\n` in a format become a tab and a
// newline (people write them inside single quotes), and surrounding spaces are trimmed.
import { parseTemplate, GO_JSON, goJsonMarshal, type TemplateFunc } from './template.ts';
import { tabwrite } from './tabwriter.ts';

/** docker's HeaderFunctions: in the header pass, functions hand back their first argument. */
const identity = (v: unknown) => v;
const HEADER_FUNCS: Record<string, TemplateFunc> = {
  json: identity, split: identity, join: identity, title: identity, lower: identity, upper: identity,
  pad: identity, truncate: identity,
};

export function normalizeFormat(format: string): string {
  return format.trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export function isTableFormat(format: string | undefined): boolean {
  return !format || format.trim().startsWith('table');
}

/**
 * Renders rows with a format. `defaultTable` is the command's `table …` template; `headers`
 * maps field names to column titles (`ID` → `CONTAINER ID`).
 */
export function renderList(format: string | undefined, defaultTable: string, rows: object[], headers: Record<string, string | TemplateFunc>, rootType?: string, probe?: object): string {
  let f = normalizeFormat(format ?? '');
  if (f === '' || f === 'table') f = defaultTable;
  else if (f === 'json') f = '{{json .}}';
  if (f.startsWith('table')) {
    const body = f.slice('table'.length).replace(/^[ ]+/, '');
    const headerTmpl = parseTemplate(body, { funcs: HEADER_FUNCS });
    const rowTmpl = parseTemplate(body, { rootType });
    // With no rows docker still runs the template once, so a bad field is reported anyway.
    if (!rows.length && probe) rowTmpl.execute(probe);
    let text = `${headerTmpl.execute(headerContext(headers))}\n`;
    for (const r of rows) text += `${rowTmpl.execute(r)}\n`;
    return tabwrite(text);
  }
  const tmpl = parseTemplate(f, { rootType });
  if (!rows.length && probe) tmpl.execute(probe);
  let out = '';
  for (const r of rows) out += `${tmpl.execute(r)}\n`;
  return out;
}

/** The header pass sees each known field as its title (a method such as `.Label "x"` as a
 *  function returning its title). */
function headerContext(headers: Record<string, string | TemplateFunc>): Record<string, unknown> {
  return { ...headers };
}

/**
 * A list row shaped like docker's formatter contexts: fields in alphabetical order (as Go's
 * MarshalJSON of those contexts gives them), methods such as `Label "k"` callable from templates
 * but not printed, and `{{json .}}` producing Go's json.Marshal text.
 */
export function goRow<T extends Record<string, unknown>>(fields: T, methods: Record<string, TemplateFunc> = {}): T {
  const row: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) row[k] = fields[k];
  for (const [k, fn] of Object.entries(methods)) Object.defineProperty(row, k, { value: fn, enumerable: false });
  Object.defineProperty(row, GO_JSON, { value: () => goJsonMarshal(row), enumerable: false });
  return row as T;
}
