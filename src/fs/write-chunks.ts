// The chunks of one file's write-back and the state each is in, changed only by the transition functions below:
//
//   held ──send──> inFlight ──written──> unstable ──release──> (released)
//                     │   ^               stable   ──release──> (released)
//                     │   └──── send ─── unstable / stable   (a replay after a verifier change)
//                     └──fail──> failed
//
// held: the application's bytes gather in it (at most one chunk at a time). inFlight: its WRITEs are sent and not all
// answered. unstable: the server took it all as UNSTABLE under `verifier` ('mixed' when its pieces got different
// ones). stable: the server took it all to stable storage (FILE_SYNC). A COMMIT releases unstable and stable chunks
// together; a failed WRITE drops its chunk (failed). A chunk's buffer goes back to the pool when it is released; the
// buffer of a failed chunk, or of one discarded while in flight, never does: its WRITE may still sit in a socket's queue.
import type { BufferPool } from './buffer-pool.ts';
import type { FsStats } from './fs-stats.ts';

export type ChunkState =
  | { readonly name: 'held' }
  | { readonly name: 'inFlight'; readonly done: Promise<void> }
  | { readonly name: 'unstable'; readonly verifier: Buffer | 'mixed' }
  | { readonly name: 'stable' }
  | { readonly name: 'failed'; readonly error: unknown }
  | { readonly name: 'released' };

/** How the server took a chunk's WRITEs: stably, or UNSTABLE under a verifier a COMMIT must match. */
export type WriteOutcome = { readonly stable: true } | { readonly stable: false; readonly verifier: Buffer | 'mixed' };

export class Chunk {
  private current: ChunkState = { name: 'held' };
  /** Bytes gathered from `offset`. */
  length = 0;

  constructor(
    readonly offset: number,
    /** The pooled buffer the bytes are in (once sent, maybe the pool's copy of a mostly empty one). */
    private pooled: Buffer,
  ) {}

  get state(): ChunkState {
    return this.current;
  }

  get buffer(): Buffer {
    return this.pooled;
  }

  get data(): Buffer {
    return this.pooled.subarray(0, this.length);
  }

  overlaps(offset: number, length: number): boolean {
    return this.offset < offset + length && offset < this.offset + this.length;
  }

  /** Only FileChunks moves a chunk (its counters follow each move). */
  moveTo(next: ChunkState, buffer = this.pooled): void {
    this.current = next;
    this.pooled = buffer;
  }
}

function expect(chunk: Chunk, transition: string, ...from: ChunkState['name'][]): void {
  if (!from.includes(chunk.state.name)) {
    throw new Error(
      `write-back: ${transition} of a chunk at offset ${chunk.offset} that is ${chunk.state.name} (expected ${from.join(' or ')})`,
    );
  }
}

export class FileChunks {
  /** The chunk gathering the application's bytes, if any. */
  private gathering?: Chunk;
  /** Sent and not yet released, in send order (a replay keeps each chunk's place). */
  private readonly sent = new Set<Chunk>();
  /** Chunks in flight. */
  private unanswered = 0;
  private heldBytes = 0;
  private answeredBytes = 0;

  constructor(
    /** Where chunk buffers come from, and go back to. */
    private readonly pool: BufferPool,
    private readonly stats: FsStats,
  ) {}

  /** Bytes held: gathered, in flight, or written and not yet committed. */
  get holding(): number {
    return this.heldBytes;
  }

  /** Bytes of unstable and stable chunks: the server has them, a COMMIT has not released them yet. */
  get writtenBytes(): number {
    return this.answeredBytes;
  }

  get held(): Chunk | undefined {
    return this.gathering;
  }

  /** Chunks sent and not yet released. */
  get sentCount(): number {
    return this.sent.size;
  }

  /** Chunks in flight. */
  get inFlightCount(): number {
    return this.unanswered;
  }

  get isEmpty(): boolean {
    return this.sent.size === 0 && this.gathering === undefined;
  }

  inFlight(): Chunk[] {
    return [...this.sent].filter((c) => c.state.name === 'inFlight');
  }

  /** Unstable and stable chunks, in send order. */
  writtenChunks(): Chunk[] {
    return [...this.sent].filter((c) => c.state.name === 'unstable' || c.state.name === 'stable');
  }

