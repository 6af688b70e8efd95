// File systems over a loopback ganesha for the fs tests, and assertions on errno.
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { NfsExport } from '../../src/nfs/nfs-export.ts';
import type { Credential } from '../../src/nfs/rpc-transport.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';
import { NfsFileSystem, type PositionedEntry } from '../../src/fs/nfs-file-system.ts';
import type { FileSystemOptions } from '../../src/fs/fs-options.ts';

export function makeFs(
  exp: NfsExport,
  credential: Credential,
  options: Omit<FileSystemOptions, 'export' | 'credential'> = {},
): NfsFileSystem {
  return new NfsFileSystem({ export: exp, credential, ...options });
}

/** Every entry of the directory at `path`, read from an open directory page by page as FUSE does. */
export async function listAll(fs: NfsFileSystem, path: string): Promise<PositionedEntry[]> {
  const dir = await fs.opendir(path);
  try {
    const entries: PositionedEntry[] = [];
    for (let page = await fs.readdir(dir, 0); page.length > 0; page = await fs.readdir(dir, page.at(-1)!.next)) entries.push(...page);
    return entries;
  } finally {
    await fs.releasedir(dir);
  }
}

/** A directory on the backing file system, made as root and given to `owner` with `mode`. */
export function backingDir(root: string, name: string, owner: Credential, mode = 0o755): string {
  const path = join(root, name);
  mkdirSync(path);
  chownSync(path, owner.uid, owner.gid);
  chmodSync(path, mode);
  return path;
}

/** Asserts that `promise` rejects with `errno` (as the FUSE adapter would answer); returns the error. */
export async function rejectsWithErrno(t: Test, promise: Promise<unknown>, errno: number, what: string): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) {
    t.fail(`${what}: expected errno ${errno}, but it succeeded`);
    return undefined;
  }
  t.equal(errnoOfFailure(outcome.err), errno, `${what}: errno ${errno} (${(outcome.err as Error).message})`);
  return outcome.err;
}
