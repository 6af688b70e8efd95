// Mounts a FuseHandlers object on a directory and unmounts it again. The process that calls
// mountFuse serves the mount: it must never make a synchronous call into its own mount (or run
// execSync / spawnSync while serving), and must unmount before it exits, or the mount is left
// answering ENOTCONN.
import { opendir, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { loadFuseNative } from './binding.ts';
import type { FuseHandlers } from './handlers.ts';
import { fuseOptionList, type MountOptions } from './mount-options.ts';
import { toNativeOps } from './safe-handlers.ts';

/** Backstop for a handler that never answers; the file-system layer should answer well before. */
export const DEFAULT_OP_TIMEOUT_MS = 600_000;

export interface FuseMountRequest {
  /** an existing, empty directory, absolute */
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
  /** lazy unmount (fusermount -uz): files still open keep working until closed */
  unmount(): Promise<void>;
}

export async function mountFuse(request: FuseMountRequest): Promise<FuseMount> {
  const { mountpoint, handlers } = request;
  const options = fuseOptionList(request.options);
  if (!isAbsolute(mountpoint)) throw new Error(`mountpoint ${mountpoint} must be an absolute path`);
  const info = await stat(mountpoint).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`mountpoint ${mountpoint} cannot be used: ${error.code ?? error.message}`);
  });
  if (!info.isDirectory()) throw new Error(`mountpoint ${mountpoint} is not a directory`);
  // libfuse would refuse with "fuse failed" and a hint on stderr only.
  const listing = await opendir(mountpoint);
  const entry = await listing.read().finally(() => listing.close());
  if (entry) throw new Error(`mountpoint ${mountpoint} is not empty (it holds ${entry.name}): a mount would hide its files`);

  const Fuse = loadFuseNative();
  const ops = toNativeOps(handlers, {
    opTimeoutMs: request.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS,
    log: request.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
  const fuse = new Fuse(mountpoint, ops, { timeout: false, options });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((error) => (error ? reject(new Error(`cannot mount FUSE on ${mountpoint}: ${error.message}`)) : resolve()));
  });

  return {
    mountpoint,
    unmount: () =>
      new Promise<void>((resolve, reject) => {
        fuse.unmount((error) => (error ? reject(new Error(`cannot unmount ${mountpoint}: ${error.message.trim()}`)) : resolve()));
      }),
  };
}
