// The FlexVolume driver kubelet runs; it only asks the node daemon over the control socket.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { runFlexDriver } from './flex-driver.ts';
