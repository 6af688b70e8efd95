// Write-back of one open file: the application's writes are copied into chunks that go out as UNSTABLE WRITEs, many at
// once, without waiting for each. Every chunk's data stays until a COMMIT covers it with the verifier its WRITE got: a
// different verifier means the server restarted and may have lost it, so it is sent again. Nothing is reported stable
// that the server has not committed. The chunks' states are in write-chunks.ts; the file's own are here:
//
//   writing ──beginCommit──> committing ──endCommit──> writing
//                              │    ^
//                   beginReplay│    │endReplay
//                              v    │
//                            replaying
//
// writing: no COMMIT under way. committing: one COMMIT round runs (for fsync or close, the memory budget, the bound on
// uncommitted data, or in the background past half of it); writes go on meanwhile. replaying: a COMMIT found another
// verifier and every held chunk is being sent again; new writes wait, so none lands between replayed chunks.
import { StableHow } from '../nfs/index.ts';
import type { BufferPool } from './buffer-pool.ts';
import { Errno } from './errno.ts';
import { FsError } from './fs-error.ts';
import type { FsStats } from './fs-stats.ts';
import type { MemoryHolder } from './memory-budget.ts';
import { FileChunks, type Chunk, type WriteOutcome } from './write-chunks.ts';

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

export type FileWriteState = 'writing' | 'committing' | 'replaying';

const noop = (): void => undefined;

const doneOf = (chunk: Chunk): Promise<void> => (chunk.state.name === 'inFlight' ? chunk.state.done : Promise.resolve());

export class WriteBack implements MemoryHolder {
  private readonly chunks: FileChunks;
  private current: FileWriteState = 'writing';
  /** COMMIT rounds run one at a time, in the order asked. */
  private commitQueue: Promise<void> = Promise.resolve();
  /** The COMMIT queued in the background past half the bound, until it has run. */
  private backgroundCommit?: Promise<void>;
  /** The COMMIT the memory budget asked for, until it has run. */
  private relief?: Promise<void>;
  private wakeups: (() => void)[] = [];
  private failedWrites = 0;
  private lastWriteError?: unknown;

  constructor(
    private readonly sink: WriteSink,
    private readonly limits: WriteBackLimits,
    private readonly stats: FsStats,
    /** Where chunk buffers come from; one goes back only once the server has answered every WRITE that carried it. */
    private readonly pool: BufferPool,
  ) {
    this.chunks = new FileChunks(pool, stats);
  }

  get state(): FileWriteState {
    return this.current;
  }

  /** Data not yet sent, or sent and not yet answered: reads of it must wait. */
  get dirty(): boolean {
    return this.chunks.held !== undefined || this.chunks.inFlightCount > 0;
  }

  /** Bytes held: gathered, in flight, or written and not yet committed. */
  get holding(): number {
    return this.chunks.holding;
  }

  /** WRITEs that failed so far: an fd remembers how many it has reported (each fd sees an error once). */
  get failures(): number {
    return this.failedWrites;
  }

  /** The error of the last WRITE that failed. */
  get lastFailure(): unknown {
    return this.lastWriteError;
  }

  /**
   * Copies `data` (the caller may reuse its buffer as soon as this resolves); waits while the file holds too much, and
   * while the memory budget has no room for a new chunk (until data of this mount or another is committed).
   * `accepted` is called once the held chunk takes the rest of `data`: only the copy is left, which cannot fail, so the
   * writer may be answered while it is made.
   */
  async write(offset: number, data: Uint8Array, accepted?: () => void): Promise<void> {
    for (let done = 0; done < data.length;) {
      const piece = Math.min(data.length - done, this.limits.chunkBytes);
      if (!this.hasRoomFor(piece)) await this.roomFor(piece);
      const at = offset + done;
      if (!this.heldTakes(at)) await this.startChunk(at);
      if (accepted && this.heldRoomFrom(at) >= data.length - done) accepted();
      done += this.gather(at, data.subarray(done, done + piece));
    }
  }

  /** The budget is short: commit what this file holds, so its chunks can go (errors are for the next flush). */
  relieve(): void {
    if (this.relief || this.chunks.isEmpty) return;
    this.relief = this.commit()
      .catch(noop)
      .finally(() => {
        this.relief = undefined;
      });
  }

