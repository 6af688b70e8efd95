// The node daemon (DaemonSet): CSI Node service, mount manager, publish records, recovery.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { createFuseMounter } from './fuse-mounter.ts';
export { resolverIdentitySource } from './identity-source.ts';
export { NodeDaemon } from './node-daemon.ts';
export { DEFAULT_KUBELET_DIR } from './pod-ref.ts';
