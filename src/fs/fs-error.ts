// Failures of the file-system layer carry an errno, like the NFS layer's: the FUSE adapter answers with errnoOfFailure().
import { Errno, errnoName, errnoOf, NfsError } from '../nfs/errno.ts';
import { Nfs3Status } from '../nfs/nfs3-types.ts';

export const { EBADF } = Errno;

/** A refusal decided here, not by the server: device nodes, unknown fds, ACCESS denials at open, chown policy. */
export class FsError extends Error {
  override name = 'FsError';
  readonly code: string;

  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.code = errnoName(errno);
  }
}

/** The errno to answer for any failure of an fs operation: this layer's own, the server's, or the transport's. */
export function errnoOfFailure(err: unknown): number {
  return err instanceof FsError ? err.errno : errnoOf(err);
}

/** The server no longer knows the handle: the path must be looked up again. */
export function isStale(err: unknown): boolean {
  return err instanceof NfsError && (err.status === Nfs3Status.NFS3ERR_STALE || err.status === Nfs3Status.NFS3ERR_BADHANDLE);
}

export function hasErrno(err: unknown, errno: number): boolean {
  return errnoOfFailure(err) === errno;
}
