import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePs } from './top.ts';

test('parsePs: the PID column from the header, the command keeps its spaces, other pids left out', () => {
  const out = 'UID          PID    PPID  C STIME TTY          TIME CMD\nroot         1       0  0 10:00 ?        00:00:01 /sbin/init splash\nroot      4242    4200  0 10:01 ?        00:00:00 sleep 60\n';
  assert.deepEqual(parsePs(out, new Set([4242])), {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: [['root', '4242', '4200', '0', '10:01', '?', '00:00:00', 'sleep 60']],
  });
  assert.throws(() => parsePs('USER COMMAND\nroot sh\n', new Set([1])), /Couldn't find PID field in ps output/);
});
