// What getattr and readdir return: a stat(2)-like object made from fattr3, file type bits included.
import { constants } from 'node:fs';
import { type Fattr3, Ftype3 } from '../nfs/index.ts';

export interface Timespec {
  readonly seconds: number;
  readonly nseconds: number;
}

export interface FileStat {
  /** File type bits (S_IFREG, S_IFDIR, ...) | permission bits. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** 512-byte blocks the server says the file uses. */
  readonly blocks: number;
  /** The I/O size that suits this file system (one write chunk). */
  readonly blksize: number;
  readonly ino: number;
  readonly dev: number;
  /** Device number of a device node, Linux's makedev() encoding. */
  readonly rdev: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
}

const TYPE_BITS: Record<Ftype3, number> = {
  [Ftype3.REG]: constants.S_IFREG,
  [Ftype3.DIR]: constants.S_IFDIR,
  [Ftype3.BLK]: constants.S_IFBLK,
  [Ftype3.CHR]: constants.S_IFCHR,
  [Ftype3.LNK]: constants.S_IFLNK,
  [Ftype3.SOCK]: constants.S_IFSOCK,
  [Ftype3.FIFO]: constants.S_IFIFO,
};

/** Linux's makedev(): 12 bits of major, 20 of minor, split around the low byte. */
function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Fileids and fsids are 64-bit; numbers hold 53 bits, and the low bits are the ones that differ. */
function low53(n: bigint): number {
  return Number(n & 0x1fffffffffffffn);
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export function toFileStat(a: Fattr3, owner: Owner, blksize: number): FileStat {
  return {
    mode: TYPE_BITS[a.type] | (a.mode & 0o7777),
    nlink: a.nlink,
    uid: owner.uid,
    gid: owner.gid,
    size: Number(a.size),
    blocks: Number((a.used + 511n) / 512n),
    blksize,
    ino: low53(a.fileid),
    dev: Number(a.fsid & 0xffffffffn),
    rdev: makedev(a.rdev.major, a.rdev.minor),
    atime: a.atime,
    mtime: a.mtime,
    ctime: a.ctime,
  };
}
