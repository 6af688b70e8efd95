// The paths the FUSE adapter hands over ('/', '/a/b'), split into the names LOOKUP takes.
import { Errno } from './errno.ts';
import { FsError } from './fs-error.ts';

/** '/a/b' -> ['a', 'b']; '/' -> []. */
export function pathComponents(path: string): string[] {
  if (!path.startsWith('/')) throw new FsError(Errno.EINVAL, `path '${path}' is not absolute within the mount`);
  const names = path.split('/').filter((n) => n !== '');
  for (const name of names) {
    if (name === '.' || name === '..') throw new FsError(Errno.EINVAL, `path '${path}' contains '${name}' (the kernel resolves those)`);
  }
  return names;
}

/** The directory and the last name of a path other than '/'. */
export function splitParent(path: string): { parent: string[]; name: string } {
  const names = pathComponents(path);
  const name = names.pop();
  if (name === undefined) throw new FsError(Errno.EINVAL, "the mount's root has no parent directory");
  return { parent: names, name };
}