  /** Every chunk sent and not released, in send order. */
  all(): Chunk[] {
    return [...this.sent];
  }

  // ---- transitions ----

  /** A new held chunk at `offset` in `buffer` (taken from the pool); there is none held. */
  hold(offset: number, buffer: Buffer): Chunk {
    if (this.gathering) throw new Error(`write-back: a chunk at offset ${offset} held while the one at ${this.gathering.offset} is`);
    this.gathering = new Chunk(offset, buffer);
    return this.gathering;
  }

  /** Copies what fits of `bytes` into the held chunk at `offset` (within or right after what it holds). */
  gather(offset: number, bytes: Uint8Array): number {
    const chunk = this.gathering!;
    const at = offset - chunk.offset;
    const n = Math.min(bytes.length, chunk.buffer.length - at);
    chunk.buffer.set(bytes.subarray(0, n), at);
    if (at + n > chunk.length) {
      this.heldBytes += at + n - chunk.length;
      this.stats.holding(this.heldBytes);
      chunk.length = at + n;
    }
    return n;
  }

  /**
   * held, unstable or stable -> inFlight. A held chunk is sent from a copy when it is mostly empty (if the budget has
   * room for the copy), so that its buffer is reused at once.
   */
  send(chunk: Chunk, done: Promise<void>): void {
    expect(chunk, 'send', 'held', 'unstable', 'stable');
    if (chunk.state.name === 'held') {
      this.gathering = undefined;
      const copy = chunk.length < chunk.buffer.length / 2 ? this.pool.tryCopy(chunk.data) : undefined;
      if (copy) this.pool.give(chunk.buffer);
      chunk.moveTo({ name: 'inFlight', done }, copy);
      this.sent.add(chunk);
    } else {
      this.answeredBytes -= chunk.length;
      chunk.moveTo({ name: 'inFlight', done });
    }
    this.unanswered++;
    this.stats.writing(this.unanswered);
  }

  /** inFlight -> unstable or stable: the server took every byte. A chunk discarded meanwhile stays released. */
  written(chunk: Chunk, outcome: WriteOutcome): void {
    if (chunk.state.name === 'released') return;
    expect(chunk, 'written', 'inFlight');
    this.unanswered--;
    this.answeredBytes += chunk.length;
    chunk.moveTo(outcome.stable ? { name: 'stable' } : { name: 'unstable', verifier: outcome.verifier });
  }

  /** inFlight -> failed: the chunk's data is dropped; its buffer is never reused (the WRITE may still be queued). */
  fail(chunk: Chunk, error: unknown): void {
    if (chunk.state.name === 'released') return;
    expect(chunk, 'fail', 'inFlight');
    this.unanswered--;
    this.leave(chunk, { name: 'failed', error });
    this.pool.forget(chunk.buffer);
  }

  /** unstable or stable -> released: a COMMIT (or a stable WRITE) covers it; its buffer goes back to the pool. */
  release(chunk: Chunk): void {
    if (chunk.state.name === 'released') return;
    expect(chunk, 'release', 'unstable', 'stable');
    this.answeredBytes -= chunk.length;
    this.leave(chunk, { name: 'released' });
    this.pool.give(chunk.buffer);
  }

  /**
   * Every chunk -> released without a COMMIT (the file's last fd is gone and its data could not be committed: the
   * error was reported). Buffers of WRITEs still unanswered are never reused.
   */
  discard(): void {
    if (this.gathering) {
      this.pool.give(this.gathering.buffer);
      this.gathering.moveTo({ name: 'released' });
      this.gathering = undefined;
    }
    for (const chunk of this.sent) {
      if (chunk.state.name === 'inFlight') this.pool.forget(chunk.buffer);
      else this.pool.give(chunk.buffer);
      chunk.moveTo({ name: 'released' });
    }
    this.sent.clear();
    this.unanswered = 0;
    this.heldBytes = 0;
    this.answeredBytes = 0;
  }

  private leave(chunk: Chunk, next: ChunkState): void {
    this.sent.delete(chunk);
    this.heldBytes -= chunk.length;
    chunk.moveTo(next);
  }
}
