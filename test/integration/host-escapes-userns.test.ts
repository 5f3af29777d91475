// The host escapes of issue 13 replayed on a daemon with --userns-remap: the same attacks fail the
// same way when containers' root is an unprivileged host user.
import { after } from 'node:test';
import { hostEscapeTests } from './host-escapes-cases.ts';
import { makeRemapUser, type RemapUser } from './userns-util.ts';

let user: RemapUser | undefined;
after(() => user?.remove());
hostEscapeTests({ label: 'userns-remap', extraArgs: () => { user = makeRemapUser(); return ['--userns-remap', user.name]; } });
