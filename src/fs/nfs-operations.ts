// The NFSv3 operations the file-system layer sends, as it needs them: the fs layer is typed against this, not against
// the client class, so it can run over anything that answers them (Nfs3Client, or a fake in a unit test). Every call
// acts as one identity; failures are the NFS layer's errors (NfsError for a status, RpcError for the transport).
import type {
  AccessResult,
  CommitResult,
  CreateHow,
  CreateResult,
  Credential,
  DirEntryPlus,
  Fattr3,
  FileHandle,
  FsinfoResult,
  FsstatResult,
  LinkResult,
  LookupResult,
  MknodWhat,
  PathconfResult,
  ReaddirResult,
  ReadlinkResult,
  ReadResult,
  RenameResult,
  Sattr3,
  StableHow,
  WccData,
  WriteResult,
} from '../nfs/index.ts';

export interface NfsOperations {
  getattr(cred: Credential, fh: FileHandle): Promise<Fattr3>;
  setattr(cred: Credential, fh: FileHandle, attributes: Sattr3): Promise<WccData>;
  lookup(cred: Credential, dir: FileHandle, name: string): Promise<LookupResult>;
  access(cred: Credential, fh: FileHandle, access: number): Promise<AccessResult>;
  readlink(cred: Credential, fh: FileHandle): Promise<ReadlinkResult>;
  /** Up to `count` bytes; into `options.into` when given (see Nfs3Client.read for the room it needs). */
  read(cred: Credential, fh: FileHandle, offset: bigint, count: number, options?: { readonly into?: Buffer }): Promise<ReadResult>;
  /** May take fewer bytes than sent (check `count`); `data` must stay unchanged until the call settles, for good after a failure. */
  write(cred: Credential, fh: FileHandle, offset: bigint, data: Uint8Array, stable: StableHow): Promise<WriteResult>;
  /** COMMIT of the whole file. */
  commit(cred: Credential, fh: FileHandle): Promise<CommitResult>;
  create(cred: Credential, dir: FileHandle, name: string, how: CreateHow): Promise<CreateResult>;
  mkdir(cred: Credential, dir: FileHandle, name: string, attributes?: Sattr3): Promise<CreateResult>;
  symlink(cred: Credential, dir: FileHandle, name: string, target: string): Promise<CreateResult>;
  mknod(cred: Credential, dir: FileHandle, name: string, what: MknodWhat): Promise<CreateResult>;
  remove(cred: Credential, dir: FileHandle, name: string): Promise<WccData>;
  rmdir(cred: Credential, dir: FileHandle, name: string): Promise<WccData>;
  rename(cred: Credential, fromDir: FileHandle, fromName: string, toDir: FileHandle, toName: string): Promise<RenameResult>;
  link(cred: Credential, file: FileHandle, dir: FileHandle, name: string): Promise<LinkResult>;
  /** A piece of a READDIRPLUS listing that makes progress, from `cookie` (0n and a zero verifier to start). */
  readdirplusPage(
    cred: Credential,
    dir: FileHandle,
    cookie: bigint,
    cookieverf: Uint8Array,
    counts: { readonly dircount: number; readonly maxcount: number },
  ): Promise<ReaddirResult<DirEntryPlus>>;
  fsstat(cred: Credential, root: FileHandle): Promise<FsstatResult>;
  pathconf(cred: Credential, fh: FileHandle): Promise<PathconfResult>;
}

/** The export a file system presents: who answers, its root, and its FSINFO limits. */
export interface NfsExportView {
  readonly client: NfsOperations;
  readonly rootHandle: FileHandle;
  readonly fsinfo: FsinfoResult;
}
