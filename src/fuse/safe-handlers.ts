// Turns promise-returning FuseHandlers into the callback operations fuse-native calls, so that
// every request gets exactly one answer whatever the handler does: a throw or rejection becomes
// its errno (or EIO, logged), a handler slower than opTimeoutMs gets ETIMEDOUT (its late answer
// is dropped), and the kernel's write buffers, which the binding detaches once answered, reach
// the handler only when it copies what it keeps (else it gets a copy). Reads fill the kernel's
// buffer themselves (once detached it has length 0, and a late fill copies nothing), or answer from
// memory of their own through answerFrom, which the binding ignores once the read is answered.
import { constants } from 'node:os';
import type { NativeOp, NativeOps } from './binding.ts';
import { FuseError } from './fuse-error.ts';
import { OperationDeadlines } from './op-deadlines.ts';
import type { Attributes, Caller, DirEntry, FileTime, FuseHandlers, Handle, StatFs, TimeChange } from './handlers.ts';

export interface SafeHandlerSettings {
  /** an operation not answered within this many ms gets ETIMEDOUT; 0 waits for ever */
  opTimeoutMs: number;
  /** one line per failure nobody asked for (a throw, a timeout, a malformed answer) */
  log: (line: string) => void;
  /** the calling process of the operation being called (fuse-native's `caller`, set only during that call) */
  caller?: () => Caller | null;
}

/** fuse-native's answer: 0 or a byte count, or a negative errno, then the values. */
type Reply = (result: number, ...values: unknown[]) => void;

const { EIO, ETIMEDOUT } = constants.errno;
const UINT32_MAX = 0xffffffff;

