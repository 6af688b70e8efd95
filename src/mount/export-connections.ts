// The exports the node's mounts use, each connected once (MNT for the root handle, FSINFO) over one RPC
// connection per NFS server, and shared by every mount of that export. The last mount to let go closes it.
import {
  connectExport,
  type Credential,
  formatNfsUrl,
  type NfsExport,
  type NfsUrl,
  RpcClient,
  RpcConnectionPool,
  type RpcStats,
} from '../nfs/index.ts';

export interface ExportConnectionsOptions {
  /** Per-call timeout of MNT, FSINFO and the portmapper. */
  readonly timeoutMs: number;
  /** Connect from a source port below 1024. */
  readonly privilegedPort: boolean;
  /** Where the connections count their traffic (metrics). */
  readonly rpcStats?: RpcStats;
}

export interface ExportLease {
  readonly exp: NfsExport;
  /** Gives the reference back (once); the export closes when no lease is left. */
  release(): Promise<void>;
  /** The export's root handle went stale (the server's export was made again): later acquires connect anew. */
  evict(): void;
}

interface Entry {
  readonly connecting: Promise<NfsExport>;
  leases: number;
}

export class ExportConnections {
  private readonly pool: RpcConnectionPool;
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: ExportConnectionsOptions) {
    const stats = options.rpcStats;
    this.pool = new RpcConnectionPool(stats && ((target) => new RpcClient({ ...target, stats })));
  }

  /** Exports connected (or connecting) now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The export, connected by the first caller with its credential (MNT and FSINFO need one the server takes;
   * their answers are the same for every caller). A failed connection is forgotten, so the next call tries again.
   */
  async acquire(url: NfsUrl, credential: Credential): Promise<ExportLease> {
    const key = formatNfsUrl(url);
    let entry = this.entries.get(key);
    if (!entry) {
      const connecting = connectExport(url, {
        credential,
        timeoutMs: this.options.timeoutMs,
        privilegedPort: this.options.privilegedPort,
        pool: this.pool,
        rpcStats: this.options.rpcStats,
      });
      const made: Entry = { connecting, leases: 0 };
      entry = made;
      this.entries.set(key, made);
      connecting.catch(() => {
        if (this.entries.get(key) === made) this.entries.delete(key);
      });
    }
    const held = entry;
    held.leases++;
    let exp: NfsExport;
    try {
      exp = await held.connecting;
    } catch (err) {
      held.leases--;
      throw err;
    }
    let released = false;
    return {
      exp,
      evict: () => {
        if (this.entries.get(key) === held) this.entries.delete(key);
      },
      release: async () => {
        if (released) return;
        released = true;
        if (--held.leases > 0) return;
        if (this.entries.get(key) === held) this.entries.delete(key);
        await exp.close();
      },
    };
  }
}
