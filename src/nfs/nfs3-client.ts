// The NFSv3 procedures (RFC 1813) over an RpcTransport. Identity is an argument of every call: one client and one
// connection carry the calls of every pod. Failures: NfsError for an nfsstat3 error, RpcError subclasses from the
// transport, RpcProtocolError for a reply that does not decode, NfsProtocolError for a listing that loops.
import { XdrError, type XdrReader, type XdrWriter } from './xdr.ts';
import type { CallCredential, CallOptions, RpcTransport } from './rpc-transport.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcProtocolError, RpcTimeoutError } from './rpc-errors.ts';
import { isNfsStatus, NfsError, NfsProtocolError } from './nfs-error.ts';
import { decodeFattr, decodeWcc, encodeDirOp, encodeHandle } from './nfs3-attr-codec.ts';
import * as codec from './nfs3-codec.ts';
import {
  NFS_PROGRAM,
  NFS_V3,
  NFS3_VERFSIZE,
  Nfs3Proc,
  Nfs3Status,
  type AccessResult,
  type CommitResult,
  type CreateHow,
  type CreateResult,
  type DirEntry,
  type DirEntryPlus,
  type Fattr3,
  type FileHandle,
  type FsinfoResult,
  type FsstatResult,
  type LinkResult,
  type LookupResult,
  type MknodWhat,
  type Nfs3ProcName,
  type NfsTime,
  type PathconfResult,
  type ReadResult,
  type ReaddirResult,
  type ReadlinkResult,
  type RenameResult,
  type Sattr3,
  type StableHow,
  type WccData,
  type WriteResult,
} from './nfs3-types.ts';
import type { ServerRpcStats } from './rpc-stats.ts';

export interface Nfs3ClientOptions {
  /**
   * Per-call timeout handed to the transport (its own default when unset); also how long a call the server keeps
   * answering NFS3ERR_JUKEBOX is asked again (default 60 s).
   */
  readonly timeoutMs?: number;
  /** Where JUKEBOX retries are counted (the server's RPC stats). */
  readonly stats?: ServerRpcStats;
}

/**
 * NFS3ERR_JUKEBOX: the server did nothing and asks to be asked again later (RFC 1813: data on its way from offline
 * storage, or a server short of resources). The call goes again after these waits, doubling, as long as it may take.
 */
const JUKEBOX_FIRST_WAIT_MS = 100;
const JUKEBOX_LONGEST_WAIT_MS = 5000;
const JUKEBOX_DEFAULT_PATIENCE_MS = 60_000;

/**
 * Room a READ reply needs besides its data, for a buffer the reply is read into: the RPC reply header (with a verifier
 * of at most 400 bytes) and READ3resok's status, post_op_attr, count, eof and length come to under 600 bytes.
 */
export const READ_REPLY_SLACK = 4096;

export interface ReadOptions {
  /**
   * Read the reply into this buffer (at least READ_REPLY_SLACK + count bytes, or it is not used): `data` is then a
   * view of it. Leave it alone until the call settles; once it has, the client no longer writes it, whatever happened.
   */
  readonly into?: Buffer;
}

export interface ReaddirAllOptions {
  /** READDIR count / READDIRPLUS maxcount: bytes per reply. */
  readonly maxcount?: number;
  /** READDIRPLUS dircount (bytes of names and cookies; ganesha reads it as a number of entries). */
  readonly dircount?: number;
}

export interface DirectoryListing<E extends DirEntry> {
  /** Every entry the server listed, in its order, including '.' and '..' when it sends them. */
  readonly entries: E[];
  readonly dirAttributes?: Fattr3;
}

const DEFAULT_DIRCOUNT = 32 * 1024;
const DEFAULT_MAXCOUNT = 256 * 1024;
/** Rounds in a row that may return nothing (no entries, no eof) before the listing fails; counts grow 4x each time. */
const MAX_EMPTY_ROUNDS = 3;
const ZERO_VERIFIER = Buffer.alloc(NFS3_VERFSIZE);

type Encode = ((w: XdrWriter) => void) | null;

export class Nfs3Client {
  private readonly callOptions: CallOptions;
  private readonly stats?: ServerRpcStats;

  constructor(
    readonly transport: RpcTransport,
    options: Nfs3ClientOptions = {},
  ) {
    this.callOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    this.stats = options.stats;
  }

