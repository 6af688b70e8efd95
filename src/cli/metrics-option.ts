// --metrics-listen, the flag of the processes that can serve Prometheus metrics (node, controller, mount).
import { InvalidArgumentError, Option } from 'commander';
import { parseListenAddress } from '../config/index.ts';

/** Where GET /metrics is served; [metrics] listen when not given. */
export function metricsOption(): Option {
  return new Option(
    '--metrics-listen <host:port>',
    'serve Prometheus metrics at http://<host:port>/metrics (default: [metrics] listen; off when neither is set)',
  ).argParser((value) => {
    try {
      return parseListenAddress(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}
