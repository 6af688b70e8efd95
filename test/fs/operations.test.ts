// Every file-system operation through the fs API (no FUSE), checked on the backing directory of a real ganesha:
// owners are the mapped identity, modes lose setuid/setgid, times and contents are what was asked.
import t from 'tap';
import {
  constants,
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  statfsSync,
  writeFileSync,
  chmodSync,
  chownSync,
} from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { EBADF } from '../../src/fs/fs-error.ts';
import type { Timespec } from '../../src/fs/file-stat.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { backingDir, listAll, makeFs, rejectsWithErrno } from '../helpers/fs-fixture.ts';

const {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  S_IFMT,
  S_IFREG,
  S_IFDIR,
  S_IFLNK,
  S_IFIFO,
  S_IFSOCK,
  S_IFBLK,
  S_IFCHR,
} = constants;
const { server, exp } = await startNfsFixture(t);
const alice = cred(10001, 10001, [20000]);
const fs = makeFs(exp, alice);
backingDir(server.dir, 'alice', alice);
const onServer = (path: string) => join(server.dir, path);
const ns = (time: Timespec) => BigInt(time.seconds) * 1_000_000_000n + BigInt(time.nseconds);

async function writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const fd = await fs.create(path, mode, O_WRONLY | O_CREAT | O_TRUNC);
  await fs.write(fd, Buffer.from(content), 0);
  await fs.release(fd);
}

async function readAll(path: string): Promise<Buffer> {
  const fd = await fs.open(path, O_RDONLY);
  const buffer = Buffer.alloc(1024 * 1024);
  const n = await fs.read(fd, buffer, 0);
  await fs.release(fd);
  return buffer.subarray(0, n);
}

t.test('a file system for uid 0 is refused', async (t) => {
  t.throws(() => makeFs(exp, cred(0, 0)), /never acts as uid 0/);
});

t.test('create, write, read, getattr: owned by the identity on the server', async (t) => {
  const fd = await fs.create('/alice/f', 0o640, O_RDWR | O_CREAT);
  t.equal(await fs.write(fd, Buffer.from('hello'), 0), 5);
  t.equal(statSync(onServer('alice/f')).size, 0, 'a small write is held back until flush');
  t.equal((await fs.getattr('/alice/f')).size, 5, 'getattr counts the pending write');
  t.equal((await fs.getattr('/alice/f', fd)).size, 5, 'so does getattr by fd');
  const buffer = Buffer.alloc(10);
  t.equal(await fs.read(fd, buffer, 0), 5, 'a read sees the pending write');
  t.equal(buffer.subarray(0, 5).toString(), 'hello');
  await fs.release(fd);

  const backing = statSync(onServer('alice/f'), { bigint: true });
  t.equal(readFileSync(onServer('alice/f'), 'utf8'), 'hello');
  t.equal(backing.uid, 10001n, 'owner on the server: the identity');
  t.equal(backing.gid, 10001n);
  t.equal(backing.mode & 0o7777n, 0o640n);

  const stat = await fs.getattr('/alice/f');
  t.equal(stat.mode, S_IFREG | 0o640, 'mode with the file type bits');
  t.match(stat, { nlink: 1, uid: 10001, gid: 10001, size: 5, ino: Number(backing.ino) });
  t.equal(ns(stat.mtime), backing.mtimeNs, 'mtime to the nanosecond');
  t.equal(ns(stat.ctime), backing.ctimeNs);
  t.equal(stat.blocks, Number(backing.blocks));
  t.equal((await fs.getattr('/alice')).mode, S_IFDIR | 0o755);
});

