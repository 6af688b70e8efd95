// The open files of one mount: fd numbers, and per file (per handle, shared by its fds) the write-back, the size as
// this mount knows it and a data generation; per fd the flags, read-ahead and which write errors it has been told.
// The READs go through FileReads, the WRITEs and COMMITs through FileWrites.
import { constants } from 'node:fs';
import type { Credential, Fattr3, FileHandle } from '../nfs/index.ts';

import { isReadable, isWritable } from './access-bits.ts';
import type { AttrCache } from './attr-cache.ts';
import { FileReads } from './file-reads.ts';
import { FileWrites } from './file-writes.ts';
import { EBADF, FsError } from './fs-error.ts';
import type { ResolvedOptions } from './fs-options.ts';
import type { FsStats } from './fs-stats.ts';
import type { NfsOperations } from './nfs-operations.ts';
import type { AnswerFrom, ReadAhead } from './read-ahead.ts';
import type { WriteBack } from './write-back.ts';

/** A first write into an empty file smaller than this is sent at once (see write()). */
const EAGER_FIRST_WRITE_BYTES = 64 * 1024;

class OpenInode {
  refs = 0;
  /** Increased whenever the data may have changed: read-ahead blocks of another generation are dropped. */
  generation = 0;
  /** The size as this mount knows it: the server's at open, grown by writes, set by truncate. */
  size = 0;
  writeBack?: WriteBack;
  /** Attributes the last open saw (close-to-open: a change drops cached data). */
  seen?: Fattr3;
  /** Unlinked while open: the hidden name it was renamed to, removed at the last release. */
  hiddenAs?: { readonly dir: FileHandle; readonly name: string };
  /** Names the file keeps on the server only because it is open (kidfs's or libfuse's hidden names): not links. */
  hiddenNames = 0;

  constructor(readonly handle: FileHandle) {}
}

interface OpenFile {
  readonly inode: OpenInode;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  readonly readAhead: ReadAhead;
  /** The inode's write-back failures this fd has reported up to. */
  errorsReported: number;
}

