// The one module that loads fuse-native. kidfs runs it only as built from source with
// patches/fuse-native+2.2.6.patch (scripts/build-fuse-native.sh); loading refuses anything else,
// so an upstream build, with the defects the patch fixes, can never serve a mount.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Must equal KIDFS_PATCH_LEVEL in the patch (index.js and fuse-native.c). */
const PATCH_LEVEL = 10;
const PATCH_FILE = fileURLToPath(new URL('../../patches/fuse-native+2.2.6.patch', import.meta.url));

/** A callback-style operation as fuse-native calls it: arguments, then a callback. */
export type NativeOp = (...args: never[]) => void;
export type NativeOps = Record<string, NativeOp>;

export interface NativeFuseOptions {
  /** false: fuse-native's own 15 s timeout is off; safe-handlers answers late operations */
  timeout: false;
  /** raw libfuse options (the patch's pass-through), see mount-options.ts */
  options: string[];
  /** paths, names and link targets as byte strings (latin1, one character per byte), not UTF-8 */
  byteNames?: boolean;
  /**
   * WRITEs read by the binding itself and answered from the JavaScript thread straight to the kernel, not through a
   * libfuse worker (patch level 9): one thread hand-off less per write; `write` gets the path its fh was opened as
   */
  fastWrites?: boolean;
  /**
   * With fastWrites, READs too (patch level 10): `read` gets, after its callback, `answerFrom(source)`, which answers
   * the kernel from `source` at once, so that data held elsewhere need not be copied into the kernel's buffer
   */
  fastReads?: boolean;
}

export interface NativeFuse {
  /** the calling process (pid, uid, gid) while an operation is being called, else null */
  readonly caller: { pid: number; uid: number; gid: number } | null;
  mount(callback: (error: Error | null) => void): void;
  /** the kernel drops its cached pages and attributes of the name `path`; calls back with 0 or a negative errno */
  invalidatePath(path: string, callback: (result: number) => void): void;
  unmount(callback: (error: Error | null) => void): void;
}

export interface NativeFuseClass {
  new (mountpoint: string, ops: NativeOps, options: NativeFuseOptions): NativeFuse;
}

let loaded: NativeFuseClass | undefined;

export function loadFuseNative(): NativeFuseClass {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('fuse-native/package.json'));
  const fuse = require('fuse-native') as NativeFuseClass & { kidfsPatchLevel?: number };
  if (fuse.kidfsPatchLevel !== PATCH_LEVEL) {
    throw new Error(`${packageDir} is not fuse-native with kidfs's patch level ${PATCH_LEVEL}: run bash scripts/setup.sh`);
  }
  const stamp = join(packageDir, '.kidfs-patch.sha256');
  let builtFrom: string;
  try {
    builtFrom = readFileSync(stamp, 'utf8').trim();
  } catch {
    throw new Error(`${stamp} is missing: fuse-native was not built by scripts/build-fuse-native.sh; run bash scripts/setup.sh`);
  }
  const current = createHash('sha256').update(readFileSync(PATCH_FILE)).digest('hex');
  if (builtFrom !== current) {
    throw new Error(`${packageDir} was built from another version of ${PATCH_FILE}: run bash scripts/setup.sh`);
  }
  loaded = fuse;
  return fuse;
}