t.test('O_EXCL, O_TRUNC, O_APPEND', async (t) => {
  await writeFile('/alice/flags', 'hello', 0o600);
  await rejectsWithErrno(
    t,
    fs.create('/alice/flags', 0o644, O_WRONLY | O_CREAT | O_EXCL),
    Errno.EEXIST,
    'O_CREAT|O_EXCL on an existing name',
  );
  const again = await fs.create('/alice/flags', 0o644, O_RDWR | O_CREAT);
  await fs.release(again);
  t.equal(readFileSync(onServer('alice/flags'), 'utf8'), 'hello', 'O_CREAT without O_EXCL opens the existing file');
  t.equal(statSync(onServer('alice/flags')).mode & 0o777, 0o600, 'and keeps its mode');

  const append = await fs.open('/alice/flags', O_WRONLY | O_APPEND);
  await fs.write(append, Buffer.from('abc'), 0);
  await fs.write(append, Buffer.from('def'), 0);
  await fs.release(append);
  t.equal(readFileSync(onServer('alice/flags'), 'utf8'), 'helloabcdef', 'O_APPEND writes at the end, whatever the position');

  const trunc = await fs.open('/alice/flags', O_WRONLY | O_TRUNC);
  t.equal(statSync(onServer('alice/flags')).size, 0, 'O_TRUNC truncated on the server at open');
  await fs.write(trunc, Buffer.from('xy'), 0);
  await fs.release(trunc);
  t.equal(readFileSync(onServer('alice/flags'), 'utf8'), 'xy');
});

t.test('errors: missing paths, directories, bad fds', async (t) => {
  await rejectsWithErrno(t, fs.getattr('/alice/missing'), Errno.ENOENT, 'getattr of a missing name');
  await rejectsWithErrno(t, fs.open('/alice/missing/deeper', O_RDONLY), Errno.ENOENT, 'open below a missing name');
  await rejectsWithErrno(t, fs.open('/alice', O_WRONLY), Errno.EISDIR, 'open a directory for writing');
  await rejectsWithErrno(t, fs.read(9999, Buffer.alloc(1), 0), EBADF, 'read of an fd never opened');
  await writeFile('/alice/ro', 'x');
  const fd = await fs.open('/alice/ro', O_RDONLY);
  await rejectsWithErrno(t, fs.write(fd, Buffer.from('y'), 0), EBADF, 'write to an O_RDONLY fd');
  await fs.release(fd);
  await rejectsWithErrno(t, fs.release(fd), EBADF, 'release twice');
  t.equal(fs.openFiles, 0, 'no fd left open');
});

t.test('mkdir, chmod: setuid and setgid of files are stripped, sticky kept', async (t) => {
  await fs.mkdir('/alice/d', 0o2750);
  t.equal(statSync(onServer('alice/d')).mode & 0o7777, 0o750, 'the server takes no setgid from MKDIR (as Linux mkdir(2))');
  t.equal(statSync(onServer('alice/d')).uid, 10001);
  await fs.mkdir('/alice/tmp', 0o1777);
  t.equal(statSync(onServer('alice/tmp')).mode & 0o7777, 0o1777, 'mkdir keeps the sticky bit');
  await writeFile('/alice/prog', '#!/bin/sh\n');
  await fs.chmod('/alice/prog', 0o4755);
  t.equal(statSync(onServer('alice/prog')).mode & 0o7777, 0o755, 'chmod u+s is stripped');
  await fs.chmod('/alice/prog', 0o2711);
  t.equal(statSync(onServer('alice/prog')).mode & 0o7777, 0o711, 'chmod g+s is stripped');
  await fs.chmod('/alice/d', 0o1770);
  t.equal(statSync(onServer('alice/d')).mode & 0o7777, 0o1770, 'chmod of a directory keeps the sticky bit');
  t.equal((await fs.getattr('/alice/d')).mode, S_IFDIR | 0o1770, 'and getattr shows it (the cache follows SETATTR)');
  const created = await fs.create('/alice/setuid', 0o6755, O_WRONLY | O_CREAT);
  await fs.release(created);
  t.equal(statSync(onServer('alice/setuid')).mode & 0o7777, 0o755, 'create drops setuid and setgid');
});

t.test("a stat of an open file's path answers after search permission above it is taken away (fstat through FUSE)", async (t) => {
  // No cached names: the answer cannot come from the path cache.
  const uncached = makeFs(exp, alice, { entryTimeoutMs: 0 });
  await uncached.mkdir('/alice/shut', 0o755);
  const fd = await uncached.create('/alice/shut/open', 0o644, O_RDWR | O_CREAT);
  await uncached.write(fd, Buffer.from('abc'), 0);
  await uncached.rename('/alice/shut', '/alice/closed');
  await uncached.chmod('/alice/closed', 0o644);
  t.equal((await uncached.getattr('/alice/closed/open')).size, 3, 'its path, moved by the rename, still answers');
  await uncached.release(fd);
  await rejectsWithErrno(t, uncached.getattr('/alice/closed/open'), Errno.EACCES, 'closed, the path is refused');
  await uncached.chmod('/alice/closed', 0o755);
});

