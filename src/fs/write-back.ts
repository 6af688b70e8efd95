// Write-back of one open file: the application's writes are copied into chunks that go out as UNSTABLE WRITEs, many at
// once, without waiting for each. Every chunk's data stays until a COMMIT covers it with the verifier its WRITE got: a
// different verifier means the server restarted and may have lost it, so it is sent again. Nothing is reported stable
// that the server has not committed.
import { Errno } from './errno.ts';
import { StableHow } from '../nfs/nfs3-types.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { MemoryHolder } from './memory-budget.ts';
import { FsError } from './fs-error.ts';
import type { FsStats } from './fs-stats.ts';

/** What write-back needs of the server, for one file. */
export interface WriteSink {
  write(offset: number, data: Buffer, stable: StableHow): Promise<{ count: number; committed: StableHow; verifier: Buffer }>;
  /** COMMIT of the whole file; resolves with the server's verifier. */
  commit(): Promise<Buffer>;
}

export interface WriteBackLimits {
  readonly chunkBytes: number;
  readonly maxInFlight: number;
  readonly maxUncommittedBytes: number;
  readonly commitRetries: number;
}

interface Chunk {
  readonly seq: number;
  readonly offset: number;
  readonly data: Buffer;
  /** The pool's buffer `data` is a view of, or the pool's copy `data` is; given back when the chunk is released. */
  pooled?: Buffer;
  /** The WRITE reply came; `verifier` is its verifier. */
  acked: boolean;
  /** The server wrote it to stable storage already (FILE_SYNC/DATA_SYNC reply): no COMMIT needed. */
  stable: boolean;
  verifier?: Buffer;
  /** A short write's pieces got different verifiers: send it again. */
  mixedVerifiers: boolean;
  /** The current send; never rejects. */
  done: Promise<void>;
}

const overlaps = (aOffset: number, aLength: number, bOffset: number, bLength: number): boolean =>
  aOffset < bOffset + bLength && bOffset < aOffset + aLength;

const noop = (): void => undefined;

export class WriteBack implements MemoryHolder {
  /** Sequential writes gather here until a chunk is full (or a flush, or a write elsewhere, sends it). */
  private filling?: { offset: number; buffer: Buffer; length: number };
  /** Sent and not yet committed, in send order (Map keeps insertion order; replays keep their place). */
  private readonly held = new Map<number, Chunk>();
  private readonly inFlight = new Set<Chunk>();
  private heldBytes = 0;
  private ackedBytes = 0;
  private nextSeq = 0;
  private replaying = false;
  private backgroundCommit = false;
  /** A COMMIT asked for by the memory budget is under way. */
  private relieving = false;
  /** COMMITs run one at a time. */
  private commitChain: Promise<void> = Promise.resolve();
  private wakeups: (() => void)[] = [];
  /** Each failed WRITE increases it; open files remember the value they have reported (each sees an error once). */
  errorSeq = 0;
  lastError?: Error;

  constructor(
    private readonly sink: WriteSink,
    private readonly limits: WriteBackLimits,
    private readonly stats: FsStats,
    /** Where chunk buffers come from; one goes back only once the server has answered every WRITE that carried it. */
    private readonly pool: BufferPool,
  ) {}

  /** Data not yet sent, or sent and not yet answered: reads of it must wait. */
  get dirty(): boolean {
    return this.filling !== undefined || this.inFlight.size > 0;
  }

  /** Bytes held: gathered, in flight, or written and not yet committed. */
  get holding(): number {
    return this.heldBytes;
  }

  /**
   * Copies `data` (the caller may reuse its buffer as soon as this resolves); waits while the file holds too much, and
   * while the memory budget has no room for a new chunk (until data of this mount or another is committed).
   */
  async write(offset: number, data: Uint8Array): Promise<void> {
    for (let done = 0; done < data.length; ) {
      const piece = Math.min(data.length - done, this.limits.chunkBytes);
      if (!this.hasRoomFor(piece)) await this.roomFor(piece);
      const at = offset + done;
      if (!this.fillingTakes(at)) await this.startChunk(at);
      done += this.append(at, data.subarray(done, done + piece));
    }
  }

  /** The budget is short: commit what this file holds, so its chunks can go (errors are for the next flush). */
  relieve(): void {
    if (this.relieving || (this.held.size === 0 && !this.filling)) return;
    this.relieving = true;
    void this.commit().catch(noop).finally(() => {
      this.relieving = false;
    });
  }

  /**
   * The file's last fd is gone and its data could not be committed (the error was reported): its buffers stop
   * counting against the memory budget. Those of WRITEs still unanswered are never reused.
   */
  discard(): void {
    if (this.filling) this.pool.give(this.filling.buffer);
    this.filling = undefined;
    for (const chunk of this.held.values()) {
      if (!chunk.pooled) continue;
      if (this.inFlight.has(chunk)) this.pool.forget(chunk.pooled);
      else this.pool.give(chunk.pooled);
      chunk.pooled = undefined;
    }
    this.held.clear();
    this.heldBytes = 0;
    this.ackedBytes = 0;
  }

