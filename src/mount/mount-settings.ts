// What the [mount] settings ask of a mount's file system (src/fs) and of its FUSE mount (src/fuse).
import type { MountConfig } from '../config/index.ts';
import type { FileSystemOptions, MountMemoryBudget } from '../fs/index.ts';

import type { MountOptions } from '../fuse/index.ts';

/** What the [mount] settings ask of the file system; the export, credential and memory share are the caller's. */
export function fileSystemSettings(settings: MountConfig, memory: MountMemoryBudget): Omit<FileSystemOptions, 'export' | 'credential'> {
  return {
    memory,
    attrTimeoutMs: settings.attrTimeoutMs,
    entryTimeoutMs: settings.entryTimeoutMs,
    ownerView: settings.ownerView,
    chownPolicy: settings.chown,
    maxUncommittedBytes: settings.maxUncommittedBytes,
  };
}

/** The FUSE options of every kidfs mount. `name` is shown as kidfs:<name>; characters FUSE does not take become '_'. */
export function fuseMountOptions(settings: MountConfig, name: string, readOnly: boolean): MountOptions {
  return {
    name: name.replace(/[^A-Za-z0-9._:/@+-]/g, '_').slice(0, 200),
    allowOther: true,
    readOnly,
    // libfuse's high-level API gives each name its own kernel inode: the kernel's attribute cache would keep a hard
    // link's names apart (a chmod, link or unlink through one name unseen through the others). Every stat asks kidfs,
    // whose attribute cache (attr-timeout) is per file.
    attrTimeoutSeconds: 0,
    entryTimeoutSeconds: settings.entryTimeoutMs / 1000,
    // 0 (the default): a name another host creates shows up at once.
    negativeTimeoutSeconds: settings.negativeTimeoutMs / 1000,
    // st_ino is the server's file id: hard links show one inode number (tar, find -samefile, du, rsync -H).
    useIno: true,
    // A re-read of a file unchanged since its last open comes from the page cache (close-to-open still holds).
    autoCache: true,
  };
}
