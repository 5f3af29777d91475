// A remap user of the test's own for `berthd --userns-remap USER`: a system user with a free
// 65536-ID range in /etc/subuid and /etc/subgid, removed with its ranges afterwards. usermod
// edits those files under their locks, so tests in other files may do the same meanwhile.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { nextFreeRange } from '../../src/daemon/userns.ts';

export interface RemapUser { name: string; start: number; remove: () => void }

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

export function makeRemapUser(): RemapUser {
  const name = `bt${randomBytes(4).toString('hex')}`;
  sh('useradd', ['--system', '--no-create-home', '--shell', '/bin/false', name]);
  const read = (f: string) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  const start = Math.max(nextFreeRange(read('/etc/subuid')), nextFreeRange(read('/etc/subgid')));
  const range = `${start}-${start + 65535}`;
  try {
    for (const f of ['/etc/subuid', '/etc/subgid']) spawnSync('touch', [f]);
    sh('usermod', ['--add-subuids', range, '--add-subgids', range, name]);
  } catch (e) {
    spawnSync('userdel', [name]);
    throw e;
  }
  return {
    name, start,
    remove: () => {
      spawnSync('usermod', ['--del-subuids', range, '--del-subgids', range, name]);
      spawnSync('userdel', [name]);
    },
  };
}
