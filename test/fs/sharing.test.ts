// Several file systems on one export: different identities meet the server's permissions, the same identity on two
// "hosts" sees the other's files after close (close-to-open), and open() asks ACCESS where ganesha would not refuse.
import t from 'tap';
import { chmodSync, chownSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { StableHow } from '../../src/nfs/nfs3-types.ts';
import type { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { listAll, makeFs, rejectsWithErrno } from '../helpers/fs-fixture.ts';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC } = constants;
const { server, exp } = await startNfsFixture(t);
const TEAM = 20000;
const alice = cred(10001, 10001, [TEAM]);
const bob = cred(10002, 10002, [TEAM]);
const carol = cred(10003, 10003);
// One connection carries all three identities.
const [asAlice, asBob, asCarol] = [alice, bob, carol].map((c) => makeFs(exp, c));

async function put(fs: NfsFileSystem, path: string, content: string, flags = O_WRONLY | O_CREAT | O_TRUNC): Promise<void> {
  const fd = await fs.create(path, 0o664, flags);
  await fs.write(fd, Buffer.from(content), 0);
  await fs.release(fd);
}

async function get(fs: NfsFileSystem, path: string): Promise<string> {
  const fd = await fs.open(path, O_RDONLY);
  const buffer = Buffer.alloc(4096);
  const n = await fs.read(fd, buffer, 0);
  await fs.release(fd);
  return buffer.subarray(0, n).toString();
}

t.test('a 0700 directory of one identity is refused to another', async (t) => {
  await asAlice.mkdir('/private', 0o700);
  await put(asAlice, '/private/secret', 'mine');
  await rejectsWithErrno(t, asBob.getattr('/private/secret'), Errno.EACCES, 'lookup inside');
  await rejectsWithErrno(t, listAll(asBob, '/private'), Errno.EACCES, 'listing');
  await rejectsWithErrno(t, asBob.create('/private/intruder', 0o644), Errno.EACCES, 'creating inside');
  t.equal(await get(asAlice, '/private/secret'), 'mine', 'the owner still reads it');
});

t.test('a directory shared through a supplementary group is writable by both members, not by others', async (t) => {
  const shared = join(server.dir, 'team');
  mkdirSync(shared);
  chownSync(shared, 0, TEAM);
  chmodSync(shared, 0o2770);
  await put(asAlice, '/team/notes', 'from alice\n');
  await put(asBob, '/team/todo', 'from bob\n');
  const fd = await asBob.open('/team/notes', O_WRONLY | constants.O_APPEND);
  await asBob.write(fd, Buffer.from('and bob\n'), 0);
  await asBob.release(fd);
  t.equal(readFileSync(join(shared, 'notes'), 'utf8'), 'from alice\nand bob\n', "bob appended to alice's file through the group");
  t.match(statSync(join(shared, 'notes')), { uid: 10001, gid: TEAM });
  t.match(statSync(join(shared, 'todo')), { uid: 10002, gid: TEAM });
  await rejectsWithErrno(t, asCarol.create('/team/x', 0o644), Errno.EACCES, 'carol is not in the group');
});

t.test('two file systems of the same identity see each other after close (close-to-open)', async (t) => {
  const hostA = makeFs(exp, alice);
  const hostB = makeFs(exp, alice);
  await hostA.mkdir('/c2o', 0o755);
  await put(hostA, '/c2o/file', 'first version');
  t.equal(await get(hostB, '/c2o/file'), 'first version');
  await put(hostA, '/c2o/file', 'v2');
  t.equal(await get(hostB, '/c2o/file'), 'v2', 'a shorter overwrite is seen whole, not padded with the old size');
  t.equal((await hostB.getattr('/c2o/file')).size, 2, 'the open refreshed the cached attributes');
  await put(hostA, '/c2o/file', 'a third, longer version');
  t.equal(await get(hostB, '/c2o/file'), 'a third, longer version', 'and a longer one');

  await put(hostA, '/c2o/file.tmp', 'replaced by rename');
  await hostA.rename('/c2o/file.tmp', '/c2o/file');
  t.equal(await get(hostB, '/c2o/file'), 'replaced by rename', 'a file replaced by rename is found by the next open');

  const reader = await hostB.open('/c2o/file', O_RDONLY);
  const buffer = Buffer.alloc(100);
  t.equal(buffer.subarray(0, await hostB.read(reader, buffer, 0)).toString(), 'replaced by rename');
  await put(hostA, '/c2o/file', 'written while open elsewhere');
  const again = await hostB.open('/c2o/file', O_RDONLY);
  const n = await hostB.read(reader, buffer, 0);
  t.equal(
    buffer.subarray(0, n).toString(),
    'written while open elsewhere',
    'an open fd drops its cached data when a new open sees the change',
  );
  await hostB.release(again);
  await hostB.release(reader);
});

t.test('open asks ACCESS: a 0400 file of the identity is refused for writing, though ganesha would WRITE', async (t) => {
  await put(asAlice, '/readonly', 'keep me');
  await asAlice.chmod('/readonly', 0o400);
  await rejectsWithErrno(t, asAlice.open('/readonly', O_WRONLY), Errno.EACCES, 'O_WRONLY');
  await rejectsWithErrno(t, asAlice.open('/readonly', O_RDWR), Errno.EACCES, 'O_RDWR');
  await rejectsWithErrno(t, asAlice.open('/readonly', O_RDONLY | O_TRUNC), Errno.EACCES, 'O_TRUNC');
  t.equal(await get(asAlice, '/readonly'), 'keep me', 'reading is allowed');
  const { handle } = await exp.client.lookup(alice, exp.rootHandle, 'readonly');
  const raw = await exp.client.write(alice, handle, 7n, Buffer.from('!'), StableHow.FILE_SYNC);
  t.equal(raw.count, 1, 'a bare WRITE from the owner goes through: only the ACCESS check at open stops it');
  await rejectsWithErrno(t, asBob.open('/readonly', O_RDONLY), Errno.EACCES, 'another identity may not even read it');
});
