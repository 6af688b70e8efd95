import { constants } from 'node:os';
import t from 'tap';
import { Errno, errnoName } from '../../src/fs/errno.ts';
import { errnoOfFailure, FsError, fsErrorOf } from '../../src/fs/fs-error.ts';
import { errnoOfNfs3Status } from '../../src/fs/nfs-errno.ts';
import { MountError } from '../../src/nfs/mount-error.ts';
import { NfsError, NfsProtocolError, nfs3StatusName } from '../../src/nfs/nfs-error.ts';
import { Nfs3Status } from '../../src/nfs/nfs3-types.ts';
import {
  RpcAcceptError,
  RpcAuthError,
  RpcConnectionError,
  RpcProtocolError,
  RpcTimeoutError,
  RpcVersionMismatchError,
} from '../../src/nfs/rpc-errors.ts';
import { XdrError } from '../../src/nfs/xdr.ts';

t.test('every nfsstat3 maps to one Linux errno', async (t) => {
  const expected: Record<keyof typeof Nfs3Status, number> = {
    NFS3_OK: 0,
    NFS3ERR_PERM: 1,
    NFS3ERR_NOENT: 2,
    NFS3ERR_IO: 5,
    NFS3ERR_NXIO: 6,
    NFS3ERR_ACCES: 13,
    NFS3ERR_EXIST: 17,
    NFS3ERR_XDEV: 18,
    NFS3ERR_NODEV: 19,
    NFS3ERR_NOTDIR: 20,
    NFS3ERR_ISDIR: 21,
    NFS3ERR_INVAL: 22,
    NFS3ERR_FBIG: 27,
    NFS3ERR_NOSPC: 28,
    NFS3ERR_ROFS: 30,
    NFS3ERR_MLINK: 31,
    NFS3ERR_NAMETOOLONG: 36,
    NFS3ERR_NOTEMPTY: 39,
    NFS3ERR_DQUOT: 122,
    NFS3ERR_STALE: 116,
    NFS3ERR_REMOTE: 66,
    NFS3ERR_BADHANDLE: 116,
    NFS3ERR_NOT_SYNC: 22,
    NFS3ERR_BAD_COOKIE: 22,
    NFS3ERR_NOTSUPP: 95,
    NFS3ERR_TOOSMALL: 22,
    NFS3ERR_SERVERFAULT: 121,
    NFS3ERR_BADTYPE: 22,
    NFS3ERR_JUKEBOX: 11,
  };
  for (const [name, status] of Object.entries(Nfs3Status)) {
    t.equal(errnoOfNfs3Status(status), expected[name as keyof typeof Nfs3Status], name);
    t.equal(nfs3StatusName(status), name);
  }
  t.equal(errnoOfNfs3Status(12345), Errno.EIO, 'an undefined status is EIO');
  t.equal(nfs3StatusName(12345), 'nfsstat3 12345');
});

t.test('errno names and numbers', async (t) => {
  t.equal(Errno.EACCES, 13);
  t.equal(Errno.ETIMEDOUT, 110);
  t.equal(errnoName(13), 'EACCES');
  t.equal(errnoName(116), 'ESTALE');
  t.equal(errnoName(9999), 'errno 9999');
  for (const [name, n] of Object.entries(Errno)) {
    t.equal(errnoName(n), name, `${name} is one name for ${n}`);
    // Node's os.constants lack EREMOTE and EREMOTEIO; the rest must agree.
    const linux: number | undefined = constants.errno[name as keyof typeof constants.errno];
    if (linux !== undefined) t.equal(n, linux, `${name} is ${n}, as os.constants.errno says`);
  }
  t.equal(errnoName(9), 'EBADF', 'EBADF, which only the file-system layer reports, is in the one table too');
});

