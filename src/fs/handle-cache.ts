// Path -> file handle, as a tree of names, so that dropping a directory drops everything below it at once
// (rmdir, rename of a directory). Entries expire; past a size bound the cache starts over.
import type { FileHandle } from '../nfs/index.ts';

interface Node {
  readonly handle: FileHandle;
  /** Date.now() past which the name must be looked up again. */
  expires: number;
  children?: Map<string, Node>;
}

export class HandleCache {
  private readonly root: Node;
  /** Nodes added since the last start-over (removed ones are not subtracted: a cheap upper bound). */
  private added = 0;

  constructor(
    rootHandle: FileHandle,
    private readonly timeoutMs: number,
    private readonly maxEntries: number,
  ) {
    this.root = { handle: rootHandle, expires: Infinity };
  }

  get rootHandle(): FileHandle {
    return this.root.handle;
  }

  /** The handle of `names`' longest cached, unexpired prefix, and how many names that prefix has. */
  longestPrefix(names: readonly string[]): { handle: FileHandle; depth: number } {
    const now = Date.now();
    let node = this.root;
    let depth = 0;
    for (const name of names) {
      const child = node.children?.get(name);
      if (!child || child.expires <= now) break;
      node = child;
      depth++;
    }
    return { handle: node.handle, depth };
  }

  /** Records that `names` resolves to `handle`; only under a cached parent (the parent was just looked up). */
  set(names: readonly string[], handle: FileHandle): void {
    if (this.timeoutMs === 0 || names.length === 0) return;
    const parent = this.node(names.slice(0, -1));
    if (!parent) return;
    if (this.added >= this.maxEntries) {
      this.root.children = undefined;
      this.added = 0;
      if (names.length > 1) return;
    }
    this.added++;
    (parent.children ??= new Map()).set(names.at(-1)!, { handle, expires: Date.now() + this.timeoutMs });
  }

  /** The handle `names` had when last looked up, expired or not (which file a name being removed was). */
  peek(names: readonly string[]): FileHandle | undefined {
    return this.node(names)?.handle;
  }

  /** Everything below `names` must be looked up again (peek still knows which file each name was). */
  expireBelow(names: readonly string[]): void {
    const expire = (node: Node) => {
      for (const child of node.children?.values() ?? []) {
        child.expires = 0;
        expire(child);
      }
    };
    const node = this.node(names);
    if (node) expire(node);
  }

  /** Forgets `names` and everything below it. */
  delete(names: readonly string[]): void {
    if (names.length === 0) {
      this.root.children = undefined;
      return;
    }
    this.node(names.slice(0, -1))?.children?.delete(names.at(-1)!);
  }

  private node(names: readonly string[]): Node | undefined {
    let node: Node | undefined = this.root;
    for (const name of names) {
      node = node.children?.get(name);
      if (!node) return undefined;
    }
    return node;
  }
}
