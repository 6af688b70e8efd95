// A small in-memory file system for the FUSE tests, served by fuse-server.ts in its own process.
// It records the calls the tests look at, keeps written data the way a write-back cache does
// (the Buffer a write handler got is kept and applied later), and has names that misbehave:
//   /throw-sync     getattr throws before returning a promise
//   /throw-async    getattr rejects with an error that names no errno
//   .../slow-<ms>   getattr answers after <ms> milliseconds (a lookup holds its directory: use
//                   a directory of its own to keep the rest of the mount responsive)
//   .../slow-read-<ms>  read answers after <ms> milliseconds, recording the length the kernel's buffer has then
//   .../slow-write-<ms> write answers after <ms> milliseconds, recorded as 'slow-write' once it has
//   /answer-from/...    read answers from a copy of its own through the binding's answerFrom (recorded as
//                       'answered-from'), after filling the kernel's buffer with 0xee: what the reader sees came from the copy
import { constants } from 'node:fs';
import type { Attributes, Caller, DirEntry, FileTime, FuseHandlers, ReadHow, TimeChange } from '../../src/fuse/handlers.ts';

export interface Call {
  op: string;
  path: string;
  args: unknown[];
}

interface Node {
  /** beyond 32 bits, as NFS fileids may be: a mount with use_ino shows them whole */
  readonly ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  data: Buffer;
  /** writes not yet applied to data: kept as the handler received them */
  pending: Array<{ position: number; data: Buffer }>;
  target: string;
  atime: FileTime;
  mtime: FileTime;
  ctime: FileTime;
}

const { S_IFDIR, S_IFREG, S_IFLNK, S_IFMT, O_EXCL } = constants;

