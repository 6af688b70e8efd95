// Keeps each value for a while; a value still being computed is shared by everyone asking for it meanwhile.
// Failures are not kept: the next ask tries again.

export class TtlCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const time = this.now();
    const entry = this.entries.get(key);
    if (entry && entry.expires > time) return entry.value;
    this.prune(time);
    const value = compute();
    // The clock starts when the value is known, so a slow computation still gets its full time.
    const stored = { value, expires: Infinity };
    this.entries.set(key, stored);
    value.then(
      () => {
        stored.expires = this.now() + this.ttlMs;
      },
      () => {
        if (this.entries.get(key) === stored) this.entries.delete(key);
      },
    );
    return value;
  }

  private prune(time: number): void {
    for (const [key, entry] of this.entries) if (entry.expires <= time) this.entries.delete(key);
  }
}
