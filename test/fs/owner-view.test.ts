// The ownership view and the chown policy: what the mount shows, what chown/chgrp may change on the server.
import t from 'tap';
import { chownSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import type { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { listAll, makeFs, rejectsWithErrno } from '../helpers/fs-fixture.ts';

const { server, exp } = await startNfsFixture(t);
const TEAM = 20000;
const alice = cred(10001, 10001, [TEAM]);
const owners = (name: string) => {
  const s = statSync(join(server.dir, name));
  return { uid: s.uid, gid: s.gid };
};

async function touch(fs: NfsFileSystem, path: string): Promise<void> {
  await fs.release(await fs.create(path, 0o644, constants.O_WRONLY | constants.O_CREAT));
}

t.test('by default files show their server owners', async (t) => {
  const fs = makeFs(exp, alice);
  await touch(fs, '/plain');
  t.match(await fs.getattr('/plain'), { uid: 10001, gid: 10001 });
  await fs.chown('/plain', 10001, 10001);
  await fs.chown('/plain', -1, -1);
  t.same(owners('plain'), { uid: 10001, gid: 10001 }, 'chown to the identity itself or -1 changes nothing');
});

t.test('ownerView presents the identity as a chosen uid/gid', async (t) => {
  const fs = makeFs(exp, alice, { ownerView: { uid: 999, gid: 998 }, chownPolicy: 'deny' });
  await touch(fs, '/viewed');
  t.match(await fs.getattr('/viewed'), { uid: 999, gid: 998 }, 'own files appear owned by 999:998');
  t.match((await listAll(fs, '/')).find((e) => e.name === 'viewed')?.stat, { uid: 999, gid: 998 }, 'in readdir too');
  chownSync(join(server.dir, 'viewed'), 4242, 4343);
  const other = makeFs(exp, alice, { ownerView: { uid: 999, gid: 998 }, attrTimeoutMs: 0 });
  t.match(await other.getattr('/viewed'), { uid: 4242, gid: 4343 }, "others' files keep their owners");
  chownSync(join(server.dir, 'viewed'), 10001, 10001);

  await fs.chown('/viewed', 999, 998);
  t.same(owners('viewed'), { uid: 10001, gid: 10001 }, 'chown to the presented owner is a no-op');
  await fs.chown('/viewed', -1, TEAM);
  t.same(owners('viewed'), { uid: 10001, gid: TEAM }, "chgrp to one of the identity's groups reaches the server");
  t.match(await fs.getattr('/viewed'), { uid: 999, gid: TEAM });
  await fs.chown('/viewed', 999, 998);
  t.same(owners('viewed'), { uid: 10001, gid: 10001 }, 'chgrp back to the presented group sets the primary gid');
});

t.test("chown policy 'deny': EPERM, and the server owner never changes", async (t) => {
  const fs = makeFs(exp, alice, { chownPolicy: 'deny' });
  await touch(fs, '/denied');
  await rejectsWithErrno(t, fs.chown('/denied', 0, -1), Errno.EPERM, 'chown to root');
  await rejectsWithErrno(t, fs.chown('/denied', 4242, 4242), Errno.EPERM, 'chown to another uid');
  await rejectsWithErrno(t, fs.chown('/denied', -1, 4343), Errno.EPERM, 'chgrp to a group the identity lacks');
  t.same(owners('denied'), { uid: 10001, gid: 10001 });
});

t.test("chown policy 'ignore' (the default): success, and the server owner never changes", async (t) => {
  for (const fs of [makeFs(exp, alice, { chownPolicy: 'ignore' }), makeFs(exp, alice)]) {
    await touch(fs, '/ignored');
    await fs.chown('/ignored', 0, 0);
    await fs.chown('/ignored', 4242, -1);
    await fs.chown('/ignored', -1, 4343);
    t.same(owners('ignored'), { uid: 10001, gid: 10001 });
    await fs.chown('/ignored', 4242, TEAM);
    t.same(owners('ignored'), { uid: 10001, gid: TEAM }, 'the allowed half of a chown still happens');
    await fs.unlink('/ignored');
  }
});

t.test("taking over someone else's file stays the server's decision", async (t) => {
  const fs = makeFs(exp, alice, { chownPolicy: 'ignore', attrTimeoutMs: 0 });
  await touch(fs, '/theirs');
  chownSync(join(server.dir, 'theirs'), 4242, 10001);
  await rejectsWithErrno(t, fs.chown('/theirs', 10001, -1), Errno.EPERM, 'the server refuses chown to the identity');
  t.equal(owners('theirs').uid, 4242);
});