  /**
   * Sends one call; resolves with the decoded resok, rejects with NfsError for a status other than NFS3_OK.
   * `detail` names what the call was about, for the error message.
   */
  private async call<T>(
    proc: Nfs3ProcName,
    cred: CallCredential,
    encode: Encode,
    decodeOk: (r: XdrReader) => T,
    detail = '',
    options = this.callOptions,
  ): Promise<T> {
    const patience = options.timeoutMs ?? JUKEBOX_DEFAULT_PATIENCE_MS;
    const giveUpAt = Date.now() + patience;
    for (let wait = JUKEBOX_FIRST_WAIT_MS; ; wait = Math.min(2 * wait, JUKEBOX_LONGEST_WAIT_MS)) {
      const reply = await this.transport.call(NFS_PROGRAM, NFS_V3, Nfs3Proc[proc], cred, encode, options);
      let status: number;
      try {
        status = reply.uint32();
        if (status === Nfs3Status.NFS3_OK) return decodeOk(reply);
      } catch (err) {
        if (err instanceof XdrError) throw new RpcProtocolError(`malformed NFSv3 ${proc} reply: ${err.message}`, { cause: err });
        throw err;
      }
      if (status !== Nfs3Status.NFS3ERR_JUKEBOX) throw new NfsError(status, proc, cred, detail);
      const left = giveUpAt - Date.now();
      if (left <= 0) {
        throw new RpcTimeoutError(
          `NFSv3 ${proc}${detail ? ` ${detail}` : ''}: the server answered JUKEBOX (busy, ask again later) for ${patience} ms`,
        );
      }
      if (this.stats) this.stats.jukeboxRetries++;
      await sleep(Math.min(wait, left));
    }
  }

  /** NULL: a round trip that checks the server answers. */
  async null(cred: CallCredential = null): Promise<void> {
    await this.transport.call(NFS_PROGRAM, NFS_V3, Nfs3Proc.NULL, cred, null, this.callOptions); // no status: the reply is empty
  }

  getattr(cred: CallCredential, fh: FileHandle): Promise<Fattr3> {
    return this.call('GETATTR', cred, (w) => encodeHandle(w, fh), decodeFattr);
  }

  /** With `guardCtime`, the server refuses (NFS3ERR_NOT_SYNC) unless the object's ctime still equals it. */
  setattr(cred: CallCredential, fh: FileHandle, attributes: Sattr3, guardCtime?: NfsTime): Promise<WccData> {
    return this.call('SETATTR', cred, (w) => codec.encodeSetattrArgs(w, fh, attributes, guardCtime), decodeWcc);
  }

  lookup(cred: CallCredential, dir: FileHandle, name: string): Promise<LookupResult> {
    return this.call('LOOKUP', cred, (w) => encodeDirOp(w, dir, name), codec.decodeLookupOk, name);
  }

  /** Which of the `access` bits (Access3) the server grants this credential. */
  access(cred: CallCredential, fh: FileHandle, access: number): Promise<AccessResult> {
    return this.call('ACCESS', cred, (w) => codec.encodeAccessArgs(w, fh, access), codec.decodeAccessOk);
  }

  readlink(cred: CallCredential, fh: FileHandle): Promise<ReadlinkResult> {
    return this.call('READLINK', cred, (w) => encodeHandle(w, fh), codec.decodeReadlinkOk);
  }

  /** Reads up to `count` bytes (at most FSINFO rtmax); fewer at the end of the file. */
  read(cred: CallCredential, fh: FileHandle, offset: bigint, count: number, options: ReadOptions = {}): Promise<ReadResult> {
    const callOptions = options.into ? { ...this.callOptions, replyInto: options.into } : this.callOptions;
    return this.call('READ', cred, (w) => codec.encodeReadArgs(w, fh, offset, count), codec.decodeReadOk, `offset ${offset}`, callOptions);
  }

  /**
   * Writes `data` (at most FSINFO wtmax); check `count` (it may be short) and, for UNSTABLE, keep `verifier` for COMMIT.
   * `data` is sent from the caller's buffer, not a copy: leave it unchanged until the call settles, and after a failure
   * (a timeout above all) for good, since the bytes may still wait in a socket's queue.
   */
  write(cred: CallCredential, fh: FileHandle, offset: bigint, data: Uint8Array, stable: StableHow): Promise<WriteResult> {
    return this.call('WRITE', cred, (w) => codec.encodeWriteArgs(w, fh, offset, data, stable), codec.decodeWriteOk, `offset ${offset}`);
  }

  /** CREATE of a regular file; 'guarded' fails with NFS3ERR_EXIST when the name exists, 'unchecked' truncates per the attributes. */
  async create(cred: CallCredential, dir: FileHandle, name: string, how: CreateHow): Promise<CreateResult> {
    const ok = await this.call('CREATE', cred, (w) => codec.encodeCreateArgs(w, dir, name, how), codec.decodeCreateOk, name);
    return this.withHandle(cred, dir, name, ok);
  }

  async mkdir(cred: CallCredential, dir: FileHandle, name: string, attributes: Sattr3 = {}): Promise<CreateResult> {
    const ok = await this.call('MKDIR', cred, (w) => codec.encodeMkdirArgs(w, dir, name, attributes), codec.decodeCreateOk, name);
    return this.withHandle(cred, dir, name, ok);
  }

