// Read-ahead for one open file: a reader that goes through the file in order is served from large READs fetched
// ahead of it, several at once; any other access pattern reads exactly what is asked. Blocks carry the file's data
// generation and are dropped when it changes (a write through this mount, or a change seen at open). Each block's
// READ reply goes into a pooled buffer, reused once the block is dropped: a steady reader allocates nothing.
// Read-ahead takes only memory the budget has free: when it is short, fewer blocks are fetched ahead (none at all: the
// reader reads directly), and the budget may ask for every block back.
import type { BufferPool } from './buffer-pool.ts';
import type { MemoryHolder } from './memory-budget.ts';

export interface ReadAheadLimits {
  /** Bytes per READ. */
  readonly blockBytes: number;
  /** Blocks fetched ahead of the reader (0: none). */
  readonly window: number;
}

/** Answers the reader with `source` (its whole length) before it returns: the caller's data, uncopied. */
export type AnswerFrom = (source: Uint8Array) => void;

/** READs up to `length` bytes at `offset` (fewer only at the end of the file) into `into`, or into a buffer of its own. */
export type FetchBlock = (offset: number, length: number, into: Buffer) => Promise<Buffer>;

/**
 * A block's life, one transition function each:
 *
 *   fetching ──settled──> cached ──evict──> evicted ──(last reader done)──> returned
 *      │ evict                                 ^
 *      v                                       │
 *   fetchingEvicted ──settled──────────────────┘
 *
 * fetching: its READ writes the pooled buffer. cached: the data is a view of the buffer and new readers may come.
 * evicted: out of the read-ahead, readers already copying finish. returned: the buffer is back in the pool. A block
 * whose READ failed, or whose data was copied out of the buffer, is returned as soon as its READ settles.
 */
export type BlockState = 'fetching' | 'fetchingEvicted' | 'cached' | 'evicted' | 'returned';

/** One block and the pooled buffer its READ goes into, given back once nothing can touch it any more. */
class Block {
  /** Reads copying out of the block now. */
  private readers = 0;
  private current: BlockState = 'fetching';
  /** The block's bytes; shorter at the end of the file. */
  readonly data: Promise<Buffer>;

  constructor(
    readonly generation: number,
    private readonly pool: BufferPool,
    private readonly buffer: Buffer,
    fetch: (into: Buffer) => Promise<Buffer>,
  ) {
    this.data = fetch(buffer);
    this.data.then(
      (data) => this.settled(data.buffer === buffer.buffer),
      () => this.settled(false),
    );
  }

  get state(): BlockState {
    return this.current;
  }

  /** fetching -> cached, fetchingEvicted -> evicted; -> returned when the data is not in the buffer (or nobody reads it). */
  settled(holdsData: boolean): void {
    if (!holdsData) return this.giveBack();
    this.current = this.current === 'fetchingEvicted' ? 'evicted' : 'cached';
    if (this.current === 'evicted' && this.readers === 0) this.giveBack();
  }

  /** Out of the read-ahead: fetching -> fetchingEvicted, cached -> evicted (-> returned with no reader left). */
  evict(): void {
    if (this.current === 'fetching') this.current = 'fetchingEvicted';
    else if (this.current === 'cached') {
      this.current = 'evicted';
      if (this.readers === 0) this.giveBack();
    }
  }

  readerCame(): void {
    this.readers++;
  }

  /** evicted -> returned when it was the last reader. */
  readerDone(): void {
    this.readers--;
    if (this.current === 'evicted' && this.readers === 0) this.giveBack();
  }

  /** -> returned: the READ has settled (the client no longer writes the buffer), and nobody reads from it or will. */
  private giveBack(): void {
    this.current = 'returned';
    this.pool.give(this.buffer);
  }
}

export class ReadAhead implements MemoryHolder {
  private readonly blocks = new Map<number, Block>();
  /** The furthest a run of sequential reads has reached; -1 before the first read. */
  private frontier = -1;
  /** Reads in a row that continued where the one before ended; read-ahead runs from two on. */
  private streak = 0;

