// Connects to one NFS export: ports (from the URL or the portmapper), MNT for the root handle, FSINFO for the limits.
import { RpcConnectionPool, type TransportFactory } from './connection-pool.ts';
import { ExportFlavorError } from './mount-error.ts';
import { AuthFlavor, Mount3Client, MOUNT_PROGRAM, MOUNT_V3, type MountResult } from './mount3.ts';
import { Nfs3Client } from './nfs3-client.ts';
import { NFS_PROGRAM, NFS_V3, type FileHandle, type FsinfoResult } from './nfs3-types.ts';
import { formatNfsUrl, parseNfsUrl, type NfsUrl } from './nfs-url.ts';
import { getPort, PORTMAP_PORT } from './portmap.ts';
import { failIfRefused } from './refused-check.ts';
import type { CallCredential } from './rpc-transport.ts';
import { RpcClient } from './rpc-client.ts';
import type { RpcStats } from './rpc-stats.ts';

export interface ConnectExportOptions {
  /** The credential MNT and FSINFO are sent with (AUTH_NONE by default); file operations pass their own. */
  readonly credential?: CallCredential;
  /** Per-call timeout of the export's calls, and of the portmapper look-ups. */
  readonly timeoutMs?: number;
  /** Connect from a source port below 1024 (exports with `secure` / PrivilegedPort want it; needs root). */
  readonly privilegedPort?: boolean;
  /** Share connections with other exports on the same server; the export's own pool otherwise. */
  readonly pool?: RpcConnectionPool;
  /** How the export's own pool makes connections (ignored with `pool`). */
  readonly createTransport?: TransportFactory;
  /** Where the connections count their traffic (for metrics); used for the export's own pool and its NFS client. */
  readonly rpcStats?: RpcStats;
  /** Fail at once when a port refuses connections, instead of retrying until the timeout (a new mount, not a recovery). */
  readonly failIfRefused?: boolean;
}

export interface NfsExport {
  readonly url: NfsUrl;
  readonly client: Nfs3Client;
  readonly rootHandle: FileHandle;
  /** The auth flavors MNT listed for the export. */
  readonly authFlavors: readonly number[];
  /** rtmax / wtmax bound READ and WRITE sizes; dtpref suits READDIR. */
  readonly fsinfo: FsinfoResult;
  /** Gives the NFS connection back (closing it when no other export uses it). */
  close(): Promise<void>;
}

export async function connectExport(target: string | NfsUrl, options: ConnectExportOptions = {}): Promise<NfsExport> {
  const url = typeof target === 'string' ? parseNfsUrl(target) : target;
  const { credential = null, timeoutMs, privilegedPort = false } = options;
  const { rpcStats } = options;
  const pool =
    options.pool ??
    new RpcConnectionPool(options.createTransport ?? (rpcStats && ((target) => new RpcClient({ ...target, stats: rpcStats }))));
  const portOptions = timeoutMs === undefined ? {} : { timeoutMs };
  const check = (port: number, what: string) => (options.failIfRefused ? failIfRefused(url.host, port, what) : undefined);
  if (url.nfsPort === undefined || url.mountPort === undefined) await check(PORTMAP_PORT, 'portmapper');
  const [nfsPort, mountPort] = await Promise.all([
    url.nfsPort ?? getPort(url.host, NFS_PROGRAM, NFS_V3, portOptions),
    url.mountPort ?? getPort(url.host, MOUNT_PROGRAM, MOUNT_V3, portOptions),
  ]);

  await Promise.all([check(mountPort, 'MOUNT service'), check(nfsPort, 'NFS service')]);
  /** As the RPC clients name the server: host:port, [v6]:port. */
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const mountLease = pool.acquire({ host: url.host, port: mountPort, privilegedPort });
  let mounted: MountResult;
  try {
    const mount = new Mount3Client(mountLease.transport, { timeoutMs, serverName: `${host}:${mountPort}` });
    mounted = await mount.mnt(credential, url.path);
  } finally {
    await mountLease.release();
  }
  // kidfs sends every file operation as AUTH_SYS: an export that does not take it cannot serve kidfs.
  if (mounted.authFlavors.length > 0 && !mounted.authFlavors.includes(AuthFlavor.AUTH_SYS)) {
    throw new ExportFlavorError(
      `${formatNfsUrl(url)} does not accept AUTH_SYS (it offers flavors ${mounted.authFlavors.join(', ')}): ` +
        'allow sec=sys on the export',
    );
  }

  const nfsLease = pool.acquire({ host: url.host, port: nfsPort, privilegedPort });
  const client = new Nfs3Client(nfsLease.transport, { timeoutMs, stats: rpcStats?.of(`${host}:${nfsPort}`) });
  let fsinfo: FsinfoResult;
  try {
    fsinfo = await client.fsinfo(credential, mounted.rootHandle);
  } catch (err) {
    await nfsLease.release();
    throw err;
  }
  return {
    url: { ...url, nfsPort, mountPort },
    client,
    rootHandle: mounted.rootHandle,
    authFlavors: mounted.authFlavors,
    fsinfo,
    close: () => nfsLease.release(),
  };
}
