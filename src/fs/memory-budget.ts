// The memory a process may hold for file data (write-back chunks, read-ahead blocks and the pooled buffers kept for
// them), shared by all its mounts, each mount taking at most its share so that one tenant cannot take it all. Nothing
// fails for lack of memory: a writer waits, and the holders are asked to give memory back (write-back commits so its
// chunks can go, read-ahead drops its blocks, pools free their idle buffers); read-ahead only takes what is free.

/** Something that holds budgeted memory and can give some back when asked (soon, not necessarily at once). */
export interface MemoryHolder {
  relieve(): void;
}

/** The budget of one process: the sum of every mount's use stays within `limitBytes`. */
export class ProcessMemoryBudget {
  private usedBytes = 0;
  /** Mounts with a caller waiting for memory, served one caller each in turn. */
  private readonly waiting = new Set<MountMemoryBudget>();
  private readonly mounts = new Set<MountMemoryBudget>();

  constructor(readonly limitBytes: number) {
    if (!(Number.isSafeInteger(limitBytes) && limitBytes > 0))
      throw new RangeError(`process memory budget must be a positive number of bytes, got ${limitBytes}`);
  }

  /** Bytes held by all mounts. */
  get used(): number {
    return this.usedBytes;
  }

  /** A mount's share: at most `limitBytes` of this budget (and never more than the process's). */
  mount(limitBytes: number): MountMemoryBudget {
    const share = new MountMemoryBudget(this, Math.min(limitBytes, this.limitBytes));
    this.mounts.add(share);
    return share;
  }

  /** @internal (MountMemoryBudget) */
  fits(bytes: number): boolean {
    return this.usedBytes + bytes <= this.limitBytes;
  }

  /** @internal */
  add(bytes: number): void {
    this.usedBytes += bytes;
  }

  /** @internal: memory came free; waiting mounts get it one caller each in turn, so none can take it all. */
  released(bytes: number): void {
    this.usedBytes -= bytes;
    for (let served = true; served && this.waiting.size > 0;) {
      served = false;
      for (const mount of [...this.waiting]) {
        if (!mount.grantOne()) continue;
        served = true;
        // To the back of the line, if it still waits.
        this.waiting.delete(mount);
        if (mount.waiting > 0) this.waiting.add(mount);
      }
    }
    for (const mount of this.waiting) mount.stillShort();
  }

  /** @internal: the mount has a caller waiting (it keeps its place in line if it had one). */
  enqueue(mount: MountMemoryBudget): void {
    this.waiting.add(mount);
  }

  /** @internal: the process is full: every mount's holders are asked to give back. */
  relieveAll(): void {
    for (const mount of this.mounts) mount.relieveHolders();
  }

  /** @internal */
  close(mount: MountMemoryBudget): void {
    this.mounts.delete(mount);
    this.waiting.delete(mount);
  }
}

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
}

/** One mount's share of the process budget, with its figures for `kidfs status` and metrics. */
export class MountMemoryBudget {
  private usedBytes = 0;
  private highWaterBytes = 0;
  private readonly waiters: Waiter[] = [];
  private readonly holders = new Set<MemoryHolder>();
  private relieving = false;
  /** Times a caller had to wait for memory (back-pressure). */
  waits = 0;
  /** Read-ahead blocks not fetched because the budget was full. */
  readAheadSkipped = 0;

  constructor(
    private readonly process: ProcessMemoryBudget,
    readonly limitBytes: number,
  ) {}

  /** A budget for a file system on its own (tests, tools): a process budget of `limitBytes` with this one mount. */
  static standalone(limitBytes: number): MountMemoryBudget {
    return new ProcessMemoryBudget(limitBytes).mount(limitBytes);
  }

  get used(): number {
    return this.usedBytes;
  }

  get highWater(): number {
    return this.highWaterBytes;
  }

  /** Callers waiting for memory now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes `bytes` when both this mount and the process have room and nobody waits before; never waits. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.take(bytes);
    return true;
  }

  /** Takes `bytes`, waiting (in order) while there is no room; asks the holders to give memory back meanwhile. */
  reserve(bytes: number): Promise<void> {
    if (this.tryReserve(bytes)) return Promise.resolve();
    if (bytes > this.limitBytes) throw new RangeError(`${bytes} bytes can never fit a memory budget of ${this.limitBytes}`);
    this.waits++;
    const granted = new Promise<void>((resolve) => this.waiters.push({ bytes, resolve }));
    this.process.enqueue(this);
    this.relieve();
    return granted;
  }

  /** Gives back what reserve or tryReserve took. */
  release(bytes: number): void {
    this.usedBytes -= bytes;
    this.process.released(bytes);
  }

  addHolder(holder: MemoryHolder): void {
    this.holders.add(holder);
  }

  removeHolder(holder: MemoryHolder): void {
    this.holders.delete(holder);
  }

  /** The mount is gone: its holders let go of what they keep idle, and the process no longer counts on it. */
  close(): void {
    this.relieveHolders();
    this.process.close(this);
  }

  /** @internal (ProcessMemoryBudget): grants the first waiter if it fits; whether it did. */
  grantOne(): boolean {
    const first = this.waiters[0];
    if (!first || !this.fits(first.bytes)) return false;
    this.waiters.shift();
    this.take(first.bytes);
    first.resolve();
    return true;
  }

  /** @internal (ProcessMemoryBudget): memory came free but not enough for this mount's first waiter. */
  stillShort(): void {
    this.relieve();
  }

  /** @internal */
  relieveHolders(): void {
    for (const holder of [...this.holders]) holder.relieve();
  }

  /**
   * This mount's own holders when its share is what is full; everyone's when the process is. Once per turn, after the
   * caller's own work (holders give back through release, which would come back here).
   */
  private relieve(): void {
    if (this.relieving) return;
    this.relieving = true;
    queueMicrotask(() => {
      this.relieving = false;
      const first = this.waiters[0];
      if (!first) return;
      if (this.usedBytes + first.bytes > this.limitBytes) this.relieveHolders();
      else this.process.relieveAll();
    });
  }

  private fits(bytes: number): boolean {
    return this.usedBytes + bytes <= this.limitBytes && this.process.fits(bytes);
  }

  private take(bytes: number): void {
    this.usedBytes += bytes;
    this.process.add(bytes);
    if (this.usedBytes > this.highWaterBytes) this.highWaterBytes = this.usedBytes;
  }
}
