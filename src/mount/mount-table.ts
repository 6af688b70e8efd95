// The kernel's mount table, read from /proc/self/mountinfo (reading it never touches the mounts themselves, so a dead
// or busy FUSE mount cannot block it), what is at a target path right now, and how to clear a left-over mount.
// Everything here is asynchronous: the daemon serves FUSE mounts, and a synchronous call into one of them from the
// serving process would deadlock it. The CLI (`kidfs mount`/`unmount`) reads the table through here too.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface MountEntry {
  readonly mountpoint: string;
  /** e.g. `fuse.kidfs`, `tmpfs` */
  readonly fstype: string;
  /** e.g. `kidfs:cms.editor@127.0.0.1:/export` */
  readonly source: string;
}

/** A kidfs mount's type in the mount table: FUSE with subtype kidfs. */
export const KIDFS_FSTYPE = 'fuse.kidfs';

/** The mount on top at `mountpoint` (the last one listed there), if any, in this process's mount namespace. */
export async function mountAt(mountpoint: string): Promise<MountEntry | undefined> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  let found: MountEntry | undefined;
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6 || unescapeMountField(fields[4]!) !== mountpoint) continue;
    found = { mountpoint, fstype: fields[separator + 1]!, source: unescapeMountField(fields[separator + 2]!) };
  }
  return found;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountAt(path)) !== undefined;
}

/** mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134. */
const unescapeMountField = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

export type TargetState =
  | 'absent'
  | 'directory'
  /** A live mount of any kind. */
  | 'mount point'
  /** A FUSE mount whose server is gone: every access fails with ENOTCONN (or ECONNABORTED after an abort). */
  | 'dead mount'
  | 'not a directory';

export async function targetState(path: string): Promise<TargetState> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') return 'dead mount';
    throw err;
  }
  if (await isMountPoint(path)) return 'mount point';
  return info.isDirectory() ? 'directory' : 'not a directory';
}

const run = promisify(execFile);

/** `umount -l`: detaches the mount now; anything still using it keeps its reference until it lets go. */
export async function lazyUnmount(path: string): Promise<void> {
  try {
    await run('umount', ['-l', path]);
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    if (/not mounted/.test(stderr)) return;
    throw new Error(`umount -l ${path} failed: ${stderr || (err as Error).message}`);
  }
}
