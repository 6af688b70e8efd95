// What is at a target path right now, as the kernel sees it, and how to clear a left-over mount.
// Everything here is asynchronous: the daemon serves FUSE mounts, and a synchronous call into one of
// them from the serving process would deadlock it.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

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

/** Whether `path` is a mount point in this process's mount namespace (/proc/self/mountinfo, field 5). */
export async function isMountPoint(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  return table.split('\n').some((line) => line !== '' && unescapeMountPath(line.split(' ')[4] ?? '') === path);
}

/** mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
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
