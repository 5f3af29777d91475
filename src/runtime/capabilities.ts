// Linux capabilities for a container's process, with Docker's rules for HostConfig.CapAdd,
// CapDrop and Privileged (moby `oci/caps`): names are accepted with or without the `CAP_` prefix
// and in any case, `ALL` adds or drops everything, and a privileged container gets every
// capability this daemon itself holds.
//
// "Every capability the daemon holds", not "every capability the kernel knows": the OCI runtime
// runs with the daemon's capabilities and cannot grant one it lacks (capset fails with EPERM).
// These machines have no CAP_SYS_RESOURCE, so `--privileged` here means 40 capabilities, and
// `--cap-add SYS_RESOURCE` is refused up front with Docker's "not available" text instead of
// failing inside runc.
import { readFile } from 'node:fs/promises';
import { invalid } from '../common/errors.ts';

/** Capability names by number (include/uapi/linux/capability.h); index = capability number. */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default set for an unprivileged container (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/**
 * What this environment offers. `available` is the daemon's effective set in kernel order
 * (containerd's `cap.Current()` reads the same line); `undefined` when it could not be read,
 * in which case every known name is assumed available (Docker's fallback).
 */
export interface CapabilityEnv {
  available?: readonly string[];
}

/** Names of the bits set in a /proc/<pid>/status capability mask (hex, as the kernel prints it). */
export function capsFromMask(hex: string): string[] {
  let mask = BigInt('0x' + hex.trim());
  const out: string[] = [];
  for (let i = 0; mask > 0n; i++, mask >>= 1n) {
    if (mask & 1n) out.push(CAPABILITY_NAMES[i] ?? `CAP_${i}`);
  }
  return out;
}

/** Reads the daemon's effective capability set from /proc/self/status. */
export async function hostCapabilities(statusPath = '/proc/self/status'): Promise<CapabilityEnv> {
  try {
    const status = await readFile(statusPath, 'utf8');
    const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
    return m ? { available: capsFromMask(m[1]) } : {};
  } catch {
    return {};
  }
}

const allOf = (env: CapabilityEnv): string[] => [...(env.available ?? CAPABILITY_NAMES)];

/**
 * Upper-cases, adds the `CAP_` prefix, and checks each name against the known list and the
 * environment, with Docker's error texts (they quote the name the way Go's %q does).
 */
export function normalizeCapabilities(caps: readonly string[], env: CapabilityEnv): string[] {
  const out: string[] = [];
  for (const raw of caps) {
    let c = raw.toUpperCase();
    if (c === 'ALL') {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = 'CAP_' + c;
    if (!CAPABILITY_NAMES.includes(c)) throw invalid(`unknown capability: ${JSON.stringify(c)}`);
    if (env.available && !env.available.includes(c)) {
      throw invalid(`capability not supported by your kernel or not available in the current environment: ${JSON.stringify(c)}`);
    }
    out.push(c);
  }
  return out;
}

/**
 * The container's final capability set, Docker's way:
 * - privileged: everything available;
 * - CapAdd contains ALL: everything available minus CapDrop;
 * - CapDrop contains ALL: exactly CapAdd;
 * - otherwise the defaults minus CapDrop, plus CapAdd.
 * Defaults the daemon lacks are left out (runc could not grant them; see the file comment).
 */
export function tweakCapabilities(
  o: { capAdd?: readonly string[] | null; capDrop?: readonly string[] | null; privileged?: boolean },
  env: CapabilityEnv,
): string[] {
  if (o.privileged) return allOf(env);
  const basics = DEFAULT_CAPABILITIES.filter((c) => !env.available || env.available.includes(c));
  const add = normalizeCapabilities(o.capAdd ?? [], env);
  const drop = normalizeCapabilities(o.capDrop ?? [], env);
  let caps: string[];
  if (add.includes('ALL')) caps = allOf(env).filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add.filter((c) => c !== 'ALL');
  else caps = [...basics.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}
