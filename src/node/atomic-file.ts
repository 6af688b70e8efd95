// Files that are either the old or the new content after a crash: write a temporary file, fsync it,
// rename it over the old one, fsync the directory.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temporary files are named `.<name>.tmp-<random>`; a crash may leave some behind (isTemporaryFile). */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  const file = await open(temporary, 'wx', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temporary, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
}

/** Removes a file for good (the directory entry is synced too); a missing file is fine. */
export async function removeFileDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await syncDirectory(dirname(path));
}

export const isTemporaryFile = (name: string): boolean => /^\..+\.tmp-[0-9a-f]{12}$/.test(name);

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
