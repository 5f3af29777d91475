// What dockerd makes of a runtime's refusal to start a process (translateContainerdStartErr in
// moby's daemon): the exit code it records and the hint it adds to the message. A leaf module:
// container starts and exec starts both use it.

/**
 * A container's exit code for a start that failed: 127 for a command that is not there, 126 for
 * one that cannot be invoked (permission denied), 127 again for "not a directory" (checked last
 * by dockerd, so it wins), else 128. An exec's start failure is always 126 (dockerd's exec start
 * sets that whatever the error), so exec does not use this.
 */
export function exitCodeForStartError(msg: string): number {
  let code = 128;
  if (/executable file not found|no such file or directory/i.test(msg)) code = 127;
  if (/permission denied/i.test(msg)) code = 126;
  if (/not a directory/i.test(msg)) code = 127;
  return code;
}

/** The hint dockerd adds after a start error that says "not a directory" (empty otherwise). */
export function startErrorHint(msg: string): string {
  return /not a directory/i.test(msg)
    ? ': Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type'
    : '';
}
