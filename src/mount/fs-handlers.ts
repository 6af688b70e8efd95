// The FUSE face of an NfsFileSystem: each FUSE operation becomes one file-system call, each failure the errno the
// file-system layer gave it (FsError), handed on as a number (FuseError). Nothing else is decided here.
import { Errno, type FileStat, fsErrorOf, type NfsFileSystem, type TimeSetting, type Timespec } from '../fs/index.ts';

import { type Attributes, type FileTime, FuseError, type FuseHandlers, type KernelCache, type TimeChange } from '../fuse/index.ts';

/** A failure that the application's errno alone does not explain to an admin (the server or the link is in trouble). */
const LOGGED = new Set<number>([Errno.EIO, Errno.ETIMEDOUT, Errno.EREMOTEIO]);

/** How one FUSE operation ended, for metrics and the audit stream. */
export interface OpOutcome {
  readonly op: string;
  readonly path: string;
  readonly seconds: number;
  /** The errno name it failed with. */
  readonly errno?: string;
  /** EACCES, EPERM or EROFS that the NFS server answered (not a refusal kidfs decided itself). */
  readonly deniedByServer?: boolean;
}

const DENIALS = new Set<number>([Errno.EACCES, Errno.EPERM, Errno.EROFS]);

/**
 * `log` gets one line per failure an admin should see (I/O errors, timeouts); refusals by the server are not logged
 * there, but `observe` (metrics, audit) hears of every operation's outcome.
 */
