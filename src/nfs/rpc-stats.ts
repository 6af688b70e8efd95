// Counters of RPC traffic by server, for metrics: kept by whoever creates the clients (a daemon or a mount) and handed
// to each RpcClient and Nfs3Client it makes. Plain numbers, only ever increased.

export interface ServerRpcStats {
  /** Calls sent, by "NFS v3 WRITE"-style name (first sends only). */
  readonly calls: Map<string, number>;
  /** Calls sent again on a new connection after the old one was lost. */
  resent: number;
  /** Connections made after the first (the server restarted or the link broke). */
  reconnects: number;
  /** Connection attempts that failed. */
  connectFailures: number;
  /** Calls that got no reply within their timeout. */
  timeouts: number;
  /** NFS3ERR_JUKEBOX answers that were asked again later. */
  jukeboxRetries: number;
}

export class RpcStats {
  readonly servers = new Map<string, ServerRpcStats>();

  of(server: string): ServerRpcStats {
    let stats = this.servers.get(server);
    if (!stats) {
      stats = { calls: new Map(), resent: 0, reconnects: 0, connectFailures: 0, timeouts: 0, jukeboxRetries: 0 };
      this.servers.set(server, stats);
    }
    return stats;
  }
}
