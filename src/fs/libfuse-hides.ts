// libfuse hides a rename's target that is open through the mount before the rename itself reaches kidfs: it renames
// the target to .fuse_hidden* (its open fds keep a name), then asks for the rename. When the server then refuses the
// rename (no write permission on the source's directory, a source another host removed), the target would be
// gone and removed for good at its last close. Both renames come in the same FUSE request: this remembers each hiding
// by request, so that the failed rename can put the target back; libfuse goes on calling that file by its hidden name
// (its own state says so), which then stands for the file under its old name.
import type { FileHandle } from '../nfs/index.ts';
import { pathComponents } from './path-names.ts';

export interface Hiding {
  /** The target's path, and the hidden path libfuse renamed it to. */
  readonly path: string;
  readonly hiddenPath: string;
  readonly handle: FileHandle;
}

/** Hidings not yet followed by their rename (an unlink's hiding never is): only the last few requests matter. */
const MAX_HIDINGS = 64;
/** Hidden paths that stand for files put back: libfuse may call them by these until the kernel forgets the file. */
const MAX_PUT_BACK = 1024;

interface PutBack {
  readonly handle: FileHandle;
  /** Until the file's last close libfuse counts its node as hidden (and takes one off the nlink it reports). */
  hiddenByLibfuse: boolean;
}

export class LibfuseHides {
  private readonly hidings = new Map<number, Hiding>();
  private readonly putBack = new Map<string, PutBack>();

  /** Request `request` renamed `hiding.path` to a libfuse hidden name. */
  record(request: number, hiding: Hiding): void {
    remember(this.hidings, request, hiding, MAX_HIDINGS);
  }

  /** The hiding of `path` that request `request` did before renaming over it (forgotten: it is asked once). */
  take(request: number, path: string): Hiding | undefined {
    const hiding = this.hidings.get(request);
    this.hidings.delete(request);
    return hiding?.path === path ? hiding : undefined;
  }

  /** The hiding was undone: the file has its old name again, and its hidden path stands for it. */
  undone(hiding: Hiding): void {
    remember(this.putBack, pathComponents(hiding.hiddenPath).join('/'), { handle: hiding.handle, hiddenByLibfuse: true }, MAX_PUT_BACK);
  }

  /** The file a hidden path (as names) stands for since its hiding was undone. */
  putBackAs(names: readonly string[]): FileHandle | undefined {
    return this.putBack.size === 0 ? undefined : this.putBack.get(names.join('/'))?.handle;
  }

  /** libfuse removes a hidden name at the file's last close: for a put-back file, it no longer counts it hidden. */
  closed(names: readonly string[]): void {
    const putBack = this.putBack.get(names.join('/'));
    if (putBack) putBack.hiddenByLibfuse = false;
  }

  /** Whether libfuse counts the file it calls by hidden name `names` as hidden (every hidden name, until put back and closed). */
  hiddenByLibfuse(names: readonly string[]): boolean {
    return this.putBack.get(names.join('/'))?.hiddenByLibfuse ?? true;
  }
}

/** Sets `key`, dropping the oldest entry past `max`. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}
