// What the kidfs mounts of one process share, and where they are opened: the process's memory budget (each mount
// takes at most its share), each identity's rates, and the connections to the exports. The node daemon holds one
// host for every pod mount of its node, with one RPC connection per NFS server shared by all; a `kidfs mount` process
// holds one for its one mount, on a connection of its own.
import type { MountConfig } from '../config/index.ts';
import { Errno, FsError, ProcessMemoryBudget } from '../fs/index.ts';

import { connectExport, type Credential, formatNfsUrl, type NfsUrl, type RpcStats } from '../nfs/index.ts';

import { ExportConnections, type ExportLease } from './export-connections.ts';
import { IdentityRates } from './identity-rates.ts';
import { openMount, type KidfsMount, type MountRequest, type MountShares } from './open-mount.ts';

export interface MountHostOptions {
  /** Where the NFS connections count their traffic (metrics). */
  readonly rpcStats?: RpcStats;
  /**
   * Share one connection per export among the mounts (the node daemon); failing to connect is then FsError
   * EREMOTEIO "cannot reach the export". Otherwise each mount connects on its own, and a port that refuses
   * connections fails the mount at once with the connection's own message (`kidfs mount`).
   */
  readonly shareConnections: boolean;
}

export class MountHost {
  private readonly shares: MountShares;

  constructor(
    private readonly settings: MountConfig,
    options: MountHostOptions,
  ) {
    const memory = new ProcessMemoryBudget(settings.memoryPerProcessBytes);
    const rates = new IdentityRates(settings.qos);
    const connection = { timeoutMs: settings.nfsTimeoutMs, privilegedPort: settings.privilegedPort, rpcStats: options.rpcStats };
    const shared = options.shareConnections ? new ExportConnections(connection) : undefined;
    this.shares = {
      acquire: shared
        ? (url, credential) => sharedLease(shared, url, credential)
        : (url, credential) => ownLease(url, credential, connection),
      memory: () => memory.mount(settings.memoryPerMountBytes),
      qos: (identity, volume) => rates.lease(identity, volume),
    };
  }

  /** Mounts and serves `request.mountpoint`; rejects with a one-line reason, leaving nothing mounted or held. */
  open(request: MountRequest): Promise<KidfsMount> {
    return openMount(request, this.settings, this.shares);
  }
}

function sharedLease(connections: ExportConnections, url: NfsUrl, credential: Credential): Promise<ExportLease> {
  return connections.acquire(url, credential).catch((err: Error) => {
    throw new FsError(Errno.EREMOTEIO, `cannot reach the export ${formatNfsUrl(url)}: ${err.message}`);
  });
}

async function ownLease(
  url: NfsUrl,
  credential: Credential,
  connection: { timeoutMs: number; privilegedPort: boolean; rpcStats: RpcStats | undefined },
): Promise<ExportLease> {
  const exp = await connectExport(url, {
    credential,
    timeoutMs: connection.timeoutMs,
    privilegedPort: connection.privilegedPort,
    failIfRefused: true,
    ...(connection.rpcStats ? { rpcStats: connection.rpcStats } : {}),
  });
  let closing: Promise<void> | undefined;
  return { exp, release: () => (closing ??= exp.close()), evict: () => {} };
}
