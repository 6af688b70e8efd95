// The controller daemon (Deployment): CSI Controller service, StorageClass parameters, volume ids.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { ControllerDaemon } from './controller-daemon.ts';
