// `kidfs node`: starts the node daemon with the FUSE mounter and the identity resolver, serves until SIGTERM or
// SIGINT, then commits open files and exits, leaving the mounts for the next daemon to take over.
import { loadConfig } from '../config/index.ts';
import { IdentityResolver } from '../identity/index.ts';
import { createFuseMounter, NodeDaemon, resolverIdentitySource } from '../node/index.ts';

import { createAudit, createLogger, lineLog } from '../log/index.ts';

import {
  countingAudit,
  createRegistry,
  MountMetrics,
  registerMountStates,
  registerRpcMetrics,
  startMetricsServer,
  timedLookups,
} from '../metrics/index.ts';

import { RpcStats } from '../nfs/index.ts';
import type { NodeFlags } from './daemon-flags.ts';
import { waitForStopSignal } from './stop-signal.ts';

export async function runNode(flags: NodeFlags): Promise<void> {
  const config = loadConfig(flags.config);
  const nodeId = flags.nodeid ?? config.identity.nodeName;
  if (!nodeId) throw new Error("this node's name is unknown: give --nodeid or set NODE_NAME (downward API spec.nodeName)");
  if (config.identity.nodeName !== undefined && config.identity.nodeName !== nodeId) {
    throw new Error(
      `--nodeid ${nodeId} differs from [identity] node-name / NODE_NAME ${config.identity.nodeName}: pods would be checked against the wrong node`,
    );
  }
  const logger = createLogger('node', config.log).child({ node: nodeId });
  const log = lineLog(logger);
  const resolver = new IdentityResolver(
    { ...config, identity: { ...config.identity, nodeName: nodeId } },
    { log: lineLog(logger, 'warn') },
  );
  const registry = createRegistry();
  const rpcStats = new RpcStats();
  registerRpcMetrics(registry, rpcStats);
  const audit = countingAudit(createAudit('node', config.log), registry);
  const timed = timedLookups(registry);
  const identities = resolverIdentitySource(resolver);
  const daemon = await NodeDaemon.start({
    endpoint: flags.endpoint,
    nodeId,
    driverName: flags.driverName,
    stateDir: flags.stateDir,
    controlSocket: flags.controlSocket,
    podExports: flags.podExport,
    tokenAudience: config.kubernetes.tokenAudience,
    requireToken: config.kubernetes.requireToken,
    reconcileIntervalMs: flags.reconcileInterval,
    reverifyIntervalMs: flags.reverifyInterval,
    kubeletDir: flags.kubeletDir,
    provisionerUid: flags.provisionerUid,
    mounter: createFuseMounter({
      settings: config.mount,
      log,
      logFor: (fields) => lineLog(logger.child(fields)),
      metrics: new MountMetrics(registry),
      rpcStats,
      audit,
    }),
    identities: { ...identities, resolve: (pod) => timed(() => identities.resolve(pod)) },
    log,
    audit,
    maxMounts: config.mount.maxMountsPerNode,
  });
  registerMountStates(registry, () => daemon.manager.status());
  const listen = flags.metricsListen ?? config.metrics.listen;
  const metrics = listen && (await startMetricsServer(listen, registry));
  if (metrics) log(`serving metrics on http://${metrics.address.host}:${metrics.address.port}/metrics`);
  const signal = await waitForStopSignal();
  log(`${signal}: committing open files and stopping; the mounts stay until the next daemon serves them again`);
  await metrics?.stop();
  await daemon.stop();
  // The FUSE mounts left in place keep the event loop alive.
  process.exit(0);
}
