// What a file system served through src/fuse implements: promise-returning handlers, one per
// FUSE operation. A handler answers by resolving; it fails with a FuseError carrying an errno
// number, or an error whose `code` names an errno ('ENOENT', 'EACCES', ... as Node's own fs
// errors do), which the program then gets.
// Any other error or throw becomes EIO and is logged; a handler never has to catch to keep the
// mount alive. Paths are absolute inside the mount ("/", "/dir/file"). A missing handler makes
// the operation ENOSYS (libfuse's answer), except getattr, which is required.
// Paths, names and symlink targets are byte strings: one character per byte (latin1), so that a name
// that is not valid UTF-8 is passed on exactly; '/' is still the separator.

/** A point in time as the kernel and NFS carry it. */
export interface FileTime {
  sec: number;
  nsec: number;
}

/** A time utimens asks for: a point, the current time ('now', UTIME_NOW) or unchanged ('omit', UTIME_OMIT). */
export type TimeChange = FileTime | 'now' | 'omit';

export interface Attributes {
  /** type and permission bits, as st_mode */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** st_ino, given to the kernel as it is with the use_ino option (otherwise libfuse numbers each name itself) */
  ino?: number;
  atime: FileTime;
  mtime: FileTime;
  ctime: FileTime;
  rdev?: number;
  blksize?: number;
  /** in 512-byte units */
  blocks?: number;
}

export interface StatFs {
  bsize: number;
  frsize: number;
  /** in frsize units */
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  namemax: number;
}

export interface DirEntry {
  name: string;
  /** given for every entry or for none; with `next`, the kernel caches them as a lookup would (readdir-plus) */
  attributes?: Attributes;
  /**
   * the offset readdir is called with to go on after this entry (positive, below 2^53); given for every entry or for
   * none. With it, a directory reaches the kernel a piece at a time (readdir answers one piece; none at the end);
   * without it readdir must answer the whole directory at once, which libfuse then holds. libfuse 3.14 sends
   * `attributes` to the kernel as readdir-plus entries (no lookup per entry for `ls -l`) only with `next`.
   */
  next?: number;
}

/**
 * The process whose system call became an operation, as the kernel reports it. For audit logs only, never for
 * identity or permissions: a pid may be reused, and a mount's identity is its own, not its callers'.
 */
export interface Caller {
  pid: number;
  uid: number;
  gid: number;
}

/** File and directory handles are integers from 0 to 2^31-1 chosen by open / create / opendir (0: none). */
export type Handle = number;

/** The kernel's caches of a mount, as its handlers may act on them. */
export interface KernelCache {
  /** the kernel drops its cached pages and attributes of the name `path` (resolves too when it held none) */
  invalidatePath(path: string): Promise<void>;
}

/** How a write came, and what its handler may do before it settles. */
export interface WriteHow {
  readonly writepage: boolean;
  readonly accept?: () => void;
}

export interface ReadHow {
  /**
   * (on a binding that can) answers the reader now with `source`'s bytes, which the kernel has read when this returns,
   * instead of `target`'s: for data held elsewhere, uncopied. `source.length` is the count (fewer than asked only at the
   * end of the file); the promise must then resolve, with that count.
   */
  readonly answerFrom?: (source: Uint8Array) => void;
}

export interface FuseHandlers {
  /** told of every operation before its handler runs, with the calling process (for an audit log; must not throw) */
  audit?(op: string, path: string, caller: Caller): void;
  getattr(path: string): Promise<Attributes>;
  /** stat of an open file (ftruncate, lseek SEEK_END, ...); without it, getattr by path */
  fgetattr?(path: string, fh: Handle): Promise<Attributes>;
  access?(path: string, mode: number): Promise<void>;
  statfs?(path: string): Promise<StatFs>;

  opendir?(path: string, flags: number): Promise<Handle>;
  /** the entries from `offset` (0: the start; else a `next` it answered before); `fh` is opendir's handle */
  readdir?(path: string, offset: number, fh: Handle): Promise<DirEntry[]>;
  releasedir?(path: string, fh: Handle): Promise<void>;
  fsyncdir?(path: string, fh: Handle, datasync: boolean): Promise<void>;

  /** flags as open(2) got them (O_ACCMODE, O_APPEND, ...) */
  open?(path: string, flags: number): Promise<Handle>;
  /** an O_CREAT open of a file that did not exist; flags include O_EXCL when asked */
  create?(path: string, mode: number, flags: number): Promise<Handle>;
  /**
   * fills `target`, the kernel's buffer, from `position` and answers the number of bytes (fewer only at end of file).
   * `target` is valid only until the answer: afterwards (a timeout answered first) it is detached, with length 0, so a
   * late Buffer#copy into it copies nothing (TypedArray#set and #fill would throw).
   */
  read?(path: string, fh: Handle, target: Buffer, position: number, how: ReadHow): Promise<number>;
  /**
   * `data` is the handler's own copy: it may keep it; answers the number of bytes written. With
   * `writeCopiesData` set, `data` is the kernel's buffer itself, valid only until the promise settles.
   * `writepage`: the kernel writes back mmap'ed pages, through any fd of the file open for writing (an O_APPEND
   * one too): they belong at `position` whatever the fd's flags.
   * `accept` (with `writeCopiesData`, on a binding that can): answers the writer now that all of `data` is taken,
   * before the handler copies it; `data` stays valid until the promise settles, which must then resolve.
   */
  write?(path: string, fh: Handle, data: Buffer, position: number, how: WriteHow): Promise<number>;
  /** `write` copies what it keeps before it settles, so it needs no copy of its own (saves one per write). */
  readonly writeCopiesData?: boolean;
  flush?(path: string, fh: Handle): Promise<void>;
  fsync?(path: string, fh: Handle, datasync: boolean): Promise<void>;
  release?(path: string, fh: Handle): Promise<void>;

  truncate?(path: string, size: number): Promise<void>;
  ftruncate?(path: string, fh: Handle, size: number): Promise<void>;
  utimens?(path: string, atime: TimeChange, mtime: TimeChange): Promise<void>;
  chmod?(path: string, mode: number): Promise<void>;
  /** undefined leaves that id unchanged (chown with -1) */
  chown?(path: string, uid: number | undefined, gid: number | undefined): Promise<void>;

  mknod?(path: string, mode: number, rdev: number): Promise<void>;
  mkdir?(path: string, mode: number): Promise<void>;
  unlink?(path: string): Promise<void>;
  rmdir?(path: string): Promise<void>;
  /** `request`: the FUSE request's id (libfuse's own hiding of an open target comes in the same request first). */
  rename?(from: string, to: string, request?: number): Promise<void>;
  link?(existing: string, path: string): Promise<void>;
  symlink?(target: string, path: string): Promise<void>;
  readlink?(path: string): Promise<string>;

  /** Called once the mount serves, with what it offers the handlers. */
  mounted?(kernel: KernelCache): void;
}