  async symlink(cred: CallCredential, dir: FileHandle, name: string, target: string, attributes: Sattr3 = {}): Promise<CreateResult> {
    const ok = await this.call(
      'SYMLINK',
      cred,
      (w) => codec.encodeSymlinkArgs(w, dir, name, target, attributes),
      codec.decodeCreateOk,
      name,
    );
    return this.withHandle(cred, dir, name, ok);
  }

  /** A device (with major/minor), socket or FIFO. */
  async mknod(cred: CallCredential, dir: FileHandle, name: string, what: MknodWhat): Promise<CreateResult> {
    const ok = await this.call('MKNOD', cred, (w) => codec.encodeMknodArgs(w, dir, name, what), codec.decodeCreateOk, name);
    return this.withHandle(cred, dir, name, ok);
  }

  /** RFC 1813 lets a server leave out the new object's handle; then the client must look it up. */
  private async withHandle(
    cred: CallCredential,
    dir: FileHandle,
    name: string,
    ok: Omit<CreateResult, 'handle'> & { handle?: FileHandle },
  ): Promise<CreateResult> {
    if (ok.handle) return ok as CreateResult;
    const found = await this.lookup(cred, dir, name);
    return { ...ok, handle: found.handle, attributes: ok.attributes ?? found.attributes };
  }

  /** Removes a non-directory; resolves with the directory's wcc data. */
  remove(cred: CallCredential, dir: FileHandle, name: string): Promise<WccData> {
    return this.call('REMOVE', cred, (w) => encodeDirOp(w, dir, name), decodeWcc, name);
  }

  rmdir(cred: CallCredential, dir: FileHandle, name: string): Promise<WccData> {
    return this.call('RMDIR', cred, (w) => encodeDirOp(w, dir, name), decodeWcc, name);
  }

  rename(cred: CallCredential, fromDir: FileHandle, fromName: string, toDir: FileHandle, toName: string): Promise<RenameResult> {
    return this.call(
      'RENAME',
      cred,
      (w) => codec.encodeRenameArgs(w, fromDir, fromName, toDir, toName),
      codec.decodeRenameOk,
      `${fromName} -> ${toName}`,
    );
  }

  /** A hard link to `file` named `name` in `dir`. */
  link(cred: CallCredential, file: FileHandle, dir: FileHandle, name: string): Promise<LinkResult> {
    return this.call('LINK', cred, (w) => codec.encodeLinkArgs(w, file, dir, name), codec.decodeLinkOk, name);
  }

  /** One READDIR round: start with cookie 0n and a zero verifier, then pass the last entry's cookie and the returned verifier. */
  readdir(cred: CallCredential, dir: FileHandle, cookie: bigint, cookieverf: Uint8Array, count: number): Promise<ReaddirResult<DirEntry>> {
    return this.call(
      'READDIR',
      cred,
      (w) => codec.encodeReaddirArgs(w, dir, cookie, cookieverf, count),
      codec.decodeReaddirOk,
      `cookie ${cookie}`,
    );
  }

  /** One READDIRPLUS round: entries with attributes and handles (each may be missing). */
  readdirplus(
    cred: CallCredential,
    dir: FileHandle,
    cookie: bigint,
    cookieverf: Uint8Array,
    dircount: number,
    maxcount: number,
  ): Promise<ReaddirResult<DirEntryPlus>> {
    return this.call(
      'READDIRPLUS',
      cred,
      (w) => codec.encodeReaddirplusArgs(w, dir, cookie, cookieverf, dircount, maxcount),
      codec.decodeReaddirplusOk,
      `cookie ${cookie}`,
    );
  }

  /** The whole directory with READDIR rounds to eof. */
  readdirAll(cred: CallCredential, dir: FileHandle, options: ReaddirAllOptions = {}): Promise<DirectoryListing<DirEntry>> {
    return listDirectory('READDIR', options, (cookie, verifier, counts) => this.readdir(cred, dir, cookie, verifier, counts.maxcount));
  }

  /**
   * One piece of a directory listing that makes progress (entries, or eof), from `cookie` (0n and a zero verifier to
   * start; then the last entry's cookie and the verifier returned): a round the server answers empty is asked again.
   */
  readdirplusPage(
    cred: CallCredential,
    dir: FileHandle,
    cookie: bigint,
    cookieverf: Uint8Array,
    options: ReaddirAllOptions = {},
  ): Promise<ReaddirResult<DirEntryPlus>> {
    return progressingRound('READDIRPLUS', cookie, startCounts(options), (counts) =>
      this.readdirplus(cred, dir, cookie, cookieverf, counts.dircount, counts.maxcount),
    ).then(({ result }) => result);
  }

