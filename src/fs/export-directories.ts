// Directories under an export, named by a relative path (subDir, checked by src/csi/sub-dir.ts), and how to reach
// them over NFS without ever leaving the export: no symlink on the server is followed, and the directories on the way
// can be required to be ones no tenant can change. Refusals are FsErrors: ENOTDIR for a symlink or anything else that
// is not a directory, EPERM for a directory kidfs does not trust.
import {
  byteName,
  type CallCredential,
  type Fattr3,
  type FileHandle,
  Ftype3,
  type Nfs3Client,
  Nfs3Status,
  NfsError,
} from '../nfs/index.ts';

import { Errno } from './errno.ts';
import { FsError } from './fs-error.ts';

export interface Directory {
  readonly handle: FileHandle;
  readonly attributes: Fattr3;
}

export interface WalkOptions {
  /** Create missing directories with these attributes (the last segment's come from the caller). */
  readonly create?: { readonly mode: number; readonly uid?: number; readonly gid?: number };
  /**
   * The export's root and every directory walked through must be owned by one of `owners` and writable by no
   * one else (see checkTrusted); `last`: the directory the walk ends in too, else only those on the way to it.
   */
  readonly trusted?: { readonly owners: readonly number[]; readonly last: boolean };
}

/**
 * Refuses a directory a tenant could change: one owned by anyone but `owners`, or writable by others or by a
 * group other than root's. Whoever can write a directory on the way to a volume can rename the volume away
 * and put a directory of their own in its place.
 */
export function checkTrusted(dir: Directory, path: string, owners: readonly number[]): void {
  const { uid, gid, mode } = dir.attributes;
  const otherWritable = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && gid !== 0);
  if (owners.includes(uid) && !otherWritable) return;
  throw new FsError(
    Errno.EPERM,
    `${path === '' ? "the export's root directory" : path} on the server is owned by uid ${uid}, group ${gid}, mode ${(mode & 0o7777).toString(8).padStart(4, '0')}: ` +
      `kidfs reaches volumes only through directories owned by ${owners.map((o) => `uid ${o}`).join(' or ')} that no one else can write`,
  );
}

/**
 * Looks up each segment of `subDir` from `root`; every segment must be a directory (a symlink is refused,
 * never followed). Resolves undefined when a segment does not exist (unless `create`). `subDir` must have
 * passed checkSubDir (src/csi/sub-dir.ts).
 */
export async function walkSubDir(
  client: Nfs3Client,
  cred: CallCredential,
  root: Directory,
  subDir: string,
  options: WalkOptions = {},
): Promise<Directory | undefined> {
  let current = root;
  const done: string[] = [];
  const names = subDir === '' ? [] : subDir.split('/');
  const { trusted } = options;
  for (const name of names) {
    let next = await lookupDirectory(client, cred, current.handle, name, [...done, name].join('/'));
    if (trusted) checkTrusted(current, done.join('/'), trusted.owners);
    if (!next && options.create) {
      next = await makeDirectory(client, cred, current.handle, name, options.create, [...done, name].join('/'));
    }
    if (!next) return undefined;
    done.push(name);
    current = next;
  }
  if (trusted?.last) checkTrusted(current, done.join('/'), trusted.owners);
  return current;
}

/** LOOKUP of one name: the directory, undefined when absent, FsError ENOTDIR when it is anything but a directory. */
export async function lookupDirectory(
  client: Nfs3Client,
  cred: CallCredential,
  dir: FileHandle,
  name: string,
  path: string,
): Promise<Directory | undefined> {
  let found;
  try {
    found = await client.lookup(cred, dir, byteName(name));
  } catch (err) {
    if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_NOENT) return undefined;
    throw err;
  }
  const attributes = found.attributes ?? (await client.getattr(cred, found.handle));
  if (attributes.type === Ftype3.LNK) {
    throw new FsError(Errno.ENOTDIR, `${path} is a symlink on the server: kidfs does not follow symlinks under an export`);
  }
  if (attributes.type !== Ftype3.DIR) throw new FsError(Errno.ENOTDIR, `${path} exists on the server and is not a directory`);
  return { handle: found.handle, attributes };
}

/** MKDIR, tolerating a concurrent creator (then the existing entry is looked up and checked). */
async function makeDirectory(
  client: Nfs3Client,
  cred: CallCredential,
  dir: FileHandle,
  name: string,
  attributes: NonNullable<WalkOptions['create']>,
  path: string,
): Promise<Directory | undefined> {
  try {
    const made = await client.mkdir(cred, dir, byteName(name), attributes);
    return { handle: made.handle, attributes: made.attributes ?? (await client.getattr(cred, made.handle)) };
  } catch (err) {
    if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_EXIST) return lookupDirectory(client, cred, dir, name, path);
    throw err;
  }
}
