// Every NFSv3 procedure against a real ganesha, each result checked against the backing directory.
import t, { type Test } from 'tap';
import { linkSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync, statfsSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { Access3, Fsf3, Ftype3, StableHow, type Fattr3 } from '../../src/nfs/nfs3-types.ts';
import { ROOT, cred, rejectsWithStatus, startNfsFixture } from '../helpers/nfs-fixture.ts';

const { server, exp } = await startNfsFixture(t);
const { client, rootHandle: root } = exp;
const alice = cred(2001, 3001);
const bob = cred(2002, 3002);
const backing = (...names: string[]) => join(server.dir, ...names);

/** The fields of fattr3 that must agree with lstat(2) of the backing file. */
function sameAsBacking(t: Test, a: Fattr3 | undefined, path: string, what: string) {
  const st = lstatSync(path, { bigint: true });
  t.ok(a, `${what}: attributes returned`);
  if (!a) return;
  t.equal(a.fileid, st.ino, `${what}: fileid is the inode`);
  t.equal(a.mode, Number(st.mode & 0o7777n), `${what}: mode`);
  t.equal(a.uid, Number(st.uid), `${what}: uid`);
  t.equal(a.gid, Number(st.gid), `${what}: gid`);
  t.equal(a.nlink, Number(st.nlink), `${what}: nlink`);
  if (!st.isDirectory()) t.equal(a.size, st.size, `${what}: size`);
  t.equal(BigInt(a.mtime.seconds), st.mtimeNs / 1_000_000_000n, `${what}: mtime seconds`);
}

t.test('NULL and GETATTR of the root', async (t) => {
  await client.null();
  await client.null(alice);
  sameAsBacking(t, await client.getattr(alice, root), server.dir, 'root');
  t.equal((await client.getattr(null, root)).type, Ftype3.DIR);
});

t.test('CREATE: UNCHECKED, GUARDED, EXCLUSIVE; owner from the credential', async (t) => {
  const made = await client.create(alice, root, 'guarded.txt', { mode: 'guarded', attributes: { mode: 0o640 } });
  const st = statSync(backing('guarded.txt'));
  t.equal(st.uid, 2001);
  t.equal(st.gid, 3001);
  t.equal(st.mode & 0o7777, 0o640);
  t.ok(made.handle.length > 0 && made.handle.length <= 64, 'a handle');
  sameAsBacking(t, made.attributes, backing('guarded.txt'), 'CREATE attributes');
  t.ok(made.dirWcc.after, 'the directory wcc data has post-op attributes');
  const exists = await rejectsWithStatus(t, client.create(alice, root, 'guarded.txt', { mode: 'guarded' }), 'NFS3ERR_EXIST', Errno.EEXIST);
  t.equal(exists.message, 'NFS3ERR_EXIST: file exists for uid 2001 (CREATE guarded.txt)');

  writeFileSync(backing('guarded.txt'), 'some content');
  const again = await client.create(alice, root, 'guarded.txt', { mode: 'unchecked', attributes: { size: 0n } });
  t.same(again.handle, made.handle, 'UNCHECKED on an existing file opens it');
  t.equal(statSync(backing('guarded.txt')).size, 0, 'and truncates it as asked');

  const verifier = Buffer.from('kidfs-01');
  const excl = await client.create(alice, root, 'exclusive.txt', { mode: 'exclusive', verifier });
  const retried = await client.create(alice, root, 'exclusive.txt', { mode: 'exclusive', verifier });
  t.same(retried.handle, excl.handle, 'a retransmitted EXCLUSIVE create with the same verifier succeeds');
  await rejectsWithStatus(
    t,
    client.create(alice, root, 'exclusive.txt', { mode: 'exclusive', verifier: Buffer.from('other-01') }),
    'NFS3ERR_EXIST',
    17,
  );
  await client.setattr(alice, excl.handle, { mode: 0o644 });
  t.equal(statSync(backing('exclusive.txt')).mode & 0o7777, 0o644, 'SETATTR after EXCLUSIVE sets the real mode');
  t.equal(statSync(backing('exclusive.txt')).uid, 2001);
});

t.test('SETATTR: mode, size, times, guard', async (t) => {
  const { handle } = await client.create(alice, root, 'setattr.txt', { mode: 'guarded', attributes: { mode: 0o600 } });
  writeFileSync(backing('setattr.txt'), 'hello world');
  const wcc = await client.setattr(alice, handle, {
    mode: 0o604,
    size: 5n,
    mtime: { seconds: 1_000_000_000, nseconds: 5 },
    atime: 'server',
  });
  const st = statSync(backing('setattr.txt'), { bigint: true });
  t.equal(Number(st.mode & 0o7777n), 0o604);
  t.equal(st.size, 5n);
  t.equal(st.mtimeNs, 1_000_000_000_000_000_005n, 'mtime set to the client time');
  t.ok(st.atimeNs > 1_700_000_000_000_000_000n, 'atime set to the server time');
  sameAsBacking(t, wcc.after, backing('setattr.txt'), 'SETATTR post-op');
  t.equal(readFileSync(backing('setattr.txt'), 'utf8'), 'hello');

  const now = await client.getattr(alice, handle);
  await client.setattr(alice, handle, { mode: 0o600 }, now.ctime);
  t.equal(statSync(backing('setattr.txt')).mode & 0o7777, 0o600, 'guarded SETATTR with the current ctime applies');
  await rejectsWithStatus(t, client.setattr(alice, handle, { mode: 0o666 }, now.ctime), 'NFS3ERR_NOT_SYNC', Errno.EINVAL);
  t.equal(statSync(backing('setattr.txt')).mode & 0o7777, 0o600, 'a guard with a stale ctime changes nothing');
  await rejectsWithStatus(t, client.setattr(bob, handle, { mode: 0o666 }), 'NFS3ERR_PERM', Errno.EPERM);
});

t.test('LOOKUP and ACCESS', async (t) => {
  writeFileSync(backing('looked-up'), 'x', { mode: 0o640 });
  const found = await client.lookup(alice, root, 'looked-up');
  sameAsBacking(t, found.attributes, backing('looked-up'), 'LOOKUP object');
  sameAsBacking(t, found.dirAttributes, server.dir, 'LOOKUP directory');
  sameAsBacking(t, await client.getattr(alice, found.handle), backing('looked-up'), 'GETATTR by the looked-up handle');
  const missing = await rejectsWithStatus(t, client.lookup(alice, root, 'nope'), 'NFS3ERR_NOENT', Errno.ENOENT);
  t.equal(missing.message, 'NFS3ERR_NOENT: no such file or directory for uid 2001 (LOOKUP nope)');
  t.equal(missing.procedure, 'LOOKUP');

  const all = Access3.READ | Access3.MODIFY | Access3.EXTEND | Access3.EXECUTE;
  const asRoot = await client.access(ROOT, found.handle, all);
  t.equal(
    asRoot.access & (Access3.READ | Access3.MODIFY),
    Access3.READ | Access3.MODIFY,
    'root, owner of the 0640 file, may read and modify',
  );
  sameAsBacking(t, asRoot.attributes, backing('looked-up'), 'ACCESS attributes');
  const asGroup = await client.access(cred(2002, 0), found.handle, all);
  t.equal(asGroup.access & (Access3.READ | Access3.MODIFY), Access3.READ, 'the group may read only');
  t.equal((await client.access(bob, found.handle, all)).access & (Access3.READ | Access3.MODIFY), 0, 'others get nothing');
});

t.test('WRITE at every stability, READ with eof, COMMIT', async (t) => {
  const { handle } = await client.create(alice, root, 'data.bin', { mode: 'guarded', attributes: { mode: 0o644 } });
  const parts = [Buffer.alloc(5000, 'a'), Buffer.alloc(3000, 'b'), Buffer.alloc(10, 'c')];
  const stabilities = [StableHow.FILE_SYNC, StableHow.DATA_SYNC, StableHow.UNSTABLE];
  let offset = 0;
  const verifiers: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    const w = await client.write(alice, handle, BigInt(offset), part, stabilities[i]!);
    t.equal(w.count, part.length, 'the whole write taken');
    t.ok(w.committed >= stabilities[i]!, `committed ${w.committed} at least as stable as asked (${stabilities[i]})`);
    t.equal(w.verifier.length, 8);
    t.equal(w.wcc.after?.size, BigInt(offset + part.length), 'post-op size');
    verifiers.push(w.verifier);
    offset += part.length;
  }
  t.same(readFileSync(backing('data.bin')), Buffer.concat(parts), 'the backing file holds what was written');
  t.ok(
    verifiers.every((v) => v.equals(verifiers[0]!)),
    'one verifier while the server runs',
  );
  const commit = await client.commit(alice, handle);
  t.same(commit.verifier, verifiers[0], 'COMMIT returns the same verifier');
  t.equal(commit.wcc.after?.size, 8010n);

  const head = await client.read(alice, handle, 0n, 4000);
  t.same(head.data, parts[0]!.subarray(0, 4000));
  t.equal(head.count, 4000);
  t.equal(head.eof, false);
  sameAsBacking(t, head.attributes, backing('data.bin'), 'READ attributes');
  const tail = await client.read(alice, handle, 7000n, 5000);
  t.same(tail.data, Buffer.concat(parts).subarray(7000), 'a read past the end returns what there is');
  t.equal(tail.eof, true);
  const beyond = await client.read(alice, handle, 100_000n, 10);
  t.equal(beyond.count, 0);
  t.equal(beyond.eof, true);
});