export function fsHandlers(fs: NfsFileSystem, log: (line: string) => void, observe?: (outcome: OpOutcome) => void): FuseHandlers {
  const call = async <T>(op: string, path: string, work: () => Promise<T>): Promise<T> => {
    const start = observe && process.hrtime.bigint();
    try {
      const result = await work();
      if (start) observe!({ op, path, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
      return result;
    } catch (err) {
      const failure = fsErrorOf(err);
      if (LOGGED.has(failure.errno)) log(`${op} ${path}: ${failure.code}: ${failure.message}`);
      if (start) {
        // The server's answer (an NFS status, or its ACCESS reply); kidfs's own policy refusals are not.
        const deniedByServer = DENIALS.has(failure.errno) && failure.byServer;
        observe!({ op, path, seconds: Number(process.hrtime.bigint() - start) / 1e9, errno: failure.code, deniedByServer });
      }
      throw new FuseError(failure.errno, failure.code, failure.message, { cause: failure });
    }
  };
  const otherNames = staleOtherNames(fs, log);
  return {
    mounted: (kernel) => otherNames.serve(kernel),
    getattr: (path) => call('getattr', path, async () => attributes(await fs.getattr(path))),
    fgetattr: (path, fh) => call('fgetattr', path, async () => attributes(await fs.getattr(path, fh))),
    access: (path, mode) => call('access', path, () => fs.access(path, mode)),
    statfs: (path) => call('statfs', path, () => fs.statfs(path)),

    // A directory goes to the kernel a page at a time: kidfs never holds a whole listing.
    opendir: (path) => call('opendir', path, () => fs.opendir(path)),
    readdir: (path, offset, fh) =>
      call('readdir', path, async () =>
        (await fs.readdir(fh, offset)).map(({ name, stat, next }) =>
          stat ? { name, attributes: attributes(stat), next } : { name, next },
        ),
      ),
    releasedir: (path, fh) => call('releasedir', path, () => fs.releasedir(fh)),
    // NFSv3 directory operations are stable on the server before it answers: nothing is left to sync.
    fsyncdir: async () => undefined,

    open: (path, flags) => call('open', path, () => fs.open(path, flags)),
    create: (path, mode, flags) => call('create', path, () => fs.create(path, mode, flags)),
    // Straight into the kernel's buffer, or answered from a read-ahead block while it is held (uncopied).
    read: (path, fh, target, position, how) => call('read', path, () => fs.read(fh, target, position, how.answerFrom)),
    // NfsFileSystem.write copies the data before it settles (write-back keeps its own chunks), and accepts the write
    // first once nothing is left that could fail.
    write: (path, fh, data, position, how) =>
      call('write', path, () => fs.write(fh, data, position, { atPosition: how.writepage, accepted: how.accept })).then((written) => {
        otherNames.changed(path, fh);
        return written;
      }),
    writeCopiesData: true,
    flush: (path, fh) => call('flush', path, () => fs.flush(fh).then(() => otherNames.dropped(fh))),
    fsync: (path, fh, datasync) => call('fsync', path, () => fs.fsync(fh, datasync).then(() => otherNames.dropped(fh))),
    release: (path, fh) => call('release', path, () => fs.release(fh)),

    truncate: (path, size) => call('truncate', path, () => fs.truncate(path, size).then(() => otherNames.changed(path))),
    ftruncate: (path, fh, size) => call('ftruncate', path, () => fs.truncate(path, size, fh).then(() => otherNames.changed(path, fh))),
    utimens: (path, atime, mtime) => call('utimens', path, () => fs.utimens(path, timeSetting(atime), timeSetting(mtime))),
    chmod: (path, mode) => call('chmod', path, () => fs.chmod(path, mode)),
    chown: (path, uid, gid) => call('chown', path, () => fs.chown(path, uid ?? -1, gid ?? -1)),

    mknod: (path, mode, rdev) => call('mknod', path, () => fs.mknod(path, mode, rdev)),
    mkdir: (path, mode) => call('mkdir', path, () => fs.mkdir(path, mode)),
    unlink: (path) => call('unlink', path, () => fs.unlink(path)),
    rmdir: (path) => call('rmdir', path, () => fs.rmdir(path)),
    rename: (from, to, request) => call('rename', from, () => fs.rename(from, to, request)),
    link: (existing, path) => call('link', path, () => fs.link(existing, path)),
    symlink: (target, path) => call('symlink', path, () => fs.symlink(target, path)),
    readlink: (path) => call('readlink', path, () => fs.readlink(path)),
  };
}

/**
 * Keeps a file's other names in step with a change through one of them. libfuse's high-level API gives each name of a
 * hard link its own kernel inode, so an fd already open on another name would go on reading its own cached pages:
 * after a write or truncate, the kernel drops those of every other name open through the mount. Started only once the
 * change is answered and never awaited by it: the kernel drops a name's pages only when no request holds them, and a
 * write through that other name, waiting the other way round, would deadlock. fsync and close of the changing fd wait
 * for it, so once they return no other fd of the file reads the old data.
 */
function staleOtherNames(fs: NfsFileSystem, log: (line: string) => void) {
  let kernel: KernelCache | undefined;
  /** Per fd (undefined: a truncate by path), the drops it started that have not yet finished. */
  const pending = new Map<number | undefined, Promise<void>>();
  return {
    serve: (cache: KernelCache) => void (kernel = cache),
    changed(path: string, fh?: number): void {
      if (!kernel) return;
      const drops = fs
        .otherOpenNames(path, fh)
        .then((names) => Promise.all(names.map((name) => kernel!.invalidatePath(name))).then(() => undefined));
      const all: Promise<void> = Promise.all([pending.get(fh), drops])
        .then(
          () => undefined,
          (err: Error) => log(`after a change to ${path}, its other names: ${err.message}`),
        )
        .finally(() => pending.get(fh) === all && pending.delete(fh));
      pending.set(fh, all);
    },
    dropped: (fh: number): Promise<void> | undefined => pending.get(fh),
  };
}

const fileTime = (t: Timespec): FileTime => ({ sec: t.seconds, nsec: t.nseconds });

function attributes(stat: FileStat): Attributes {
  return {
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
    nlink: stat.nlink,
    ino: stat.ino,
    rdev: stat.rdev,
    blksize: stat.blksize,
    blocks: stat.blocks,
    atime: fileTime(stat.atime),
    mtime: fileTime(stat.mtime),
    ctime: fileTime(stat.ctime),
  };
}

function timeSetting(change: TimeChange): TimeSetting {
  return change === 'now' || change === 'omit' ? change : { seconds: change.sec, nseconds: change.nsec };
}
