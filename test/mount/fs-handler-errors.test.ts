// What the FUSE adapter answers for each kind of failure of the file system below it, over an NFS server in memory
// (test/helpers/fake-nfs.ts): the errno the fs layer chose, as a number; a failure nobody classified is EIO and is
// logged under its own name, never silently.
import t from 'tap';
import { constants } from 'node:os';
import { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { fsHandlers, type OpOutcome } from '../../src/mount/fs-handlers.ts';
import { FuseError } from '../../src/fuse/fuse-error.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { Nfs3Status } from '../../src/nfs/nfs3-types.ts';
import { RpcTimeoutError } from '../../src/nfs/rpc-errors.ts';
import { FakeNfs } from '../helpers/fake-nfs.ts';

const server = new FakeNfs();
const fs = new NfsFileSystem({ export: server.exportView, credential: { uid: 1000, gid: 1000, gids: [] } });
const logged: string[] = [];
const outcomes: OpOutcome[] = [];
const handlers = fsHandlers(
  fs,
  (line) => logged.push(line),
  (outcome) => outcomes.push(outcome),
);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

t.test("the server's status: its errno as a number, not logged, counted as the server's denial", async (t) => {
  server.getattr = async () => {
    throw new NfsError(Nfs3Status.NFS3ERR_ACCES, 'GETATTR', null);
  };
  const err = await failure(handlers.getattr('/'));
  t.type(err, FuseError);
  t.equal((err as FuseError).errno, constants.errno.EACCES);
  t.equal((err as FuseError).code, 'EACCES');
  t.type(((err as FuseError).cause as Error).cause, NfsError, 'the NFS error is kept as the cause of the fs error');
  t.same(logged, []);
  t.match(outcomes.at(-1), { op: 'getattr', errno: 'EACCES', deniedByServer: true });
});

t.test('a timeout: ETIMEDOUT, logged', async (t) => {
  server.getattr = async () => {
    throw new RpcTimeoutError('GETATTR to 127.0.0.1:2049 got no reply within 1000 ms');
  };
  const err = await failure(handlers.getattr('/'));
  t.equal((err as FuseError).errno, constants.errno.ETIMEDOUT);
  t.same(logged.splice(0), ['getattr /: ETIMEDOUT: GETATTR to 127.0.0.1:2049 got no reply within 1000 ms']);
});

t.test('a failure nobody classified: EIO, logged with its name', async (t) => {
  const err = await failure(handlers.statfs!('/'));
  t.equal((err as FuseError).errno, constants.errno.EIO);
  t.same(logged.splice(0), ['statfs /: EIO: unexpected Error: the fake NFS server does not do FSSTAT']);
  t.match(outcomes.at(-1), { op: 'statfs', errno: 'EIO', deniedByServer: false });
});
