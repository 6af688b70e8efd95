// NFSv3 protocol types (RFC 1813) as TypeScript values.
//
// Numbers: every uint64 of the protocol (sizes, offsets, cookies, fileids, fsids, space counts) is a `bigint`,
// so nothing above 2^53 is rounded; every uint32 (counts, modes, ids, access bits) is a `number`.

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

/** nfs_fh3: an opaque file handle of at most 64 bytes (a copy, safe to keep). */
export type FileHandle = Buffer;
export const NFS3_FHSIZE = 64;
/** writeverf3, createverf3 and cookieverf3 are 8 opaque bytes. */
export const NFS3_VERFSIZE = 8;

export const Nfs3Proc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;
export type Nfs3ProcName = keyof typeof Nfs3Proc;

/** nfsstat3 */
export const Nfs3Status = {
  NFS3_OK: 0,
  NFS3ERR_PERM: 1,
  NFS3ERR_NOENT: 2,
  NFS3ERR_IO: 5,
  NFS3ERR_NXIO: 6,
  NFS3ERR_ACCES: 13,
  NFS3ERR_EXIST: 17,
  NFS3ERR_XDEV: 18,
  NFS3ERR_NODEV: 19,
  NFS3ERR_NOTDIR: 20,
  NFS3ERR_ISDIR: 21,
  NFS3ERR_INVAL: 22,
  NFS3ERR_FBIG: 27,
  NFS3ERR_NOSPC: 28,
  NFS3ERR_ROFS: 30,
  NFS3ERR_MLINK: 31,
  NFS3ERR_NAMETOOLONG: 63,
  NFS3ERR_NOTEMPTY: 66,
  NFS3ERR_DQUOT: 69,
  NFS3ERR_STALE: 70,
  NFS3ERR_REMOTE: 71,
  NFS3ERR_BADHANDLE: 10001,
  NFS3ERR_NOT_SYNC: 10002,
  NFS3ERR_BAD_COOKIE: 10003,
  NFS3ERR_NOTSUPP: 10004,
  NFS3ERR_TOOSMALL: 10005,
  NFS3ERR_SERVERFAULT: 10006,
  NFS3ERR_BADTYPE: 10007,
  NFS3ERR_JUKEBOX: 10008,
} as const;
export type Nfs3StatusName = keyof typeof Nfs3Status;

/** ftype3 */
export const Ftype3 = { REG: 1, DIR: 2, BLK: 3, CHR: 4, LNK: 5, SOCK: 6, FIFO: 7 } as const;
export type Ftype3 = (typeof Ftype3)[keyof typeof Ftype3];

/** stable_how: how far a WRITE must reach stable storage before the reply. */
export const StableHow = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;
export type StableHow = (typeof StableHow)[keyof typeof StableHow];

/** ACCESS3 bits. */
export const Access3 = {
  READ: 0x01,
  LOOKUP: 0x02,
  MODIFY: 0x04,
  EXTEND: 0x08,
  DELETE: 0x10,
  EXECUTE: 0x20,
} as const;

/** FSINFO3 properties bits. */
export const Fsf3 = { LINK: 0x01, SYMLINK: 0x02, HOMOGENEOUS: 0x08, CANSETTIME: 0x10 } as const;

/** nfstime3 */
export interface NfsTime {
  readonly seconds: number;
  readonly nseconds: number;
}

/** specdata3: a device's major and minor number. */
export interface SpecData {
  readonly major: number;
  readonly minor: number;
}

/** fattr3 */
export interface Fattr3 {
  readonly type: Ftype3;
  /** Permission bits, setuid/setgid/sticky (no file type bits). */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  readonly used: bigint;
  readonly rdev: SpecData;
  readonly fsid: bigint;
  readonly fileid: bigint;
  readonly atime: NfsTime;
  readonly mtime: NfsTime;
  readonly ctime: NfsTime;
}

/** wcc_attr: what the server knew of the object before the operation. */
export interface WccAttr {
  readonly size: bigint;
  readonly mtime: NfsTime;
  readonly ctime: NfsTime;
}

/** wcc_data: weak cache consistency data; either half may be missing. */
export interface WccData {
  readonly before?: WccAttr;
  readonly after?: Fattr3;
}