t.test('64-bit offsets and sizes', async (t) => {
  const { handle } = await client.create(alice, root, 'sparse.bin', { mode: 'guarded', attributes: { mode: 0o644 } });
  const far = 5n * 1024n ** 3n + 7n; // past 2^32
  const w = await client.write(alice, handle, far, Buffer.from('far away'), StableHow.FILE_SYNC);
  t.equal(w.wcc.after?.size, far + 8n);
  t.equal(statSync(backing('sparse.bin'), { bigint: true }).size, far + 8n);
  const r = await client.read(alice, handle, far, 100);
  t.equal(r.data.toString(), 'far away');
  t.equal(r.eof, true);
  truncateSync(backing('sparse.bin'), 0);
});

t.test('MKDIR, SYMLINK, READLINK, MKNOD', async (t) => {
  const dir = await client.mkdir(alice, root, 'made-dir', { mode: 0o750 });
  const st = statSync(backing('made-dir'));
  t.ok(st.isDirectory());
  t.equal(st.mode & 0o7777, 0o750);
  t.equal(st.uid, 2001);
  sameAsBacking(t, dir.attributes, backing('made-dir'), 'MKDIR attributes');
  await rejectsWithStatus(t, client.mkdir(alice, root, 'made-dir'), 'NFS3ERR_EXIST', 17);
  const unset = await client.mkdir(alice, root, 'no-mode');
  t.equal(unset.attributes?.mode, 0, 'without a mode ganesha makes the directory mode 0 (the caller must pass one)');

  const link = await client.symlink(alice, dir.handle, 'link', '../some/where');
  t.equal(readlinkSync(backing('made-dir', 'link')), '../some/where');
  t.equal(lstatSync(backing('made-dir', 'link')).uid, 2001);
  const read = await client.readlink(alice, link.handle);
  t.equal(read.target, '../some/where');
  t.equal(read.attributes?.type, Ftype3.LNK);
  await rejectsWithStatus(t, client.readlink(alice, dir.handle), 'NFS3ERR_INVAL', Errno.EINVAL);

  const chr = await client.mknod(ROOT, dir.handle, 'null-dev', { type: 'chr', spec: { major: 1, minor: 3 }, attributes: { mode: 0o666 } });
  const cst = statSync(backing('made-dir', 'null-dev'));
  t.ok(cst.isCharacterDevice());
  t.equal(cst.rdev, (1 << 8) | 3, 'device 1,3');
  t.same(chr.attributes?.rdev, { major: 1, minor: 3 });
  const blk = await client.mknod(ROOT, dir.handle, 'blk-dev', { type: 'blk', spec: { major: 7, minor: 9 } });
  t.ok(statSync(backing('made-dir', 'blk-dev')).isBlockDevice());
  t.equal(blk.attributes?.type, Ftype3.BLK);
  await client.mknod(alice, dir.handle, 'fifo', { type: 'fifo', attributes: { mode: 0o620 } });
  const fst = statSync(backing('made-dir', 'fifo'));
  t.ok(fst.isFIFO());
  t.equal(fst.mode & 0o7777, 0o620);
  t.equal(fst.uid, 2001);
  const sock = await client.mknod(alice, dir.handle, 'sock', { type: 'sock' });
  t.ok(lstatSync(backing('made-dir', 'sock')).isSocket());
  t.equal(sock.attributes?.type, Ftype3.SOCK);
});

