// The node daemon's root-only unix socket: its protocol, server and client.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { controlRequest, DEFAULT_CONTROL_SOCKET } from './control-client.ts';
export { lineSplitter, type NodeMountStatus, type NodeStatus } from './control-protocol.ts';
export { startControlServer, type ControlServer } from './control-server.ts';
