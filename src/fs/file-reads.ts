// The READs of one mount's open files: direct reads into the caller's buffer, and read-ahead blocks read into pooled
// buffers. Each reply's attributes refresh the attribute cache.
import { type Credential, type FileHandle, READ_REPLY_SLACK } from '../nfs/index.ts';

import type { AttrCache } from './attr-cache.ts';
import { BufferPool } from './buffer-pool.ts';
import type { ResolvedOptions } from './fs-options.ts';
import type { FsStats } from './fs-stats.ts';
import type { NfsOperations } from './nfs-operations.ts';
import { ReadAhead } from './read-ahead.ts';

export class FileReads {
  /** Buffers read-ahead READ replies go into; a sequential reader holds its window and up to 3 more. */
  private readonly replyBuffers: BufferPool;

  constructor(
    private readonly client: NfsOperations,
    private readonly credential: Credential,
    private readonly attrs: AttrCache,
    private readonly stats: FsStats,
    private readonly options: ResolvedOptions,
  ) {
    this.replyBuffers = new BufferPool(options.readAheadBytes + READ_REPLY_SLACK, options.readAheadWindow + 3, {
      onAllocate: () => stats.readBuffersAllocated++,
      budget: options.memory,
    });
  }

  /** Buffers held for read-ahead (blocks fetched ahead of readers, and idle ones kept for reuse). */
  get readAheadBytesHeld(): number {
    return this.replyBuffers.held;
  }

  /** Read-ahead for one fd of `handle`, counted by the memory budget until dropped (see drop). */
  readAhead(handle: FileHandle): ReadAhead {
    const { readAheadBytes: blockBytes, readAheadWindow: window, memory } = this.options;
    const readAhead = new ReadAhead(
      { blockBytes, window },
      this.replyBuffers,
      (offset, length, into) => this.readBlock(handle, offset, length, into),
      () => memory.readAheadSkipped++,
    );
    memory.addHolder(readAhead);
    return readAhead;
  }

  /** The fd is closed: its read-ahead's blocks go, and it no longer counts. */
  drop(readAhead: ReadAhead): void {
    readAhead.drop();
    this.options.memory.removeHolder(readAhead);
  }

  /** READs until `target` is full or the file ends (or `target` is detached: Buffer#copy then copies nothing). */
  async readInto(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      const { data, eof } = await this.readOnce(handle, position + filled, Math.min(target.length - filled, this.options.readAheadBytes));
      filled += data.copy(target, filled);
      if (eof) break;
    }
    return filled;
  }

  /** One READ of at most `count` bytes (at most rtmax), into `into` when given (see NfsOperations.read). */
  private async readOnce(handle: FileHandle, position: number, count: number, into?: Buffer): Promise<{ data: Buffer; eof: boolean }> {
    const reply = await this.client.read(this.credential, handle, BigInt(position), count, { into });
    this.stats.readRpcs++;
    this.stats.readRpcBytes += reply.count;
    this.attrs.set(handle, reply.attributes);
    return { data: reply.data.subarray(0, count), eof: reply.eof || reply.count === 0 };
  }

  /**
   * A read-ahead block: a view of `into` (a pooled buffer the READ reply is read into). A short block is copied out,
   * so that the pooled buffer goes back at once: the end of the file, or a server that sent less than asked (the rest
   * is READ into the copy).
   */
  private async readBlock(handle: FileHandle, offset: number, length: number, into: Buffer): Promise<Buffer> {
    const first = await this.readOnce(handle, offset, length, into);
    if (first.data.length === length) return first.data;
    if (first.eof) return Buffer.from(first.data);
    const whole = Buffer.allocUnsafe(length);
    const got = first.data.copy(whole);
    return whole.subarray(0, got + (await this.readInto(handle, whole.subarray(got), offset + got)));
  }
}
