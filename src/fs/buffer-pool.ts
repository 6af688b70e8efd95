// Write chunks, reused. A sequential writer otherwise allocates a new chunk (1 MiB) for every MiB it writes, and
// buffers allocated outside the JS heap at hundreds of MiB/s make V8 collect garbage over and over ("external memory
// pressure"): measured, that GC cost more CPU than everything else the mount does. Chunks come back once committed.
// READ replies are read into pooled buffers the same way (read-ahead blocks).

export interface BufferPoolOptions {
  /** A pool untouched this long gives its buffers back to the GC (an idle mount holds no memory). Default 2 s. */
  readonly idleMs?: number;
  /** Called for each buffer of the pooled size allocated (not reused), for statistics. */
  readonly onAllocate?: () => void;
}

export class BufferPool {
  private readonly free: Buffer[] = [];
  private idleTimer?: NodeJS.Timeout;
  private readonly idleMs: number;
  private readonly onAllocate?: () => void;

  constructor(
    /** The one size pooled; buffers of other sizes are allocated and left to the GC. */
    readonly size: number,
    /** Buffers kept for reuse at most. */
    private readonly maxFree: number,
    { idleMs = 2000, onAllocate }: BufferPoolOptions = {},
  ) {
    this.idleMs = idleMs;
    this.onAllocate = onAllocate;
  }

  /** A buffer of `bytes` (contents undefined). */
  take(bytes: number): Buffer {
    if (bytes !== this.size) return Buffer.allocUnsafe(bytes);
    const reused = this.free.pop();
    if (reused) return reused;
    this.onAllocate?.();
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** `buffer` (from take) is no longer used by anyone: it may be handed out again. */
  give(buffer: Buffer): void {
    if (buffer.length !== this.size || this.free.length >= this.maxFree) return;
    this.free.push(buffer);
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.free.length = 0;
        this.idleTimer = undefined;
      }, this.idleMs).unref();
    }
  }
}