function fsError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function now(): FileTime {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

export class MemoryFs implements FuseHandlers {
  readonly calls: Call[] = [];
  private readonly nodes = new Map<string, Node>();
  private readonly handles = new Map<number, Node>();
  private nextHandle = 1;
  private nextIno = 2 ** 40;

  constructor() {
    this.nodes.set('/', this.newNode(S_IFDIR | 0o755));
  }

  /** records the calling process of every operation as a call 'audit' with args (op, pid, uid, gid) */
  audit(op: string, path: string, caller: Caller): void {
    this.record('audit', path, op, caller.pid, caller.uid, caller.gid);
  }

  private record(op: string, path: string, ...args: unknown[]): void {
    this.calls.push({ op, path, args });
  }

  private newNode(mode: number): Node {
    const time = now();
    return {
      ino: this.nextIno++,
      mode,
      uid: 0,
      gid: 0,
      nlink: 1,
      data: Buffer.alloc(0),
      pending: [],
      target: '',
      atime: time,
      mtime: time,
      ctime: time,
    };
  }

  private node(path: string): Node {
    const node = this.nodes.get(path);
    if (!node) throw fsError('ENOENT');
    return node;
  }

  private handleNode(fh: number): Node {
    const node = this.handles.get(fh);
    if (!node) throw fsError('EBADF');
    return node;
  }

  private open_(node: Node): number {
    const fh = this.nextHandle++;
    this.handles.set(fh, node);
    return fh;
  }

  private applyPending(node: Node): void {
    for (const { position, data } of node.pending) {
      const end = position + data.length;
      if (end > node.data.length) node.data = Buffer.concat([node.data, Buffer.alloc(end - node.data.length)]);
      data.copy(node.data, position);
    }
    node.pending = [];
  }

  private attributes(node: Node): Attributes {
    this.applyPending(node);
    const isLink = (node.mode & S_IFMT) === S_IFLNK;
    const size = isLink ? Buffer.byteLength(node.target) : node.data.length;
    return {
      ino: node.ino,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      nlink: node.nlink,
      size,
      blocks: Math.ceil(size / 512),
      blksize: 4096,
      atime: node.atime,
      mtime: node.mtime,
      ctime: node.ctime,
    };
  }

  private add(path: string, node: Node): void {
    if (this.nodes.has(path)) throw fsError('EEXIST');
    const parent = this.node(parentOf(path));
    if ((parent.mode & S_IFMT) !== S_IFDIR) throw fsError('ENOTDIR');
    this.nodes.set(path, node);
    parent.mtime = parent.ctime = now();
  }

  getattr(path: string): Promise<Attributes> {
    this.record('getattr', path);
    if (path === '/throw-sync') throw new Error('getattr bug (thrown)');
    return this.getattrAsync(path);
  }

  private async getattrAsync(path: string): Promise<Attributes> {
    if (path === '/throw-async') throw new TypeError('getattr bug (rejected)');
    const slow = /\/slow-(\d+)$/.exec(path);
    if (slow) {
      await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
      return this.attributes(this.newNode(S_IFREG | 0o644));
    }
    return this.attributes(this.node(path));
  }

  async fgetattr(path: string, fh: number): Promise<Attributes> {
    this.record('fgetattr', path, fh);
    return this.attributes(this.handleNode(fh));
  }

  async opendir(path: string, flags: number): Promise<number> {
    this.record('opendir', path, flags);
    return this.open_(this.node(path));
  }

  /** from `offset`, each entry with the offset after it: libfuse 3 sends readdir-plus attributes only then */
  async readdir(path: string, offset = 0): Promise<DirEntry[]> {
    this.node(path);
    const prefix = path === '/' ? '/' : `${path}/`;
    const entries: DirEntry[] = [];
    for (const [child, node] of this.nodes) {
      if (child !== '/' && parentOf(child) === path) {
        entries.push({ name: child.slice(prefix.length), attributes: this.attributes(node), next: entries.length + 1 });
      }
    }
    return entries.slice(offset);
  }

  async releasedir(_path: string, fh: number): Promise<void> {
    this.handles.delete(fh);
  }

  /** records (mode, flags, handle) */
  async create(path: string, mode: number, flags: number): Promise<number> {
    let node = this.nodes.get(path);
    if (node && flags & O_EXCL) throw fsError('EEXIST');
    if (!node) {
      node = this.newNode(S_IFREG | (mode & 0o7777));
      this.add(path, node);
    }
    const fh = this.open_(node);
    this.record('create', path, mode, flags, fh);
    return fh;
  }

  /** records (flags, handle) */
  async open(path: string, flags: number): Promise<number> {
    const fh = this.open_(this.node(path));
    this.record('open', path, flags, fh);
    return fh;
  }

  /** records (position, length) */
  async read(path: string, fh: number, target: Buffer, position: number, how?: ReadHow): Promise<number> {
    this.record('read', path, position, target.length);
    const asked = target.length;
    const slow = /\/slow-read-(\d+)$/.exec(path);
    if (slow) {
      await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
      this.record('slow-read', path, target.length); // 0 once the binding has taken the kernel's buffer back
    }
    const node = this.handleNode(fh);
    this.applyPending(node);
    if (path.startsWith('/answer-from/') && how?.answerFrom) {
      const own = Buffer.from(node.data.subarray(position, position + asked));
      if (target.length > 0) target.fill(0xee); // a detached buffer (answered by a timeout) cannot be filled
      this.record('answered-from', path, own.length);
      how.answerFrom(own);
      return own.length;
    }
    return position < node.data.length ? node.data.copy(target, 0, position) : 0;
  }

  async write(path: string, fh: number, data: Buffer, position: number): Promise<number> {
    this.record('write', path, data.length);
    const slow = /\/slow-write-(\d+)$/.exec(path);
    if (slow) {
      await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
      this.record('slow-write', path, data.length);
    }
    const node = this.handleNode(fh);
    node.pending.push({ position, data });
    node.mtime = node.ctime = now();
    return data.length;
  }

  async flush(_path: string, fh: number): Promise<void> {
    this.applyPending(this.handleNode(fh));
  }

  async fsync(path: string, fh: number, datasync: boolean): Promise<void> {
    this.record('fsync', path, fh, datasync);
    this.applyPending(this.handleNode(fh));
  }

  async release(_path: string, fh: number): Promise<void> {
    this.applyPending(this.handleNode(fh));
    this.handles.delete(fh);
  }

  private resize(node: Node, size: number): void {
    this.applyPending(node);
    node.data =
      size <= node.data.length
        ? Buffer.from(node.data.subarray(0, size))
        : Buffer.concat([node.data, Buffer.alloc(size - node.data.length)]);
    node.mtime = node.ctime = now();
  }

  async truncate(path: string, size: number): Promise<void> {
    this.record('truncate', path, size);
    this.resize(this.node(path), size);
  }

  async ftruncate(path: string, fh: number, size: number): Promise<void> {
    this.record('ftruncate', path, fh, size);
    this.resize(this.handleNode(fh), size);
  }

  async utimens(path: string, atime: TimeChange, mtime: TimeChange): Promise<void> {
    this.record('utimens', path, atime, mtime);
    const node = this.node(path);
    const time = now();
    const pick = (change: TimeChange, current: FileTime) => (change === 'omit' ? current : change === 'now' ? time : change);
    node.atime = pick(atime, node.atime);
    node.mtime = pick(mtime, node.mtime);
    node.ctime = time;
  }

  async chmod(path: string, mode: number): Promise<void> {
    const node = this.node(path);
    node.mode = (node.mode & S_IFMT) | (mode & 0o7777);
    node.ctime = now();
  }

  async chown(path: string, uid: number | undefined, gid: number | undefined): Promise<void> {
    const node = this.node(path);
    node.uid = uid ?? node.uid;
    node.gid = gid ?? node.gid;
    node.ctime = now();
  }

  async mkdir(path: string, mode: number): Promise<void> {
    this.add(path, this.newNode(S_IFDIR | (mode & 0o7777)));
  }

  async unlink(path: string): Promise<void> {
    this.record('unlink', path);
    const node = this.node(path);
    if ((node.mode & S_IFMT) === S_IFDIR) throw fsError('EISDIR');
    this.nodes.delete(path);
    node.nlink -= 1;
  }

  async rmdir(path: string): Promise<void> {
    this.node(path);
    for (const child of this.nodes.keys()) if (child !== '/' && parentOf(child) === path) throw fsError('ENOTEMPTY');
    this.nodes.delete(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.record('rename', from, to);
    const node = this.node(from);
    this.node(parentOf(to));
    for (const [path, moved] of [...this.nodes]) {
      if (path === from || path.startsWith(`${from}/`)) {
        this.nodes.delete(path);
        this.nodes.set(to + path.slice(from.length), moved);
      }
    }
    node.ctime = now();
  }

  async symlink(target: string, path: string): Promise<void> {
    const node = this.newNode(S_IFLNK | 0o777);
    node.target = target;
    this.add(path, node);
  }

  async readlink(path: string): Promise<string> {
    return this.node(path).target;
  }
}
