// The NFS server's refusals as errors: an nfsstat3 with its name and meaning, and a server whose answers break the
// protocol. The file-system layer decides what errno each means (src/fs/nfs-errno.ts); this layer knows only NFS.
import { Nfs3Status, type Nfs3StatusName } from './nfs3-types.ts';
import type { CallCredential } from './rpc-transport.ts';

/** What every nfsstat3 error means to a person. */
const NFS3_MEANINGS: Record<Exclude<Nfs3StatusName, 'NFS3_OK'>, string> = {
  NFS3ERR_PERM: 'operation not permitted (not the owner, or not root)',
  NFS3ERR_NOENT: 'no such file or directory',
  NFS3ERR_IO: 'I/O error on the server',
  NFS3ERR_NXIO: 'no such device or address',
  NFS3ERR_ACCES: 'permission denied',
  NFS3ERR_EXIST: 'file exists',
  NFS3ERR_XDEV: 'cross-device link or rename',
  NFS3ERR_NODEV: 'no such device',
  NFS3ERR_NOTDIR: 'not a directory',
  NFS3ERR_ISDIR: 'is a directory',
  NFS3ERR_INVAL: 'invalid argument',
  NFS3ERR_FBIG: 'file too large',
  NFS3ERR_NOSPC: 'no space left on the server',
  NFS3ERR_ROFS: 'read-only file system',
  NFS3ERR_MLINK: 'too many hard links',
  NFS3ERR_NAMETOOLONG: 'file name too long',
  NFS3ERR_NOTEMPTY: 'directory not empty',
  NFS3ERR_DQUOT: 'disk quota exceeded',
  NFS3ERR_STALE: 'stale file handle',
  NFS3ERR_REMOTE: 'too many levels of remote in path',
  NFS3ERR_BADHANDLE: 'the server does not recognise the file handle',
  NFS3ERR_NOT_SYNC: 'attribute update out of sync (the file changed since its ctime was read)',
  NFS3ERR_BAD_COOKIE: 'directory cookie no longer valid',
  NFS3ERR_NOTSUPP: 'operation not supported by the server',
  NFS3ERR_TOOSMALL: 'buffer too small for the reply',
  NFS3ERR_SERVERFAULT: 'server fault',
  NFS3ERR_BADTYPE: 'the server does not support this file type',
  NFS3ERR_JUKEBOX: 'the server is temporarily unable to do this, try again',
};

const nfs3StatusNames = new Map<number, Nfs3StatusName>(Object.entries(Nfs3Status).map(([name, n]) => [n, name as Nfs3StatusName]));

/** 'NFS3ERR_ACCES' for 13; `nfsstat3 N` for a status RFC 1813 does not define. */
export function nfs3StatusName(status: number): string {
  return nfs3StatusNames.get(status) ?? `nfsstat3 ${status}`;
}

function describeCaller(credential: CallCredential): string {
  return credential ? `uid ${credential.uid}` : 'AUTH_NONE';
}

/** The server answered an NFSv3 call with an error status. */
export class NfsError extends Error {
  override name = 'NfsError';
  /** The status's name, e.g. 'NFS3ERR_ACCES' ('nfsstat3 N' for one RFC 1813 does not define). */
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
    const code = nfs3StatusName(status);
    const name = nfs3StatusNames.get(status);
    const meaning = name && name !== 'NFS3_OK' ? NFS3_MEANINGS[name] : 'unknown status';
    super(`${code}: ${meaning} for ${describeCaller(credential)} (${procedure}${detail ? ` ${detail}` : ''})`);
    this.code = code;
  }
}

/** The server's answers break NFSv3's rules: a directory listing that loops or makes no progress. */
export class NfsProtocolError extends Error {
  override name = 'NfsProtocolError';
  readonly code = 'NFS_PROTOCOL';
}

/** Whether `err` is the server's answer `status`. */
export function isNfsStatus(err: unknown, ...statuses: number[]): err is NfsError {
  return err instanceof NfsError && statuses.includes(err.status);
}
