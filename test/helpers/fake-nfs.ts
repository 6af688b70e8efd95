// An NFS server in memory behind the fs layer's NfsOperations, for unit tests of the rare branches of write-back that
// a real server seldom takes: the test decides what each WRITE and COMMIT answers, and when the server restarts.
// One flat directory of regular files. Like a real server it keeps two copies of each file: what reads see, and what
// is on stable storage; a restart loses the difference and changes the write verifier. Not a model of NFS beyond that.
import type { NfsExportView, NfsOperations } from '../../src/fs/nfs-operations.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { Ftype3, Nfs3Status, StableHow, type Fattr3, type FileHandle, type FsinfoResult } from '../../src/nfs/nfs3-types.ts';

export interface WriteCall {
  readonly offset: number;
  readonly length: number;
  readonly stable: StableHow;
}

/** How a WRITE is answered: the bytes the server takes (default all), or the error it fails with. */
export type WriteAnswer = { readonly count?: number } | Error;

interface FakeFile {
  readonly name: string;
  readonly fileid: number;
  /** What reads see. */
  data: Buffer;
  /** What a restart keeps. */
  stable: Buffer;
}

const time = { seconds: 1_700_000_000, nseconds: 0 };

export class FakeNfs implements NfsOperations {
  readonly rootHandle: FileHandle = Buffer.from('root');
  /** Every WRITE asked, in order. */
  readonly writes: WriteCall[] = [];
  commits = 0;
  restarts = 0;
  /** Decides each WRITE's answer; may restart the server first. */
  onWrite: (call: WriteCall) => WriteAnswer | Promise<WriteAnswer> = () => ({});
  /** Decides each COMMIT: undefined commits, an error fails it; may restart the server first. */
  onCommit: () => Error | undefined | Promise<Error | undefined> = () => undefined;
  private verifier = Buffer.from('boot-0\0\0');
  private readonly files = new Map<string, FakeFile>();

  /** As connectExport gives it: the export a file system is made over. */
  get exportView(): NfsExportView {
    const fsinfo: FsinfoResult = {
      rtmax: 1 << 20,
      rtpref: 1 << 20,
      rtmult: 4096,
      wtmax: 1 << 20,
      wtpref: 1 << 20,
      wtmult: 4096,
      dtpref: 65536,
      maxFileSize: 1n << 50n,
      timeDelta: { seconds: 0, nseconds: 1 },
      properties: 0,
    };
    return { client: this, rootHandle: this.rootHandle, fsinfo };
  }

  /** The server restarts: writes not yet on stable storage are gone, and WRITE and COMMIT answer a new verifier. */
  restart(): void {
    this.restarts++;
    this.verifier = Buffer.from(`boot-${this.restarts}\0\0`.slice(0, 8));
    for (const file of this.files.values()) file.data = Buffer.from(file.stable);
  }

  /** What the server has on stable storage of `name`. */
  stableContents(name: string): Buffer {
    return this.byName(name).stable;
  }

  async getattr(_cred: unknown, fh: FileHandle): Promise<Fattr3> {
    return fh.equals(this.rootHandle) ? this.rootAttributes() : this.attributes(this.file(fh, 'GETATTR'));
  }

  async setattr(_cred: unknown, fh: FileHandle, attributes: { size?: bigint }) {
    const file = this.file(fh, 'SETATTR');
    if (attributes.size !== undefined) {
      file.data = resized(file.data, Number(attributes.size));
      file.stable = resized(file.stable, Number(attributes.size));
    }
    return { after: this.attributes(file) };
  }

  async lookup(_cred: unknown, _dir: FileHandle, name: string) {
    const file = this.byName(name);
    return { handle: handleOf(file), attributes: this.attributes(file) };
  }

  async access(_cred: unknown, _fh: FileHandle, access: number) {
    return { access };
  }

  async create(_cred: unknown, _dir: FileHandle, name: string) {
    if ([...this.files.values()].some((f) => f.name === name)) throw new NfsError(Nfs3Status.NFS3ERR_EXIST, 'CREATE', null, name);
    const file: FakeFile = { name, fileid: this.files.size + 2, data: Buffer.alloc(0), stable: Buffer.alloc(0) };
    this.files.set(handleOf(file).toString('hex'), file);
    return { handle: handleOf(file), attributes: this.attributes(file), dirWcc: {} };
  }

