// Which ACCESS3 bits an open() or access() needs. The server's answer decides: ganesha lets an owner READ and WRITE
// whatever the mode says, but answers ACCESS strictly, so POSIX permissions hold only if the client asks first.
import { constants } from 'node:fs';
import { Access3, Ftype3 } from '../nfs/index.ts';

const ACCESS_MODE = constants.O_RDONLY | constants.O_WRONLY | constants.O_RDWR;

export function isWritable(flags: number): boolean {
  return (flags & ACCESS_MODE) !== constants.O_RDONLY;
}

export function isReadable(flags: number): boolean {
  return (flags & ACCESS_MODE) !== constants.O_WRONLY;
}

/** Reading needs READ; writing MODIFY and EXTEND; O_TRUNC MODIFY. */
export function accessForOpen(flags: number): number {
  let bits = 0;
  if (isReadable(flags)) bits |= Access3.READ;
  if (isWritable(flags)) bits |= Access3.MODIFY | Access3.EXTEND;
  if (flags & constants.O_TRUNC) bits |= Access3.MODIFY;
  return bits;
}

/** access(2)'s R_OK/W_OK/X_OK as the Linux NFS client asks them: for a directory, write includes DELETE, search is LOOKUP. */
export function accessForMode(mode: number, type: Ftype3): number {
  const dir = type === Ftype3.DIR;
  let bits = 0;
  if (mode & constants.R_OK) bits |= Access3.READ;
  if (mode & constants.W_OK) bits |= Access3.MODIFY | Access3.EXTEND | (dir ? Access3.DELETE : 0);
  if (mode & constants.X_OK) bits |= dir ? Access3.LOOKUP : Access3.EXECUTE;
  return bits;
}
