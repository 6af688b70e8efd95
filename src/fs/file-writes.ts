// The WRITEs and COMMITs of one mount's open files: a write-back per file, its chunks from one pool for the mount,
// its sink sending as the mount's identity. Each reply's attributes refresh the attribute cache.
import type { Credential, FileHandle } from '../nfs/index.ts';

import type { AttrCache } from './attr-cache.ts';
import { BufferPool } from './buffer-pool.ts';
import type { ResolvedOptions } from './fs-options.ts';
import type { FsStats } from './fs-stats.ts';
import type { NfsOperations } from './nfs-operations.ts';
import { WriteBack, type WriteSink } from './write-back.ts';

export class FileWrites {
  /** Write chunks for every file, as many as one file may hold uncommitted. */
  private readonly chunks: BufferPool;

  constructor(
    private readonly client: NfsOperations,
    private readonly credential: Credential,
    private readonly attrs: AttrCache,
    private readonly stats: FsStats,
    private readonly options: ResolvedOptions,
  ) {
    const chunkCount = Math.ceil(options.maxUncommittedBytes / options.writeChunkBytes);
    this.chunks = new BufferPool(options.writeChunkBytes, chunkCount, { budget: options.memory });
  }

  /** A write-back for `handle`, counted by the memory budget until dropped (see drop). */
  writeBack(handle: FileHandle): WriteBack {
    const o = this.options;
    const limits = {
      chunkBytes: o.writeChunkBytes,
      maxInFlight: o.writesInFlight,
      maxUncommittedBytes: o.maxUncommittedBytes,
      commitRetries: o.commitRetries,
    };
    const writeBack = new WriteBack(this.sink(handle), limits, this.stats, this.chunks);
    o.memory.addHolder(writeBack);
    return writeBack;
  }

  /** The file's last fd is gone: what it could not commit is discarded (its error was reported), and it no longer counts. */
  drop(writeBack: WriteBack): void {
    this.options.memory.removeHolder(writeBack);
    writeBack.discard();
  }

  private sink(handle: FileHandle): WriteSink {
    return {
      write: async (offset, data, stable) => {
        this.stats.writeRpcs++;
        this.stats.writeRpcBytes += data.length;
        const reply = await this.client.write(this.credential, handle, BigInt(offset), data, stable);
        this.attrs.set(handle, reply.wcc.after);
        return reply;
      },
      commit: async () => {
        this.stats.commits++;
        const reply = await this.client.commit(this.credential, handle);
        this.attrs.set(handle, reply.wcc.after);
        return reply.verifier;
      },
    };
  }
}