  constructor(
    private readonly limits: ReadAheadLimits,
    /** Buffers of blockBytes plus the room a READ reply needs besides its data. */
    private readonly buffers: BufferPool,
    private readonly fetch: FetchBlock,
    /** Called for each block not fetched because the budget had no room for it. */
    private readonly onShortOfMemory: () => void = () => undefined,
  ) {}

  /**
   * Copies the bytes at [offset, offset+target.length) into `target` from read-ahead blocks when the access is
   * sequential, and resolves with how many there were (fewer at the end of the file). Undefined otherwise (the caller
   * reads directly). `size` is the file size as known: nothing is fetched ahead past it. A target that goes away
   * meanwhile (a detached FUSE buffer has length 0) gets nothing and no error. A read that one block holds whole is
   * given to `answerFrom` instead, when there is one, while the block is held.
   */
  async read(target: Uint8Array, offset: number, generation: number, size: number, answerFrom?: AnswerFrom): Promise<number | undefined> {
    const { blockBytes, window } = this.limits;
    const length = target.length;
    // The kernel sends a sequential reader's requests several at a time (up to 12 of 128 KiB), so they may arrive out
    // of order: a read continues the run when it starts up to two blocks behind the furthest read, or one beyond it.
    const end = offset + length;
    const continues = this.frontier >= 0 && offset >= this.frontier - 2 * blockBytes && offset <= this.frontier + blockBytes;
    // A read from the start counts as sequential at once (as in the kernel); elsewhere it takes two in a row.
    this.streak = offset === 0 ? Math.max(2, this.streak + 1) : continues ? this.streak + 1 : 0;
    this.frontier = continues ? Math.max(this.frontier, end) : end;
    if (window === 0 || this.streak < 2 || length === 0) {
      this.drop();
      return undefined;
    }
    const first = Math.floor(offset / blockBytes);
    const last = Math.floor((end - 1) / blockBytes);
    for (const [index, block] of this.blocks) {
      if (index < first - 1 || block.generation !== generation) this.evict(index, block);
    }
    for (let index = first; index <= last + window; index++) {
      if (this.blocks.has(index) || (index > last && index * blockBytes >= size)) continue;
      const buffer = this.buffers.tryTake(this.buffers.size);
      if (!buffer) {
        this.onShortOfMemory();
        // Not even the blocks this read needs: it reads directly (blocks already fetched stay for the next reads).
        if (index <= last) return undefined;
        break;
      }
      const block = new Block(generation, this.buffers, buffer, (into) => this.fetch(index * blockBytes, blockBytes, into));
      // A failed read-ahead is retried by the read that needs it.
      block.data.catch(() => {
        if (this.blocks.get(index) === block) this.evict(index, block);
      });
      this.blocks.set(index, block);
    }
    // Taken now: a block that fails is removed from the map while an earlier one is awaited.
    const needed: Block[] = [];
    for (let index = first; index <= last; index++) {
      const block = this.blocks.get(index)!;
      block.readerCame();
      needed.push(block);
    }
    try {
      let filled = 0;
      for (let i = 0; i < needed.length; i++) {
        const data = await needed[i]!.data;
        const from = offset + filled - (first + i) * blockBytes;
        if (answerFrom && needed.length === 1 && data.length - from >= length) {
          answerFrom(data.subarray(from, from + length));
          return length;
        }
        const n = Math.max(0, Math.min(data.length - from, length - filled));
        if (n > 0) data.copy(target, filled, from, from + n); // Buffer#copy: nothing, and no throw, into a detached target
        filled += n;
        if (from + n < blockBytes) break; // the end of the file
      }
      return filled;
    } finally {
      for (const block of needed) block.readerDone();
    }
  }

  /** The memory budget is short: every block goes (the reader fetches again what it still needs). */
  relieve(): void {
    this.drop();
  }

  /** Drops every block (the fd is closed, or its reader went random): their buffers go back once unused. */
  drop(): void {
    for (const [index, block] of this.blocks) this.evict(index, block);
  }

  private evict(index: number, block: Block): void {
    this.blocks.delete(index);
    block.evict();
  }
}
