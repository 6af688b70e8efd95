// One kidfs mount put together (export -> fs -> FUSE) with one lifecycle, for the node daemon and kidfs mount.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { type OpOutcome } from './fs-handlers.ts';
export { MountHost } from './mount-host.ts';
export { KIDFS_FSTYPE, lazyUnmount, mountAt, targetState } from './mount-table.ts';
export { type MountUsage } from './mount-usage.ts';
export { type KidfsMount } from './open-mount.ts';
