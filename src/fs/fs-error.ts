// The file-system layer's failures: FsError carries the errno the application gets, and the failure it stands for
// as `cause`. Every operation of NfsFileSystem fails with one (fsErrorOf at its boundary): the FUSE adapter hands the
// number on, and decides nothing.
import {
  ExportFlavorError,
  isNfsStatus,
  MountError,
  Nfs3Status,
  NfsError,
  NfsProtocolError,
  RpcAuthError,
  RpcError,
  RpcTimeoutError,
  XdrError,
} from '../nfs/index.ts';

import { Errno, errnoName } from './errno.ts';
import { errnoOfMountStatus, errnoOfNfs3Status } from './nfs-errno.ts';

export const { EBADF } = Errno;

export interface FsErrorOptions {
  /** The failure this one stands for. */
  readonly cause?: unknown;
  /** The server answered so (an NFS status, or its ACCESS reply): not kidfs's own refusal, nor the transport's. */
  readonly byServer?: boolean;
}

export class FsError extends Error {
  override name = 'FsError';
  /** The errno's name, e.g. 'EACCES', as in Node's system errors. */
  readonly code: string;
  readonly byServer: boolean;

  constructor(
    /** The Linux errno number (positive). */
    readonly errno: number,
    message: string,
    options: FsErrorOptions = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = errnoName(errno);
    this.byServer = options.byServer ?? false;
  }
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * The FsError for any failure of an fs operation: this layer's own as it is; the server's status, MOUNT status or
 * transport failure with the errno it means (EACCES for a refused credential, ETIMEDOUT for no reply, EIO for the
 * rest). Anything else is no failure this layer knows (a bug, or one nobody classified): EIO, the only honest answer
 * to the application, with the error's name in the message, which the FUSE adapter logs as it logs every EIO.
 */
export function fsErrorOf(err: unknown): FsError {
  if (err instanceof FsError) return err;
  if (err instanceof NfsError) return new FsError(errnoOfNfs3Status(err.status), err.message, { cause: err, byServer: true });
  if (err instanceof MountError) return new FsError(errnoOfMountStatus(err.status), err.message, { cause: err, byServer: true });
  if (err instanceof RpcAuthError) return new FsError(Errno.EACCES, err.message, { cause: err });
  if (err instanceof RpcTimeoutError) return new FsError(Errno.ETIMEDOUT, err.message, { cause: err });
  const known = err instanceof RpcError || err instanceof NfsProtocolError || err instanceof XdrError || err instanceof ExportFlavorError;
  return new FsError(Errno.EIO, known ? err.message : `unexpected ${describe(err)}`, { cause: err });
}

/** The errno to answer for any failure of an fs operation (see fsErrorOf). */
export function errnoOfFailure(err: unknown): number {
  return fsErrorOf(err).errno;
}

export function hasErrno(err: unknown, errno: number): boolean {
  return errnoOfFailure(err) === errno;
}

/** The server no longer knows the handle: the path must be looked up again. */
export function isStale(err: unknown): boolean {
  return isNfsStatus(err, Nfs3Status.NFS3ERR_STALE, Nfs3Status.NFS3ERR_BADHANDLE);
}
