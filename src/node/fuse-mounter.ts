// The real Mounter: one FUSE mount per pod (src/fuse) presenting the file system (src/fs) of an export directory,
// reached with walkSubDir (no symlink on the server is followed), every NFS call made as the mount's identity.
// All mounts of an export share its root handle (one MNT), and all exports of a server one RPC connection.
import type { MountConfig } from '../config/sections/mount-section.ts';
import { ProcessMemoryBudget } from '../fs/memory-budget.ts';
import { NfsFileSystem } from '../fs/nfs-file-system.ts';
import { fsHandlers, type OpOutcome } from '../mount/fs-handlers.ts';
import { NO_AUDIT, type Audit, type AuditFields, type DenialRecorder } from '../log/audit.ts';
import type { MountMetrics, MountTracker } from '../metrics/mount-metrics.ts';
import type { RpcStats } from '../nfs/rpc-stats.ts';
import { fileSystemSettings, fuseMountOptions } from '../mount/open-mount.ts';
import { mountFuse, type FuseMount } from '../fuse/fuse-mount.ts';
import { NfsError } from '../nfs/errno.ts';
import { Nfs3Status } from '../nfs/nfs3-types.ts';
import { formatNfsUrl } from '../nfs/nfs-url.ts';
import type { Credential } from '../nfs/rpc-transport.ts';
import { detachableHandlers, type DetachableHandlers } from '../mount/detachable-handlers.ts';
import { IdentityRates, type QosLease } from '../mount/identity-rates.ts';
import { walkSubDir, type Directory } from '../fs/export-directories.ts';
import { ExportConnections, type ExportLease } from '../mount/export-connections.ts';
import { isMountPoint, KIDFS_FSTYPE, mountAt } from '../mount/mount-table.ts';
import type { MountUsage } from '../mount/mount-usage.ts';
import type { MountSpec, Mounter } from './mounter.ts';
import { NodeError } from '../csi/node-error.ts';

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
  readonly fs: NfsFileSystem;
  readonly fuse: FuseMount;
  readonly gate: DetachableHandlers;
  readonly lease: ExportLease;
  readonly qos: QosLease | undefined;
  readonly tracker?: MountTracker;
  readonly denials: DenialRecorder;
}

export function createFuseMounter(options: FuseMounterOptions): Mounter {
  return new FuseMounter(options);
}

