// A --format template's error, apart from the template engine: main.ts and context.ts report it
// for every command, and importing it from template.ts put the whole engine on the start-up path
// of commands that never format (run, exec, start...).
export class TemplateError extends Error {
  /** Whether the template failed to parse or to execute (docker words the two differently). */
  phase: 'parse' | 'execute' = 'execute';
}
