// How NFS-layer failures become errnos (Linux numbers): the one mapping kidfs has, used by the FUSE adapter.
import { Nfs3Status, type Nfs3StatusName } from './nfs3-types.ts';
import type { CallCredential } from './rpc-transport.ts';
import { RpcAuthError, RpcTimeoutError } from './rpc-errors.ts';

/** The Linux errno numbers kidfs reports. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  /** The file-system layer's own (no NFS status maps to it): an fd that is not open, or not for reading or writing. */
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  EREMOTE: 66,
  ENOTSUP: 95,
  ETIMEDOUT: 110,
  ESTALE: 116,
  EREMOTEIO: 121,
  EDQUOT: 122,
} as const;
export type ErrnoName = keyof typeof Errno;

const errnoNames = new Map<number, ErrnoName>(Object.entries(Errno).map(([name, n]) => [n, name as ErrnoName]));

/** 'EACCES' for 13; `errno N` for a number kidfs does not use. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** Every nfsstat3 error, its errno and what it means to a person. */
const NFS3_ERRORS: Record<Exclude<Nfs3StatusName, 'NFS3_OK'>, readonly [ErrnoName, string]> = {
  NFS3ERR_PERM: ['EPERM', 'operation not permitted (not the owner, or not root)'],
  NFS3ERR_NOENT: ['ENOENT', 'no such file or directory'],
  NFS3ERR_IO: ['EIO', 'I/O error on the server'],
  NFS3ERR_NXIO: ['ENXIO', 'no such device or address'],
  NFS3ERR_ACCES: ['EACCES', 'permission denied'],
  NFS3ERR_EXIST: ['EEXIST', 'file exists'],
  NFS3ERR_XDEV: ['EXDEV', 'cross-device link or rename'],
  NFS3ERR_NODEV: ['ENODEV', 'no such device'],
  NFS3ERR_NOTDIR: ['ENOTDIR', 'not a directory'],
  NFS3ERR_ISDIR: ['EISDIR', 'is a directory'],
  NFS3ERR_INVAL: ['EINVAL', 'invalid argument'],
  NFS3ERR_FBIG: ['EFBIG', 'file too large'],
  NFS3ERR_NOSPC: ['ENOSPC', 'no space left on the server'],
  NFS3ERR_ROFS: ['EROFS', 'read-only file system'],
  NFS3ERR_MLINK: ['EMLINK', 'too many hard links'],
  NFS3ERR_NAMETOOLONG: ['ENAMETOOLONG', 'file name too long'],
  NFS3ERR_NOTEMPTY: ['ENOTEMPTY', 'directory not empty'],
  NFS3ERR_DQUOT: ['EDQUOT', 'disk quota exceeded'],
  // The handle is no longer valid; ESTALE tells the file-system layer to look the path up again.
  NFS3ERR_STALE: ['ESTALE', 'stale file handle'],
  NFS3ERR_REMOTE: ['EREMOTE', 'too many levels of remote in path'],
  NFS3ERR_BADHANDLE: ['ESTALE', 'the server does not recognise the file handle'],
  // A SETATTR guard did not match the object's ctime: the object changed meanwhile.
  NFS3ERR_NOT_SYNC: ['EINVAL', 'attribute update out of sync (the file changed since its ctime was read)'],
  NFS3ERR_BAD_COOKIE: ['EINVAL', 'directory cookie no longer valid'],
  NFS3ERR_NOTSUPP: ['ENOTSUP', 'operation not supported by the server'],
  NFS3ERR_TOOSMALL: ['EINVAL', 'buffer too small for the reply'],
  NFS3ERR_SERVERFAULT: ['EREMOTEIO', 'server fault'],
  NFS3ERR_BADTYPE: ['EINVAL', 'the server does not support this file type'],
  // The server is busy (e.g. recalling the file from tape); the operation may succeed later.
  NFS3ERR_JUKEBOX: ['EAGAIN', 'the server is temporarily unable to do this, try again'],
};

const nfs3StatusNames = new Map<number, Nfs3StatusName>(
  Object.entries(Nfs3Status).map(([name, n]) => [n, name as Nfs3StatusName]),
);

/** 'NFS3ERR_ACCES' for 13; `nfsstat3 N` for a status RFC 1813 does not define. */
export function nfs3StatusName(status: number): string {
  return nfs3StatusNames.get(status) ?? `nfsstat3 ${status}`;
}

function nfs3Error(status: number): readonly [ErrnoName, string] | undefined {
  const name = nfs3StatusNames.get(status);
  return name && name !== 'NFS3_OK' ? NFS3_ERRORS[name] : undefined;
}