export function toNativeOps(handlers: FuseHandlers, settings: SafeHandlerSettings): NativeOps {
  const h = handlers;
  const answer = answerer(settings);
  const { audit } = h;
  const { caller } = settings;
  const run: typeof answer =
    audit && caller
      ? (op, path, reply, work, toReply) => {
          const from = caller();
          if (from) audit.call(h, op, path, from);
          answer(op, path, reply, work, toReply);
        }
      : answer;
  const ops: Record<string, (...args: never[]) => void> = {};
  const done = (): unknown[] => [0];

  ops.getattr = (path: string, reply: Reply) =>
    run(
      'getattr',
      path,
      reply,
      () => h.getattr(path),
      (attrs) => [0, nativeStat(attrs)],
    );
  if (h.fgetattr) {
    const fgetattr = h.fgetattr.bind(h);
    ops.fgetattr = (path: string, fh: number, reply: Reply) =>
      run(
        'fgetattr',
        path,
        reply,
        () => fgetattr(path, fh),
        (attrs) => [0, nativeStat(attrs)],
      );
  }
  if (h.access) {
    const access = h.access.bind(h);
    ops.access = (path: string, mode: number, reply: Reply) => run('access', path, reply, () => access(path, mode), done);
  }
  if (h.statfs) {
    const statfs = h.statfs.bind(h);
    ops.statfs = (path: string, reply: Reply) =>
      run(
        'statfs',
        path,
        reply,
        () => statfs(path),
        (s) => [0, nativeStatfs(s)],
      );
  }
  if (h.opendir) {
    const opendir = h.opendir.bind(h);
    ops.opendir = (path: string, flags: number, reply: Reply) =>
      run(
        'opendir',
        path,
        reply,
        () => opendir(path, flags),
        (fh) => [0, checkHandle(fh)],
      );
  }
  if (h.readdir) {
    const readdir = h.readdir.bind(h);
    ops.readdir = (path: string, offset: number, fh: number, reply: Reply) =>
      run('readdir', path, reply, () => readdir(path, offset, fh), nativeDirectory);
  }
  if (h.releasedir) {
    const releasedir = h.releasedir.bind(h);
    ops.releasedir = (path: string, fh: number, reply: Reply) => run('releasedir', path, reply, () => releasedir(path, fh), done);
  }
  if (h.fsyncdir) {
    const fsyncdir = h.fsyncdir.bind(h);
    ops.fsyncdir = (path: string, fh: number, datasync: number, reply: Reply) =>
      run('fsyncdir', path, reply, () => fsyncdir(path, fh, datasync !== 0), done);
  }
  if (h.open) {
    const open = h.open.bind(h);
    ops.open = (path: string, flags: number, reply: Reply) =>
      run(
        'open',
        path,
        reply,
        () => open(path, flags),
        (fh) => [0, checkHandle(fh)],
      );
  }
  if (h.create) {
    const create = h.create.bind(h);
    ops.create = (path: string, mode: number, flags: number, reply: Reply) =>
      run(
        'create',
        path,
        reply,
        () => create(path, mode, flags),
        (fh) => [0, checkHandle(fh)],
      );
  }
  if (h.read) {
    const read = h.read.bind(h);
    ops.read = (
      path: string,
      fh: number,
      buffer: Buffer,
      length: number,
      position: number,
      reply: Reply,
      answerFrom?: (source: Uint8Array) => void,
    ) =>
      run(
        'read',
        path,
        reply,
        () => read(path, fh, buffer.subarray(0, length), position, { answerFrom }),
        (count) => [checkCount('read', count, length)],
      );
  }
  if (h.write) {
    const write = h.write.bind(h);
    type Accept = (count: number) => void;
    ops.write = (
      path: string,
      fh: number,
      buffer: Buffer,
      length: number,
      position: number,
      reply: Reply,
      writepage?: boolean,
      accept?: Accept,
    ) => {
      const kernelData = buffer.subarray(0, length);
      const data = h.writeCopiesData ? kernelData : Buffer.from(kernelData);
      // Only a handler that reads the kernel's buffer itself gains by answering before it has copied.
      const early = h.writeCopiesData && accept ? () => accept(length) : undefined;
      run(
        'write',
        path,
        reply,
        () => write(path, fh, data, position, { writepage: writepage === true, accept: early }),
        (written) => [checkCount('write', written, length)],
      );
    };
  }
  if (h.flush) {
    const flush = h.flush.bind(h);
    ops.flush = (path: string, fh: number, reply: Reply) => run('flush', path, reply, () => flush(path, fh), done);
  }
  if (h.fsync) {
    const fsync = h.fsync.bind(h);
    ops.fsync = (path: string, fh: number, datasync: number, reply: Reply) =>
      run('fsync', path, reply, () => fsync(path, fh, datasync !== 0), done);
  }
  if (h.release) {
    const release = h.release.bind(h);
    ops.release = (path: string, fh: number, reply: Reply) => run('release', path, reply, () => release(path, fh), done);
  }
  if (h.truncate) {
    const truncate = h.truncate.bind(h);
    ops.truncate = (path: string, size: number, reply: Reply) => run('truncate', path, reply, () => truncate(path, size), done);
  }
  if (h.ftruncate) {
    const ftruncate = h.ftruncate.bind(h);
    ops.ftruncate = (path: string, fh: number, size: number, reply: Reply) =>
      run('ftruncate', path, reply, () => ftruncate(path, fh, size), done);
  }
  if (h.utimens) {
    const utimens = h.utimens.bind(h);
    ops.utimens = (path: string, atime: TimeChange, mtime: TimeChange, reply: Reply) =>
      run('utimens', path, reply, () => utimens(path, checkTimeChange(atime), checkTimeChange(mtime)), done);
  }
  if (h.chmod) {
    const chmod = h.chmod.bind(h);
    ops.chmod = (path: string, mode: number, reply: Reply) => run('chmod', path, reply, () => chmod(path, mode), done);
  }
  if (h.chown) {
    const chown = h.chown.bind(h);
    const id = (value: number) => (value === UINT32_MAX ? undefined : value);
    ops.chown = (path: string, uid: number, gid: number, reply: Reply) =>
      run('chown', path, reply, () => chown(path, id(uid), id(gid)), done);
  }
  if (h.mknod) {
    const mknod = h.mknod.bind(h);
    ops.mknod = (path: string, mode: number, rdev: number, reply: Reply) => run('mknod', path, reply, () => mknod(path, mode, rdev), done);
  }
  if (h.mkdir) {
    const mkdir = h.mkdir.bind(h);
    ops.mkdir = (path: string, mode: number, reply: Reply) => run('mkdir', path, reply, () => mkdir(path, mode), done);
  }
  if (h.unlink) {
    const unlink = h.unlink.bind(h);
    ops.unlink = (path: string, reply: Reply) => run('unlink', path, reply, () => unlink(path), done);
  }
  if (h.rmdir) {
    const rmdir = h.rmdir.bind(h);
    ops.rmdir = (path: string, reply: Reply) => run('rmdir', path, reply, () => rmdir(path), done);
  }
  if (h.rename) {
    const rename = h.rename.bind(h);
    // The kernel numbers requests from 1: 0 would mean the binding could not tell (then no request is matched).
    ops.rename = (from: string, to: string, reply: Reply, request?: number) =>
      run('rename', from, reply, () => rename(from, to, request ? request : undefined), done);
  }
  if (h.link) {
    const link = h.link.bind(h);
    ops.link = (existing: string, path: string, reply: Reply) => run('link', path, reply, () => link(existing, path), done);
  }
  if (h.symlink) {
    const symlink = h.symlink.bind(h);
    ops.symlink = (target: string, path: string, reply: Reply) => run('symlink', path, reply, () => symlink(target, path), done);
  }
  if (h.readlink) {
    const readlink = h.readlink.bind(h);
    ops.readlink = (path: string, reply: Reply) =>
      run(
        'readlink',
        path,
        reply,
        () => readlink(path),
        (target) => {
          if (typeof target !== 'string') throw new TypeError('readlink answered no string');
          return [0, target];
        },
      );
  }
  return ops as Record<string, NativeOp>;
}

