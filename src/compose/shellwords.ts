// `command: echo "hello world"` split into words the way compose splits it (mattn/go-shellwords
// with its default options: no variable or backtick expansion). Quotes group, backslashes
// escape (not inside single quotes), and an unquoted `;`, `&`, `|`, `<` or `>` ends the
// command line there, as go-shellwords stops at shell operators.
//
//   splitShellWords(`sh -c "echo hi"`) → ['sh', '-c', 'echo hi']
import { ComposeError } from './errors.ts';

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

export function splitShellWords(line: string): string[] {
  const args: string[] = [];
  let buf = '';
  let escaped = false;
  let dq = false;
  let sq = false;
  let bq = false;
  let dollar = false;
  let got = false;
  for (const c of line) {
    if (escaped) {
      buf += c;
      escaped = false;
      got = true;
      continue;
    }
    if (c === '\\') {
      if (sq) buf += c;
      else escaped = true;
      continue;
    }
    if (isSpace(c)) {
      if (sq || dq || bq || dollar) buf += c;
      else if (got) {
        args.push(buf);
        buf = '';
        got = false;
      }
      continue;
    }
    if (c === '`' && !sq && !dq && !dollar) bq = !bq;
    else if (c === ')' && !sq && !dq && !bq && dollar) dollar = false;
    else if (c === '(' && !sq && !dq && !bq) {
      if (!dollar && buf.endsWith('$')) {
        dollar = true;
        buf += c;
        continue;
      }
      throw new ComposeError('invalid command line string');
    } else if (c === '"' && !sq && !dollar) {
      if (dq) got = true;
      dq = !dq;
      continue;
    } else if (c === "'" && !dq && !dollar) {
      if (sq) got = true;
      sq = !sq;
      continue;
    } else if (';&|<>'.includes(c) && !(sq || dq || bq || dollar)) {
      break;
    }
    got = true;
    buf += c;
  }
  if (got) args.push(buf);
  if (escaped || sq || dq || bq || dollar) throw new ComposeError('invalid command line string');
  return args;
}
