// Read-ahead for one open file: a reader that goes through the file in order is served from large READs fetched
// ahead of it, several at once; any other access pattern reads exactly what is asked. Blocks carry the file's data
// generation and are dropped when it changes (a write through this mount, or a change seen at open).

export interface ReadAheadLimits {
  /** Bytes per READ. */
  readonly blockBytes: number;
  /** Blocks fetched ahead of the reader (0: none). */
  readonly window: number;
}

interface Block {
  readonly generation: number;
  /** The block's bytes; shorter at the end of the file. */
  readonly data: Promise<Buffer>;
}

export class ReadAhead {
  private readonly blocks = new Map<number, Block>();
  /** The furthest a run of sequential reads has reached; -1 before the first read. */
  private frontier = -1;
  /** Reads in a row that continued where the one before ended; read-ahead runs from two on. */
  private streak = 0;

  constructor(
    private readonly limits: ReadAheadLimits,
    /** Reads up to `length` bytes at `offset` (fewer only at the end of the file). */
    private readonly fetch: (offset: number, length: number) => Promise<Buffer>,
  ) {}

  /**
   * The bytes at [offset, offset+length) from read-ahead blocks when the access is sequential (fewer at the end of
   * the file): a view of the block when the range lies in one, as it does for the kernel's aligned reads. Undefined
   * otherwise (the caller reads directly). `size` is the file size as known: nothing is fetched ahead past it.
   */
  async read(offset: number, length: number, generation: number, size: number): Promise<Buffer | undefined> {
    const { blockBytes, window } = this.limits;
    // The kernel sends a sequential reader's requests several at a time (up to 12 of 128 KiB), so they may arrive out
    // of order: a read continues the run when it starts up to two blocks behind the furthest read, or one beyond it.
    const end = offset + length;
    const continues = this.frontier >= 0 && offset >= this.frontier - 2 * blockBytes && offset <= this.frontier + blockBytes;
    // A read from the start counts as sequential at once (as in the kernel); elsewhere it takes two in a row.
    this.streak = offset === 0 ? Math.max(2, this.streak + 1) : continues ? this.streak + 1 : 0;
    this.frontier = continues ? Math.max(this.frontier, end) : end;
    if (window === 0 || this.streak < 2 || length === 0) {
      this.blocks.clear();
      return undefined;
    }
    const first = Math.floor(offset / blockBytes);
    const last = Math.floor((end - 1) / blockBytes);
    for (const [index, block] of this.blocks) {
      if (index < first - 1 || block.generation !== generation) this.blocks.delete(index);
    }
    for (let index = first; index <= last + window; index++) {
      if (this.blocks.has(index) || (index > last && index * blockBytes >= size)) continue;
      const data = this.fetch(index * blockBytes, blockBytes);
      data.catch(() => this.blocks.delete(index)); // a failed read-ahead is retried by the read that needs it
      this.blocks.set(index, { generation, data });
    }
    // Taken now: a block that fails is removed from the map while an earlier one is awaited.
    const needed = [];
    for (let index = first; index <= last; index++) needed.push(this.blocks.get(index)!.data);
    if (needed.length === 1) {
      const from = offset - first * blockBytes;
      return (await needed[0]!).subarray(from, from + length);
    }
    const target = Buffer.allocUnsafe(length);
    let filled = 0;
    for (let i = 0; i < needed.length; i++) {
      const data = await needed[i]!;
      const from = offset + filled - (first + i) * blockBytes;
      const n = Math.max(0, Math.min(data.length - from, length - filled));
      target.set(data.subarray(from, from + n), filled);
      filled += n;
      if (from + n < blockBytes) break; // the end of the file
    }
    return target.subarray(0, filled);
  }
}