/** The errno for an nfsstat3 (0 for NFS3_OK; EIO for a status RFC 1813 does not define). */
export function errnoOfNfs3Status(status: number): number {
  if (status === Nfs3Status.NFS3_OK) return 0;
  const known = nfs3Error(status);
  return known ? Errno[known[0]] : Errno.EIO;
}

function describeCaller(credential: CallCredential): string {
  return credential ? `uid ${credential.uid}` : 'AUTH_NONE';
}

/** The server answered an NFSv3 call with an error status. */
export class NfsError extends Error {
  override name = 'NfsError';
  /** e.g. 'NFS3ERR_ACCES' */
  readonly statusName: string;
  /** The errno this status maps to; `code` is its name, as in Node's system errors. */
  readonly errno: number;
  readonly code: string;

  constructor(
    /** nfsstat3 number */
    readonly status: number,
    /** e.g. 'LOOKUP' */
    readonly procedure: string,
    credential: CallCredential,
    /** What the call was about, e.g. the name looked up. */
    detail = '',
  ) {
    const statusName = nfs3StatusName(status);
    const meaning = nfs3Error(status)?.[1] ?? 'unknown status';
    super(`${statusName}: ${meaning} for ${describeCaller(credential)} (${procedure}${detail ? ` ${detail}` : ''})`);
    this.statusName = statusName;
    this.errno = errnoOfNfs3Status(status);
    this.code = errnoName(this.errno);
  }
}

/** mountstat3 */
export const MountStatus = {
  MNT3_OK: 0,
  MNT3ERR_PERM: 1,
  MNT3ERR_NOENT: 2,
  MNT3ERR_IO: 5,
  MNT3ERR_ACCES: 13,
  MNT3ERR_NOTDIR: 20,
  MNT3ERR_INVAL: 22,
  MNT3ERR_NAMETOOLONG: 63,
  MNT3ERR_NOTSUPP: 10004,
  MNT3ERR_SERVERFAULT: 10006,
} as const;
type MountStatusName = keyof typeof MountStatus;

const MOUNT_ERRORS: Record<Exclude<MountStatusName, 'MNT3_OK'>, readonly [ErrnoName, string]> = {
  MNT3ERR_PERM: ['EPERM', 'the server does not let this client mount it (check the export\'s client list)'],
  MNT3ERR_NOENT: ['ENOENT', 'no such export on the server (check the path against its export list)'],
  MNT3ERR_IO: ['EIO', 'I/O error on the server'],
  // ganesha also answers this for a path it does not export at all.
  MNT3ERR_ACCES: ['EACCES', 'access denied: the path is not exported to this client (check the path and the export\'s client list)'],
  MNT3ERR_NOTDIR: ['ENOTDIR', 'the export path is not a directory'],
  MNT3ERR_INVAL: ['EINVAL', 'the server refused the export path as invalid'],
  MNT3ERR_NAMETOOLONG: ['ENAMETOOLONG', 'the export path is too long'],
  MNT3ERR_NOTSUPP: ['ENOTSUP', 'the server does not support this mount operation'],
  MNT3ERR_SERVERFAULT: ['EREMOTEIO', 'server fault'],
};

const mountStatusNames = new Map<number, MountStatusName>(
  Object.entries(MountStatus).map(([name, n]) => [n, name as MountStatusName]),
);

/** The MOUNT server refused MNT (or another MOUNT procedure). */
export class MountError extends Error {
  override name = 'MountError';
  readonly statusName: string;
  readonly errno: number;
  readonly code: string;

  constructor(
    readonly status: number,
    /** The export path asked for. */
    readonly path: string,
    server: string,
  ) {
    const name = mountStatusNames.get(status);
    const known = name && name !== 'MNT3_OK' ? MOUNT_ERRORS[name] : undefined;
    const statusName = name ?? `mountstat3 ${status}`;
    super(`mounting ${path} from ${server} failed: ${statusName}: ${known ? known[1] : 'unknown status'}`);
    this.statusName = statusName;
    this.errno = known ? Errno[known[0]] : Errno.EIO;
    this.code = errnoName(this.errno);
  }
}

/**
 * The errno for any failure of the NFS layer: the server's status for NfsError and MountError, EACCES when the
 * server refused the credential, ETIMEDOUT for a call that timed out, EIO for everything else.
 */
export function errnoOf(err: unknown): number {
  if (err instanceof NfsError || err instanceof MountError) return err.errno;
  if (err instanceof RpcAuthError) return Errno.EACCES;
  if (err instanceof RpcTimeoutError) return Errno.ETIMEDOUT;
  return Errno.EIO;
}
