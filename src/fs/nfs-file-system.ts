// The file system a kidfs mount presents: POSIX-like operations by path (and by fd for open files), each sent to
// the NFS export as one identity. Every failure is an FsError, which carries the errno the application gets.
import { constants } from 'node:fs';
import { Access3, type Credential, type Fattr3, type FileHandle, Ftype3, type MknodWhat, type Sattr3, type SetTime } from '../nfs/index.ts';

import { accessForMode, accessForOpen } from './access-bits.ts';
import { AttrCache } from './attr-cache.ts';
import { toFileStat, type FileStat, type Timespec } from './file-stat.ts';
import { DirectoryStreams, type ListedEntry } from './directory-streams.ts';
import { Errno } from './errno.ts';
import { FsError, fsErrorOf, hasErrno } from './fs-error.ts';
import { resolveOptions, type FileSystemOptions, type ResolvedOptions } from './fs-options.ts';
import { FsStats } from './fs-stats.ts';
import type { MountMemoryBudget } from './memory-budget.ts';
import type { QosShare } from './rate-limit.ts';
import { HandleCache } from './handle-cache.ts';
import { LibfuseHides, type Hiding } from './libfuse-hides.ts';
import { OpenFiles } from './open-files.ts';
import { OwnerView } from './owner-view.ts';
import { pathComponents, splitParent } from './path-names.ts';
import { PathResolver } from './path-resolver.ts';
import type { AnswerFrom } from './read-ahead.ts';
import type { NfsOperations } from './nfs-operations.ts';

/** A time for utimens: leave it, the server's clock, or this time. */
export type TimeSetting = 'omit' | 'now' | Timespec;

export interface DirectoryEntry {
  readonly name: string;
  /** From READDIRPLUS; missing when the server left the entry's attributes out. */
  readonly stat?: FileStat;
}

/** An entry of an open directory, with the position to read on from after it. */
export interface PositionedEntry extends DirectoryEntry {
  readonly next: number;
}

/** statvfs(3)'s numbers; sizes count `frsize` blocks. */
export interface FsStatfs {
  readonly bsize: number;
  readonly frsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
  readonly favail: number;
  readonly namemax: number;
}

/**
 * A mount never makes setuid files, nor setgid files: those bits are dropped from every create, mkdir and chmod. The
 * setgid bit of a directory is no privilege (new entries take the directory's group): it is kept.
 */
const permissionBits = (mode: number, directory: boolean): number => mode & (directory ? 0o3777 : 0o1777);

/**
 * A file unlinked while open keeps a hidden name until its last close: kidfs's own, or libfuse's (which renames it
 * itself before kidfs hears of the unlink; without that, libfuse would find no path for the open file's fd).
 * readdir leaves them out: for the application the name is gone.
 */
const HIDDEN_PREFIX = '.kidfs-unlinked-';
const LIBFUSE_HIDDEN_PREFIX = '.fuse_hidden';
const isHiddenName = (name: string): boolean => name.startsWith(HIDDEN_PREFIX) || name.startsWith(LIBFUSE_HIDDEN_PREFIX);

/** The longest name the Linux NFS client reports whatever the server says (NFS_MAXNAMLEN), as most file systems take. */
const NAME_MAX = 255;

/**
 * nfstime3 seconds are unsigned 32 bits: a time outside 1970..2106 is clamped to the limit, with nanoseconds 0, as
 * Linux does for every file system (timestamp_truncate; its NFSv3 client has the same limits). A time within them is
 * kept to the nanosecond.
 */
function nfsTime(t: TimeSetting): SetTime | undefined {
  if (t === 'omit') return undefined;
  if (t === 'now') return 'server';
  if (!(Number.isInteger(t.seconds) && Number.isInteger(t.nseconds) && t.nseconds >= 0 && t.nseconds < 1e9)) {
    throw new FsError(Errno.EINVAL, `time ${t.seconds}.${t.nseconds} is not a time (whole seconds, nanoseconds 0 to 999999999)`);
  }
  if (t.seconds < 0) return { seconds: 0, nseconds: 0 };
  if (t.seconds > 0xffffffff) return { seconds: 0xffffffff, nseconds: 0 };
  return { seconds: t.seconds, nseconds: t.nseconds };
}

