// The Prometheus registry of one kidfs process: its own metrics plus process memory, CPU and file descriptors
// (prom-client's default metrics), all named kidfs_*.
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kidfs_' });
  return registry;
}