  /** Sends what is gathered without waiting for more; FILE_SYNC when it is all the file holds (no COMMIT needed). */
  sendNow(): void {
    this.sendFilling(this.held.size === 0 ? StableHow.FILE_SYNC : StableHow.UNSTABLE);
  }

  /** Sends everything, waits for the replies, COMMITs, and sends again what a restarted server lost (bounded). */
  commit(): Promise<void> {
    const run = this.commitChain.then(() => this.commitAll());
    this.commitChain = run.then(noop, noop);
    return run;
  }

  /** Sends gathered data in [offset, offset+length) and waits until no WRITE of that range is unanswered. */
  async drain(offset: number, length: number): Promise<void> {
    for (;;) {
      if (this.replaying) {
        await this.changed();
        continue;
      }
      const f = this.filling;
      if (f && overlaps(f.offset, f.length, offset, length)) this.sendFilling(StableHow.UNSTABLE);
      const pending = [...this.inFlight].filter((c) => overlaps(c.offset, c.data.length, offset, length));
      if (pending.length === 0) return;
      await Promise.all(pending.map((c) => c.done));
    }
  }

  private hasRoomFor(bytes: number): boolean {
    return !this.replaying && this.heldBytes + bytes <= this.limits.maxUncommittedBytes && this.inFlight.size < this.limits.maxInFlight;
  }

  private async roomFor(bytes: number): Promise<void> {
    for (;;) {
      if (this.replaying) await this.changed();
      else if (this.heldBytes + bytes > this.limits.maxUncommittedBytes) await this.commit();
      else if (this.inFlight.size >= this.limits.maxInFlight) await this.changed();
      else return;
    }
  }

  /** The chunk being gathered can take data at `offset` (it continues what it holds). */
  private fillingTakes(offset: number): boolean {
    const f = this.filling;
    return f !== undefined && offset >= f.offset && offset <= f.offset + f.length && offset < f.offset + f.buffer.length;
  }

  /** Sends the chunk being gathered and starts one at `offset`, once the pool has a buffer for it. */
  private async startChunk(offset: number): Promise<void> {
    this.sendFilling(StableHow.UNSTABLE);
    // Chunks end on chunk-size boundaries, so rewrites of a region land in the same chunk.
    const capacity = this.limits.chunkBytes - (offset % this.limits.chunkBytes);
    const buffer = this.pool.tryTake(capacity) ?? (await this.pool.take(capacity));
    // Another write of this file may have started a chunk while this one waited.
    this.sendFilling(StableHow.UNSTABLE);
    this.filling = { offset, buffer, length: 0 };
  }

  /** Copies as much of `bytes` as fits the chunk being gathered, which takes `offset` (fillingTakes); synchronous. */
  private append(offset: number, bytes: Uint8Array): number {
    const f = this.filling!;
    const at = offset - f.offset;
    const n = Math.min(bytes.length, f.buffer.length - at);
    f.buffer.set(bytes.subarray(0, n), at);
    if (at + n > f.length) {
      this.hold(at + n - f.length);
      f.length = at + n;
    }
    if (f.length === f.buffer.length) this.sendFilling(StableHow.UNSTABLE);
    return n;
  }

  private hold(bytes: number): void {
    this.heldBytes += bytes;
    this.stats.holding(this.heldBytes);
  }

  private sendFilling(stable: StableHow): Chunk | undefined {
    const f = this.filling;
    if (!f) return undefined;
    this.filling = undefined;
    const gathered = f.buffer.subarray(0, f.length);
    // A mostly empty buffer is not kept until the COMMIT: copy what it holds (when the budget has room for the copy),
    // and it can be reused at once.
    const copy = f.length < f.buffer.length / 2 ? this.pool.tryCopy(gathered) : undefined;
    const data = copy ?? gathered;
    if (copy) this.pool.give(f.buffer);
    const chunk: Chunk = {
      seq: this.nextSeq++, offset: f.offset, data, pooled: copy ?? f.buffer,
      acked: false, stable: false, mixedVerifiers: false, done: Promise.resolve(),
    };
    this.held.set(chunk.seq, chunk);
    this.send(chunk, stable);
    return chunk;
  }