export class NfsFileSystem {
  readonly stats = new FsStats();
  readonly credential: Credential;
  private readonly client: NfsOperations;
  private readonly rootHandle: FileHandle;
  private readonly options: ResolvedOptions;
  private readonly attrs: AttrCache;
  private readonly resolver: PathResolver;
  private readonly files: OpenFiles;
  private readonly directories: DirectoryStreams;
  private readonly view: OwnerView;
  /** st_blksize and statfs's block size: the FSINFO preferred write size, at most one write chunk. */
  private readonly blockSize: number;
  private nameMax?: number;
  /**
   * Path -> handle of each file open through this mount, moved along by this mount's renames (as libfuse moves the
   * path it gives for an open file): what a stat of that path means when it comes from fstat (see getattr).
   */
  private readonly openPaths = new Map<string, FileHandle>();
  private readonly hides = new LibfuseHides();

  constructor(options: FileSystemOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.credential = { ...options.credential, gids: [...options.credential.gids] };
    this.client = options.export.client;
    this.rootHandle = options.export.rootHandle;
    this.attrs = new AttrCache(o.attrTimeoutMs, o.maxCacheEntries);
    const handles = new HandleCache(this.rootHandle, o.entryTimeoutMs, o.maxCacheEntries);
    this.resolver = new PathResolver(this.client, this.credential, handles, this.attrs, this.stats, this.hides);
    this.files = new OpenFiles(this.client, this.credential, this.attrs, this.stats, o);
    this.directories = new DirectoryStreams(this.client, this.credential);
    this.view = new OwnerView(this.credential, options.ownerView, o.chownPolicy);
    this.blockSize = Math.min(options.export.fsinfo.wtpref || o.writeChunkBytes, o.writeChunkBytes);
  }

  /** Open fds. */
  get openFiles(): number {
    return this.files.count;
  }

  /** The rates the mount shares with its identity's other mounts, and how long its calls waited for them. */
  get qos(): QosShare | undefined {
    return this.options.qos;
  }

  /** The mount's memory budget: what write-back and read-ahead hold now, at most, and how often writers waited. */
  get memory(): MountMemoryBudget {
    return this.options.memory;
  }

  /** Open fds that may write. */
  get openForWriting(): number {
    return this.files.writers;
  }

  /** Memory held for read-ahead. */
  get readAheadBytesHeld(): number {
    return this.files.readAheadBytesHeld;
  }

  /** Written data not yet committed on the server. */
  get bytesHeld(): number {
    return this.files.bytesHeld;
  }

  // ---- attributes ----

  /** stat(2) of a path, or of an open file when `fd` is given (the size includes writes not yet on the server). */
  getattr(path: string, fd?: number): Promise<FileStat> {
    return this.run('getattr', async () => {
      if (fd !== undefined) {
        const handle = this.files.handleOf(fd);
        return this.stat(handle, await this.writtenAttributes(handle), this.viaLibfuseHiddenName(path));
      }
      const names = pathComponents(path);
      return this.resolver.retryStale([names], async () => {
        try {
          const { handle, attributes } = await this.resolver.resolve(names);
          return this.stat(handle, await this.writtenAttributes(handle, attributes), this.viaLibfuseHiddenName(path));
        } catch (err) {
          // FUSE sends fstat(2) of an open file as a stat of its path: when search permission on a directory above
          // was taken away, the open file still answers (as it does on a local file system).
          const open = hasErrno(err, Errno.EACCES) ? this.openPaths.get(path) : undefined;
          if (!open) throw err;
          return this.stat(open, await this.writtenAttributes(open), this.viaLibfuseHiddenName(path));
        }
      });
    });
  }

  /** access(2): F_OK checks existence; R_OK/W_OK/X_OK are asked of the server with ACCESS. */
  access(path: string, mode: number): Promise<void> {
    return this.run('access', async () => {
      const names = pathComponents(path);
      await this.resolver.retryStale([names], async () => {
        const { handle, attributes } = await this.resolver.resolve(names);
        if (mode === constants.F_OK) return;
        const type = (attributes ?? (await this.attributes(handle))).type;
        await this.checkAccess(handle, accessForMode(mode, type), path);
      });
    });
  }