t.test('REMOVE, RMDIR, RENAME, LINK', async (t) => {
  const a = await client.mkdir(alice, root, 'dir-a', { mode: 0o755 });
  const b = await client.mkdir(alice, root, 'dir-b', { mode: 0o755 });
  const file = await client.create(alice, a.handle, 'f', { mode: 'guarded' });
  writeFileSync(backing('dir-a', 'f'), 'moving');

  const linked = await client.link(alice, file.handle, b.handle, 'hard');
  t.equal(statSync(backing('dir-b', 'hard')).ino, statSync(backing('dir-a', 'f')).ino, 'LINK: one inode, two names');
  t.equal(linked.attributes?.nlink, 2);
  sameAsBacking(t, linked.dirWcc.after, backing('dir-b'), 'LINK directory post-op');

  const renamed = await client.rename(alice, a.handle, 'f', b.handle, 'g');
  t.same(readdirSync(backing('dir-a')), []);
  t.same(readdirSync(backing('dir-b')).sort(), ['g', 'hard']);
  t.equal(readFileSync(backing('dir-b', 'g'), 'utf8'), 'moving');
  sameAsBacking(t, renamed.fromDirWcc.after, backing('dir-a'), 'RENAME from-directory');
  sameAsBacking(t, renamed.toDirWcc.after, backing('dir-b'), 'RENAME to-directory');
  t.ok(renamed.fromDirWcc.before, 'pre-op attributes of the from-directory');
  const msg = await rejectsWithStatus(t, client.rename(alice, a.handle, 'gone', b.handle, 'x'), 'NFS3ERR_NOENT', 2);
  t.match(msg.message, /\(RENAME gone -> x\)$/);

  await rejectsWithStatus(t, client.rmdir(alice, root, 'dir-b'), 'NFS3ERR_NOTEMPTY', Errno.ENOTEMPTY);
  const removed = await client.remove(alice, b.handle, 'g');
  t.same(readdirSync(backing('dir-b')), ['hard']);
  sameAsBacking(t, removed.after, backing('dir-b'), 'REMOVE directory post-op');
  await client.remove(alice, b.handle, 'hard');
  await rejectsWithStatus(t, client.remove(alice, b.handle, 'hard'), 'NFS3ERR_NOENT', 2);
  await client.rmdir(alice, root, 'dir-b');
  t.notOk(readdirSync(server.dir).includes('dir-b'), 'RMDIR removed it');
  await rejectsWithStatus(t, client.rmdir(alice, root, 'dir-a-file-missing'), 'NFS3ERR_NOENT', 2);
});