  /** The whole directory with READDIRPLUS rounds to eof. */
  readdirplusAll(cred: CallCredential, dir: FileHandle, options: ReaddirAllOptions = {}): Promise<DirectoryListing<DirEntryPlus>> {
    return listDirectory('READDIRPLUS', options, (cookie, verifier, counts) =>
      this.readdirplus(cred, dir, cookie, verifier, counts.dircount, counts.maxcount),
    );
  }

  fsstat(cred: CallCredential, root: FileHandle): Promise<FsstatResult> {
    return this.call('FSSTAT', cred, (w) => encodeHandle(w, root), codec.decodeFsstatOk);
  }

  fsinfo(cred: CallCredential, root: FileHandle): Promise<FsinfoResult> {
    return this.call('FSINFO', cred, (w) => encodeHandle(w, root), codec.decodeFsinfoOk);
  }

  pathconf(cred: CallCredential, fh: FileHandle): Promise<PathconfResult> {
    return this.call('PATHCONF', cred, (w) => encodeHandle(w, fh), codec.decodePathconfOk);
  }

  /**
   * Makes UNSTABLE writes in [offset, offset+count) stable (count 0: to the end of the file). Compare `verifier` with
   * the WRITE replies': when it differs the server restarted and the writes must be sent again.
   */
  commit(cred: CallCredential, fh: FileHandle, offset = 0n, count = 0): Promise<CommitResult> {
    return this.call('COMMIT', cred, (w) => codec.encodeCommitArgs(w, fh, offset, count), codec.decodeCommitOk);
  }
}

interface Counts {
  readonly dircount: number;
  readonly maxcount: number;
}

const startCounts = (options: ReaddirAllOptions): Counts => ({
  dircount: options.dircount ?? DEFAULT_DIRCOUNT,
  maxcount: options.maxcount ?? DEFAULT_MAXCOUNT,
});

/**
 * One round that makes progress: entries, or eof. A round with no entries and no eof (ganesha answers dircount 0 so)
 * or NFS3ERR_TOOSMALL is asked again with counts four times larger, a few times; then it fails. Resolves with the
 * counts that worked, for the next round.
 */
async function progressingRound<E extends DirEntry>(
  proc: string,
  cookie: bigint,
  initial: Counts,
  round: (counts: Counts) => Promise<ReaddirResult<E>>,
): Promise<{ result: ReaddirResult<E>; counts: Counts }> {
  let counts = initial;
  for (let emptyRounds = 0; ; emptyRounds++) {
    let result: ReaddirResult<E> | undefined;
    try {
      result = await round(counts);
    } catch (err) {
      if (!isNfsStatus(err, Nfs3Status.NFS3ERR_TOOSMALL) || emptyRounds >= MAX_EMPTY_ROUNDS) throw err;
    }
    if (result && (result.eof || result.entries.length > 0)) return { result, counts };
    if (result && emptyRounds >= MAX_EMPTY_ROUNDS) {
      throw new NfsProtocolError(
        `${proc} makes no progress: the server returned no entries and no eof at cookie ${cookie} ` +
          `${emptyRounds + 1} times, the last with dircount ${counts.dircount} and maxcount ${counts.maxcount}`,
      );
    }
    counts = { dircount: Math.max(counts.dircount * 4, DEFAULT_DIRCOUNT), maxcount: Math.max(counts.maxcount * 4, DEFAULT_MAXCOUNT) };
  }
}

/** Reads rounds until eof; a cookie that comes back again means the server loops, and fails. */
async function listDirectory<E extends DirEntry>(
  proc: string,
  options: ReaddirAllOptions,
  round: (cookie: bigint, verifier: Buffer, counts: Counts) => Promise<ReaddirResult<E>>,
): Promise<DirectoryListing<E>> {
  let counts = startCounts(options);
  const entries: E[] = [];
  const cookiesSeen = new Set<bigint>();
  let cookie = 0n;
  let verifier: Buffer = ZERO_VERIFIER;
  let dirAttributes: Fattr3 | undefined;
  for (;;) {
    const progress = await progressingRound(proc, cookie, counts, (c) => round(cookie, verifier, c));
    const { result } = progress;
    counts = progress.counts;
    dirAttributes = result.dirAttributes ?? dirAttributes;
    for (const entry of result.entries) entries.push(entry);
    if (result.eof) return { entries, dirAttributes };
    const last = result.entries.at(-1)!;
    if (cookiesSeen.has(last.cookie)) {
      throw new NfsProtocolError(
        `${proc} loops: the server returned cookie ${last.cookie} a second time, the directory listing would not end`,
      );
    }
    cookiesSeen.add(last.cookie);
    cookie = last.cookie;
    verifier = result.cookieverf;
  }
}
