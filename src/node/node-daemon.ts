// `kidfs node`: one process per node holding every kidfs mount of the node. It serves CSI (Identity + Node)
// for kubelet and the control socket for the CLI and the FlexVolume driver, recovers recorded mounts at
// start (Probe says not ready until then), and retries mounts that are down every reconcile interval.
import type { Audit } from '../log/index.ts';
import { formatNfsUrl, type NfsUrl } from '../nfs/index.ts';
import { type ControlServer, startControlServer } from '../control-socket/index.ts';
import { type CsiServer, identityService, startCsiServer } from '../csi/index.ts';
import { nodeService } from './csi-node-service.ts';

import { publishRequestFromFlex } from './flex-publish-request.ts';
import type { IdentitySource } from './identity-source.ts';
import { MountManager } from './mount-manager.ts';
import { PublishRecords } from './publish-records.ts';
import type { Mounter } from './mounter.ts';
import { checkTargetPath, type PublishRequest } from './publish-request.ts';

export interface NodeDaemonOptions {
  /** CSI endpoint, unix:///path. */
  readonly endpoint: string;
  /** This node's name as kubelet knows it (NodeGetInfo). */
  readonly nodeId: string;
  readonly driverName: string;
  /** Holds `mounts/`, the mount records. */
  readonly stateDir: string;
  readonly controlSocket: string;
  /** Exports pod-defined volumes (CSI inline, FlexVolume) may use; the first is their default. */
  readonly podExports: readonly NfsUrl[];
  /** Audience of the bound tokens kubelet passes ([kubernetes] token-audience). */
  readonly tokenAudience: string;
  /** [kubernetes] require-token. */
  readonly requireToken: boolean;
  /** kubelet's root directory (kubelet --root-dir): pods' volumes are mounted under <dir>/pods/<pod uid>/volumes/. */
  readonly kubeletDir: string;
  /** uid the controller's provisioner acts as: it and root may own the directories on the way to a PersistentVolume. */
  readonly provisionerUid: number;
  readonly mounter: Mounter;
  readonly identities: IdentitySource;
  /** Mounts this node serves at most (NodeGetInfo max_volumes_per_node); default: no limit. */
  readonly maxMounts?: number;
  /** How often mounts that are down are tried again (0: never); default 30 s. */
  readonly reconcileIntervalMs?: number;
  /** How often every live mount is checked again as a republish would (0: never); default 5 min. */
  readonly reverifyIntervalMs?: number;
  readonly log?: (line: string) => void;
  /** Every publish, unpublish, remount, recovery and refusal. */
  readonly audit?: Audit;
}

export class NodeDaemon {
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> = Promise.resolve();
  private reverifyTimer: NodeJS.Timeout | undefined;
  private reverifying: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly manager: MountManager,
    private readonly mounter: Mounter,
    private readonly csi: CsiServer,
    private readonly control: ControlServer,
  ) {}

  static async start(options: NodeDaemonOptions): Promise<NodeDaemon> {
    const log = options.log ?? ((line: string) => process.stderr.write(`kidfs node: ${line}\n`));
    const manager = await MountManager.open({
      records: await PublishRecords.open(options.stateDir),
      mounter: options.mounter,
      identities: options.identities,
      log,
      trustedOwners: [...new Set([0, options.provisionerUid])],
      exportRefusal: (request) => exportRefusal(request, options.podExports),
      maxMounts: options.maxMounts,
      ...(options.audit ? { audit: options.audit } : {}),
    });
    let ready = false;
    const csi = await startCsiServer(
      options.endpoint,
      {
        Identity: identityService({ driverName: options.driverName, controller: false, ready: () => ready }),
        Node: nodeService({ manager, nodeId: options.nodeId, rules: options, maxVolumes: options.maxMounts }),
      },
      log,
    );
    let control: ControlServer;
    try {
      control = await startControlServer(
        options.controlSocket,
        {
          mount: async (target, mountOptions) => {
            const claimed = {
              target,
              via: 'flexvolume',
              claimedPod: { namespace: mountOptions['kubernetes.io/pod.namespace'], name: mountOptions['kubernetes.io/pod.name'] },
            };
            await manager.publish(manager.parseOrRefuse(claimed, () => publishRequestFromFlex(target, mountOptions, options)));
          },
          unmount: (target) => manager.unpublish(checkTargetPath(target, 'target')),
          status: async () => ({ node: options.nodeId, mounts: await manager.status() }),
        },
        log,
      );
    } catch (err) {
      await csi.stop();
      throw err;
    }
    const daemon = new NodeDaemon(manager, options.mounter, csi, control);
    log(
      `serving CSI on ${csi.socketPath} and the control socket ${control.path} for node ${options.nodeId}; recovering ${manager.size} recorded mounts`,
    );
    const summary = await manager.recover();
    ready = true;
    log(
      `ready: ${summary.alive} alive, ${summary.remounted.length} remounted, ${summary.cleaned.length} cleaned up, ${summary.failed.length} failed`,
    );
    const interval = options.reconcileIntervalMs ?? 30_000;
    if (interval > 0) {
      daemon.timer = setInterval(() => {
        daemon.reconciling = manager.recover().catch((err: Error) => log(`reconcile: ${err.message}`));
      }, interval);
      daemon.timer.unref();
    }
    const reverifyInterval = options.reverifyIntervalMs ?? 300_000;
    if (reverifyInterval > 0) {
      daemon.reverifyTimer = setInterval(() => {
        daemon.reverifying = manager.reverify().then(
          ({ kept, revoked }) => log(`checked the live mounts again: ${kept} kept, ${revoked.length} ended`),
          (err: Error) => log(`checking the live mounts again: ${err.message}`),
        );
      }, reverifyInterval);
      daemon.reverifyTimer.unref();
    }
    return daemon;
  }

  get csiSocket(): string {
    return this.csi.socketPath;
  }

  /**
   * Stops serving requests, then the mounter (open files committed). Mount points and records stay: the
   * mounts end with this process (their FUSE servers are in it) and the next daemon remounts them.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.reverifyTimer);
    await Promise.all([this.reconciling, this.reverifying]);
    await Promise.all([this.csi.stop(), this.control.stop()]);
    await this.mounter.close();
  }
}

/** Why a pod-defined volume's export may not be used (any more): it is not among --pod-export. */
function exportRefusal(request: PublishRequest, podExports: readonly NfsUrl[]): string | undefined {
  if (!request.ephemeral) return undefined;
  const url = formatNfsUrl(request.export);
  if (podExports.some((allowed) => formatNfsUrl(allowed) === url)) return undefined;
  return `${url} is no longer an export pod-defined volumes may use (kidfs node --pod-export)`;
}
