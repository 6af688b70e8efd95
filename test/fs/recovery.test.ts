// A dead server fails operations after the configured timeout and the file system recovers when it is back; a
// handle the server calls STALE is looked up again from the root.
import t from 'tap';
import { constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { makeFs, rejectsWithErrno } from '../helpers/fs-fixture.ts';

const { server, exp } = await startNfsFixture(t, {}, { timeoutMs: 1500 });
const alice = cred(10001, 10001);

t.test('a dead server: ETIMEDOUT after the timeout, then recovery', async (t) => {
  const fs = makeFs(exp, alice, { attrTimeoutMs: 0 });
  const fd = await fs.create('/alive', 0o644, constants.O_RDWR | constants.O_CREAT);
  await fs.write(fd, Buffer.from('before'), 0);
  await fs.flush(fd);
  await server.kill();
  const started = Date.now();
  await rejectsWithErrno(t, fs.getattr('/alive'), Errno.ETIMEDOUT, 'getattr');
  t.ok(Date.now() - started < 5000, 'after about the configured 1.5 s');
  await rejectsWithErrno(t, fs.read(fd, Buffer.alloc(6), 0), Errno.ETIMEDOUT, 'read of an open file');
  await server.restart();
  t.equal((await fs.getattr('/alive')).size, 6, 'getattr works again');
  const buffer = Buffer.alloc(6);
  await fs.read(fd, buffer, 0);
  t.equal(buffer.toString(), 'before', 'the open fd works again (handles survive restarts)');
  await fs.release(fd);
});

t.test('a STALE handle re-resolves the path from the root once', async (t) => {
  const fs = makeFs(exp, alice, { attrTimeoutMs: 0, entryTimeoutMs: 60_000 });
  mkdirSync(join(server.dir, 'd'));
  writeFileSync(join(server.dir, 'd/f'), 'one');
  t.equal((await fs.getattr('/d/f')).size, 3);
  rmSync(join(server.dir, 'd'), { recursive: true });
  mkdirSync(join(server.dir, 'd'));
  writeFileSync(join(server.dir, 'd/f'), 'three');
  t.equal((await fs.getattr('/d/f')).size, 5, 'the new file behind the cached path');
  t.equal(fs.stats.staleRetries, 1, 'after one STALE answer');
  rmSync(join(server.dir, 'd'), { recursive: true });
  await rejectsWithErrno(t, fs.getattr('/d/f'), Errno.ENOENT, 'a path gone for good fails after the retry');
});
