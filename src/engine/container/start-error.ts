// The exit code Docker gives a process that could not be started, from the runtime's error
// text (as the docker CLI maps the same texts): 127 not found, 126 cannot invoke, else 128.
// A leaf module: container starts and exec starts both use it.
export function exitCodeForStartError(msg: string): number {
  if (/executable file not found|no such file or directory/i.test(msg)) return 127;
  if (/permission denied|not a directory|exec format error/i.test(msg)) return 126;
  return 128;
}
