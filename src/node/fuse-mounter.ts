// Where the real Mounter plugs in: one FUSE mount per pod (src/fuse) presenting the file system (src/fs)
// of an export directory (walkSubDir from export-path.ts) through one shared NFS connection per server
// (src/nfs), every call made as spec.identity. `kidfs node` takes its mounter from here.
import type { Mounter } from './mounter.ts';

export function createFuseMounter(): Mounter {
  throw new Error('kidfs node cannot mount yet: the FUSE mounter is not built in (src/node/fuse-mounter.ts)');
}
