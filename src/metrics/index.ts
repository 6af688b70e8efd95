// prom-client series per mount and per daemon, and the /metrics server.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { countingAudit, registerMountStates, timedLookups } from './daemon-metrics.ts';
export { startMetricsServer, type MetricsServer } from './metrics-server.ts';
export { MountMetrics, type MountTracker } from './mount-metrics.ts';
export { createRegistry } from './registry.ts';
export { registerRpcMetrics } from './rpc-metrics.ts';
