// What every command implementation gets: the API client (created on first use), the command's
// name and usage for docker-style messages, and the error types main.ts turns into exit codes.
//
//   throw new StatusError('conflicting options: cannot specify both --attach and --detach', 1)
//   throw usageError(ctx, 'invalid argument "x" for "-t, --timeout" flag: …')   // exit 125
import { ApiClient, ApiError } from '../client/client.ts';
import { TemplateError } from './format/template-error.ts';
import { resolveEndpoint, type HostOptions } from '../client/host.ts';

export interface Globals extends HostOptions {
  debug?: boolean;
  logLevel?: string;
  config?: string;
  /** `berth compose`'s own global flags (spec.ts COMPOSE_OPTIONS), for compose sub-commands. */
  compose?: ComposeGlobals;
}

export interface ComposeGlobals {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  workdir?: string;
  envFile?: string[];
  profile?: string[];
  progress?: string;
  ansi?: string;
  noAnsi?: boolean;
  parallel?: number;
  dryRun?: boolean;
  compatibility?: boolean;
  allResources?: boolean;
}

/** An error with a chosen exit status; an empty message prints nothing. */
export class StatusError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** A bad --format template: docker's "template parsing error: …" with `status`; anything else rethrown. */
export function templateFailure(e: unknown, status = 1): never {
  if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, status);
  throw e;
}

/**
 * docker's rm loop over references (`node rm`, `service rm`): each one printed once removed, the
 * daemon's refusals collected and reported together, exit status 1 if there was any.
 */
export async function removeEach(refs: string[], remove: (ref: string) => Promise<void>): Promise<number> {
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      await remove(ref);
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
    process.stdout.write(`${ref}\n`);
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

export class Ctx {
  readonly globals: Globals;
  /** `berth run`, `berth container ls`: used in messages. */
  readonly commandPath: string;
  /** `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]` */
  readonly usage: string;
  #client: ApiClient | undefined;

  constructor(globals: Globals, commandPath: string, usage: string) {
    this.globals = globals;
    this.commandPath = commandPath;
    this.usage = usage;
  }

  get client(): ApiClient {
    if (!this.#client) {
      const env = process.env;
      const pinned = env.BERTH_API_VERSION || env.DOCKER_API_VERSION;
      this.#client = new ApiClient(resolveEndpoint(this.globals, env), { version: pinned ? pinned.replace(/^v/, '') : undefined });
    }
    return this.#client;
  }

  out(s: string): void {
    process.stdout.write(s);
  }

  err(s: string): void {
    process.stderr.write(s);
  }
}

/** A flag or argument problem: docker prints it with the usage line and exits 125. */
export function usageError(ctx: Ctx, message: string): StatusError {
  return new StatusError(`${message}\n\nUsage:  ${ctx.usage}\n\nRun '${ctx.commandPath} --help' for more information`, 125);
}

/** `invalid argument "V" for "-m, --memory" flag: REASON` (pflag's wording). */
export function flagError(ctx: Ctx, flags: string, value: string, reason: string): StatusError {
  return usageError(ctx, `invalid argument "${value}" for "${flags}" flag: ${reason}`);
}
