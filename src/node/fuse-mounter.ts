// The real Mounter: one kidfs mount per pod (src/mount: FUSE presenting an export directory as the pod's identity),
// all opened through one MountHost, so they share the node's memory budget, each identity's rates, and one RPC
// connection per NFS server (all mounts of an export share its root handle: one MNT).
import type { MountConfig } from '../config/index.ts';
import { type Audit, type AuditFields, type DenialRecorder, NO_AUDIT } from '../log/index.ts';
import type { MountMetrics, MountTracker } from '../metrics/index.ts';
import { KIDFS_FSTYPE, type KidfsMount, mountAt, MountHost, type MountUsage, type OpOutcome } from '../mount/index.ts';

import { formatNfsUrl, type RpcStats } from '../nfs/index.ts';

import { NodeError } from '../csi/index.ts';
import type { MountSpec, Mounter } from './mounter.ts';

export interface FuseMounterOptions {
  /** [mount]: owner view, chown policy, cache and NFS timeouts, node-wide read-only, privileged port. */
  readonly settings: MountConfig;
  /** One line per event an admin should see (NFS failures inside mounts, commits that failed). */
  readonly log: (line: string) => void;
  /** The log of one mount, its records carrying `fields` (pod, identity, target); default: `log` with the target. */
  readonly logFor?: (fields: AuditFields) => (line: string) => void;
  /** Per-mount series (removed at unmount), NFS traffic by server, and the audit stream's permission denials. */
  readonly metrics?: MountMetrics;
  readonly rpcStats?: RpcStats;
  readonly audit?: Audit;
}

/** How often an unmounted mount with files still open checks whether they are closed. */
const LINGER_CHECK_MS = 1000;

interface Served {
  readonly target: string;
  readonly mount: KidfsMount;
  readonly tracker: MountTracker | undefined;
  readonly denials: DenialRecorder;
}

export function createFuseMounter(options: FuseMounterOptions): Mounter {
  return new FuseMounter(options);
}

class FuseMounter implements Mounter {
  private readonly served = new Map<string, Served>();
  /** Unmounted (lazily) while files were still open: served until they are closed. */
  private readonly lingering = new Set<Served>();
  private readonly host: MountHost;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: FuseMounterOptions) {
    this.host = new MountHost(options.settings, { shareConnections: true, ...(options.rpcStats ? { rpcStats: options.rpcStats } : {}) });
  }

  async mount(spec: MountSpec): Promise<void> {
    if (this.closed) throw new NodeError('UNAVAILABLE', 'the node daemon is stopping; try again when it is back');
    if (this.served.has(spec.target)) throw new NodeError('INTERNAL', `${spec.target} is served already`);
    const { identity, target, pod } = spec;
    const fields: AuditFields = {
      target,
      volumeId: spec.volumeId,
      export: formatNfsUrl(spec.export),
      subDir: spec.subDir,
      ...(pod ? { pod: { namespace: pod.namespace, name: pod.podName, uid: pod.podUid, serviceAccount: pod.serviceAccount } } : {}),
      identity: { name: identity.name, uid: identity.uid, gid: identity.gid, groups: identity.groups },
    };
    const mountLog = this.options.logFor?.(fields) ?? ((line: string) => this.options.log(`${target}: ${line}`));
    const denials = (this.options.audit ?? NO_AUDIT).denials(fields);
    // Set before the first operation can arrive: the kernel's requests come in a later turn of the event loop.
    let tracker: MountTracker | undefined;
    const observe = (outcome: OpOutcome) => {
      tracker?.observe(outcome);
      if (outcome.deniedByServer) denials.denied(outcome.op, outcome.path, outcome.errno!);
    };
    let mount: KidfsMount;
    try {
      mount = await this.host.open({
        mountpoint: target,
        export: spec.export,
        subDir: spec.subDir,
        identity,
        readOnly: spec.readOnly,
        log: mountLog,
        observe,
        ...(spec.trustedOwners ? { trustedOwners: spec.trustedOwners } : {}),
        ...(spec.qos ? { qos: spec.qos } : {}),
      });
    } catch (err) {
      denials.close();
      throw err;
    }
    tracker = this.options.metrics?.track(
      {
        namespace: pod?.namespace ?? '',
        pod: pod?.podName ?? '',
        service_account: pod?.serviceAccount ?? '',
        uid: String(identity.uid),
        volume: spec.volumeId,
      },
      mount.fs,
    );
    this.served.set(target, { target, mount, tracker, denials });
  }

  async unmount(target: string): Promise<void> {
    const served = this.served.get(target);
    if (!served) return;
    await served.mount.unmount();
    this.served.delete(target);
    await this.commit(served);
    if (served.mount.openFiles === 0) {
      await this.letGo(served);
      return;
    }
    this.options.log(`${target}: unmounted with ${served.mount.openFiles} files still open; serving them until they are closed`);
    this.lingering.add(served);
    this.lingerTimer ??= setInterval(() => void this.releaseClosed(), LINGER_CHECK_MS).unref();
  }

  async revoke(target: string): Promise<void> {
    const served = this.served.get(target);
    if (!served) return;
    // Commit first, while the identity may still write; then no answer of this mount acts as it again.
    await this.commit(served);
    this.served.delete(target);
    served.mount.detach();
    await served.mount.unmount();
    await this.letGo(served);
  }

  usage(target: string): MountUsage | undefined {
    return this.served.get(target)?.mount.usage();
  }

  async isAlive(target: string): Promise<boolean> {
    return this.served.has(target) && (await mountAt(target))?.fstype === KIDFS_FSTYPE;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.lingerTimer);
    const all = [...this.served.values(), ...this.lingering];
    this.served.clear();
    this.lingering.clear();
    // Commit first, then stop answering: the mounts stay (ENOTCONN) until the next daemon mounts them again.
    await Promise.all(all.map((served) => this.commit(served)));
    await Promise.all(all.map((served) => this.letGo(served)));
  }

  private async commit(served: Served): Promise<void> {
    await served.mount
      .commit()
      .catch((err: Error) => this.options.log(`${served.target}: some written data may not be on the server: ${err.message}`));
  }

  /** Stops answering for the mount and drops the file system and its hold on the export. */
  private async letGo(served: Served): Promise<void> {
    const closing = served.mount.close();
    served.tracker?.close();
    served.denials.close();
    await closing;
  }

  private async releaseClosed(): Promise<void> {
    for (const served of this.lingering) {
      if (served.mount.openFiles > 0) continue;
      this.lingering.delete(served);
      await this.letGo(served);
    }
    if (this.lingering.size === 0) {
      clearInterval(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }
}
