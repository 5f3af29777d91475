// The one error type of the compose loader. Every problem with the user's input (a file that
// does not parse, a schema violation, a bad port, a missing variable, a dependency cycle, ...)
// is a ComposeError whose message is compose v2's text, naming the place in the file; the CLI
// prints it as is and exits 1, as `docker compose` does. Anything else escaping the loader is
// a bug in berth (the loader's fuzz test checks exactly that).
export class ComposeError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ComposeError';
  }
}

export function isComposeError(e: unknown): e is ComposeError {
  return e instanceof ComposeError;
}
