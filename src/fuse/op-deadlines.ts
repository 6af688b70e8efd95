// The deadlines of the FUSE operations in flight, all checked by one timer. A timer of its own per operation, set and
// cleared 8,192 times per GiB read, cost about 4 us an operation in a profile of small-file creates. Every operation
// gets the same time, so the ones started first are due first.

interface Waiting {
  readonly due: number;
  readonly expire: () => void;
}

export class OperationDeadlines {
  /** In start order, which is due order. */
  private readonly waiting = new Set<Waiting>();
  private sweeper?: NodeJS.Timeout;
  private readonly checkEveryMs: number;

  constructor(private readonly timeoutMs: number) {
    // An operation expires at most a quarter of its time late (and at most a second).
    this.checkEveryMs = Math.min(1000, Math.max(10, timeoutMs / 4));
  }

  /** Runs `expire` once the operation has waited timeoutMs (a little more), unless the returned cancel comes first. */
  start(expire: () => void): () => void {
    const entry: Waiting = { due: performance.now() + this.timeoutMs, expire };
    this.waiting.add(entry);
    // Unref'd: the mount, not a pending deadline, keeps the process alive.
    this.sweeper ??= setInterval(() => this.sweep(), this.checkEveryMs).unref();
    return () => this.waiting.delete(entry);
  }

  private sweep(): void {
    const now = performance.now();
    for (const entry of this.waiting) {
      if (entry.due > now) break;
      this.waiting.delete(entry);
      entry.expire();
    }
    // Stopped only when idle: a busy mount does not start and stop a timer per operation either.
    if (this.waiting.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
