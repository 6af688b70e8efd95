// `kidfs controller`: starts the CSI controller with the provisioner's credential, serves until SIGTERM.
import { loadConfig } from '../config/index.ts';
import { IdentityResolver } from '../identity/index.ts';
import { ControllerDaemon } from '../controller/index.ts';
import { createAudit, createLogger, lineLog } from '../log/index.ts';

import { countingAudit, createRegistry, startMetricsServer } from '../metrics/index.ts';

import type { ControllerFlags } from './daemon-flags.ts';
import { waitForStopSignal } from './stop-signal.ts';

export async function runController(flags: ControllerFlags): Promise<void> {
  const config = loadConfig(flags.config);
  const logger = createLogger('controller', config.log);
  const log = lineLog(logger);
  const resolver = new IdentityResolver(config, { log: lineLog(logger, 'warn') });
  const registry = createRegistry();
  const daemon = await ControllerDaemon.start({
    endpoint: flags.endpoint,
    driverName: flags.driverName,
    credential: { uid: flags.provisionerUid, gid: flags.provisionerGid, gids: [] },
    privilegedPort: config.mount.privilegedPort,
    ownerIdentity: (account) => resolver.resolveServiceAccount(account),
    groups: config.groups,
    log,
    audit: countingAudit(createAudit('controller', config.log), registry),
  });
  const listen = flags.metricsListen ?? config.metrics.listen;
  const metrics = listen && (await startMetricsServer(listen, registry));
  if (metrics) log(`serving metrics on http://${metrics.address.host}:${metrics.address.port}/metrics`);
  await waitForStopSignal();
  await metrics?.stop();
  await daemon.stop();
}
