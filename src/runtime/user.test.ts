import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEngineError } from '../common/errors.ts';
import { lookupAdditionalGroups, lookupUser, parseGroup, parsePasswd, readRootfsFile, resolveUser } from './user.ts';
import { resolveInRoot } from '../archive/confine.ts';

const invalidWith = (msg: string) => (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;

const PASSWD = parsePasswd('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken:x:abc:1\n');
const GROUP = parseGroup('root:x:0:\nwheel:x:10:root,alice\nalice:x:1000:\nstaff:x:50:alice\nnogroup:x:65534:\n');

test('passwd and group parsing', () => {
  assert.equal(PASSWD.length, 4);
  assert.deepEqual(PASSWD[2], { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' });
  assert.equal(PASSWD[3].uid, 0); // libcontainer reads a bad number as 0
  assert.deepEqual(GROUP[1], { name: 'wheel', gid: 10, members: ['root', 'alice'] });
  assert.deepEqual(GROUP[0].members, []);
});

test("Docker's user lookup rules", () => {
  const u = (s: string) => lookupUser(s, PASSWD, GROUP);
  assert.deepEqual(u(''), { uid: 0, gid: 0, sgids: [10], home: '/root' }); // default: root, with its groups
  assert.deepEqual(u('alice'), { uid: 1000, gid: 1000, sgids: [10, 50], home: '/home/alice' });
  assert.deepEqual(u('1000'), u('alice'));
  assert.deepEqual(u('alice:staff'), { uid: 1000, gid: 50, sgids: [], home: '/home/alice' }); // explicit group: no supplementary
  assert.deepEqual(u('alice:4242'), { uid: 1000, gid: 4242, sgids: [], home: '/home/alice' });
  assert.deepEqual(u('1234'), { uid: 1234, gid: 0, sgids: [], home: '/' }); // unknown uid is fine
  assert.deepEqual(u('1234:4321'), { uid: 1234, gid: 4321, sgids: [], home: '/' });
  assert.deepEqual(u('nobody:wheel'), { uid: 65534, gid: 10, sgids: [], home: '/home' });
  assert.throws(() => u('bob'), invalidWith('unable to find user bob: no matching entries in passwd file'));
  assert.throws(() => u('alice:nogrp'), invalidWith('unable to find group nogrp: no matching entries in group file'));
  assert.throws(() => u('-1'), invalidWith('uids and gids must be in range 0-2147483647'));
  assert.throws(() => u('4294967296'), invalidWith('uids and gids must be in range 0-2147483647'));
  // no /etc/passwd at all: names fail, numbers work
  assert.throws(() => lookupUser('alice', null, null), invalidWith('unable to find user alice: no matching entries in passwd file'));
  assert.deepEqual(lookupUser('7:8', null, null), { uid: 7, gid: 8, sgids: [], home: '/' });
});

test('GroupAdd: names must exist, numbers need not', () => {
  assert.deepEqual(lookupAdditionalGroups(['staff', '777', '10'], GROUP), [50, 777, 10]);
  assert.throws(() => lookupAdditionalGroups(['nope'], GROUP), invalidWith('unable to find group nope: no matching entries in group file'));
  assert.deepEqual(lookupAdditionalGroups(['5'], null), [5]);
});

test('rootfs files are read as a chroot would see them, never outside', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-user-'));
  const outside = await mkdtemp(join(tmpdir(), 'berth-outside-'));
  try {
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await writeFile(join(outside, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
    await writeFile(join(root, 'usr/lib/passwd'), 'alice:x:1000:1000::/:/bin/sh\n');
    // an absolute link restarts at the rootfs: /usr/lib/passwd of the image, not of the host
    await symlink('/usr/lib/passwd', join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, '/etc/passwd'), join(root, 'usr/lib/passwd'));
    assert.equal((await resolveUser(root, 'alice')).uid, 1000);
    // `..` stops at the rootfs, whatever the number of them
    await symlink(`../../../../../../../..${outside}/passwd`, join(root, 'etc/group'));
    assert.equal(await resolveInRoot(root, '/etc/group'), undefined); // i.e. ROOT/tmp/berth-outside-*/passwd: absent
    assert.equal(await readRootfsFile(root, '/etc/group'), null);
    await mkdir(join(root, outside), { recursive: true });
    await writeFile(join(root, outside, 'passwd'), 'inside:x:1:1::/:/bin/sh\n');
    assert.equal(await readRootfsFile(root, '/etc/group'), 'inside:x:1:1::/:/bin/sh\n');
    // a directory symlink naming a host directory names the same path inside the rootfs
    await rm(join(root, 'etc'), { recursive: true });
    await symlink(outside, join(root, 'etc'));
    assert.equal(await readRootfsFile(root, '/etc/passwd'), 'inside:x:1:1::/:/bin/sh\n');
    await assert.rejects(resolveUser(root, 'evil'), invalidWith('unable to find user evil: no matching entries in passwd file'));
    // loops end
    await rm(join(root, 'etc'));
    await symlink('/etc', join(root, 'etc'));
    await assert.rejects(resolveInRoot(root, '/etc/passwd'), (e: unknown) => isEngineError(e, 'InvalidParameter'));
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('resolveUser: primary gid first, then memberships, then GroupAdd', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-user-'));
  try {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), 'wheel:x:10:root,alice\nstaff:x:50:alice\n');
    assert.deepEqual(await resolveUser(root, 'alice', ['staff', '777']), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50, 777] });
    assert.deepEqual(await resolveUser(root, undefined), { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.deepEqual(await resolveUser(join(root, 'nonexistent'), '5:6'), { uid: 5, gid: 6, additionalGids: [6] });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