  /**
   * The file's last fd is gone and its data could not be committed (the error was reported): its buffers stop
   * counting against the memory budget. Those of WRITEs still unanswered are never reused.
   */
  discard(): void {
    this.chunks.discard();
  }

  /** Sends what is gathered without waiting for more; FILE_SYNC when it is all the file holds (no COMMIT needed). */
  sendNow(): void {
    this.sendHeld(this.chunks.sentCount === 0 ? StableHow.FILE_SYNC : StableHow.UNSTABLE);
  }

  /** Sends everything, waits for the replies, COMMITs, and sends again what a restarted server lost (bounded). */
  commit(): Promise<void> {
    return this.queueCommit(() => this.commitAll());
  }

  /** Sends gathered data in [offset, offset+length) and waits until no WRITE of that range is unanswered. */
  async drain(offset: number, length: number): Promise<void> {
    for (;;) {
      if (this.current === 'replaying') {
        await this.changed();
        continue;
      }
      if (this.chunks.held?.overlaps(offset, length)) this.sendHeld(StableHow.UNSTABLE);
      const pending = this.chunks.inFlight().filter((c) => c.overlaps(offset, length));
      if (pending.length === 0) return;
      await Promise.all(pending.map(doneOf));
    }
  }

  // ---- the file's transitions ----

  private beginCommit(): void {
    this.move('writing', 'committing');
  }

  private beginReplay(): void {
    this.move('committing', 'replaying');
  }

  private endReplay(): void {
    this.move('replaying', 'committing');
    this.wake();
  }

  private endCommit(): void {
    this.move('committing', 'writing');
    this.wake();
  }

  private move(from: FileWriteState, to: FileWriteState): void {
    if (this.current !== from) throw new Error(`write-back: the file is ${this.current}, not ${from}: it cannot go to ${to}`);
    this.current = to;
  }

  // ---- writing ----

  private hasRoomFor(bytes: number): boolean {
    return (
      this.current !== 'replaying' &&
      this.chunks.holding + bytes <= this.limits.maxUncommittedBytes &&
      this.chunks.inFlightCount < this.limits.maxInFlight
    );
  }

  private async roomFor(bytes: number): Promise<void> {
    for (;;) {
      if (this.current === 'replaying') await this.changed();
      else if (this.chunks.holding + bytes > this.limits.maxUncommittedBytes) await this.commit();
      else if (this.chunks.inFlightCount >= this.limits.maxInFlight) await this.changed();
      else return;
    }
  }

  /** The held chunk can take data at `offset` (it continues what it holds). */
  private heldTakes(offset: number): boolean {
    const held = this.chunks.held;
    return held !== undefined && offset >= held.offset && offset <= held.offset + held.length && offset < held.offset + held.buffer.length;
  }

  /** Bytes the held chunk can take from `offset` (which it takes: heldTakes). */
  private heldRoomFrom(offset: number): number {
    const held = this.chunks.held!;
    return held.offset + held.buffer.length - offset;
  }

  /** Sends the held chunk and holds a new one at `offset`, once the pool has a buffer for it. */
  private async startChunk(offset: number): Promise<void> {
    this.sendHeld(StableHow.UNSTABLE);
    // Chunks end on chunk-size boundaries, so rewrites of a region land in the same chunk.
    const capacity = this.limits.chunkBytes - (offset % this.limits.chunkBytes);
    const buffer = this.pool.tryTake(capacity) ?? (await this.pool.take(capacity));
    // Another write of this file may have started a chunk while this one waited.
    this.sendHeld(StableHow.UNSTABLE);
    this.chunks.hold(offset, buffer);
  }

  /** Copies as much of `bytes` as fits the held chunk, which takes `offset` (heldTakes); sends it once full. */
  private gather(offset: number, bytes: Uint8Array): number {
    const n = this.chunks.gather(offset, bytes);
    const held = this.chunks.held!;
    if (held.length === held.buffer.length) this.sendHeld(StableHow.UNSTABLE);
    return n;
  }

  private sendHeld(stable: StableHow): void {
    const held = this.chunks.held;
    if (held) this.send(held, stable);
  }

