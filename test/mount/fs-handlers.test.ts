// The FUSE handlers over an NfsFileSystem, called directly (no kernel) against a real ganesha: attributes and
// times converted both ways, every failure answered with the errno the fs layer gives it (src/fs/fs-error.ts), transport trouble logged.
import t from 'tap';
import { chownSync, constants, statSync, writeFileSync } from 'node:fs';
import { fsHandlers } from '../../src/mount/fs-handlers.ts';
import type { FuseHandlers } from '../../src/fuse/handlers.ts';
import { makeFs } from '../helpers/fs-fixture.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';

const { server, exp } = await startNfsFixture(t, {}, { timeoutMs: 1500 });
const logged: string[] = [];
const handlers: FuseHandlers = fsHandlers(makeFs(exp, cred(2001, 2000), { attrTimeoutMs: 0 }), (line) => logged.push(line));
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: { code?: string; message: string }) => err,
  );

t.test('attributes and times cross in both directions', async (t) => {
  writeFileSync(`${server.dir}/f`, 'hello');
  chownSync(`${server.dir}/f`, 2001, 2000);
  const attrs = await handlers.getattr('/f');
  const backing = statSync(`${server.dir}/f`, { bigint: true });
  t.equal(attrs.mode, constants.S_IFREG | Number(backing.mode & 0o7777n));
  t.equal(attrs.size, 5);
  t.equal(BigInt(attrs.mtime.sec) * 1_000_000_000n + BigInt(attrs.mtime.nsec), backing.mtimeNs, 'mtime to the nanosecond');

  await handlers.utimens!('/f', 'omit', { sec: 1_000_000_000, nsec: 123 });
  const after = statSync(`${server.dir}/f`, { bigint: true });
  t.equal(after.mtimeNs, 1_000_000_000_000_000_123n, 'utimens sets the mtime it is given');
  t.equal(after.atimeNs, backing.atimeNs, 'and leaves the atime it is told to omit');

  const fh = await handlers.open!('/f', constants.O_RDONLY);
  const target = Buffer.alloc(100);
  const n = await handlers.read!('/f', fh, target, 1, {});
  t.equal(target.subarray(0, n).toString(), 'ello', 'read fills the target with what is there');
  await handlers.release!('/f', fh);
});

t.test('failures carry their errno name as code', async (t) => {
  t.equal((await rejection(handlers.getattr('/missing')))?.code, 'ENOENT', "the server's NOENT");
  t.equal((await rejection(handlers.read!('/f', 12345, Buffer.alloc(10), 0, {})))?.code, 'EBADF', "the fs layer's own EBADF");
  t.equal((await rejection(handlers.mknod!('/dev', constants.S_IFBLK | 0o600, 0)))?.code, 'EPERM', 'device nodes');
  writeFileSync(`${server.dir}/root-only`, 'x', { mode: 0o600 });
  t.equal((await rejection(handlers.open!('/root-only', constants.O_RDONLY)))?.code, 'EACCES', "the server's ACCESS answer");
  t.same(logged, [], 'refusals are not logged');
});

t.test('a dead server: ETIMEDOUT, logged once per failed operation', async (t) => {
  await server.kill();
  const err = await rejection(handlers.getattr('/never-looked-up'));
  t.equal(err?.code, 'ETIMEDOUT');
  t.equal(logged.length, 1);
  t.match(logged[0], /^getattr \/never-looked-up: ETIMEDOUT: .*no reply within 1500 ms/);
});
