import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEngineError } from '../common/errors.ts';
import { DEFAULT_CAPABILITIES } from './capabilities.ts';
import {
  defaultSeccompProfile, kernelAtLeast, loadSeccompOption, nativeArch, parseSeccompProfile, resolveSeccompProfile,
  type OciSeccomp, type SeccompProfile,
} from './seccomp.ts';

const invalidWith = (msg: string | RegExp) => (e: unknown) =>
  isEngineError(e, 'InvalidParameter') && (typeof msg === 'string' ? (e as Error).message === msg : msg.test((e as Error).message));

const HOST = { arch: 'amd64', kernel: '6.1.0-13-amd64' };
const allowed = (s: OciSeccomp, name: string) =>
  (s.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && !r.args);

test('the default profile for a default container on amd64', () => {
  const s = resolveSeccompProfile(defaultSeccompProfile(), { capabilities: DEFAULT_CAPABILITIES, ...HOST })!;
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const n of ['read', 'write', 'execve', 'arch_prctl', 'modify_ldt', 'ptrace', 'chroot']) assert.ok(allowed(s, n), n);
  for (const n of ['mount', 'unshare', 'setns', 'reboot', 'init_module', 'bpf', 'syslog', 'open_by_handle_at', 'riscv_flush_icache', 'breakpoint']) {
    assert.ok(!allowed(s, n), n);
  }
  // clone only without namespace flags; clone3 answers ENOSYS so libc falls back to clone
  const clone = s.syscalls!.find((r) => r.names.includes('clone'))!;
  assert.deepEqual(clone.args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
  const clone3 = s.syscalls!.find((r) => r.names.includes('clone3'))!;
  assert.equal(clone3.action, 'SCMP_ACT_ERRNO');
  assert.equal(clone3.errnoRet, 38);
  // nothing of the extensions reaches the runtime
  const text = JSON.stringify(s);
  for (const k of ['includes', 'excludes', 'archMap', 'comment', 'minKernel']) assert.ok(!text.includes(`"${k}"`), k);
});

test('conditions follow the final capability set, kernel and architecture', () => {
  const admin = resolveSeccompProfile(defaultSeccompProfile(), { capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], ...HOST })!;
  for (const n of ['mount', 'unshare', 'setns', 'clone', 'clone3']) assert.ok(allowed(admin, n), n);
  assert.ok(!admin.syscalls!.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
  const noChroot = resolveSeccompProfile(defaultSeccompProfile(), { capabilities: DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT'), ...HOST })!;
  assert.ok(!allowed(noChroot, 'chroot'));
  const oldKernel = resolveSeccompProfile(defaultSeccompProfile(), { capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '4.4.0' })!;
  assert.ok(!allowed(oldKernel, 'ptrace'));
  const arm = resolveSeccompProfile(defaultSeccompProfile(), { capabilities: DEFAULT_CAPABILITIES, arch: 'arm64', kernel: '6.1' })!;
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(allowed(arm, 'breakpoint') && !allowed(arm, 'arch_prctl'));
});

test('kernel versions compare on kernel.major only', () => {
  assert.equal(kernelAtLeast('4.8', '4.8.0-rc1'), true);
  assert.equal(kernelAtLeast('4.8', '4.7.99'), false);
  assert.equal(kernelAtLeast('4.8', '6.18.44-fc-v669'), true);
  assert.equal(kernelAtLeast('5.10', '5.9'), false);
  assert.throws(() => kernelAtLeast('4', '5.0'), invalidWith(/invalid kernel version/));
  assert.throws(() => kernelAtLeast('0.0', '5.0'), invalidWith(/version cannot be 0.0/));
});

test('node architectures map to the names profiles use', () => {
  assert.equal(nativeArch('x64'), 'amd64');
  assert.equal(nativeArch('arm64'), 'arm64');
  assert.equal(nativeArch('ia32'), 'x86');
  assert.equal(nativeArch('s390x'), 's390x');
});

test('Docker-format profiles: legacy name, architectures, errors', () => {
  const p: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO', args: null }, { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, excludes: { caps: ['CAP_FOWNER'] } }],
  };
  const s = resolveSeccompProfile(p, { capabilities: [], ...HOST })!;
  assert.deepEqual(s, {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  });
  assert.equal(resolveSeccompProfile(p, { capabilities: ['CAP_FOWNER'], ...HOST })!.syscalls!.length, 1);
  assert.equal(resolveSeccompProfile({}, { capabilities: [], ...HOST }), undefined);
  assert.throws(
    () => resolveSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ERRNO' }] }, { capabilities: [] }),
    invalidWith("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'"),
  );
  assert.throws(
    () => resolveSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, { capabilities: [] }),
    invalidWith("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'"),
  );
  assert.throws(() => parseSeccompProfile('{bad'), invalidWith(/^Decoding seccomp profile failed: /));
  assert.throws(() => parseSeccompProfile('[]'), invalidWith(/^Decoding seccomp profile failed: /));
});

test('security option values: unconfined, builtin, inline JSON, host path', async () => {
  assert.equal(await loadSeccompOption('unconfined'), 'unconfined');
  assert.deepEqual(await loadSeccompOption('builtin'), defaultSeccompProfile());
  assert.equal(((await loadSeccompOption('{"defaultAction":"SCMP_ACT_LOG"}')) as SeccompProfile).defaultAction, 'SCMP_ACT_LOG');
  const dir = await mkdtemp(join(tmpdir(), 'berth-seccomp-'));
  try {
    const f = join(dir, 'p.json');
    await writeFile(f, '{"defaultAction":"SCMP_ACT_KILL","syscalls":[]}');
    assert.equal(((await loadSeccompOption(f)) as SeccompProfile).defaultAction, 'SCMP_ACT_KILL');
    await assert.rejects(loadSeccompOption(join(dir, 'missing.json')), invalidWith(`opening seccomp profile (${join(dir, 'missing.json')}) failed: open ${join(dir, 'missing.json')}: no such file or directory`));
    await assert.rejects(loadSeccompOption('relative.json'), invalidWith(/must be absolute/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the shipped profile holds the facts of Docker's default profile", async (t) => {
  // Reference data, present in the project's shared checkout (never read at run time).
  const ref = await readFile(join(process.cwd(), '../shared/spec/seccomp-default.json'), 'utf8').catch(() => undefined);
  if (!ref) return t.skip('shared/spec/seccomp-default.json not present');
  const docker = JSON.parse(ref) as SeccompProfile;
  const ours = defaultSeccompProfile();
  assert.equal(ours.defaultAction, docker.defaultAction);
  assert.equal(ours.defaultErrnoRet, docker.defaultErrnoRet);
  for (const caps of [DEFAULT_CAPABILITIES, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], []]) {
    for (const host of [HOST, { arch: 'arm64', kernel: '4.4' }, { arch: 's390x', kernel: '5.4' }]) {
      const norm = (s: OciSeccomp | undefined) => JSON.stringify(s!.syscalls!.map((r) => ({ ...r, names: [...r.names].sort() })));
      assert.equal(norm(resolveSeccompProfile(ours, { capabilities: caps, ...host })), norm(resolveSeccompProfile(docker, { capabilities: caps, ...host })));
      assert.deepEqual(resolveSeccompProfile(ours, { capabilities: caps, ...host })!.architectures, resolveSeccompProfile(docker, { capabilities: caps, ...host })!.architectures);
    }
  }
});