  /** A directory's new mode applies to what the mount cached below it too: those names are looked up again. */
  chmod(path: string, mode: number): Promise<void> {
    return this.run('chmod', async () => {
      const names = pathComponents(path);
      await this.resolver.retryStale([names], async () => {
        const { handle, attributes } = await this.resolver.resolve(names);
        const directory = (attributes ?? (await this.attributes(handle))).type === Ftype3.DIR;
        const wcc = await this.client.setattr(this.credential, handle, { mode: permissionBits(mode, directory) });
        this.attrs.set(handle, wcc.after);
        if (directory) this.resolver.handles.expireBelow(names);
      });
    });
  }

  /** uid/gid as chown(2) takes them (-1: unchanged), through the ownership view and the chown policy. */
  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.run('chown', async () => {
      const names = pathComponents(path);
      await this.resolver.retryStale([names], async () => {
        const { handle, attributes } = await this.resolver.resolve(names);
        const current = attributes ?? (await this.attributes(handle));
        const plan = this.view.planChown(current, uid, gid, path);
        if (plan.uid === undefined && plan.gid === undefined) return;
        const wcc = await this.client.setattr(this.credential, handle, plan);
        this.attrs.set(handle, wcc.after);
      });
    });
  }

  /** Sets the access and modification times, each independently ('omit', 'now' = the server's clock, or a time). */
  utimens(path: string, atime: TimeSetting, mtime: TimeSetting): Promise<void> {
    return this.run('utimens', () => this.setattr(path, { atime: nfsTime(atime), mtime: nfsTime(mtime) }));
  }

  /** truncate(2) by path (needs write permission, asked with ACCESS) or ftruncate(2) by fd. */
  truncate(path: string, size: number, fd?: number): Promise<void> {
    return this.run('truncate', async () => {
      if (!(Number.isInteger(size) && size >= 0)) throw new FsError(Errno.EINVAL, `cannot truncate ${path} to ${size} bytes`);
      // As a local file system says of a size past its largest file (2^53 bytes is far past any NFS server's).
      if (size > Number.MAX_SAFE_INTEGER)
        throw new FsError(Errno.EFBIG, `cannot truncate ${path} to ${size} bytes: larger than any file can be`);
      if (fd !== undefined) {
        await this.truncateHandle(this.files.handleOf(fd), size);
        return;
      }
      const names = pathComponents(path);
      await this.resolver.retryStale([names], async () => {
        const { handle } = await this.resolver.resolve(names);
        await this.checkAccess(handle, Access3.MODIFY, path);
        await this.truncateHandle(handle, size);
      });
    });
  }

  statfs(_path: string): Promise<FsStatfs> {
    return this.run('statfs', async () => {
      const s = await this.client.fsstat(this.credential, this.rootHandle);
      this.nameMax ??= Math.min((await this.client.pathconf(this.credential, this.rootHandle)).nameMax, NAME_MAX);
      const blocks = (bytes: bigint) => Number(bytes / BigInt(this.blockSize));
      return {
        bsize: this.blockSize,
        frsize: this.blockSize,
        blocks: blocks(s.totalBytes),
        bfree: blocks(s.freeBytes),
        bavail: blocks(s.availableBytes),
        files: Number(s.totalFiles),
        ffree: Number(s.freeFiles),
        favail: Number(s.availableFiles),
        namemax: this.nameMax,
      };
    });
  }

  // ---- directories and names ----

  /** Opens a directory for reading its entries a piece at a time; resolves with its handle number. */
  opendir(path: string): Promise<number> {
    return this.run('opendir', async () => {
      const names = pathComponents(path);
      const { handle } = await this.resolver.retryStale([names], () => this.resolver.resolve(names));
      return this.directories.opendir(handle, names);
    });
  }

  /**
   * Entries of an open directory from `position` (0: the start, else a `next` this gave) as the server lists them
   * ('.' and '..' included), with attributes from READDIRPLUS: one page, never the whole directory; none at its end.
   */
  readdir(dir: number, position: number): Promise<PositionedEntry[]> {
    return this.run('readdir', async () => {
      const names = this.directories.namesOf(dir);
      return (await this.visibleEntries(dir, position)).map(({ entry, next }) => {
        if (entry.handle && entry.name !== '.' && entry.name !== '..') {
          this.resolver.handles.set([...names, entry.name], entry.handle);
          this.attrs.set(entry.handle, entry.attributes);
        }
        const stat = entry.attributes && entry.handle ? this.stat(entry.handle, entry.attributes) : undefined;
        return stat ? { name: entry.name, stat, next } : { name: entry.name, next };
      });
    });
  }

  /**
   * The next page of an open directory without the hidden names of files unlinked while open (they are gone for the
   * application); a page of nothing but those is skipped, since an empty answer means the directory's end.
   */
  private async visibleEntries(dir: number, position: number): Promise<ListedEntry[]> {
    for (;;) {
      const page = await this.directories.read(dir, position);
      const visible = page.filter(({ entry }) => !isHiddenName(entry.name));
      if (visible.length > 0 || page.length === 0) return visible;
      position = page[page.length - 1]!.next;
    }
  }

  releasedir(dir: number): Promise<void> {
    return this.run('releasedir', async () => this.directories.releasedir(dir));
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.run('mkdir', () =>
      this.make(path, (dir, name) => this.client.mkdir(this.credential, dir, name, { mode: permissionBits(mode, true) })),
    );
  }

  rmdir(path: string): Promise<void> {
    return this.run('rmdir', () => this.removeName(path, (dir, name) => this.client.rmdir(this.credential, dir, name)));
  }

  /** Removes a name; a file still open through this mount is renamed to a hidden name and removed at its last close. */
  unlink(path: string): Promise<void> {
    // A hidden name whose hiding was undone (libfuse removes it at the file's last close) is no name on the server.
    const names = pathComponents(path);
    if (this.hides.putBackAs(names)) return this.run('unlink', async () => this.hides.closed(names));
    return this.run('unlink', () =>
      this.removeName(path, async (dir, name, handle) => {
        if (await this.hideIfOpen(handle, dir, name)) return undefined;
        return this.client.remove(this.credential, dir, name);
      }),
    );
  }

  /**
   * rename(2): also over an existing target (kept as a hidden name while it is open through this mount) and across
   * directories. The moved file's ctime and a replaced file's nlink change: their cached attributes are dropped.
   * `request` is the FUSE request's id: libfuse hides an open target itself first, in the same request, and puts it
   * back here when the rename then fails, or when source and target are names of one file (POSIX: nothing happens).
   */
  rename(from: string, to: string, request?: number): Promise<void> {
    return this.run('rename', async () => {
      const hiding = request === undefined ? undefined : this.hides.take(request, to);
      let sameFile = false;
      try {
        sameFile = hiding !== undefined && (await this.resolver.resolve(pathComponents(from))).handle.equals(hiding.handle);
        if (!sameFile) await this.renameOnServer(from, to, request);
      } catch (err) {
        if (hiding) await this.putBack(hiding, err);
        throw err;
      }
      if (hiding && sameFile) await this.putBack(hiding);
    });
  }

  private async renameOnServer(from: string, to: string, request: number | undefined): Promise<void> {
    const source = splitParent(from);
    const target = splitParent(to);
    const sourceNames = [...source.parent, source.name];
    const targetNames = [...target.parent, target.name];
    // Which file the target name is: cached when the kernel looked it up just before (no extra LOOKUP for a new name).
    const replaced = this.resolver.handles.peek(targetNames);
    await this.resolver.retryStale([source.parent, target.parent], async () => {
      const [fromDir, toDir, moved] = await Promise.all([
        this.resolver.resolve(source.parent),
        this.resolver.resolve(target.parent),
        this.resolver.resolve(sourceNames),
      ]);
      if (replaced && !replaced.equals(moved.handle)) await this.hideIfOpen(replaced, toDir.handle, target.name);
      const result = await this.client.rename(this.credential, fromDir.handle, source.name, toDir.handle, target.name);
      this.attrs.set(fromDir.handle, result.fromDirWcc.after);
      this.attrs.set(toDir.handle, result.toDirWcc.after);
      this.attrs.delete(moved.handle);
      if (isHiddenName(target.name) && !isHiddenName(source.name)) {
        this.files.countHiddenName(moved.handle, 1);
        if (request !== undefined && target.name.startsWith(LIBFUSE_HIDDEN_PREFIX))
          this.hides.record(request, { path: from, hiddenPath: to, handle: moved.handle });
      }
    });
    if (replaced) this.attrs.delete(replaced);
    this.moveOpenPaths(from, to);
    this.resolver.handles.delete(sourceNames);
    this.resolver.handles.delete(targetNames);
  }

  /**
   * Gives a rename's target its name back from the hidden one libfuse moved it to. After a failed rename
   * (`renameError`), a put-back that fails too leaves the file to be removed at its last close: the error says so.
   */
  private async putBack(hiding: Hiding, renameError?: unknown): Promise<void> {
    const target = splitParent(hiding.path);
    const hidden = splitParent(hiding.hiddenPath);
    try {
      const dir = await this.resolver.resolve(target.parent);
      const result = await this.client.rename(this.credential, dir.handle, hidden.name, dir.handle, target.name);
      this.attrs.set(dir.handle, result.toDirWcc.after);
    } catch (err) {
      if (renameError === undefined) throw err;
      throw new FsError(
        fsErrorOf(renameError).errno,
        `rename over ${hiding.path} failed (${String(renameError)}), and ${hiding.path} could not be put back from ${hiding.hiddenPath}, where it stays: ${String(err)}`,
        { cause: renameError },
      );
    }
    this.files.countHiddenName(hiding.handle, -1);
    this.attrs.delete(hiding.handle);
    this.moveOpenPaths(hiding.hiddenPath, hiding.path);
    this.hides.undone(hiding);
    this.resolver.handles.delete([...hidden.parent, hidden.name]);
  }

  /** A hard link `newPath` to `existing`. */
  link(existing: string, newPath: string): Promise<void> {
    return this.run('link', async () => {
      const names = pathComponents(existing);
      const target = splitParent(newPath);
      await this.resolver.retryStale([names, target.parent], async () => {
        const [file, dir] = await Promise.all([this.resolver.resolve(names), this.resolver.resolve(target.parent)]);
        const result = await this.client.link(this.credential, file.handle, dir.handle, target.name);
        this.attrs.set(file.handle, result.attributes);
        this.attrs.set(dir.handle, result.dirWcc.after);
        this.resolver.handles.set([...target.parent, target.name], file.handle);
      });
    });
  }

  /** A symbolic link at `path` pointing to `target`. */
  symlink(target: string, path: string): Promise<void> {
    return this.run('symlink', () => this.make(path, (dir, name) => this.client.symlink(this.credential, dir, name, target)));
  }

  readlink(path: string): Promise<string> {
    return this.run('readlink', async () => {
      const names = pathComponents(path);
      return this.resolver.retryStale([names], async () => {
        const { handle } = await this.resolver.resolve(names);
        const result = await this.client.readlink(this.credential, handle);
        this.attrs.set(handle, result.attributes);
        return result.target;
      });
    });
  }

  /** FIFOs, sockets and regular files; device nodes are refused (EPERM): a kidfs mount is nodev. */
  mknod(path: string, mode: number, _rdev: number): Promise<void> {
    return this.run('mknod', async () => {
      const type = mode & constants.S_IFMT;
      const attributes = { mode: permissionBits(mode, false) };
      if (type === constants.S_IFCHR || type === constants.S_IFBLK) {
        throw new FsError(Errno.EPERM, `mknod ${path}: device nodes cannot be made in a kidfs mount (it is nodev)`);
      }
      if (type === constants.S_IFREG || type === 0) {
        await this.make(path, (dir, name) => this.client.create(this.credential, dir, name, { mode: 'guarded', attributes }));
        return;
      }
      const kinds: Record<number, MknodWhat['type']> = { [constants.S_IFIFO]: 'fifo', [constants.S_IFSOCK]: 'sock' };
      const kind = kinds[type];
      if (kind !== 'fifo' && kind !== 'sock')
        throw new FsError(Errno.EINVAL, `mknod ${path}: file type ${type.toString(8)} is not one mknod makes`);
      await this.make(path, (dir, name) => this.client.mknod(this.credential, dir, name, { type: kind, attributes }));
    });
  }

  // ---- open files ----

  /**
   * Opens an existing file; resolves with its fd. Close-to-open: the name is looked up again and the attributes
   * revalidated. The server is asked with ACCESS for what the flags need; O_TRUNC truncates.
   */
  open(path: string, flags: number): Promise<number> {
    return this.run('open', () => this.openPath(path, flags));
  }

  /** Creates and opens a file (CREATE GUARDED); with O_EXCL an existing name fails with EEXIST, otherwise it is opened. */
  create(path: string, mode: number, flags: number = constants.O_RDWR | constants.O_CREAT): Promise<number> {
    return this.run('create', async () => {
      const { parent, name } = splitParent(path);
      const made = await this.resolver.retryStale([parent], async () => {
        const dir = await this.resolver.resolve(parent);
        try {
          const attributes = { mode: permissionBits(mode, false) };
          return { dir: dir.handle, result: await this.client.create(this.credential, dir.handle, name, { mode: 'guarded', attributes }) };
        } catch (err) {
          if (hasErrno(err, Errno.EEXIST) && !(flags & constants.O_EXCL)) return undefined;
          throw err;
        }
      });
      if (!made) return this.openPath(path, flags & ~constants.O_CREAT);
      const { handle, attributes } = made.result;
      this.attrs.set(made.dir, made.result.dirWcc.after);
      this.attrs.set(handle, attributes);
      this.resolver.handles.set([...parent, name], handle);
      const fd = this.files.open(handle, flags, attributes ?? (await this.attributes(handle)));
      this.openPaths.set(path, handle);
      return fd;
    });
  }

  /**
   * Reads into `target` from `position`; resolves with the bytes read (fewer only at the end of the file). With
   * `answerFrom`, data held in read-ahead may be answered from where it is instead (see OpenFiles.read).
   */
  read(fd: number, target: Uint8Array, position: number, answerFrom?: AnswerFrom): Promise<number> {
    return this.run('read', async () => {
      await this.options.qos?.transfer(target.length);
      return this.files.read(fd, target, position, answerFrom);
    });
  }

  /**
   * Writes `data` at `position` (an O_APPEND fd: at the end of the file, unless `atPosition`: mmap'ed pages written
   * back through it); `data` is copied before this resolves. An earlier write's failure that this fd has not
   * reported yet fails this call. `accepted` is called once nothing is left that could fail, right before the copy.
   */
  write(fd: number, data: Uint8Array, position: number, options: { atPosition?: boolean; accepted?: () => void } = {}): Promise<number> {
    return this.run('write', async () => {
      await this.options.qos?.transfer(data.length);
      return this.files.write(fd, data, position, options.atPosition === true, options.accepted);
    });
  }

  /** close(2) of one fd: the file's writes are sent and committed; a write error not yet reported fails it. */
  flush(fd: number): Promise<void> {
    return this.run('flush', () => this.files.flush(fd));
  }

  /** Resolves only when the server has every write of the file on stable storage. */
  fsync(fd: number, _datasync = false): Promise<void> {
    return this.run('fsync', () => this.files.flush(fd));
  }

  /** The last close of an fd: flushes and forgets it. */
  release(fd: number): Promise<void> {
    return this.run('release', async () => {
      const handle = this.files.handleOf(fd);
      try {
        await this.files.release(fd);
      } finally {
        if (!this.files.isOpen(handle)) {
          for (const [path, open] of this.openPaths) if (open.equals(handle)) this.openPaths.delete(path);
        }
      }
    });
  }

  /**
   * The other names, open through this mount, of the file at `path` (or open as `fd`). libfuse's high-level API gives
   * each name its own kernel inode and page cache, which a write or truncate through `path` leaves stale.
   */
  async otherOpenNames(path: string, fd?: number): Promise<string[]> {
    if (this.openPaths.size < 2) return [];
    let handle = fd !== undefined ? this.files.handleOf(fd) : this.openPaths.get(path);
    handle ??= await this.resolver.resolve(pathComponents(path)).then(
      (found) => found.handle,
      () => undefined,
    );
    const names: string[] = [];
    for (const [name, open] of this.openPaths) if (name !== path && handle?.equals(open)) names.push(name);
    return names;
  }

  /** Commits the writes of every open file (before unmount). */
  syncAll(): Promise<void> {
    return this.run('syncAll', () => this.files.syncAll(), false);
  }

  // ---- helpers ----

  /** Counts and runs an operation, after its turn at the identity's operation rate (`limited`) when it has one; fails with an FsError. */
  private async run<T>(name: string, operation: () => Promise<T>, limited = true): Promise<T> {
    this.stats.op(name);
    if (limited) await this.options.qos?.operation();
    try {
      return await operation();
    } catch (err) {
      const failure = fsErrorOf(err);
      this.stats.error(failure.code);
      throw failure;
    }
  }

  private async openPath(path: string, flags: number): Promise<number> {
    const names = pathComponents(path);
    return this.resolver.retryStale([names], async () => {
      const { handle, attributes } = await this.resolver.resolve(names, true);
      let current = attributes ?? (await this.attributes(handle, true));
      const wanted = accessForOpen(flags);
      if (current.type === Ftype3.DIR && wanted & Access3.MODIFY)
        throw new FsError(Errno.EISDIR, `${path} is a directory: it cannot be opened for writing`);
      if (wanted) current = (await this.checkAccess(handle, wanted, path)) ?? current;
      if (flags & constants.O_TRUNC && current.type === Ftype3.REG) current = (await this.truncateHandle(handle, 0)) ?? current;
      const fd = this.files.open(handle, flags, current);
      this.openPaths.set(path, handle);
      return fd;
    });
  }

  /** `from`, and every path below it, is now below `to`: the open files among them too. */
  private moveOpenPaths(from: string, to: string): void {
    for (const [path, handle] of [...this.openPaths]) {
      if (path !== from && !path.startsWith(`${from}/`)) continue;
      this.openPaths.delete(path);
      this.openPaths.set(to + path.slice(from.length), handle);
    }
  }

  /** Fails with EACCES unless the server grants all of `bits`; resolves with the attributes ACCESS returned. */
  private async checkAccess(handle: FileHandle, bits: number, path: string): Promise<Fattr3 | undefined> {
    const result = await this.client.access(this.credential, handle, bits);
    this.attrs.set(handle, result.attributes);
    if ((result.access & bits) !== bits) {
      const missing = Object.entries(Access3)
        .filter(([, bit]) => bits & bit && !(result.access & bit))
        .map(([name]) => name);
      throw new FsError(Errno.EACCES, `${path}: the server denies uid ${this.credential.uid} ${missing.join('+')} access`, {
        byServer: true,
      });
    }
    return result.attributes;
  }

  /**
   * The attributes after this mount's pending writes of the file reached the server, as the Linux NFS client's stat
   * does: their mtime is what tells an open through another name of the file (its own kernel inode and page cache,
   * kept by autoCache while mtime and size are unchanged) that the cached pages are old. `known`: attributes at hand
   * (a lookup's), used when there was nothing to write out.
   */
  private async writtenAttributes(handle: FileHandle, known?: Fattr3): Promise<Fattr3> {
    const wrote = await this.files.writeOut(handle);
    return !wrote && known ? known : this.attributes(handle, wrote);
  }

  /** Cached attributes, or GETATTR (always with `fresh`). */
  private async attributes(handle: FileHandle, fresh = false): Promise<Fattr3> {
    const cached = fresh ? undefined : this.attrs.get(handle);
    if (cached) return cached;
    const attributes = await this.client.getattr(this.credential, handle);
    this.attrs.set(handle, attributes);
    return attributes;
  }

  /** `viaHiddenName`: asked by a libfuse hidden name, whose answer libfuse itself gives one link less. */
  /** Whether libfuse asks by a hidden name it counts as hidden (it then takes one off the nlink it reports). */
  private viaLibfuseHiddenName(path: string): boolean {
    const names = pathComponents(path);
    return (names.at(-1) ?? '').startsWith(LIBFUSE_HIDDEN_PREFIX) && this.hides.hiddenByLibfuse(names);
  }

  private stat(handle: FileHandle, a: Fattr3, viaHiddenName = false): FileStat {
    const stat = toFileStat(a, this.view.present(a), this.blockSize);
    const size = this.files.sizeOf(handle, stat.size);
    // An open file's hidden names are no links for the application (an unlinked open file has nlink 0); libfuse takes
    // one off itself when it asks by a hidden name of its own (also one whose hiding was undone: see LibfuseHides).
    const nlink = Math.max(0, stat.nlink - this.files.hiddenNamesOf(handle) + (viaHiddenName ? 1 : 0));
    return size === stat.size && nlink === stat.nlink ? stat : { ...stat, size, nlink };
  }

  /** SETATTR by path; pending writes go first when size or times change (they would change both). */
  private async setattr(path: string, attributes: Sattr3): Promise<void> {
    const names = pathComponents(path);
    await this.resolver.retryStale([names], async () => {
      const { handle } = await this.resolver.resolve(names);
      if (Object.values(attributes).every((v) => v === undefined)) return;
      if (attributes.mtime !== undefined || attributes.atime !== undefined) await this.files.settle(handle);
      const wcc = await this.client.setattr(this.credential, handle, attributes);
      this.attrs.set(handle, wcc.after);
    });
  }

  private async truncateHandle(handle: FileHandle, size: number): Promise<Fattr3 | undefined> {
    await this.files.settle(handle);
    const wcc = await this.client.setattr(this.credential, handle, { size: BigInt(size) });
    this.attrs.set(handle, wcc.after);
    this.files.truncated(handle, size);
    return wcc.after;
  }

  /** CREATE/MKDIR/SYMLINK/MKNOD of the last name of `path` in its directory; caches the new handle. */
  private async make(
    path: string,
    create: (dir: FileHandle, name: string) => Promise<{ handle: FileHandle; attributes?: Fattr3; dirWcc: { after?: Fattr3 } }>,
  ): Promise<void> {
    const { parent, name } = splitParent(path);
    await this.resolver.retryStale([parent], async () => {
      const dir = await this.resolver.resolve(parent);
      const result = await create(dir.handle, name);
      this.attrs.set(dir.handle, result.dirWcc.after);
      this.attrs.set(result.handle, result.attributes);
      this.resolver.handles.set([...parent, name], result.handle);
    });
  }

  /**
   * A file open through this mount whose last name goes is renamed to a hidden name, removed at its last close (as the
   * Linux NFS client does): its fds keep working. A file with other names is simply unlinked. Resolves with whether
   * it was hidden.
   */
  private async hideIfOpen(handle: FileHandle, dir: FileHandle, name: string): Promise<boolean> {
    if (!this.files.isOpen(handle) || this.files.isHidden(handle)) return false;
    if ((await this.attributes(handle)).nlink > 1) return false;
    const hidden = `${HIDDEN_PREFIX}${handle.toString('hex').slice(-16)}-${Date.now().toString(36)}`;
    const wcc = await this.client.rename(this.credential, dir, name, dir, hidden);
    this.attrs.set(dir, wcc.toDirWcc.after);
    this.files.hide(handle, dir, hidden);
    return true;
  }

  /**
   * REMOVE/RMDIR of the last name of `path` (`remove` resolves with the directory's new attributes, or undefined when it
   * kept them itself); forgets the path and everything cached below it, and the removed object's attributes (its nlink
   * changed: other names of the file must show it).
   */
  private async removeName(
    path: string,
    remove: (dir: FileHandle, name: string, handle: FileHandle) => Promise<{ after?: Fattr3 } | undefined>,
  ): Promise<void> {
    const { parent, name } = splitParent(path);
    const names = [...parent, name];
    await this.resolver.retryStale([parent], async () => {
      const [dir, removed] = await Promise.all([this.resolver.resolve(parent), this.resolver.resolve(names)]);
      const wcc = await remove(dir.handle, name, removed.handle);
      if (wcc) this.attrs.set(dir.handle, wcc.after);
      if (isHiddenName(name)) this.files.countHiddenName(removed.handle, -1);
      this.attrs.delete(removed.handle);
    });
    this.resolver.handles.delete(names);
  }
}