t.test('readdir lists names with attributes', async (t) => {
  await fs.mkdir('/alice/list', 0o755);
  await writeFile('/alice/list/a', 'aaa');
  await fs.mkdir('/alice/list/sub', 0o700);
  await fs.symlink('a', '/alice/list/ln');
  const entries = await listAll(fs, '/alice/list');
  const byName = new Map(entries.map((e) => [e.name, e]));
  t.same([...byName.keys()].sort(), ['.', '..', 'a', 'ln', 'sub']);
  t.equal(byName.get('a')?.stat?.mode, S_IFREG | 0o644);
  t.equal(byName.get('a')?.stat?.size, 3);
  t.equal(byName.get('sub')?.stat?.mode, S_IFDIR | 0o700);
  t.equal((byName.get('ln')?.stat?.mode ?? 0) & S_IFMT, S_IFLNK);
  t.equal(byName.get('a')?.stat?.uid, 10001);
});

t.test('a listing goes on past pages that hold only the hidden names of files unlinked while open', async (t) => {
  // READDIRPLUS pages hold a few hundred entries: among 20,000 hidden names, many pages hold no other name, and an
  // empty answer for such a page would end the listing before the names after it.
  const dir = backingDir(server.dir, 'hidden-pages', alice);
  const visible = Array.from({ length: 50 }, (_, i) => `visible-${i}`);
  for (let i = 0; i < 20_000; i++) writeFileSync(join(dir, `.kidfs-unlinked-${i}`), '');
  for (const name of visible) writeFileSync(join(dir, name), '');
  const names = (await listAll(fs, '/hidden-pages')).map((e) => e.name);
  t.same(names.sort(), ['.', '..', ...visible].sort(), 'every other name is listed, no hidden one');
});

t.test('rename over a target, across directories, and of a cached directory', async (t) => {
  await fs.mkdir('/alice/r1', 0o755);
  await fs.mkdir('/alice/r2', 0o755);
  await writeFile('/alice/r1/src', 'new content');
  await writeFile('/alice/r2/dst', 'old');
  t.equal((await fs.getattr('/alice/r2/dst')).size, 3, 'target cached');
  await fs.rename('/alice/r1/src', '/alice/r2/dst');
  t.notOk(existsSync(onServer('alice/r1/src')));
  t.equal(readFileSync(onServer('alice/r2/dst'), 'utf8'), 'new content', 'across directories, over an existing target');
  t.equal((await fs.getattr('/alice/r2/dst')).size, 11, 'the target path shows the renamed file');
  await rejectsWithErrno(t, fs.getattr('/alice/r1/src'), Errno.ENOENT, 'the old name is gone');

  await fs.mkdir('/alice/r1/deep', 0o755);
  await writeFile('/alice/r1/deep/x', 'x');
  t.equal((await fs.getattr('/alice/r1/deep/x')).size, 1, 'a path below the directory is cached');
  await fs.rename('/alice/r1', '/alice/r3');
  await rejectsWithErrno(t, fs.getattr('/alice/r1/deep/x'), Errno.ENOENT, 'everything below the renamed directory is forgotten');
  t.equal((await readAll('/alice/r3/deep/x')).toString(), 'x', 'and found under the new name');
});

t.test('unlink and rmdir', async (t) => {
  await fs.mkdir('/alice/rm', 0o755);
  await writeFile('/alice/rm/f', 'x');
  await rejectsWithErrno(t, fs.rmdir('/alice/rm'), Errno.ENOTEMPTY, 'rmdir of a non-empty directory');
  await rejectsWithErrno(t, fs.unlink('/alice/rm'), Errno.EISDIR, 'unlink of a directory');
  await fs.unlink('/alice/rm/f');
  t.notOk(existsSync(onServer('alice/rm/f')));
  await rejectsWithErrno(t, fs.getattr('/alice/rm/f'), Errno.ENOENT, 'the unlinked name is gone');
  await fs.rmdir('/alice/rm');
  t.notOk(existsSync(onServer('alice/rm')));
  await rejectsWithErrno(t, fs.getattr('/alice/rm'), Errno.ENOENT, 'the removed directory is gone');
});

