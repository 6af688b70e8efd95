// The file system a mount presents over NFS (NFS status -> errno, once), and directory walks below an export.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { Errno } from './errno.ts';
export { checkTrusted, walkSubDir, type Directory } from './export-directories.ts';
export { type FileStat, type Timespec } from './file-stat.ts';
export { FsError, fsErrorOf, isStale } from './fs-error.ts';
export { type FileSystemOptions } from './fs-options.ts';
export { ProcessMemoryBudget, type MountMemoryBudget } from './memory-budget.ts';
export { NfsFileSystem, type TimeSetting } from './nfs-file-system.ts';
export { QosShare, SharedRate } from './rate-limit.ts';
export { VolumeDirectories, type VolumeRef } from './volume-directories.ts';
