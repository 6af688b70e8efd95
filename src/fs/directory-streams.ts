// Open directories, listed a piece at a time: each keeps only the READDIRPLUS page it is in, so a directory of any size
// costs one page of memory. A position is the number of entries before it (0: the start); each entry is answered with
// the position after it, which is where the kernel asks to continue. Positions map to the server's cookies through
// the page held; a position outside it (seekdir back, or after the server changed its cookie verifier) is reached by
// listing again from the start.
import { type Credential, type DirEntryPlus, type FileHandle, isNfsStatus, NFS3_VERFSIZE, Nfs3Status } from '../nfs/index.ts';

import { Errno } from './errno.ts';
import { EBADF, FsError } from './fs-error.ts';
import type { NfsOperations } from './nfs-operations.ts';

/** READDIRPLUS sizes of one page: a few hundred entries with their attributes (ganesha reads dircount as entries). */
const PAGE_COUNTS = { dircount: 8 * 1024, maxcount: 64 * 1024 };

/** One page of a directory: its entries, from `start` (the position of the first). */
interface Page {
  readonly start: number;
  readonly entries: DirEntryPlus[];
  readonly eof: boolean;
  readonly verifier: Buffer;
}

interface OpenDirectory {
  readonly handle: FileHandle;
  /** Its path in the mount, as components. */
  readonly names: readonly string[];
  page?: Page;
}

export interface ListedEntry {
  readonly entry: DirEntryPlus;
  /** The position after this entry: readdir from it continues with the next one. */
  readonly next: number;
}

export class DirectoryStreams {
  private readonly open = new Map<number, OpenDirectory>();
  private readonly freeNumbers: number[] = [];
  private nextNumber = 1;

  constructor(
    private readonly client: NfsOperations,
    private readonly credential: Credential,
  ) {}

  /** Open directories now. */
  get count(): number {
    return this.open.size;
  }

  opendir(handle: FileHandle, names: readonly string[]): number {
    const number = this.freeNumbers.pop() ?? this.nextNumber++;
    this.open.set(number, { handle, names });
    return number;
  }

  /** The path (as components) the directory was opened by. */
  namesOf(number: number): readonly string[] {
    return this.directory(number).names;
  }

  /** The entries from `position` to the end of the page that holds it; none at the end of the directory. */
  async read(number: number, position: number): Promise<ListedEntry[]> {
    const dir = this.directory(number);
    if (!(Number.isSafeInteger(position) && position >= 0))
      throw new FsError(Errno.EINVAL, `directory position ${position} is not one this mount gave`);
    // A read from the start lists afresh (rewinddir must see changes).
    if (position === 0) dir.page = undefined;
    for (;;) {
      const page = dir.page;
      if (page && position >= page.start && position < page.start + page.entries.length) {
        return page.entries.slice(position - page.start).map((entry, i) => ({ entry, next: position + i + 1 }));
      }
      if (page && position >= page.start + page.entries.length && page.eof) return [];
      // Forward from the page held, or from the start when the position lies before it.
      const resume = page && position >= page.start ? page : undefined;
      const last = resume?.entries.at(-1);
      let result;
      try {
        result = await this.client.readdirplusPage(
          this.credential,
          dir.handle,
          last?.cookie ?? 0n,
          resume?.verifier ?? Buffer.alloc(NFS3_VERFSIZE),
          PAGE_COUNTS,
        );
      } catch (err) {
        // The server no longer knows the cookie (its directory changed under a new verifier): start over.
        if (!(last && isNfsStatus(err, Nfs3Status.NFS3ERR_BAD_COOKIE))) throw err;
        dir.page = { start: 0, entries: [], eof: false, verifier: Buffer.alloc(NFS3_VERFSIZE) };
        continue;
      }
      dir.page = {
        start: resume ? resume.start + resume.entries.length : 0,
        entries: result.entries,
        eof: result.eof,
        verifier: result.cookieverf,
      };
    }
  }

  releasedir(number: number): void {
    if (this.open.delete(number)) this.freeNumbers.push(number);
  }

  private directory(number: number): OpenDirectory {
    const dir = this.open.get(number);
    if (!dir) throw new FsError(EBADF, `directory handle ${number} is not open in this mount`);
    return dir;
  }
}