t.test('unlink of an open file: the fd keeps working, the data goes at the last close', async (t) => {
  await fs.mkdir('/alice/open', 0o755);
  await writeFile('/alice/open/tmp', 'still here');
  const fd = await fs.open('/alice/open/tmp', O_RDWR);
  await fs.unlink('/alice/open/tmp');
  await rejectsWithErrno(t, fs.getattr('/alice/open/tmp'), Errno.ENOENT, 'the name is gone at once');
  await fs.write(fd, Buffer.from('STILL'), 0);
  await fs.flush(fd);
  const buffer = Buffer.alloc(20);
  const n = await fs.read(fd, buffer, 0);
  t.equal(buffer.subarray(0, n).toString(), 'STILL here', 'reads and writes through the fd go on');
  t.equal(readdirSync(onServer('alice/open')).length, 1, 'meanwhile the file lives under a hidden name');
  await fs.release(fd);
  t.same(readdirSync(onServer('alice/open')), [], 'the last close removed it');
});

t.test('link, symlink, readlink', async (t) => {
  await writeFile('/alice/orig', 'linked');
  await fs.link('/alice/orig', '/alice/hard');
  t.equal(statSync(onServer('alice/orig')).nlink, 2);
  t.equal(statSync(onServer('alice/hard')).ino, statSync(onServer('alice/orig')).ino);
  t.equal((await fs.getattr('/alice/hard')).nlink, 2);
  t.equal((await fs.getattr('/alice/orig')).nlink, 2, 'the cached attributes of the original follow the link');

  await fs.symlink('../somewhere/else', '/alice/sym');
  t.equal(readlinkSync(onServer('alice/sym')), '../somewhere/else');
  t.equal(lstatSync(onServer('alice/sym')).uid, 10001);
  t.equal(await fs.readlink('/alice/sym'), '../somewhere/else');
  t.equal((await fs.getattr('/alice/sym')).mode & S_IFMT, S_IFLNK);
});

t.test('utimens: atime and mtime each omitted, now, or given to the nanosecond', async (t) => {
  await writeFile('/alice/times', 'x');
  const atime = { seconds: 1_000_000_000, nseconds: 123_456_789 };
  const mtime = { seconds: 1_100_000_000, nseconds: 987_654_321 };
  await fs.utimens('/alice/times', atime, mtime);
  let backing = statSync(onServer('alice/times'), { bigint: true });
  t.equal(backing.atimeNs, ns(atime));
  t.equal(backing.mtimeNs, ns(mtime));

  const later = { seconds: 1_200_000_000, nseconds: 5 };
  await fs.utimens('/alice/times', 'omit', later);
  backing = statSync(onServer('alice/times'), { bigint: true });
  t.equal(backing.atimeNs, ns(atime), 'omit leaves atime');
  t.equal(backing.mtimeNs, ns(later), 'mtime set alone (touch -m)');

  await fs.utimens('/alice/times', 'now', 'omit');
  backing = statSync(onServer('alice/times'), { bigint: true });
  t.ok(Math.abs(Number(backing.atimeNs / 1_000_000n) - Date.now()) < 5000, "'now' is the server's clock (touch -a)");
  t.equal(backing.mtimeNs, ns(later), 'omit leaves mtime');
  t.equal(ns((await fs.getattr('/alice/times')).mtime), ns(later));

  const fd = await fs.create('/alice/copied', 0o644, O_WRONLY | O_CREAT);
  await fs.write(fd, Buffer.alloc(3 * 1024 * 1024, 1), 0);
  await fs.utimens('/alice/copied', atime, mtime);
  await fs.release(fd);
  t.equal(
    statSync(onServer('alice/copied'), { bigint: true }).mtimeNs,
    ns(mtime),
    'cp -p: times set before close survive the pending writes',
  );
  await fs.utimens('/alice/times', { seconds: -1, nseconds: 5 }, { seconds: 2 ** 40, nseconds: 5 });
  backing = statSync(onServer('alice/times'), { bigint: true });
  t.same([backing.atimeNs, backing.mtimeNs], [0n, 4294967295000000000n], 'times outside 1970..2106 are clamped to the limits');
  await rejectsWithErrno(t, fs.utimens('/alice/times', { seconds: 1, nseconds: 1e9 }, 'omit'), Errno.EINVAL, 'nanoseconds past a second');
});

