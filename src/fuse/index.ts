// fuse-native (patched) behind one folder: the binding, handlers that always answer, mount options.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { FuseError } from './fuse-error.ts';
export { mountFuse, type FuseMount } from './fuse-mount.ts';
export { type Attributes, type FileTime, type FuseHandlers, type KernelCache, type TimeChange } from './handlers.ts';
export { type MountOptions } from './mount-options.ts';
