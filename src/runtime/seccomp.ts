// Seccomp: berth's own default profile (seccomp-profile.json, shipped inside the bundle) and
// user profiles given as `--security-opt seccomp=...`, both turned into the OCI `linux.seccomp`
// section for one container.
//
// Profiles use the OCI runtime-spec LinuxSeccomp fields plus the three extensions Docker's
// profile format has (so any Docker profile file loads unchanged): `archMap` (the host's native
// architecture → the architectures to list), and per rule `includes`/`excludes` conditions on
// `caps` (the container's *final* capability set: `--cap-add SYS_ADMIN` must unlock `mount`),
// `arches` (the host's) and `minKernel`. Conditions are evaluated here, once per container,
// and stripped: the runtime only ever sees plain OCI rules.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { arch as osArch, endianness, release } from 'node:os';
import { invalid } from '../common/errors.ts';
import defaultProfileJson from './seccomp-profile.json' with { type: 'json' };

export interface SeccompArg { index: number; value: number; valueTwo?: number; op: string }

export interface SeccompFilter { caps?: string[]; arches?: string[]; minKernel?: string }

/** One rule of a (Docker-format) profile. `name` is the legacy single-name form. */
export interface SeccompRule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

export interface SeccompProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
  comment?: string;
}

/** The OCI runtime-spec `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export interface OciSyscall { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }

/** What a profile's conditions are evaluated against. */
export interface SeccompContext {
  /** The container's final (bounding) capability set. */
  capabilities: readonly string[];
  /** Native architecture in libseccomp/Go naming (`amd64`, `arm64`, ...); default: this host. */
  arch?: string;
  /** Kernel release (`uname -r`); default: this host. */
  kernel?: string;
}

/** The built-in profile (a fresh copy: callers may not alter the shipped one). */
export function defaultSeccompProfile(): SeccompProfile {
  return structuredClone(defaultProfileJson) as unknown as SeccompProfile;
}

/** Node's process.arch → the native names profiles use in `includes.arches` (Go's GOARCH via libseccomp). */
export function nativeArch(nodeArch: string = osArch()): string {
  switch (nodeArch) {
    case 'x64': return 'amd64';
    case 'ia32': return 'x86';
    case 'ppc64': return endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    case 'loong64': return 'loongarch64';
    case 'mips64el': return 'mipsel64';
    default: return nodeArch; // arm, arm64, s390, s390x, riscv64, ppc, mips, mipsel
  }
}

const SCMP_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64', mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64', mipsel64n32: 'SCMP_ARCH_MIPSEL64N32', mipsel: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

/** `"<kernel>.<major>"` → numbers, with Docker's error text for anything else. */
function parseMinKernel(v: string): [number, number] {
  const bad = (why = '') => invalid(`invalid kernel version: ${JSON.stringify(v)}, expected "<kernel>.<major>"${why}`);
  const parts = v.split('.');
  if (parts.length !== 2 || !parts.every((p) => /^\d{1,3}$/.test(p))) throw bad();
  const k = [Number(parts[0]), Number(parts[1])] as [number, number];
  if (k[0] > 255 || k[1] > 255) throw bad();
  if (k[0] === 0 && k[1] === 0) throw bad(': version cannot be 0.0');
  return k;
}

/** Is the running kernel at least `min`? Minor revisions and distro suffixes are ignored. */
export function kernelAtLeast(min: string, kernelRelease: string = release()): boolean {
  const [wantK, wantM] = parseMinKernel(min);
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const k = Number(m[1]);
  const maj = Number(m[2]);
  return k > wantK || (k === wantK && maj >= wantM);
}

/** Parses a profile's JSON text (Docker's format); a syntax error is the user's (400). */
export function parseSeccompProfile(text: string): SeccompProfile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw invalid('Decoding seccomp profile failed: the profile must be a JSON object');
  }
  const p = v as SeccompProfile;
  if (p.syscalls != null && !Array.isArray(p.syscalls)) throw invalid('Decoding seccomp profile failed: "syscalls" must be an array');
  for (const r of p.syscalls ?? []) {
    if (r === null || typeof r !== 'object' || typeof r.action !== 'string') {
      throw invalid('Decoding seccomp profile failed: every syscall rule needs an "action"');
    }
  }
  return p;
}

/**
 * Evaluates a profile for one container: picks the architectures for this host from `archMap`,
 * keeps the rules whose conditions hold, and returns plain OCI. `undefined` means "no filter"
 * (a profile with neither a default action nor rules, as Docker treats it).
 */
export function resolveSeccompProfile(profile: SeccompProfile, ctx: SeccompContext): OciSeccomp | undefined {
  const syscalls = profile.syscalls ?? [];
  if (!profile.defaultAction && syscalls.length === 0) return undefined;
  if (!profile.defaultAction) throw invalid('Decoding seccomp profile failed: defaultAction is required');
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const arch = ctx.arch ?? nativeArch();
  const kernel = ctx.kernel ?? release();
  const caps = new Set(ctx.capabilities);

  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  let arches = profile.architectures?.length ? [...profile.architectures] : [];
  const native = SCMP_ARCH[arch];
  const entry = native ? profile.archMap?.find((a) => a.architecture === native) : undefined;
  if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])];
  if (arches.length) out.architectures = arches;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const rules: OciSyscall[] = [];
  for (const r of syscalls) {
    if (r.name && r.names?.length) {
      throw invalid("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    }
    const names = r.name ? [r.name] : r.names ?? [];
    const ex = r.excludes;
    if (ex) {
      if (ex.arches?.includes(arch)) continue;
      if (ex.caps?.some((c) => caps.has(c))) continue;
      if (ex.minKernel && kernelAtLeast(ex.minKernel, kernel)) continue;
    }
    const inc = r.includes;
    if (inc) {
      if (inc.arches?.length && !inc.arches.includes(arch)) continue;
      if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
      if (inc.minKernel && !kernelAtLeast(inc.minKernel, kernel)) continue;
    }
    const rule: OciSyscall = { names: [...names], action: r.action };
    if (r.errnoRet !== undefined) rule.errnoRet = r.errnoRet;
    if (r.args?.length) rule.args = r.args.map((a) => ({ ...a }));
    rules.push(rule);
  }
  if (rules.length) out.syscalls = rules;
  return out;
}

/**
 * The profile a `seccomp=<value>` security option names. Over the Engine API the docker CLI
 * sends the file's *content* (it reads the file client-side), so a value that looks like JSON is
 * the profile itself; otherwise it is an absolute path on the daemon's host. `unconfined` turns
 * seccomp off; `builtin` (and the empty value) mean the default profile.
 */
export async function loadSeccompOption(value: string): Promise<SeccompProfile | 'unconfined'> {
  const v = value.trim();
  if (v === 'unconfined') return 'unconfined';
  if (v === '' || v === 'builtin') return defaultSeccompProfile();
  if (v.startsWith('{')) return parseSeccompProfile(v);
  if (!isAbsolute(v)) throw invalid(`opening seccomp profile (${v}) failed: the path must be absolute`);
  let text: string;
  try {
    text = await readFile(v, 'utf8');
  } catch (e) {
    // Go's wording, as the docker CLI prints it when it reads the file itself
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw invalid(`opening seccomp profile (${v}) failed: open ${v}: ${why}`);
  }
  return parseSeccompProfile(text);
}
