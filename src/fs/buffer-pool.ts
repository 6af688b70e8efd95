// Write chunks, reused. A sequential writer otherwise allocates a new chunk (1 MiB) for every MiB it writes, and
// buffers allocated outside the JS heap at hundreds of MiB/s make V8 collect garbage over and over ("external memory
// pressure"): measured, that GC cost more CPU than everything else the mount does. Chunks come back once committed.
// READ replies are read into pooled buffers the same way (read-ahead blocks).
// With a memory budget every buffer the pool has made counts against it until the pool lets go of it, idle ones too:
// a buffer given back goes first to a caller waiting for one, and the idle ones are freed when the budget is short.
import type { MemoryHolder, MountMemoryBudget } from './memory-budget.ts';

export interface BufferPoolOptions {
  /** A pool untouched this long gives its buffers back to the GC (an idle mount holds no memory). Default 2 s. */
  readonly idleMs?: number;
  /** Called for each buffer of the pooled size allocated (not reused), for statistics. */
  readonly onAllocate?: () => void;
  /** Where the pool's buffers are counted; without one the pool allocates whenever asked. */
  readonly budget?: MountMemoryBudget;
}

export class BufferPool implements MemoryHolder {
  private readonly free: Buffer[] = [];
  /** Callers of take() waiting for a buffer of the pooled size, served first by give(). */
  private readonly takers: ((buffer: Buffer) => void)[] = [];
  /** A reservation for the first taker is pending with the budget. */
  private asking = false;
  private idleTimer?: NodeJS.Timeout;
  private readonly idleMs: number;
  private readonly onAllocate?: () => void;
  private readonly budget?: MountMemoryBudget;
  /** Bytes of the buffers this pool made and still counts (lent out or idle). */
  private heldBytes = 0;

  constructor(
    /** The one size pooled; buffers of other sizes are allocated (and counted) one by one. */
    readonly size: number,
    /** Buffers kept for reuse at most. */
    private readonly maxFree: number,
    { idleMs = 2000, onAllocate, budget }: BufferPoolOptions = {},
  ) {
    this.idleMs = idleMs;
    this.onAllocate = onAllocate;
    this.budget = budget;
    budget?.addHolder(this);
  }

  /** Bytes of the buffers this pool holds: lent out or idle, what it counts against the budget. */
  get held(): number {
    return this.heldBytes;
  }

  /** A buffer of `bytes` (contents undefined), or undefined when the budget has no room now. */
  tryTake(bytes: number): Buffer | undefined {
    if (bytes === this.size && this.free.length > 0) return this.free.pop();
    if (this.takers.length > 0 || (this.budget && !this.budget.tryReserve(bytes))) return undefined;
    this.heldBytes += bytes;
    return this.allocate(bytes);
  }

  /** A buffer of `bytes`, waiting while the budget has no room. */
  async take(bytes: number): Promise<Buffer> {
    const buffer = this.tryTake(bytes);
    if (buffer) return buffer;
    if (bytes !== this.size) {
      await this.budget!.reserve(bytes);
      this.heldBytes += bytes;
      return this.allocate(bytes);
    }
    return new Promise((resolve) => {
      this.takers.push(resolve);
      this.askBudget();
    });
  }

  /** A copy of `data` in a buffer of its own, counted like the others; undefined when the budget has no room for it. */
  tryCopy(data: Uint8Array): Buffer | undefined {
    if (this.budget && !this.budget.tryReserve(data.length)) return undefined;
    this.heldBytes += data.length;
    return Buffer.from(data);
  }

  /** `buffer` (from take or tryCopy) is no longer used by anyone: it may be handed out again. */
  give(buffer: Buffer): void {
    if (buffer.length !== this.size) return this.letGo(buffer.length);
    const taker = this.takers.shift();
    if (taker) return taker(buffer);
    if (this.free.length >= this.maxFree || (this.budget?.waiting ?? 0) > 0) return this.letGo(buffer.length);
    this.free.push(buffer);
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.relieve(), this.idleMs).unref();
  }

  /** `buffer` (from take) must never be reused (a WRITE that carried it may still be queued): it only stops counting. */
  forget(buffer: Buffer): void {
    this.letGo(buffer.length);
  }

  /** Lets go of the idle buffers (the budget is short, or the pool was idle). */
  relieve(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const dropped = this.free.length * this.size;
    this.free.length = 0;
    if (dropped > 0) this.letGo(dropped);
  }

  /** The pool's owner is gone: its idle buffers are freed and it no longer counts on the budget. */
  close(): void {
    this.relieve();
    this.budget?.removeHolder(this);
  }

  private letGo(bytes: number): void {
    this.heldBytes -= bytes;
    this.budget?.release(bytes);
  }

  private allocate(bytes: number): Buffer {
    if (bytes !== this.size) return Buffer.allocUnsafe(bytes);
    this.onAllocate?.();
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** One reservation at a time for the first taker; a buffer given back meanwhile may serve it first. */
  private askBudget(): void {
    if (this.asking || this.takers.length === 0) return;
    this.asking = true;
    void this.budget!.reserve(this.size).then(() => {
      this.asking = false;
      const taker = this.takers.shift();
      this.heldBytes += this.size;
      if (taker) taker(this.allocate(this.size));
      else this.letGo(this.size);
      this.askBudget();
    });
  }
}