  async read(_cred: unknown, fh: FileHandle, offset: bigint, count: number) {
    const file = this.file(fh, 'READ');
    const data = Buffer.from(file.data.subarray(Number(offset), Number(offset) + count));
    return { data, count: data.length, eof: Number(offset) + data.length >= file.data.length, attributes: this.attributes(file) };
  }

  async write(_cred: unknown, fh: FileHandle, offset: bigint, data: Uint8Array, stable: StableHow) {
    const call = { offset: Number(offset), length: data.length, stable };
    this.writes.push(call);
    const copy = Buffer.from(data); // the caller may reuse its buffer once the call settles
    const answer = await this.onWrite(call);
    if (answer instanceof Error) throw answer;
    const count = answer.count ?? copy.length;
    const file = this.file(fh, 'WRITE');
    file.data = written(file.data, call.offset, copy.subarray(0, count));
    if (stable !== StableHow.UNSTABLE) file.stable = written(file.stable, call.offset, copy.subarray(0, count));
    return { count, committed: stable, verifier: this.verifier, wcc: { after: this.attributes(file) } };
  }

  async commit(_cred: unknown, fh: FileHandle) {
    this.commits++;
    const refusal = await this.onCommit();
    if (refusal) throw refusal;
    const file = this.file(fh, 'COMMIT');
    file.stable = Buffer.from(file.data);
    return { verifier: this.verifier, wcc: { after: this.attributes(file) } };
  }

  async remove(_cred: unknown, _dir: FileHandle, name: string) {
    this.files.delete(handleOf(this.byName(name)).toString('hex'));
    return {};
  }

  mkdir(): never {
    return unsupported('MKDIR');
  }
  symlink(): never {
    return unsupported('SYMLINK');
  }
  mknod(): never {
    return unsupported('MKNOD');
  }
  rmdir(): never {
    return unsupported('RMDIR');
  }
  rename(): never {
    return unsupported('RENAME');
  }
  link(): never {
    return unsupported('LINK');
  }
  readlink(): never {
    return unsupported('READLINK');
  }
  readdirplusPage(): never {
    return unsupported('READDIRPLUS');
  }
  fsstat(): never {
    return unsupported('FSSTAT');
  }
  pathconf(): never {
    return unsupported('PATHCONF');
  }

  private file(fh: FileHandle, procedure: string): FakeFile {
    const file = this.files.get(fh.toString('hex'));
    if (!file) throw new NfsError(Nfs3Status.NFS3ERR_STALE, procedure, null);
    return file;
  }

  private byName(name: string): FakeFile {
    const file = [...this.files.values()].find((f) => f.name === name);
    if (!file) throw new NfsError(Nfs3Status.NFS3ERR_NOENT, 'LOOKUP', null, name);
    return file;
  }

  private attributes(file: FakeFile): Fattr3 {
    return {
      ...this.rootAttributes(),
      type: Ftype3.REG,
      mode: 0o644,
      nlink: 1,
      size: BigInt(file.data.length),
      fileid: BigInt(file.fileid),
    };
  }

  private rootAttributes(): Fattr3 {
    return {
      type: Ftype3.DIR,
      mode: 0o777,
      nlink: 2,
      uid: 0,
      gid: 0,
      size: 4096n,
      used: 4096n,
      rdev: { major: 0, minor: 0 },
      fsid: 1n,
      fileid: 1n,
      atime: time,
      mtime: time,
      ctime: time,
    };
  }
}

const handleOf = (file: FakeFile): FileHandle => Buffer.from(`file-${file.fileid}`);

function unsupported(procedure: string): never {
  throw new Error(`the fake NFS server does not do ${procedure}`);
}

function resized(data: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  data.copy(out, 0, 0, Math.min(size, data.length));
  return out;
}

function written(data: Buffer, offset: number, bytes: Buffer): Buffer {
  const out = resized(data, Math.max(data.length, offset + bytes.length));
  bytes.copy(out, offset);
  return out;
}
