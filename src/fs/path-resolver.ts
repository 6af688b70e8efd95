// Path -> handle: the cached prefix, then one LOOKUP per missing name. A handle the server calls STALE makes the
// operation look its paths up again from the root, once.
import type { Credential, Fattr3, FileHandle } from '../nfs/index.ts';

import type { AttrCache } from './attr-cache.ts';
import { isStale } from './fs-error.ts';
import type { FsStats } from './fs-stats.ts';
import type { HandleCache } from './handle-cache.ts';
import type { LibfuseHides } from './libfuse-hides.ts';
import type { NfsOperations } from './nfs-operations.ts';

export interface Resolved {
  readonly handle: FileHandle;
  /** The object's attributes when the last name was just looked up (fresh from the server). */
  readonly attributes?: Fattr3;
}

export class PathResolver {
  constructor(
    private readonly client: NfsOperations,
    private readonly credential: Credential,
    readonly handles: HandleCache,
    private readonly attrs: AttrCache,
    private readonly stats: FsStats,
    private readonly hides: LibfuseHides,
  ) {}

  /** With `fresh`, the last name is looked up even when cached (open() revalidates so: close-to-open). */
  async resolve(names: readonly string[], fresh = false): Promise<Resolved> {
    const putBack = this.hides.putBackAs(names);
    if (putBack) return { handle: putBack };
    const cachedUpTo = fresh ? Math.max(names.length - 1, 0) : names.length;
    let { handle, depth } = this.handles.longestPrefix(names.slice(0, cachedUpTo));
    let attributes: Fattr3 | undefined;
    for (; depth < names.length; depth++) {
      const found = await this.client.lookup(this.credential, handle, names[depth]!);
      this.attrs.set(handle, found.dirAttributes);
      this.attrs.set(found.handle, found.attributes);
      handle = found.handle;
      attributes = found.attributes;
      this.handles.set(names.slice(0, depth + 1), handle);
    }
    return { handle, attributes };
  }

  /**
   * Runs `operation` (which resolves `paths` itself); when the server calls a handle STALE, forgets those paths
   * down from their first name and runs it once more.
   */
  async retryStale<T>(paths: readonly (readonly string[])[], operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (!isStale(err)) throw err;
      this.stats.staleRetries++;
      for (const names of paths) this.handles.delete(names.slice(0, 1));
      return operation();
    }
  }
}
