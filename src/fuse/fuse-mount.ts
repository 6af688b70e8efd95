// Mounts a FuseHandlers object on a directory and unmounts it again. The process that calls
// mountFuse serves the mount: it must never make a synchronous call into its own mount (or run
// execSync / spawnSync while serving), and must unmount before it exits, or the mount is left
// answering ENOTCONN.
import { opendir, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { isAbsolute } from 'node:path';
import { loadFuseNative, type NativeFuse } from './binding.ts';
import type { FuseHandlers } from './handlers.ts';
import { fuseOptionList, MAX_REQUEST_BYTES, type MountOptions } from './mount-options.ts';
import { toNativeOps } from './safe-handlers.ts';

/** Backstop for a handler that never answers; the file-system layer should answer well before. */
export const DEFAULT_OP_TIMEOUT_MS = 600_000;

export interface FuseMountRequest {
  /**
   * an existing, empty directory, absolute; or /dev/fd/N: an opened /dev/fuse whose kernel mount was made with it
   * (mount -t fuse -o fd=...), served as is and left mounted by unmount (whoever mounted it unmounts it)
   */
  mountpoint: string;
  handlers: FuseHandlers;
  options: MountOptions;
  /** an operation not answered within this many ms gets ETIMEDOUT; 0 waits for ever */
  opTimeoutMs?: number;
  /** where failures of handlers are reported, one line each (default: stderr) */
  log?: (line: string) => void;
}

export interface FuseMount {
  readonly mountpoint: string;
  /** lazy unmount (fusermount3 -uz): files still open keep working until closed */
  unmount(): Promise<void>;
}

/** An already opened /dev/fuse whose kernel mount someone else made (libfuse 3 serves it as is). */
const DEV_FD_MOUNTPOINT = /^\/dev\/fd\/\d+$/;

export async function mountFuse(request: FuseMountRequest): Promise<FuseMount> {
  const { mountpoint } = request;
  const options = fuseOptionList(request.options);
  if (!DEV_FD_MOUNTPOINT.test(mountpoint)) await checkMountpoint(mountpoint);
  return serve(request, options);
}

async function checkMountpoint(mountpoint: string): Promise<void> {
  if (!isAbsolute(mountpoint)) throw new Error(`mountpoint ${mountpoint} must be an absolute path`);
  const info = await stat(mountpoint).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`mountpoint ${mountpoint} cannot be used: ${error.code ?? error.message}`);
  });
  if (!info.isDirectory()) throw new Error(`mountpoint ${mountpoint} is not a directory`);
  // libfuse would refuse with "fuse failed" and a hint on stderr only.
  const listing = await opendir(mountpoint);
  const entry = await listing.read().finally(() => listing.close());
  if (entry) throw new Error(`mountpoint ${mountpoint} is not empty (it holds ${entry.name}): a mount would hide its files`);
}

async function serve(request: FuseMountRequest, options: string[]): Promise<FuseMount> {
  const { mountpoint, handlers } = request;
  const Fuse = loadFuseNative();
  let fuse: NativeFuse | undefined;
  const log = request.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const ops = toNativeOps(handlers, {
    opTimeoutMs: request.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS,
    log,
    caller: () => fuse?.caller ?? null,
  });
  fuse = new Fuse(mountpoint, ops, { timeout: false, options, byteNames: true, fastWrites: true, fastReads: true });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((error) => (error ? reject(new Error(`cannot mount FUSE on ${mountpoint}: ${error.message}`)) : resolve()));
  });
  if (!DEV_FD_MOUNTPOINT.test(mountpoint)) await raiseReadAhead(mountpoint, request.options.maxReadBytes ?? MAX_REQUEST_BYTES, log);
  handlers.mounted?.({ invalidatePath: (path) => invalidatePath(fuse, path) });

  return {
    mountpoint,
    unmount: () =>
      new Promise<void>((resolve, reject) => {
        fuse.unmount((error) => (error ? reject(new Error(`cannot unmount ${mountpoint}: ${error.message.trim()}`)) : resolve()));
      }),
  };
}

/** Names the kernel holds nothing of, or a mount that has ended: nothing is left to drop. */
const NOTHING_CACHED = new Set([-constants.errno.ENOENT, -constants.errno.ENOTCONN]);

function invalidatePath(fuse: NativeFuse, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fuse.invalidatePath(path, (result) => {
      if (result === 0 || NOTHING_CACHED.has(result)) resolve();
      else reject(new Error(`cannot drop the kernel's cache of ${path}: errno ${-result}`));
    });
  });
}

/**
 * The kernel reads ahead at most its per-mount read-ahead (128 KiB unless raised), whatever max_readahead libfuse
 * asks for: raised to the largest read request, a sequential reader's requests are 1 MiB instead of 128 KiB. Needs
 * root (a failure only costs speed, and is logged).
 */
async function raiseReadAhead(mountpoint: string, bytes: number, log: (line: string) => void): Promise<void> {
  const { dev } = await stat(mountpoint);
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  const setting = `/sys/class/bdi/${major}:${minor}/read_ahead_kb`;
  await writeFile(setting, String(bytes / 1024)).catch((error: NodeJS.ErrnoException) =>
    log(`fuse ${mountpoint}: read-ahead stays at the kernel's default: cannot write ${setting} (${error.code ?? error.message})`),
  );
}