/** 'server' sets the time to the server's clock (SET_TO_SERVER_TIME). */
export type SetTime = NfsTime | 'server';

/** sattr3: the attributes to set; a missing field is left unchanged. */
export interface Sattr3 {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: bigint;
  readonly atime?: SetTime;
  readonly mtime?: SetTime;
}

// ---- procedure results ----

export interface LookupResult {
  readonly handle: FileHandle;
  readonly attributes?: Fattr3;
  readonly dirAttributes?: Fattr3;
}

export interface AccessResult {
  /** The Access3 bits granted, out of those asked for. */
  readonly access: number;
  readonly attributes?: Fattr3;
}

export interface ReadlinkResult {
  readonly target: string;
  readonly attributes?: Fattr3;
}

export interface ReadResult {
  /** A view into the reply message (no copy); copy it if it must outlive the next read of the same buffer. */
  readonly data: Buffer;
  /** Bytes read: data.length. */
  readonly count: number;
  readonly eof: boolean;
  readonly attributes?: Fattr3;
}

export interface WriteResult {
  /** Bytes the server wrote (may be fewer than sent). */
  readonly count: number;
  /** How stable the data is now; at least what was asked. */
  readonly committed: StableHow;
  /** The server's write verifier: a change means uncommitted data may be lost and must be sent again. */
  readonly verifier: Buffer;
  readonly wcc: WccData;
}

/** The result of CREATE, MKDIR, SYMLINK and MKNOD. */
export interface CreateResult {
  readonly handle: FileHandle;
  readonly attributes?: Fattr3;
  readonly dirWcc: WccData;
}

export type CreateHow =
  | { readonly mode: 'unchecked' | 'guarded'; readonly attributes?: Sattr3 }
  /** Exactly-once create: a retransmission with the same 8-byte verifier succeeds; set attributes afterwards. */
  | { readonly mode: 'exclusive'; readonly verifier: Uint8Array };

export type MknodWhat =
  | { readonly type: 'chr' | 'blk'; readonly spec: SpecData; readonly attributes?: Sattr3 }
  | { readonly type: 'sock' | 'fifo'; readonly attributes?: Sattr3 };

export interface RenameResult {
  readonly fromDirWcc: WccData;
  readonly toDirWcc: WccData;
}

export interface LinkResult {
  readonly attributes?: Fattr3;
  readonly dirWcc: WccData;
}

export interface DirEntry {
  readonly fileid: bigint;
  /** a byte string (src/nfs/byte-names.ts), as every file name and symlink target in this client */
  readonly name: string;
  readonly cookie: bigint;
}

export interface DirEntryPlus extends DirEntry {
  readonly attributes?: Fattr3;
  readonly handle?: FileHandle;
}

export interface ReaddirResult<E extends DirEntry> {
  readonly dirAttributes?: Fattr3;
  readonly cookieverf: Buffer;
  readonly entries: E[];
  readonly eof: boolean;
}

export interface FsstatResult {
  readonly attributes?: Fattr3;
  readonly totalBytes: bigint;
  readonly freeBytes: bigint;
  readonly availableBytes: bigint;
  readonly totalFiles: bigint;
  readonly freeFiles: bigint;
  readonly availableFiles: bigint;
  /** Seconds for which the numbers are not expected to change. */
  readonly invarsec: number;
}

export interface FsinfoResult {
  readonly attributes?: Fattr3;
  readonly rtmax: number;
  readonly rtpref: number;
  readonly rtmult: number;
  readonly wtmax: number;
  readonly wtpref: number;
  readonly wtmult: number;
  readonly dtpref: number;
  readonly maxFileSize: bigint;
  readonly timeDelta: NfsTime;
  /** Fsf3 bits. */
  readonly properties: number;
}

export interface PathconfResult {
  readonly attributes?: Fattr3;
  readonly linkMax: number;
  readonly nameMax: number;
  readonly noTrunc: boolean;
  readonly chownRestricted: boolean;
  readonly caseInsensitive: boolean;
  readonly casePreserving: boolean;
}

export interface CommitResult {
  readonly verifier: Buffer;
  readonly wcc: WccData;
}