const changed = (a: Fattr3, b: Fattr3): boolean =>
  a.size !== b.size ||
  a.mtime.seconds !== b.mtime.seconds ||
  a.mtime.nseconds !== b.mtime.nseconds ||
  a.ctime.seconds !== b.ctime.seconds ||
  a.ctime.nseconds !== b.ctime.nseconds;

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  private readonly inodes = new Map<string, OpenInode>();
  /** Closed fd numbers, reused first: FUSE carries them as 32-bit numbers. */
  private readonly freeFds: number[] = [];
  private nextFd = 1;
  private readonly reads: FileReads;
  private readonly writes: FileWrites;

  constructor(
    private readonly client: NfsOperations,
    private readonly credential: Credential,
    attrs: AttrCache,
    private readonly stats: FsStats,
    options: ResolvedOptions,
  ) {
    // Write chunks' pool first: the memory budget asks its holders in the order they came.
    this.writes = new FileWrites(client, credential, attrs, stats, options);
    this.reads = new FileReads(client, credential, attrs, stats, options);
  }

  /** Open fds. */
  get count(): number {
    return this.files.size;
  }

  /** Open fds that may write. */
  get writers(): number {
    let n = 0;
    for (const file of this.files.values()) if (file.writable) n++;
    return n;
  }

  /** Buffers held for read-ahead (blocks fetched ahead of readers, and idle ones kept for reuse). */
  get readAheadBytesHeld(): number {
    return this.reads.readAheadBytesHeld;
  }

  /** Written data held in write-back (gathered, in flight, or not yet committed), over every open file. */
  get bytesHeld(): number {
    let bytes = 0;
    for (const inode of this.inodes.values()) bytes += inode.writeBack?.holding ?? 0;
    return bytes;
  }

  /** A new fd for `handle`, whose attributes the caller just had from the server. */
  open(handle: FileHandle, flags: number, attributes: Fattr3): number {
    const key = handle.toString('hex');
    let inode = this.inodes.get(key);
    if (!inode) {
      inode = new OpenInode(handle);
      this.inodes.set(key, inode);
    }
    if (inode.seen && changed(inode.seen, attributes)) inode.generation++;
    inode.seen = attributes;
    const serverSize = Number(attributes.size);
    inode.size = inode.writeBack?.holding ? Math.max(inode.size, serverSize) : serverSize;
    inode.refs++;
    const fd = this.freeFds.pop() ?? this.nextFd++;
    this.files.set(fd, {
      inode,
      readable: isReadable(flags),
      writable: isWritable(flags),
      append: (flags & constants.O_APPEND) !== 0,
      readAhead: this.reads.readAhead(handle),
      errorsReported: inode.writeBack?.failures ?? 0,
    });
    return fd;
  }

  /** The size to report for `handle`: the server's, or more while this mount holds writes the server may not have. */
  sizeOf(handle: FileHandle, serverSize: number): number {
    const inode = this.inodes.get(handle.toString('hex'));
    return inode?.writeBack?.holding ? Math.max(inode.size, serverSize) : serverSize;
  }

  /**
   * Sends what this mount holds of the file and waits for the WRITEs' replies (no COMMIT): resolves with whether
   * there was anything, after which the server's attributes show the writes (mtime, size).
   */
  async writeOut(handle: FileHandle): Promise<boolean> {
    const writeBack = this.inodes.get(handle.toString('hex'))?.writeBack;
    if (!writeBack?.dirty) return false;
    await writeBack.drain(0, Number.MAX_SAFE_INTEGER);
    return true;
  }

  handleOf(fd: number): FileHandle {
    return this.file(fd).inode.handle;
  }

  isOpen(handle: FileHandle): boolean {
    return this.inodes.has(handle.toString('hex'));
  }

  /**
   * Fills `target` from `position`; resolves with the bytes read (fewer only at the end of the file). A target that is
   * detached meanwhile (a FUSE buffer answered by a timeout) gets nothing and causes no error. A whole read that
   * read-ahead holds is given to `answerFrom` instead, when there is one (the reader is answered without a copy).
   */
  async read(fd: number, target: Uint8Array, position: number, answerFrom?: AnswerFrom): Promise<number> {
    const file = this.file(fd);
    if (!file.readable) throw new FsError(EBADF, `fd ${fd} is not open for reading`);
    const { inode } = file;
    // While this mount holds writes the server may not have, the file ends where this mount says (a hole below them
    // ends the server's copy early): the server's end of file counts only past that.
    const knownSize = this.sizeOf(inode.handle, 0);
    // Data this mount wrote must be visible: send what overlaps the range first.
    await inode.writeBack?.drain(position, target.length);
    const ahead = inode.writeBack?.dirty
      ? undefined
      : await file.readAhead.read(target, position, inode.generation, inode.size, answerFrom);
    let n = ahead ?? (await this.reads.readInto(inode.handle, target, position));
    const holeEnd = Math.min(target.length, knownSize - position);
    if (n < holeEnd) {
      Buffer.from(target.buffer, target.byteOffset, target.length).fill(0, n, holeEnd);
      n = holeEnd;
    }
    this.stats.bytesRead += n;
    return n;
  }

  /**
   * Takes a copy of `data`; an O_APPEND fd writes at the end of the file whatever `position` says, unless `atPosition`.
   * `accepted`: see WriteBack.write.
   */
  async write(fd: number, data: Uint8Array, position: number, atPosition = false, accepted?: () => void): Promise<number> {
    const file = this.file(fd);
    if (!file.writable) throw new FsError(EBADF, `fd ${fd} is not open for writing`);
    this.reportWriteError(file);
    const { inode } = file;
    inode.writeBack ??= this.writes.writeBack(inode.handle);
    const offset = file.append && !atPosition ? inode.size : position;
    const wasEmpty = inode.size === 0;
    inode.size = Math.max(inode.size, offset + data.length);
    inode.generation++;
    await inode.writeBack.write(offset, data, accepted);
    // A small first write into an empty file is often all the file gets: sent now, its WRITE travels while the
    // application's close comes to us, and the close only waits for the reply.
    if (wasEmpty && offset === 0 && data.length < EAGER_FIRST_WRITE_BYTES) inode.writeBack.sendNow();
    this.stats.bytesWritten += data.length;
    return data.length;
  }

  /** Sends and commits the file's writes; fails with a write error this fd has not reported yet. */
  async flush(fd: number): Promise<void> {
    const file = this.file(fd);
    await file.inode.writeBack?.commit();
    this.reportWriteError(file);
  }

  /** Flushes, then forgets the fd; the last fd of a file unlinked while open removes its hidden name. */
  async release(fd: number): Promise<void> {
    const file = this.file(fd);
    try {
      await this.flush(fd);
    } finally {
      this.files.delete(fd);
      this.freeFds.push(fd);
      this.reads.drop(file.readAhead);
      const { inode } = file;
      if (--inode.refs === 0) {
        this.inodes.delete(inode.handle.toString('hex'));
        if (inode.writeBack) this.writes.drop(inode.writeBack);
        if (inode.hiddenAs) await this.client.remove(this.credential, inode.hiddenAs.dir, inode.hiddenAs.name).catch(() => undefined);
      }
    }
  }

  /** Before SETATTR of size or times: the file's pending writes reach the server first (they would change both). */
  async settle(handle: FileHandle): Promise<void> {
    await this.inodes.get(handle.toString('hex'))?.writeBack?.commit();
  }

  /** After a truncate by SETATTR. */
  truncated(handle: FileHandle, size: number): void {
    const inode = this.inodes.get(handle.toString('hex'));
    if (!inode) return;
    inode.size = size;
    inode.generation++;
  }

  /** Unlinked while open: renamed to `name` in `dir`, removed when the last fd closes. */
  hide(handle: FileHandle, dir: FileHandle, name: string): void {
    const inode = this.inodes.get(handle.toString('hex'));
    if (!inode) return;
    inode.hiddenAs = { dir, name };
    inode.hiddenNames++;
  }

  /** A hidden name of the open file came (+1: libfuse renamed a name to one) or went (-1). */
  countHiddenName(handle: FileHandle, change: 1 | -1): void {
    const inode = this.inodes.get(handle.toString('hex'));
    if (inode) inode.hiddenNames = Math.max(0, inode.hiddenNames + change);
  }

  /** How many of the server's links of `handle` are hidden names (see countHiddenName). */
  hiddenNamesOf(handle: FileHandle): number {
    return this.inodes.get(handle.toString('hex'))?.hiddenNames ?? 0;
  }

  isHidden(handle: FileHandle): boolean {
    return this.inodes.get(handle.toString('hex'))?.hiddenAs !== undefined;
  }

  /** Commits every open file's writes (unmount); fails with the first error after trying all. */
  async syncAll(): Promise<void> {
    const results = await Promise.allSettled([...this.inodes.values()].map((inode) => inode.writeBack?.commit()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private file(fd: number): OpenFile {
    const file = this.files.get(fd);
    if (!file) throw new FsError(EBADF, `fd ${fd} is not an open file of this mount`);
    return file;
  }

  private reportWriteError(file: OpenFile): void {
    const writeBack = file.inode.writeBack;
    if (!writeBack || writeBack.failures === file.errorsReported) return;
    file.errorsReported = writeBack.failures;
    throw writeBack.lastFailure;
  }
}