  /** Starts a WRITE of the chunk after any unanswered WRITE it overlaps (the server may reorder concurrent calls). */
  private send(chunk: Chunk, stable: StableHow): void {
    const earlier = [...this.inFlight].filter((c) => overlaps(c.offset, c.data.length, chunk.offset, chunk.data.length));
    if (chunk.acked) {
      chunk.acked = false;
      this.ackedBytes -= chunk.data.length;
    }
    this.inFlight.add(chunk);
    this.stats.writing(this.inFlight.size);
    chunk.done = (async () => {
      if (earlier.length > 0) await Promise.all(earlier.map((c) => c.done));
      try {
        await this.transmit(chunk, stable);
      } catch (err) {
        // A WRITE that got no reply may still sit in a socket's queue: its buffer must never be handed out again.
        if (chunk.pooled) this.pool.forget(chunk.pooled);
        chunk.pooled = undefined;
        this.release([chunk]);
        this.errorSeq++;
        this.lastError = err as Error;
      } finally {
        this.inFlight.delete(chunk);
        this.wake();
      }
    })();
  }

  /** WRITEs until the server has taken the whole chunk (short writes send the rest). */
  private async transmit(chunk: Chunk, stable: StableHow): Promise<void> {
    chunk.verifier = undefined;
    chunk.mixedVerifiers = false;
    chunk.stable = true;
    for (let sent = 0; sent < chunk.data.length; ) {
      const rest = chunk.data.length - sent;
      const reply = await this.sink.write(chunk.offset + sent, chunk.data.subarray(sent), stable);
      if (!(reply.count > 0 && reply.count <= rest)) {
        throw new FsError(Errno.EIO, `the server took ${reply.count} of ${rest} bytes written at offset ${chunk.offset + sent}`);
      }
      if (reply.count < rest) this.stats.shortWrites++;
      if (chunk.verifier && !chunk.verifier.equals(reply.verifier)) chunk.mixedVerifiers = true;
      chunk.verifier = reply.verifier;
      if (reply.committed === StableHow.UNSTABLE) chunk.stable = false;
      sent += reply.count;
    }
    chunk.acked = true;
    this.ackedBytes += chunk.data.length;
    this.commitInBackground();
  }

  private async commitAll(): Promise<void> {
    for (let round = 0; ; round++) {
      // A small file's only data: one FILE_SYNC WRITE instead of WRITE + COMMIT.
      const stable = this.held.size === 0 ? StableHow.FILE_SYNC : StableHow.UNSTABLE;
      this.sendFilling(stable);
      await Promise.all([...this.inFlight].map((c) => c.done));
      const written = [...this.held.values()].filter((c) => c.acked);
      if (written.length === 0) return;
      if (await this.commitChunks(written)) return;
      if (round >= this.limits.commitRetries) {
        throw new FsError(
          Errno.EIO,
          `the NFS server restarted during each of ${round + 1} COMMITs in a row; the data is kept and sent again on the next fsync`,
        );
      }
      await this.replay();
    }
  }

  /**
   * COMMITs and releases `written` when the verifier matches all of them. All or nothing: a chunk sent again must not
   * overwrite a later one that was released, so a mismatch keeps every chunk for the replay.
   */
  private async commitChunks(written: Chunk[]): Promise<boolean> {
    if (written.every((c) => c.stable)) {
      this.release(written);
      return true;
    }
    const verifier = await this.sink.commit();
    if (!written.every((c) => c.stable || (!c.mixedVerifiers && c.verifier?.equals(verifier)))) return false;
    this.release(written);
    return true;
  }

  /** Sends every held chunk again, in the original order, with new writes held back meanwhile. */
  private async replay(): Promise<void> {
    this.replaying = true;
    try {
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((c) => c.done));
      const chunks = [...this.held.values()];
      for (const chunk of chunks) {
        this.stats.replayedChunks++;
        this.send(chunk, StableHow.UNSTABLE);
      }
      await Promise.all(chunks.map((c) => c.done));
    } finally {
      this.replaying = false;
      this.wake();
    }
  }

  /** Past half the bound, COMMIT what is written without waiting, so writers seldom meet the bound itself. */
  private commitInBackground(): void {
    if (this.backgroundCommit || this.ackedBytes < this.limits.maxUncommittedBytes / 2) return;
    this.backgroundCommit = true;
    const run = this.commitChain.then(async () => {
      const written = [...this.held.values()].filter((c) => c.acked);
      if (written.length > 0) await this.commitChunks(written); // a mismatch waits for the next foreground commit
    });
    this.commitChain = run.then(noop, noop);
    void this.commitChain.then(() => {
      this.backgroundCommit = false;
      this.wake();
    });
  }

  private release(chunks: Chunk[]): void {
    for (const chunk of chunks) {
      if (!this.held.delete(chunk.seq)) continue;
      this.heldBytes -= chunk.data.length;
      if (chunk.acked) this.ackedBytes -= chunk.data.length;
      chunk.acked = false;
      // Released chunks are neither sent nor read again (drain and send look only at chunks in flight).
      if (chunk.pooled) this.pool.give(chunk.pooled);
    }
    this.wake();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.wakeups.push(resolve));
  }

  private wake(): void {
    const waiting = this.wakeups;
    this.wakeups = [];
    for (const resolve of waiting) resolve();
  }
}
