// A file system that stores nothing, for measuring what the FUSE binding itself costs: every
// name is a file of `fileSize` zero bytes, writes are accepted and dropped.
import { constants } from 'node:fs';
import type { Attributes, FuseHandlers } from '../../src/fuse/handlers.ts';

const EPOCH = { sec: 0, nsec: 0 };

export class NullFs implements FuseHandlers {
  constructor(
    private readonly fileSize: number,
    private readonly getattrDelayMs = 0,
  ) {}

  async getattr(path: string): Promise<Attributes> {
    if (path === '/')
      return { mode: constants.S_IFDIR | 0o755, uid: 0, gid: 0, size: 0, nlink: 2, atime: EPOCH, mtime: EPOCH, ctime: EPOCH };
    if (this.getattrDelayMs) await new Promise((resolve) => setTimeout(resolve, this.getattrDelayMs));
    return { mode: constants.S_IFREG | 0o644, uid: 0, gid: 0, size: this.fileSize, nlink: 1, atime: EPOCH, mtime: EPOCH, ctime: EPOCH };
  }

  async readdir(): Promise<[]> {
    return [];
  }

  async open(): Promise<number> {
    return 1;
  }

  async create(): Promise<number> {
    return 1;
  }

  /** Zeros: the kernel's buffer holds whatever it held before. */
  async read(_path: string, _fh: number, target: Buffer, position: number): Promise<number> {
    const n = Math.max(0, Math.min(target.length, this.fileSize - position));
    target.fill(0, 0, n);
    return n;
  }

  async write(_path: string, _fh: number, data: Buffer): Promise<number> {
    return data.length;
  }

  async truncate(): Promise<void> {}

  async ftruncate(): Promise<void> {}

  async utimens(): Promise<void> {}

  async release(): Promise<void> {}
}
