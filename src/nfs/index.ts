// The NFSv3 client: XDR, ONC RPC over TCP, AUTH_SYS, portmapper, MOUNT.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { byteName } from './byte-names.ts';
export { RpcConnectionPool } from './connection-pool.ts';
export { ExportFlavorError, MountError, MountStatus, type MountStatusName } from './mount-error.ts';
export { isNfsStatus, NfsError, NfsProtocolError } from './nfs-error.ts';
export { connectExport, type NfsExport } from './nfs-export.ts';
export { formatNfsUrl, NfsUrlError, parseNfsUrl, type NfsUrl } from './nfs-url.ts';
export { READ_REPLY_SLACK, type Nfs3Client } from './nfs3-client.ts';
export {
  Access3,
  Ftype3,
  NFS3_VERFSIZE,
  Nfs3Status,
  StableHow,
  type AccessResult,
  type CommitResult,
  type CreateHow,
  type CreateResult,
  type DirEntryPlus,
  type Fattr3,
  type FileHandle,
  type FsinfoResult,
  type FsstatResult,
  type LinkResult,
  type LookupResult,
  type MknodWhat,
  type Nfs3StatusName,
  type PathconfResult,
  type ReaddirResult,
  type ReadlinkResult,
  type ReadResult,
  type RenameResult,
  type Sattr3,
  type SetTime,
  type WccData,
  type WriteResult,
} from './nfs3-types.ts';
export { RpcClient } from './rpc-client.ts';
export { RpcAuthError, RpcError, RpcTimeoutError } from './rpc-errors.ts';
export { RpcStats, type ServerRpcStats } from './rpc-stats.ts';
export { type CallCredential, type Credential } from './rpc-transport.ts';
export { XdrError } from './xdr.ts';