t.test('truncate by path and by fd, with pending writes', async (t) => {
  await writeFile('/alice/trunc', '0123456789');
  await fs.truncate('/alice/trunc', 4);
  t.equal(readFileSync(onServer('alice/trunc'), 'utf8'), '0123');
  await fs.truncate('/alice/trunc', 6);
  t.same(readFileSync(onServer('alice/trunc')), Buffer.from('0123\0\0'), 'growing fills with zeros');

  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  const fd = await fs.create('/alice/ftrunc', 0o644, O_RDWR | O_CREAT);
  await fs.write(fd, data, 0);
  await fs.truncate('/alice/ftrunc', 1024 * 1024 + 7, fd);
  t.equal((await fs.getattr('/alice/ftrunc', fd)).size, 1024 * 1024 + 7);
  await fs.release(fd);
  t.same(readFileSync(onServer('alice/ftrunc')), data.subarray(0, 1024 * 1024 + 7), 'pending writes past the new size do not come back');

  await writeFile('/alice/readonly', 'keep', 0o400);
  await rejectsWithErrno(t, fs.truncate('/alice/readonly', 0), Errno.EACCES, 'truncate of a 0400 file asks ACCESS first');
  t.equal(readFileSync(onServer('alice/readonly'), 'utf8'), 'keep');
});

t.test('access asks the server', async (t) => {
  await writeFile('/alice/acc', 'x', 0o400);
  await fs.access('/alice/acc', constants.R_OK);
  await fs.access('/alice/acc', constants.F_OK);
  await rejectsWithErrno(t, fs.access('/alice/acc', constants.W_OK), Errno.EACCES, 'W_OK on a 0400 file');
  await rejectsWithErrno(t, fs.access('/alice/acc', constants.X_OK), Errno.EACCES, 'X_OK on a 0400 file');
  await rejectsWithErrno(t, fs.access('/alice/nothing', constants.F_OK), Errno.ENOENT, 'F_OK on a missing name');
  await fs.access('/alice', constants.R_OK | constants.W_OK | constants.X_OK);
});

t.test('mknod: FIFOs and sockets, never devices', async (t) => {
  await fs.mknod('/alice/fifo', S_IFIFO | 0o644, 0);
  t.ok(lstatSync(onServer('alice/fifo')).isFIFO());
  t.equal(lstatSync(onServer('alice/fifo')).uid, 10001);
  t.equal((await fs.getattr('/alice/fifo')).mode, S_IFIFO | 0o644);
  await fs.mknod('/alice/sock', S_IFSOCK | 0o600, 0);
  t.ok(lstatSync(onServer('alice/sock')).isSocket());
  await rejectsWithErrno(t, fs.mknod('/alice/blk', S_IFBLK | 0o600, 0x0801), Errno.EPERM, 'block device');
  await rejectsWithErrno(t, fs.mknod('/alice/chr', S_IFCHR | 0o600, 0x0103), Errno.EPERM, 'character device');
  t.notOk(existsSync(onServer('alice/blk')) || existsSync(onServer('alice/chr')), 'no device node on the server');
  await fs.mknod('/alice/plain', S_IFREG | 0o640, 0);
  t.equal(statSync(onServer('alice/plain')).mode & 0o7777, 0o640);
});

t.test('statfs reports the export', async (t) => {
  const s = await fs.statfs('/');
  const backing = statfsSync(server.dir);
  t.ok(s.bsize > 0 && s.frsize === s.bsize);
  t.ok(Math.abs(s.blocks * s.frsize - backing.blocks * backing.bsize) <= s.frsize, 'total size as the backing file system says');
  t.ok(s.bavail <= s.bfree && s.bfree <= s.blocks);
  t.ok(s.files > 0 && s.namemax >= 255);
});

t.test('files changed on the server directly are seen after the attribute timeout', async (t) => {
  const fresh = makeFs(exp, alice, { attrTimeoutMs: 0 });
  await writeFile('/alice/outside', 'one');
  writeFileSync(onServer('alice/outside'), 'three');
  chmodSync(onServer('alice/outside'), 0o600);
  t.match(await fresh.getattr('/alice/outside'), { size: 5, mode: S_IFREG | 0o600 }, 'attrTimeoutMs 0: always asks');
  chownSync(onServer('alice/outside'), 4242, 4343);
  t.match(await fresh.getattr('/alice/outside'), { uid: 4242, gid: 4343 }, 'other owners are shown as they are');
});
