// One kidfs mount, put together: the NFS export, the file system acting as one credential, and the FUSE mount that
// presents it. close() is the clean way out: every open file committed, then unmounted, then the connection closed.
import type { MountConfig } from '../config/sections/mount-section.ts';
import type { FileSystemOptions } from '../fs/fs-options.ts';
import { ProcessMemoryBudget, type MountMemoryBudget } from '../fs/memory-budget.ts';
import { QosShare, SharedRate } from '../fs/rate-limit.ts';
import { NfsFileSystem } from '../fs/nfs-file-system.ts';
import { connectExport, type NfsExport } from '../nfs/nfs-export.ts';
import type { Credential } from '../nfs/rpc-transport.ts';
import type { RpcStats } from '../nfs/rpc-stats.ts';
import { fsHandlers, type OpOutcome } from './fs-handlers.ts';
import { mountFuse, type FuseMount } from './mount.ts';
import type { MountOptions } from './mount-options.ts';

export interface KidfsMountRequest {
  /** `nfs://host[:port]/path[?nfsport=N&mountport=M]` */
  readonly url: string;
  /** An existing directory, absolute. */
  readonly mountpoint: string;
  /** Who every call acts as on the server (MNT and FSINFO included). Never uid 0. */
  readonly credential: Credential;
  /** Shown in the mount table as kidfs:<name>; characters FUSE does not take become '_'. */
  readonly name: string;
  readonly settings: MountConfig;
  readonly readOnly: boolean;
  /** Failures an admin should see, one line each. */
  readonly log: (line: string) => void;
  /** Hears how every FUSE operation ended (metrics, audit of denials). */
  readonly observe?: (outcome: OpOutcome) => void;
  /** Where the NFS connections count their traffic (metrics). */
  readonly rpcStats?: RpcStats;
}

export interface KidfsMount {
  readonly export: NfsExport;
  readonly fs: NfsFileSystem;
  /**
   * Commits every open file, unmounts (lazily: files still open lose the mount), closes the connection. With `force`
   * it does not wait for commits. Rejects, after unmounting, when some data could not be committed.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

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
    // libfuse 2 gives each name its own kernel inode: the kernel's attribute cache would keep a hard link's names
    // apart (a chmod, link or unlink through one name unseen through the others). Every stat asks kidfs, whose
    // attribute cache (attr-timeout) is per file.
    attrTimeoutSeconds: 0,
    entryTimeoutSeconds: settings.entryTimeoutMs / 1000,
    // A name another host creates must show up at once.
    negativeTimeoutSeconds: 0,
    // st_ino is the server's file id: hard links show one inode number (tar, find -samefile, du, rsync -H).
    useIno: true,
    // A re-read of a file unchanged since its last open comes from the page cache (close-to-open still holds).
    autoCache: true,
  };
}

export async function openKidfsMount(request: KidfsMountRequest): Promise<KidfsMount> {
  const { settings, credential } = request;
  const exp = await connectExport(request.url, {
    credential, timeoutMs: settings.nfsTimeoutMs, privilegedPort: settings.privilegedPort, failIfRefused: true,
    ...(request.rpcStats ? { rpcStats: request.rpcStats } : {}),
  });
  let fs: NfsFileSystem;
  let fuse: FuseMount;
  try {
    // A `kidfs mount` process serves this one mount: its budget is the smaller of the two.
    const memory = new ProcessMemoryBudget(settings.memoryPerProcessBytes).mount(settings.memoryPerMountBytes);
    const { bytesPerSecond, opsPerSecond } = settings.qos;
    const qos = bytesPerSecond || opsPerSecond
      ? new QosShare(bytesPerSecond ? new SharedRate(bytesPerSecond) : undefined, opsPerSecond ? new SharedRate(opsPerSecond) : undefined)
      : undefined;
    fs = new NfsFileSystem({ export: exp, credential, ...fileSystemSettings(settings, memory), qos });
    fuse = await mountFuse({
      mountpoint: request.mountpoint,
      handlers: fsHandlers(fs, request.log, request.observe),
      options: fuseMountOptions(settings, request.name, request.readOnly),
      opTimeoutMs: settings.opTimeoutMs,
      log: request.log,
    });
  } catch (err) {
    await exp.close();
    throw err;
  }

  // Each step runs once, however often close() is called (a forced close may overtake a clean one).
  let syncing: Promise<unknown> | undefined;
  let unmounting: Promise<void> | undefined;
  return {
    export: exp,
    fs,
    async close(options = {}) {
      const unsynced = options.force ? undefined : await (syncing ??= fs.syncAll().then(() => undefined, (err: unknown) => err));
      await (unmounting ??= fuse.unmount().then(() => exp.close()));
      if (unsynced !== undefined) throw unsynced;
    },
  };
}
