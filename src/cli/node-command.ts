// `kidfs node`: starts the node daemon with the FUSE mounter and the identity resolver, serves until SIGTERM or
// SIGINT, then commits open files and exits, leaving the mounts for the next daemon to take over.
import { loadConfig } from '../config/load-config.ts';
import { IdentityResolver } from '../identity/identity-resolver.ts';
import { createFuseMounter } from '../node/fuse-mounter.ts';
import { resolverIdentitySource } from '../node/identity-source.ts';
import { NodeDaemon } from '../node/node-daemon.ts';
import { waitForStopSignal, type NodeFlags } from './daemon-commands.ts';

export async function runNode(flags: NodeFlags): Promise<void> {
  const config = loadConfig(flags.config);
  const nodeId = flags.nodeid ?? config.identity.nodeName;
  if (!nodeId) throw new Error('this node\'s name is unknown: give --nodeid or set NODE_NAME (downward API spec.nodeName)');
  if (config.identity.nodeName !== undefined && config.identity.nodeName !== nodeId) {
    throw new Error(`--nodeid ${nodeId} differs from [identity] node-name / NODE_NAME ${config.identity.nodeName}: pods would be checked against the wrong node`);
  }
  const resolver = new IdentityResolver({ ...config, identity: { ...config.identity, nodeName: nodeId } });
  const log = (line: string) => void process.stderr.write(`kidfs node: ${line}\n`);
  const daemon = await NodeDaemon.start({
    endpoint: flags.endpoint, nodeId, driverName: flags.driverName, stateDir: flags.stateDir, controlSocket: flags.controlSocket,
    podExports: flags.podExport, tokenAudience: config.kubernetes.tokenAudience, requireToken: config.kubernetes.requireToken, reconcileIntervalMs: flags.reconcileInterval, reverifyIntervalMs: flags.reverifyInterval, kubeletDir: flags.kubeletDir, provisionerUid: flags.provisionerUid,
    mounter: createFuseMounter({ settings: config.mount, log }), identities: resolverIdentitySource(resolver), log,
    maxMounts: config.mount.maxMountsPerNode,
  });
  const signal = await waitForStopSignal();
  log(`${signal}: committing open files and stopping; the mounts stay until the next daemon serves them again`);
  await daemon.stop();
  // The FUSE mounts left in place keep the event loop alive.
  process.exit(0);
}