t.test('NfsError says what failed, for whom, in one line', async (t) => {
  const cred = { uid: 2002, gid: 3002, gids: [] };
  const err = new NfsError(Nfs3Status.NFS3ERR_ACCES, 'LOOKUP', cred, 'secret');
  t.equal(err.message, 'NFS3ERR_ACCES: permission denied for uid 2002 (LOOKUP secret)');
  t.equal(errnoOfFailure(err), 13);
  t.equal(fsErrorOf(err).code, 'EACCES');
  t.equal(err.code, 'NFS3ERR_ACCES', "the NFS layer's code is the status name");
  t.equal(err.code, 'NFS3ERR_ACCES');
  t.equal(err.status, 13);
  t.equal(err.procedure, 'LOOKUP');
  t.equal(new NfsError(70, 'GETATTR', null).message, 'NFS3ERR_STALE: stale file handle for AUTH_NONE (GETATTR)');
  t.equal(new NfsError(4242, 'READ', null).message, 'nfsstat3 4242: unknown status for AUTH_NONE (READ)');
  t.equal(errnoOfFailure(new NfsError(4242, 'READ', null)), Errno.EIO);
});

t.test('MountError names the export, the server and what to check', async (t) => {
  const err = new MountError(2, '/nope', '127.0.0.1:635');
  t.equal(
    err.message,
    'mounting /nope from 127.0.0.1:635 failed: MNT3ERR_NOENT: no such export on the server (check the path against its export list)',
  );
  t.equal(errnoOfFailure(err), Errno.ENOENT);
  t.equal(err.code, 'MNT3ERR_NOENT');
  t.equal(errnoOfFailure(new MountError(13, '/x', 's')), Errno.EACCES);
  t.match(new MountError(99, '/x', 's').message, /mountstat3 99: unknown status/);
  t.equal(errnoOfFailure(new MountError(99, '/x', 's')), Errno.EIO);
});

t.test('errnoOfFailure maps every failure of the NFS layer', async (t) => {
  const cases: [string, unknown, number][] = [
    ['NfsError', new NfsError(Nfs3Status.NFS3ERR_NOTEMPTY, 'RMDIR', null, 'd'), 39],
    ['MountError', new MountError(13, '/x', 's'), 13],
    ['RpcAuthError', new RpcAuthError('AUTH_BADCRED', 'refused'), 13],
    ['RpcTimeoutError', new RpcTimeoutError('late'), 110],
    ['RpcConnectionError', new RpcConnectionError('closed'), 5],
    ['RpcProtocolError', new RpcProtocolError('garbage'), 5],
    ['RpcAcceptError', new RpcAcceptError('GARBAGE_ARGS', 'bad args'), 5],
    ['RpcVersionMismatchError', new RpcVersionMismatchError(3, 3, 'v'), 5],
    ['XdrError', new XdrError('truncated'), 5],
    ['NfsProtocolError', new NfsProtocolError('loops'), 5],
    ['Error', new Error('anything'), 5],
    ['a string', 'not an error', 5],
    ['undefined', undefined, 5],
  ];
  for (const [what, err, errno] of cases) t.equal(errnoOfFailure(err), errno, what);
});

t.test('an FsError keeps what it stands for; a failure nobody classified says what it was', async (t) => {
  const status = new NfsError(Nfs3Status.NFS3ERR_NOSPC, 'WRITE', null);
  const mapped = fsErrorOf(status);
  t.type(mapped, FsError);
  t.equal(mapped.cause, status, 'the NFS error is the cause');
  t.equal(mapped.message, status.message, 'and its message is kept');
  t.ok(mapped.byServer, 'the server answered it');
  t.notOk(fsErrorOf(new RpcAuthError('AUTH_BADCRED', 'refused')).byServer, "a refused credential is the transport's");
  t.equal(fsErrorOf(mapped), mapped, 'an FsError stays itself');
  const bug = new TypeError('x is undefined');
  const unexpected = fsErrorOf(bug);
  t.equal(unexpected.errno, Errno.EIO);
  t.equal(unexpected.message, 'unexpected TypeError: x is undefined', 'the message names it (the FUSE adapter logs every EIO)');
  t.equal(unexpected.cause, bug);
  t.equal(fsErrorOf(new RpcTimeoutError('late')).message, 'late', 'a known failure keeps its message');
});
