// NFS traffic by server (the connection is shared by every mount of a server): calls by procedure, resends after a
// reconnect, reconnects, failed connects, timeouts, JUKEBOX retries. Read from RpcStats at each scrape.
import { Counter, type Registry } from 'prom-client';
import type { RpcStats, ServerRpcStats } from '../nfs/index.ts';

export function registerRpcMetrics(registry: Registry, stats: RpcStats): void {
  new Counter({
    name: 'kidfs_nfs_calls_total',
    help: 'RPC calls sent to the NFS server (MOUNT and portmapper included), by procedure',
    labelNames: ['server', 'procedure'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, s] of stats.servers) for (const [procedure, n] of s.calls) this.inc({ server, procedure }, n);
    },
  });
  const perServer = (name: string, help: string, value: (s: ServerRpcStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['server'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [server, s] of stats.servers) this.inc({ server }, value(s));
      },
    });
  perServer('kidfs_nfs_retransmits_total', 'calls sent again on a new connection after the old one was lost', (s) => s.resent);
  perServer('kidfs_nfs_reconnects_total', 'connections to the server made again after one was lost', (s) => s.reconnects);
  perServer('kidfs_nfs_connect_failures_total', 'connection attempts that failed', (s) => s.connectFailures);
  perServer('kidfs_nfs_timeouts_total', 'calls that got no reply within nfs-timeout', (s) => s.timeouts);
  perServer('kidfs_nfs_jukebox_retries_total', 'NFS3ERR_JUKEBOX answers asked again later', (s) => s.jukeboxRetries);
}
