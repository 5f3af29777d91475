// Re-indents JSON text without parsing it into JavaScript values (Go's json.Indent), so what
// the daemon sent comes out byte for byte: integers past 2^53, escapes, key order. Used by
// `inspect`, whose output docker prints as a JSON array indented by 4 spaces.
//
//   indentJson('{"a":[1,{}],"b":"x"}', '    ') → '{\n    "a": [\n        1,\n        {}\n    ],\n    "b": "x"\n}'

export function indentJson(text: string, indent: string, prefix = ''): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  // Set after `{` or `[`: a newline is owed unless the container is empty.
  let needIndent = false;
  const newline = () => `\n${prefix}${indent.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c + newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) {
          needIndent = false; // empty container stays compact: {} []
        } else {
          depth--;
          out += newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}
