// XDR of the NFSv3 structures shared by many procedures (RFC 1813 section 2.6): handles, times,
// fattr3, sattr3, wcc data. One function per structure.
import { XdrError, type XdrReader, type XdrWriter } from './xdr.ts';
import {
  NFS3_FHSIZE,
  NFS3_VERFSIZE,
  type Fattr3,
  type FileHandle,
  type Ftype3,
  type NfsTime,
  type Sattr3,
  type SetTime,
  type WccAttr,
  type WccData,
} from './nfs3-types.ts';

/** filename3 and nfspath3 have no bound in the protocol; this keeps a corrupt length from allocating gigabytes. */
export const MAX_NAME_BYTES = 4096;

export function encodeHandle(w: XdrWriter, fh: FileHandle): void {
  if (fh.length > NFS3_FHSIZE) throw new XdrError(`file handle of ${fh.length} bytes exceeds NFS3_FHSIZE (64)`);
  w.opaque(fh);
}

/** A copy: handles are kept in caches, and a view would pin the whole reply buffer. */
export function decodeHandle(r: XdrReader): FileHandle {
  return Buffer.from(r.opaque(NFS3_FHSIZE));
}

/** post_op_fh3 */
export function decodePostOpHandle(r: XdrReader): FileHandle | undefined {
  return r.optional(decodeHandle);
}

/** diropargs3: a directory and a name in it. */
export function encodeDirOp(w: XdrWriter, dir: FileHandle, name: string): void {
  encodeHandle(w, dir);
  w.byteString(name);
}

export function encodeVerifier(w: XdrWriter, verifier: Uint8Array): void {
  if (verifier.length !== NFS3_VERFSIZE) throw new XdrError(`a verifier has 8 bytes, got ${verifier.length}`);
  w.fixedOpaque(verifier);
}

export function decodeVerifier(r: XdrReader): Buffer {
  return Buffer.from(r.fixedOpaque(NFS3_VERFSIZE));
}

export function encodeTime(w: XdrWriter, t: NfsTime): void {
  w.uint32(t.seconds).uint32(t.nseconds);
}

export function decodeTime(r: XdrReader): NfsTime {
  return { seconds: r.uint32(), nseconds: r.uint32() };
}

export function decodeFattr(r: XdrReader): Fattr3 {
  const type = r.uint32();
  if (type < 1 || type > 7) throw new XdrError(`ftype3 ${type} is not a file type (1-7)`);
  return {
    type: type as Ftype3,
    mode: r.uint32(),
    nlink: r.uint32(),
    uid: r.uint32(),
    gid: r.uint32(),
    size: r.uint64(),
    used: r.uint64(),
    rdev: { major: r.uint32(), minor: r.uint32() },
    fsid: r.uint64(),
    fileid: r.uint64(),
    atime: decodeTime(r),
    mtime: decodeTime(r),
    ctime: decodeTime(r),
  };
}

/** post_op_attr */
export function decodePostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.optional(decodeFattr);
}

function decodeWccAttr(r: XdrReader): WccAttr {
  return { size: r.uint64(), mtime: decodeTime(r), ctime: decodeTime(r) };
}

export function decodeWcc(r: XdrReader): WccData {
  const before = r.optional(decodeWccAttr);
  const after = decodePostOpAttr(r);
  return { before, after };
}

// time_how
const DONT_CHANGE = 0;
const SET_TO_SERVER_TIME = 1;
const SET_TO_CLIENT_TIME = 2;

function encodeSetTime(w: XdrWriter, t: SetTime | undefined): void {
  if (t === undefined) w.uint32(DONT_CHANGE);
  else if (t === 'server') w.uint32(SET_TO_SERVER_TIME);
  else encodeTime(w.uint32(SET_TO_CLIENT_TIME), t);
}

function encodeSetUint32(w: XdrWriter, v: number | undefined): void {
  if (v === undefined) w.bool(false);
  else w.bool(true).uint32(v);
}

export function encodeSattr(w: XdrWriter, a: Sattr3): void {
  encodeSetUint32(w, a.mode);
  encodeSetUint32(w, a.uid);
  encodeSetUint32(w, a.gid);
  if (a.size === undefined) w.bool(false);
  else w.bool(true).uint64(a.size);
  encodeSetTime(w, a.atime);
  encodeSetTime(w, a.mtime);
}