t.test('READDIR and READDIRPLUS list the backing directory', async (t) => {
  const dir = await client.mkdir(alice, root, 'listing', { mode: 0o755 });
  for (const name of ['one', 'two', 'three']) writeFileSync(backing('listing', name), name);
  linkSync(backing('listing', 'one'), backing('listing', 'one-again'));
  const expected = ['.', '..', ...readdirSync(backing('listing'))].sort();

  const plain = await client.readdirAll(alice, dir.handle);
  t.same(plain.entries.map((e) => e.name).sort(), expected);
  for (const e of plain.entries.filter((e) => !e.name.startsWith('.'))) {
    t.equal(e.fileid, statSync(backing('listing', e.name), { bigint: true }).ino, `READDIR fileid of ${e.name}`);
  }
  const plus = await client.readdirplusAll(alice, dir.handle);
  t.same(plus.entries.map((e) => e.name).sort(), expected);
  sameAsBacking(t, plus.dirAttributes, backing('listing'), 'READDIRPLUS directory');
  for (const e of plus.entries.filter((e) => !e.name.startsWith('.'))) {
    sameAsBacking(t, e.attributes, backing('listing', e.name), `READDIRPLUS ${e.name}`);
    t.ok(e.handle, `a handle for ${e.name}`);
    t.equal((await client.getattr(alice, e.handle!)).fileid, e.fileid, `the handle of ${e.name} is its own`);
  }
  const page = await client.readdirplus(alice, dir.handle, 0n, Buffer.alloc(8), 2, 65536);
  t.equal(page.entries.length, 2, 'dircount bounds the entries of one round (ganesha counts entries)');
  t.equal(page.eof, false);
  await rejectsWithStatus(
    t,
    client.readdirAll(alice, (await client.lookup(alice, dir.handle, 'one')).handle),
    'NFS3ERR_NOTDIR',
    Errno.ENOTDIR,
  );
});

