// XDR of the NFSv3 procedures' arguments and successful results (RFC 1813 section 3.3).
// Each decodeXxxOk reads the resok arm, after the nfsstat3 word.
import { XdrError, type XdrReader, type XdrWriter } from './xdr.ts';
import {
  MAX_NAME_BYTES,
  decodeHandle,
  decodePostOpAttr,
  decodePostOpHandle,
  decodeTime,
  decodeVerifier,
  decodeWcc,
  encodeDirOp,
  encodeHandle,
  encodeSattr,
  encodeTime,
  encodeVerifier,
} from './nfs3-attr-codec.ts';
import {
  Ftype3,
  type AccessResult,
  type CommitResult,
  type CreateHow,
  type CreateResult,
  type DirEntry,
  type DirEntryPlus,
  type FileHandle,
  type FsinfoResult,
  type FsstatResult,
  type LinkResult,
  type LookupResult,
  type MknodWhat,
  type NfsTime,
  type PathconfResult,
  type ReadResult,
  type ReaddirResult,
  type ReadlinkResult,
  type RenameResult,
  type Sattr3,
  type StableHow,
  type WriteResult,
} from './nfs3-types.ts';

// ---- arguments ----

/** SETATTR3args; with `guardCtime` the server refuses (NOT_SYNC) when the object's ctime differs. */
export function encodeSetattrArgs(w: XdrWriter, fh: FileHandle, attributes: Sattr3, guardCtime?: NfsTime): void {
  encodeHandle(w, fh);
  encodeSattr(w, attributes);
  if (guardCtime === undefined) w.bool(false);
  else encodeTime(w.bool(true), guardCtime);
}

export function encodeAccessArgs(w: XdrWriter, fh: FileHandle, access: number): void {
  encodeHandle(w, fh);
  w.uint32(access);
}

export function encodeReadArgs(w: XdrWriter, fh: FileHandle, offset: bigint, count: number): void {
  encodeHandle(w, fh);
  w.uint64(offset).uint32(count);
}

export function encodeWriteArgs(w: XdrWriter, fh: FileHandle, offset: bigint, data: Uint8Array, stable: StableHow): void {
  encodeHandle(w, fh);
  w.uint64(offset).uint32(data.length).uint32(stable).opaqueByReference(data);
}

// createmode3
const UNCHECKED = 0;
const GUARDED = 1;
const EXCLUSIVE = 2;

export function encodeCreateArgs(w: XdrWriter, dir: FileHandle, name: string, how: CreateHow): void {
  encodeDirOp(w, dir, name);
  if (how.mode === 'exclusive') {
    encodeVerifier(w.uint32(EXCLUSIVE), how.verifier);
  } else {
    w.uint32(how.mode === 'guarded' ? GUARDED : UNCHECKED);
    encodeSattr(w, how.attributes ?? {});
  }
}

export function encodeMkdirArgs(w: XdrWriter, dir: FileHandle, name: string, attributes: Sattr3): void {
  encodeDirOp(w, dir, name);
  encodeSattr(w, attributes);
}

export function encodeSymlinkArgs(w: XdrWriter, dir: FileHandle, name: string, target: string, attributes: Sattr3): void {
  encodeDirOp(w, dir, name);
  encodeSattr(w, attributes);
  w.byteString(target);
}

const MKNOD_TYPES = { chr: Ftype3.CHR, blk: Ftype3.BLK, sock: Ftype3.SOCK, fifo: Ftype3.FIFO } as const;

export function encodeMknodArgs(w: XdrWriter, dir: FileHandle, name: string, what: MknodWhat): void {
  encodeDirOp(w, dir, name);
  w.uint32(MKNOD_TYPES[what.type]);
  encodeSattr(w, what.attributes ?? {});
  if (what.type === 'chr' || what.type === 'blk') w.uint32(what.spec.major).uint32(what.spec.minor);
}

export function encodeRenameArgs(w: XdrWriter, fromDir: FileHandle, fromName: string, toDir: FileHandle, toName: string): void {
  encodeDirOp(w, fromDir, fromName);
  encodeDirOp(w, toDir, toName);
}

export function encodeLinkArgs(w: XdrWriter, file: FileHandle, dir: FileHandle, name: string): void {
  encodeHandle(w, file);
  encodeDirOp(w, dir, name);
}

export function encodeReaddirArgs(w: XdrWriter, dir: FileHandle, cookie: bigint, cookieverf: Uint8Array, count: number): void {
  encodeHandle(w, dir);
  w.uint64(cookie);
  encodeVerifier(w, cookieverf);
  w.uint32(count);
}

export function encodeReaddirplusArgs(
  w: XdrWriter,
  dir: FileHandle,
  cookie: bigint,
  cookieverf: Uint8Array,
  dircount: number,
  maxcount: number,
): void {
  encodeReaddirArgs(w, dir, cookie, cookieverf, dircount);
  w.uint32(maxcount);
}

