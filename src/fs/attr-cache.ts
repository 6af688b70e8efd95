// File handle -> the attributes the server last reported, used for up to the attribute timeout.
import type { Fattr3, FileHandle } from '../nfs/nfs3-types.ts';

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
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(handle.toString('hex'), { attributes, expires: Date.now() + this.timeoutMs });
  }

  delete(handle: FileHandle): void {
    this.entries.delete(handle.toString('hex'));
  }
}