t.test('FSSTAT, FSINFO, PATHCONF', async (t) => {
  const fsstat = await client.fsstat(alice, root);
  const fs = statfsSync(server.dir, { bigint: true });
  t.equal(fsstat.totalBytes, fs.blocks * fs.bsize, 'total bytes of the backing file system');
  t.equal(fsstat.totalFiles, fs.files, 'total inodes');
  t.ok(fsstat.freeBytes >= fsstat.availableBytes && fsstat.availableBytes > 0n, 'free >= available > 0');
  sameAsBacking(t, fsstat.attributes, server.dir, 'FSSTAT attributes');

  const info = exp.fsinfo;
  t.equal(info.rtmax, 64 * 1024 * 1024, 'ganesha reads up to 64 MiB');
  t.equal(info.wtmax, 64 * 1024 * 1024);
  t.equal(info.dtpref, 16384);
  t.ok(info.maxFileSize >= 2n ** 40n);
  t.equal(info.properties & (Fsf3.LINK | Fsf3.SYMLINK), Fsf3.LINK | Fsf3.SYMLINK, 'hard and symbolic links supported');
  t.same(await client.fsinfo(alice, root), { ...info, attributes: (await client.fsinfo(alice, root)).attributes });

  const pc = await client.pathconf(alice, root);
  t.ok(pc.nameMax >= 255, `names of ${pc.nameMax} bytes`);
  t.ok(pc.linkMax > 1);
  t.equal(pc.caseInsensitive, false);
  t.equal(pc.casePreserving, true);
});

t.test('a stale handle and an unknown handle', async (t) => {
  const { handle } = await client.create(alice, root, 'doomed', { mode: 'guarded' });
  await client.remove(alice, root, 'doomed');
  await rejectsWithStatus(t, client.getattr(alice, handle), 'NFS3ERR_STALE', Errno.ESTALE);
  await rejectsWithStatus(t, client.getattr(alice, Buffer.alloc(8)), 'NFS3ERR_BADHANDLE', Errno.ESTALE);
});
