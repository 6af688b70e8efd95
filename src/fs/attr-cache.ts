// File handle -> the attributes the server last reported, used for up to the attribute timeout.
// The map is kept in expiry order (every set re-inserts at the end), so expired entries are dropped from the
// front as new ones arrive: the cache holds only what the last timeout's worth of replies reported, also for
// files that are never asked about again (created, then removed).
import type { Fattr3, FileHandle } from '../nfs/index.ts';

export class AttrCache {
  private readonly entries = new Map<string, { attributes: Fattr3; expires: number }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxEntries: number,
  ) {}

  get(handle: FileHandle): Fattr3 | undefined {
    const key = handle.toString('hex');
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry.attributes;
    this.entries.delete(key);
    return undefined;
  }

  /** Any reply's post-op attributes are fresh: keep them (nothing with a timeout of 0). */
  set(handle: FileHandle, attributes: Fattr3 | undefined): void {
    if (!attributes || this.timeoutMs === 0) return;
    const now = Date.now();
    this.dropExpired(now);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const key = handle.toString('hex');
    this.entries.delete(key);
    this.entries.set(key, { attributes, expires: now + this.timeoutMs });
  }

  delete(handle: FileHandle): void {
    this.entries.delete(handle.toString('hex'));
  }

  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expires > now) return;
      this.entries.delete(key);
    }
  }
}