  /** Starts a WRITE of the chunk after any unanswered WRITE it overlaps (the server may reorder concurrent calls). */
  private send(chunk: Chunk, stable: StableHow): void {
    const earlier = this.chunks.inFlight().filter((c) => c.overlaps(chunk.offset, chunk.length));
    this.chunks.send(chunk, this.transmitAfter(earlier, chunk, stable));
  }

  /** The chunk's WRITEs once `earlier` are answered; never rejects: a failure moves the chunk to failed. */
  private async transmitAfter(earlier: Chunk[], chunk: Chunk, stable: StableHow): Promise<void> {
    // Always a turn first: the chunk is in flight (FileChunks.send) before its first WRITE goes.
    await Promise.all(earlier.map(doneOf));
    try {
      this.chunks.written(chunk, await this.transmit(chunk, stable));
      this.commitInBackground();
    } catch (err) {
      this.chunks.fail(chunk, err);
      this.failedWrites++;
      this.lastWriteError = err;
    } finally {
      this.wake();
    }
  }

  /** WRITEs until the server has taken the whole chunk (short writes send the rest). */
  private async transmit(chunk: Chunk, stable: StableHow): Promise<WriteOutcome> {
    const data = chunk.data;
    let verifier: Buffer | 'mixed' | undefined;
    let allStable = true;
    for (let sent = 0; sent < data.length;) {
      const rest = data.length - sent;
      const reply = await this.sink.write(chunk.offset + sent, data.subarray(sent), stable);
      if (!(reply.count > 0 && reply.count <= rest)) {
        throw new FsError(Errno.EIO, `the server took ${reply.count} of ${rest} bytes written at offset ${chunk.offset + sent}`);
      }
      if (reply.count < rest) this.stats.shortWrites++;
      // A short write's pieces with different verifiers: the server restarted between them, the chunk goes again.
      verifier = verifier === undefined || (verifier !== 'mixed' && verifier.equals(reply.verifier)) ? reply.verifier : 'mixed';
      if (reply.committed === StableHow.UNSTABLE) allStable = false;
      sent += reply.count;
    }
    return allStable ? { stable: true } : { stable: false, verifier: verifier! };
  }

  // ---- committing ----

  private queueCommit(round: () => Promise<void>): Promise<void> {
    const run = this.commitQueue.then(async () => {
      this.beginCommit();
      try {
        await round();
      } finally {
        this.endCommit();
      }
    });
    this.commitQueue = run.then(noop, noop);
    return run;
  }

  private async commitAll(): Promise<void> {
    for (let round = 0; ; round++) {
      // A small file's only data: one FILE_SYNC WRITE instead of WRITE + COMMIT.
      this.sendHeld(this.chunks.sentCount === 0 ? StableHow.FILE_SYNC : StableHow.UNSTABLE);
      await Promise.all(this.chunks.inFlight().map(doneOf));
      const written = this.chunks.writtenChunks();
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
    if (written.some((c) => c.state.name === 'unstable')) {
      const verifier = await this.sink.commit();
      const matches = (c: Chunk) => c.state.name !== 'unstable' || (c.state.verifier !== 'mixed' && c.state.verifier.equals(verifier));
      if (!written.every(matches)) return false;
    }
    for (const chunk of written) this.chunks.release(chunk);
    this.wake();
    return true;
  }

  /** Sends every held chunk again, in the original order, with new writes held back meanwhile. */
  private async replay(): Promise<void> {
    this.beginReplay();
    try {
      while (this.chunks.inFlightCount > 0) await Promise.all(this.chunks.inFlight().map(doneOf));
      const chunks = this.chunks.all();
      for (const chunk of chunks) {
        this.stats.replayedChunks++;
        this.send(chunk, StableHow.UNSTABLE);
      }
      await Promise.all(chunks.map(doneOf));
    } finally {
      this.endReplay();
    }
  }

  /** Past half the bound, COMMIT what is written without waiting, so writers seldom meet the bound itself. */
  private commitInBackground(): void {
    if (this.backgroundCommit || this.chunks.writtenBytes < this.limits.maxUncommittedBytes / 2) return;
    // A mismatch (or a failure) waits for the next foreground commit.
    const run = this.queueCommit(async () => {
      const written = this.chunks.writtenChunks();
      if (written.length > 0) await this.commitChunks(written);
    });
    this.backgroundCommit = run.catch(noop).finally(() => {
      this.backgroundCommit = undefined;
      this.wake();
    });
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
