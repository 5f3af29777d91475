// Go's text/tabwriter as the docker CLI configures it for tables: NewWriter(out, 10, 1, 3, ' ', 0)
// (minimum cell width 10, padding 3, space padding, no flags). Cells are tab-terminated; the text
// after a line's last tab is not a cell and is never padded. Columns are aligned per *column
// block* (consecutive lines that have a cell in that column), exactly as Go does, so templates
// with uneven tab counts line up the way they do under docker.
//
//   tabwrite('CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tweb\n')
//   → 'CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n'

export interface TabwriterOptions {
  minWidth?: number;
  padding?: number;
}

export function tabwrite(text: string, opts: TabwriterOptions = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  // A trailing newline ends the last line; it does not start an empty one.
  const rawLines = text.split('\n');
  const endsWithNewline = rawLines[rawLines.length - 1] === '';
  if (endsWithNewline) rawLines.pop();
  const lines = rawLines.map((l) => l.split('\t'));
  const width = (s: string) => [...s].length; // Go counts runes
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i];
      let s = '';
      for (let j = 0; j < cells.length; j++) {
        const c = cells[j];
        // Within a block every terminated cell has a width; the last cell is never padded.
        s += j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c;
      }
      out.push(s);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      // Line t has a cell in this column: it starts a column block.
      writeLines(line0, t);
      line0 = t;
      let w = minWidth;
      for (; t < line1; t++) {
        const cells = lines[t];
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]) + padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
      // Line t (if any) has no cell in this column; the loop's increment skips it as Go does.
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n') + (endsWithNewline && out.length ? '\n' : '');
}