/** Runs one handler call and answers fuse-native exactly once. */
function answerer({ opTimeoutMs, log }: SafeHandlerSettings) {
  const deadlines = opTimeoutMs > 0 ? new OperationDeadlines(opTimeoutMs) : undefined;
  return function run<T>(op: string, path: string, reply: Reply, work: () => Promise<T>, toReply: (value: T) => unknown[]): void {
    let answered = false;
    const answer = (prepare: () => unknown[]) => {
      if (answered) return;
      answered = true;
      cancelDeadline?.();
      let args: unknown[];
      try {
        args = prepare();
      } catch (error) {
        log(`fuse ${op} ${path}: unusable answer (${describe(error)}); replied EIO`);
        args = [-EIO];
      }
      sendReply(op, path, reply, args, log);
    };
    const cancelDeadline = deadlines?.start(() => {
      log(`fuse ${op} ${path}: no answer within ${opTimeoutMs} ms; replied ETIMEDOUT`);
      answer(() => [-ETIMEDOUT]);
    });
    new Promise<T>((resolve) => resolve(work())).then(
      (value) => answer(() => toReply(value)),
      (error: unknown) => answer(() => [-errnoFor(op, path, error, log)]),
    );
  };
}

function sendReply(op: string, path: string, reply: Reply, args: unknown[], log: (line: string) => void): void {
  try {
    reply(...(args as [number, ...unknown[]]));
  } catch (error) {
    // fuse-native's callbacks answer the kernel as their last step, so a throw means no answer went out yet.
    log(`fuse ${op} ${path}: fuse-native could not reply (${describe(error)}); replied EIO`);
    reply(-EIO);
  }
}

/**
 * The errno a failed handler answers: a FuseError's number; the errno a Node-style error's `code` names (as Node's own
 * fs errors carry it); else EIO (logged).
 */
function errnoFor(op: string, path: string, error: unknown, log: (line: string) => void): number {
  if (error instanceof FuseError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? (constants.errno as Record<string, number | undefined>)[code] : undefined;
  if (errno !== undefined) return errno;
  log(`fuse ${op} ${path}: handler failed (${describe(error)}); replied EIO`);
  return EIO;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function nativeStat(a: Attributes): object {
  return {
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    nlink: a.nlink,
    ino: a.ino ?? 0,
    rdev: a.rdev ?? 0,
    blksize: a.blksize ?? 0,
    blocks: a.blocks ?? 0,
    atime: checkTime(a.atime),
    mtime: checkTime(a.mtime),
    ctime: checkTime(a.ctime),
  };
}

function checkTime(time: FileTime): FileTime {
  if (!Number.isInteger(time.sec) || !Number.isInteger(time.nsec) || time.nsec < 0 || time.nsec >= 1e9) {
    throw new TypeError(`invalid time ${JSON.stringify(time)}`);
  }
  return time;
}

function checkTimeChange(change: TimeChange): TimeChange {
  return change === 'now' || change === 'omit' ? change : checkTime(change);
}

/** statvfs counts are 32-bit in the binding: larger file systems are reported in larger blocks. */
function nativeStatfs(s: StatFs): object {
  let { frsize, blocks, bfree, bavail } = s;
  while (blocks > UINT32_MAX) {
    frsize *= 2;
    blocks = Math.floor(blocks / 2);
    bfree = Math.floor(bfree / 2);
    bavail = Math.floor(bavail / 2);
  }
  const clamp = (count: number) => Math.min(count, UINT32_MAX);
  return {
    bsize: s.bsize,
    frsize,
    blocks,
    bfree,
    bavail,
    files: clamp(s.files),
    ffree: clamp(s.ffree),
    favail: clamp(s.favail),
    namemax: s.namemax,
  };
}

function nativeDirectory(entries: DirEntry[]): unknown[] {
  const names = entries.map((entry) => {
    if (typeof entry.name !== 'string') throw new TypeError('readdir answered an entry without a name');
    return entry.name;
  });
  const withAttributes = entries.every((entry) => entry.attributes);
  const withOffsets = entries.every((entry) => entry.next !== undefined);
  return [
    0,
    names,
    withAttributes ? entries.map((entry) => nativeStat(entry.attributes as Attributes)) : [],
    withOffsets ? entries.map((entry) => checkOffset(entry.next!)) : [],
  ];
}

function checkOffset(next: number): number {
  if (!Number.isSafeInteger(next) || next <= 0) throw new TypeError(`readdir answered offset ${next}, not a positive integer below 2^53`);
  return next;
}

function checkHandle(fh: Handle): number {
  if (!Number.isInteger(fh) || fh < 0 || fh > 0x7fffffff) throw new TypeError(`handle ${fh} is not an integer from 0 to 2^31-1`);
  return fh;
}

function checkCount(op: string, count: number, length: number): number {
  if (!Number.isInteger(count) || count < 0 || count > length) throw new TypeError(`${op} answered ${count} of ${length} bytes`);
  return count;
}