class FuseMounter implements Mounter {
  private readonly served = new Map<string, Served>();
  /** Unmounted (lazily) while files were still open: served until they are closed. */
  private readonly lingering = new Set<Served>();
  private readonly exports: ExportConnections;
  /** Shared by every mount of the daemon, each taking at most its share. */
  private readonly memory: ProcessMemoryBudget;
  private readonly rates: IdentityRates;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: FuseMounterOptions) {
    this.exports = new ExportConnections({ timeoutMs: options.settings.nfsTimeoutMs, privilegedPort: options.settings.privilegedPort });
    this.memory = new ProcessMemoryBudget(options.settings.memoryPerProcessBytes);
    this.rates = new IdentityRates(options.settings.qos);
    this.exports = new ExportConnections({
      timeoutMs: options.settings.nfsTimeoutMs, privilegedPort: options.settings.privilegedPort, rpcStats: options.rpcStats,
    });
  }

  async mount(spec: MountSpec): Promise<void> {
    if (this.closed) throw new NodeError('UNAVAILABLE', 'the node daemon is stopping; try again when it is back');
    if (this.served.has(spec.target)) throw new NodeError('INTERNAL', `${spec.target} is served already`);
    const { settings, log } = this.options;
    const { identity, target } = spec;
    const credential: Credential = { uid: identity.uid, gid: identity.gid, gids: identity.groups };
    const { lease, root } = await this.volumeDirectory(spec, credential);
    const memory = this.memory.mount(settings.memoryPerMountBytes);
    const qos = this.rates.lease(identity.name, spec.qos);
    let tracker: MountTracker | undefined;
    try {
      const fs = new NfsFileSystem({
        export: { client: lease.exp.client, rootHandle: root.handle, fsinfo: lease.exp.fsinfo },
        credential,
        ...fileSystemSettings(settings, memory),
        qos: qos?.share,
      });
      const { pod } = spec;
      const fields: AuditFields = {
        target, volumeId: spec.volumeId, export: formatNfsUrl(spec.export), subDir: spec.subDir,
        ...(pod ? { pod: { namespace: pod.namespace, name: pod.podName, uid: pod.podUid, serviceAccount: pod.serviceAccount } } : {}),
        identity: { name: identity.name, uid: identity.uid, gid: identity.gid, groups: identity.groups },
      };
      const mountLog = this.options.logFor?.(fields) ?? ((line: string) => log(`${target}: ${line}`));
      tracker = this.options.metrics?.track({
        namespace: pod?.namespace ?? '', pod: pod?.podName ?? '', service_account: pod?.serviceAccount ?? '',
        uid: String(identity.uid), volume: spec.volumeId,
      }, fs);
      const denials = (this.options.audit ?? NO_AUDIT).denials(fields);
      const observe = (outcome: OpOutcome) => {
        tracker?.observe(outcome);
        if (outcome.deniedByServer) denials.denied(outcome.op, outcome.path, outcome.errno!);
      };
      const gate = detachableHandlers(fsHandlers(fs, mountLog, observe));
      const fuse = await mountFuse({
        mountpoint: target,
        handlers: gate.handlers,
        options: fuseMountOptions(settings, mountName(spec), spec.readOnly || settings.readOnly),
        opTimeoutMs: settings.opTimeoutMs,
        log: mountLog,
      });
      this.served.set(target, { target, fs, fuse, gate, lease, qos, tracker, denials });
    } catch (err) {
      memory.close();
      qos?.release();
      tracker?.close();
      await lease.release();
      throw err;
    }
  }

  async unmount(target: string): Promise<void> {
    const served = this.served.get(target);
    if (!served) return;
    try {
      await served.fuse.unmount();
    } catch (err) {
      // Someone unmounted it already (umount -l from outside): what is left is to let go of it.
      if (await isMountPoint(target)) throw err;
    }
    this.served.delete(target);
    await this.commit(served);
    if (served.fs.openFiles === 0) {
      await this.letGo(served);
      return;
    }
    this.options.log(`${target}: unmounted with ${served.fs.openFiles} files still open; serving them until they are closed`);
    this.lingering.add(served);
    this.lingerTimer ??= setInterval(() => void this.releaseClosed(), LINGER_CHECK_MS).unref();
  }

  async revoke(target: string): Promise<void> {
    const served = this.served.get(target);
    if (!served) return;
    // Commit first, while the identity may still write; then no answer of this mount acts as it again.
    await this.commit(served);
    this.served.delete(target);
    served.gate.detach();
    try {
      await served.fuse.unmount();
    } catch (err) {
      if (await isMountPoint(target)) throw err;
    }
    await this.letGo(served);
  }

  usage(target: string): MountUsage | undefined {
    const fs = this.served.get(target)?.fs;
    if (!fs) return undefined;
    const { memory, qos } = fs;
    return {
      openFiles: fs.openFiles,
      memoryBytes: memory.used, memoryLimitBytes: memory.limitBytes, memoryHighWaterBytes: memory.highWater,
      memoryWaits: memory.waits, readAheadSkipped: memory.readAheadSkipped,
      ...(qos ? { qos: { bytesPerSecond: qos.bytesPerSecond, opsPerSecond: qos.opsPerSecond, waits: qos.waits, waitedMs: Math.round(qos.waitedMs) } } : {}),
    };
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

  /** The lease on the volume's export and its directory there; a root handle gone stale is connected anew once. */
  private async volumeDirectory(spec: MountSpec, credential: Credential): Promise<{ lease: ExportLease; root: Directory }> {
    const url = formatNfsUrl(spec.export);
    for (let attempt = 1; ; attempt++) {
      const lease = await this.exports.acquire(spec.export, credential).catch((err: Error) => {
        throw new NodeError('UNAVAILABLE', `cannot reach the export ${url}: ${err.message}`);
      });
      try {
        const { client, rootHandle } = lease.exp;
        const exportRoot: Directory = { handle: rootHandle, attributes: await client.getattr(credential, rootHandle) };
        const root = await walkSubDir(client, credential, exportRoot, spec.subDir,
          spec.trustedOwners ? { trusted: { owners: spec.trustedOwners, last: false } } : {});
        if (!root) throw new NodeError('NOT_FOUND', `${spec.subDir} does not exist in ${url}: the volume's directory must exist on the server`);
        return { lease, root };
      } catch (err) {
        const stale = err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_STALE;
        if (stale) lease.evict();
        await lease.release();
        if (!stale || attempt === 2) throw err;
      }
    }
  }

  private async commit(served: Served): Promise<void> {
    await served.fs.syncAll().catch((err: Error) =>
      this.options.log(`${served.target}: some written data may not be on the server: ${err.message}`));
  }

  /** Stops answering for the mount and drops the file system and its hold on the export. */
  private async letGo(served: Served): Promise<void> {
    served.gate.detach();
    served.fs.memory.close();
    served.qos?.release();
    served.tracker?.close();
    served.denials.close();
    await served.lease.release();
  }

  private async releaseClosed(): Promise<void> {
    for (const served of this.lingering) {
      if (served.fs.openFiles > 0) continue;
      this.lingering.delete(served);
      await this.letGo(served);
    }
    if (this.lingering.size === 0) {
      clearInterval(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }
}

/** How the mount shows in the mount table: kidfs:<identity>@<server>:<export path>[/<subDir>]. */
function mountName(spec: MountSpec): string {
  const where = `${spec.export.host}:${spec.export.path}${spec.subDir ? `/${spec.subDir}` : ''}`.replace(/\/\/+/g, '/');
  return `${spec.identity.name}@${where}`;
}
