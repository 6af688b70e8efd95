// QoS: rates an identity's mounts on a node share (bytes and operations per second), as token buckets. A call beyond
// the rate waits its turn, never fails; the mounts that wait are served in rotation, one call each, so one busy mount
// of an identity cannot starve its others. A bucket holds a tenth of a second of tokens, and a call larger than what
// is left goes when the bucket is not in debt (and puts it in debt): over any window the rate holds to within one call.

interface Waiter {
  readonly amount: number;
  readonly since: number;
  readonly resolve: () => void;
}

/** One mount's place at shared rates, with what it waited (for `kidfs status` and metrics). */
export class QosShare {
  /** Calls that had to wait, and how long they waited in all. */
  waits = 0;
  waitedMs = 0;

  constructor(
    private readonly bytes: SharedRate | undefined,
    private readonly ops: SharedRate | undefined,
  ) {}

  get bytesPerSecond(): number | undefined {
    return this.bytes?.perSecond;
  }

  get opsPerSecond(): number | undefined {
    return this.ops?.perSecond;
  }

  /** Resolves when one more file operation may go. */
  operation(): Promise<void> | undefined {
    return this.ops?.take(this, 1);
  }

  /** Resolves when `bytes` more may be read or written. */
  transfer(bytes: number): Promise<void> | undefined {
    return bytes > 0 ? this.bytes?.take(this, bytes) : undefined;
  }

  /** @internal (SharedRate) */
  waited(ms: number): void {
    this.waits++;
    this.waitedMs += ms;
  }
}

export class SharedRate {
  private tokens: number;
  private readonly capacity: number;
  private last = performance.now();
  /** Waiting calls per mount, in the order the mounts are served next. */
  private readonly queues = new Map<QosShare, Waiter[]>();
  private timer?: NodeJS.Timeout;

  constructor(readonly perSecond: number) {
    if (!(perSecond > 0)) throw new RangeError(`a rate must be above 0 per second, got ${perSecond}`);
    this.capacity = perSecond / 10;
    this.tokens = this.capacity;
  }

  /** Undefined when `amount` may go now; otherwise a promise that resolves at its turn. */
  take(share: QosShare, amount: number): Promise<void> | undefined {
    this.refill();
    if (this.queues.size === 0 && this.tokens >= 0) {
      this.tokens -= amount;
      return undefined;
    }
    return new Promise((resolve) => {
      const queue = this.queues.get(share);
      const waiter = { amount, since: performance.now(), resolve };
      if (queue) queue.push(waiter);
      else this.queues.set(share, [waiter]);
      this.schedule();
    });
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  /** Serves waiting mounts in rotation while the bucket is not in debt; then waits until it is paid off. */
  private schedule(): void {
    if (this.timer) return;
    this.refill();
    while (this.tokens >= 0 && this.queues.size > 0) {
      const [share, queue] = this.queues.entries().next().value!;
      const waiter = queue.shift()!;
      this.queues.delete(share);
      if (queue.length > 0) this.queues.set(share, queue);
      this.tokens -= waiter.amount;
      share.waited(performance.now() - waiter.since);
      waiter.resolve();
    }
    if (this.queues.size === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.schedule();
      },
      Math.max(1, Math.ceil((-this.tokens / this.perSecond) * 1000)),
    );
  }
}
