// The Linux errno numbers the file-system layer answers with, and their names.

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