/** COMMIT3args; count 0 means from offset to the end of the file. */
export function encodeCommitArgs(w: XdrWriter, fh: FileHandle, offset: bigint, count: number): void {
  encodeHandle(w, fh);
  w.uint64(offset).uint32(count);
}

// ---- results ----

export function decodeLookupOk(r: XdrReader): LookupResult {
  return { handle: decodeHandle(r), attributes: decodePostOpAttr(r), dirAttributes: decodePostOpAttr(r) };
}

export function decodeAccessOk(r: XdrReader): AccessResult {
  const attributes = decodePostOpAttr(r);
  return { attributes, access: r.uint32() };
}

export function decodeReadlinkOk(r: XdrReader): ReadlinkResult {
  const attributes = decodePostOpAttr(r);
  return { attributes, target: r.byteString(MAX_NAME_BYTES) };
}

export function decodeReadOk(r: XdrReader): ReadResult {
  const attributes = decodePostOpAttr(r);
  const count = r.uint32();
  const eof = r.bool();
  const data = r.opaque();
  if (data.length !== count) throw new XdrError(`READ reply says count ${count} but carries ${data.length} bytes`);
  return { attributes, count, eof, data };
}

function decodeStableHow(r: XdrReader): StableHow {
  const v = r.uint32();
  if (v > 2) throw new XdrError(`stable_how ${v} is not UNSTABLE, DATA_SYNC or FILE_SYNC`);
  return v as StableHow;
}

export function decodeWriteOk(r: XdrReader): WriteResult {
  const wcc = decodeWcc(r);
  return { wcc, count: r.uint32(), committed: decodeStableHow(r), verifier: decodeVerifier(r) };
}

/** CREATE, MKDIR, SYMLINK, MKNOD; the handle is optional on the wire (the client then looks it up). */
export function decodeCreateOk(r: XdrReader): Omit<CreateResult, 'handle'> & { handle?: FileHandle } {
  return { handle: decodePostOpHandle(r), attributes: decodePostOpAttr(r), dirWcc: decodeWcc(r) };
}

export function decodeRenameOk(r: XdrReader): RenameResult {
  return { fromDirWcc: decodeWcc(r), toDirWcc: decodeWcc(r) };
}

export function decodeLinkOk(r: XdrReader): LinkResult {
  return { attributes: decodePostOpAttr(r), dirWcc: decodeWcc(r) };
}

function decodeEntry(r: XdrReader): DirEntry {
  return { fileid: r.uint64(), name: r.byteString(MAX_NAME_BYTES), cookie: r.uint64() };
}

function decodeEntryPlus(r: XdrReader): DirEntryPlus {
  const { fileid, name, cookie } = decodeEntry(r);
  return { fileid, name, cookie, attributes: decodePostOpAttr(r), handle: decodePostOpHandle(r) };
}

function decodeDirList<E extends DirEntry>(r: XdrReader, decodeOne: (r: XdrReader) => E): ReaddirResult<E> {
  const dirAttributes = decodePostOpAttr(r);
  const cookieverf = decodeVerifier(r);
  const entries: E[] = [];
  while (r.bool()) entries.push(decodeOne(r));
  return { dirAttributes, cookieverf, entries, eof: r.bool() };
}

export function decodeReaddirOk(r: XdrReader): ReaddirResult<DirEntry> {
  return decodeDirList(r, decodeEntry);
}

export function decodeReaddirplusOk(r: XdrReader): ReaddirResult<DirEntryPlus> {
  return decodeDirList(r, decodeEntryPlus);
}

export function decodeFsstatOk(r: XdrReader): FsstatResult {
  return {
    attributes: decodePostOpAttr(r),
    totalBytes: r.uint64(),
    freeBytes: r.uint64(),
    availableBytes: r.uint64(),
    totalFiles: r.uint64(),
    freeFiles: r.uint64(),
    availableFiles: r.uint64(),
    invarsec: r.uint32(),
  };
}

export function decodeFsinfoOk(r: XdrReader): FsinfoResult {
  return {
    attributes: decodePostOpAttr(r),
    rtmax: r.uint32(),
    rtpref: r.uint32(),
    rtmult: r.uint32(),
    wtmax: r.uint32(),
    wtpref: r.uint32(),
    wtmult: r.uint32(),
    dtpref: r.uint32(),
    maxFileSize: r.uint64(),
    timeDelta: decodeTime(r),
    properties: r.uint32(),
  };
}

export function decodePathconfOk(r: XdrReader): PathconfResult {
  return {
    attributes: decodePostOpAttr(r),
    linkMax: r.uint32(),
    nameMax: r.uint32(),
    noTrunc: r.bool(),
    chownRestricted: r.bool(),
    caseInsensitive: r.bool(),
    casePreserving: r.bool(),
  };
}

export function decodeCommitOk(r: XdrReader): CommitResult {
  return { wcc: decodeWcc(r), verifier: decodeVerifier(r) };
}
