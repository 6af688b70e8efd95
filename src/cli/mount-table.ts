// What is mounted where, from /proc/self/mountinfo (reading it never touches the mounts themselves, so a dead or
// busy FUSE mount cannot block it).
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  readonly mountpoint: string;
  /** e.g. `fuse.kidfs`, `tmpfs` */
  readonly fstype: string;
  /** e.g. `kidfs:cms.editor@127.0.0.1:/export` */
  readonly source: string;
}

/** A kidfs mount's type in the mount table: FUSE with subtype kidfs. */
export const KIDFS_FSTYPE = 'fuse.kidfs';

// mountinfo escapes space, tab, newline and backslash as \ooo.
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mount on top at `mountpoint` (the last one listed there), if any. */
export async function mountAt(mountpoint: string): Promise<MountEntry | undefined> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  let found: MountEntry | undefined;
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6 || unescape(fields[4]!) !== mountpoint) continue;
    found = { mountpoint, fstype: fields[separator + 1]!, source: unescape(fields[separator + 2]!) };
  }
  return found;
}
