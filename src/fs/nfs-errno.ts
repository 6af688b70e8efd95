// What each failure of the NFS layer means to an application: the one mapping from NFS and MOUNT statuses and RPC
// failures to Linux errnos. Only the file-system layer decides errnos; the NFS layer reports what the server said.
import { MountStatus, type MountStatusName, Nfs3Status, type Nfs3StatusName } from '../nfs/index.ts';

import { Errno, type ErrnoName } from './errno.ts';

/** Every nfsstat3 error and its errno. */
const NFS3_ERRNOS: Record<Exclude<Nfs3StatusName, 'NFS3_OK'>, ErrnoName> = {
  NFS3ERR_PERM: 'EPERM',
  NFS3ERR_NOENT: 'ENOENT',
  NFS3ERR_IO: 'EIO',
  NFS3ERR_NXIO: 'ENXIO',
  NFS3ERR_ACCES: 'EACCES',
  NFS3ERR_EXIST: 'EEXIST',
  NFS3ERR_XDEV: 'EXDEV',
  NFS3ERR_NODEV: 'ENODEV',
  NFS3ERR_NOTDIR: 'ENOTDIR',
  NFS3ERR_ISDIR: 'EISDIR',
  NFS3ERR_INVAL: 'EINVAL',
  NFS3ERR_FBIG: 'EFBIG',
  NFS3ERR_NOSPC: 'ENOSPC',
  NFS3ERR_ROFS: 'EROFS',
  NFS3ERR_MLINK: 'EMLINK',
  NFS3ERR_NAMETOOLONG: 'ENAMETOOLONG',
  NFS3ERR_NOTEMPTY: 'ENOTEMPTY',
  NFS3ERR_DQUOT: 'EDQUOT',
  // The handle is no longer valid; ESTALE tells the file-system layer to look the path up again.
  NFS3ERR_STALE: 'ESTALE',
  NFS3ERR_REMOTE: 'EREMOTE',
  NFS3ERR_BADHANDLE: 'ESTALE',
  // A SETATTR guard did not match the object's ctime: the object changed meanwhile.
  NFS3ERR_NOT_SYNC: 'EINVAL',
  NFS3ERR_BAD_COOKIE: 'EINVAL',
  NFS3ERR_NOTSUPP: 'ENOTSUP',
  NFS3ERR_TOOSMALL: 'EINVAL',
  NFS3ERR_SERVERFAULT: 'EREMOTEIO',
  NFS3ERR_BADTYPE: 'EINVAL',
  // The server is busy (e.g. recalling the file from tape); the operation may succeed later.
  NFS3ERR_JUKEBOX: 'EAGAIN',
};

const MOUNT_ERRNOS: Record<Exclude<MountStatusName, 'MNT3_OK'>, ErrnoName> = {
  MNT3ERR_PERM: 'EPERM',
  MNT3ERR_NOENT: 'ENOENT',
  MNT3ERR_IO: 'EIO',
  MNT3ERR_ACCES: 'EACCES',
  MNT3ERR_NOTDIR: 'ENOTDIR',
  MNT3ERR_INVAL: 'EINVAL',
  MNT3ERR_NAMETOOLONG: 'ENAMETOOLONG',
  MNT3ERR_NOTSUPP: 'ENOTSUP',
  MNT3ERR_SERVERFAULT: 'EREMOTEIO',
};

/** status number -> errno number, from the names of both. */
function byNumber(statuses: Readonly<Record<string, number>>, errnos: Readonly<Partial<Record<string, ErrnoName>>>): Map<number, number> {
  const map = new Map<number, number>();
  for (const [name, status] of Object.entries(statuses)) {
    const errno = errnos[name];
    if (errno) map.set(status, Errno[errno]);
  }
  return map;
}

const nfs3Errnos = byNumber(Nfs3Status, NFS3_ERRNOS);
const mountErrnos = byNumber(MountStatus, MOUNT_ERRNOS);

/** The errno for an nfsstat3 (0 for NFS3_OK; EIO for a status RFC 1813 does not define). */
export function errnoOfNfs3Status(status: number): number {
  if (status === Nfs3Status.NFS3_OK) return 0;
  return nfs3Errnos.get(status) ?? Errno.EIO;
}

/** The errno for a mountstat3 MNT refused with (EIO for a status RFC 1813 does not define). */
export function errnoOfMountStatus(status: number): number {
  return mountErrnos.get(status) ?? Errno.EIO;
}
