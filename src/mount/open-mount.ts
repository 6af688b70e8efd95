// One kidfs mount, put together: a directory of an NFS export (reached with walkSubDir: no symlink on the server is
// followed), the file system presenting it as one identity (src/fs), and the FUSE mount that serves it (src/fuse).
// The CLI's `kidfs mount` and the node daemon open every mount here, through a MountHost (mount-host.ts), and end it
// through the one handle this returns.
import type { MountConfig, QosLimits } from '../config/index.ts';
import { type Directory, Errno, FsError, isStale, type MountMemoryBudget, NfsFileSystem, walkSubDir } from '../fs/index.ts';

import { type FuseMount, mountFuse } from '../fuse/index.ts';
import type { Identity } from '../identity/index.ts';

import { type Credential, formatNfsUrl, type NfsUrl } from '../nfs/index.ts';

import { detachableHandlers, type DetachableHandlers } from './detachable-handlers.ts';
import type { ExportLease } from './export-connections.ts';
import { fsHandlers, type OpOutcome } from './fs-handlers.ts';
import type { QosLease } from './identity-rates.ts';
import { fileSystemSettings, fuseMountOptions } from './mount-settings.ts';
import { isMountPoint } from './mount-table.ts';
import type { MountUsage } from './mount-usage.ts';

export interface MountRequest {
  /** An existing, empty directory, absolute. */
  readonly mountpoint: string;
  readonly export: NfsUrl;
  /** Directory under the export to present, relative ('' = the export itself), already checked by checkSubDir. */
  readonly subDir: string;
  /**
   * Owners the export's root and every directory on the way to subDir must have, writable by no one else
   * (checkTrusted); undefined: not checked.
   */
  readonly trustedOwners?: readonly number[];
  /** Every NFS call of the mount (MNT and FSINFO included) is made as this identity (never uid 0). */
  readonly identity: Pick<Identity, 'name' | 'uid' | 'gid' | 'groups'>;
  /** QoS the volume sets (0: no limit); a field left out is [mount]'s default. */
  readonly qos?: Partial<QosLimits>;
  /** Read-only whatever [mount] read-only says. */
  readonly readOnly: boolean;
  /** Failures an admin should see, one line each. */
  readonly log: (line: string) => void;
  /** Hears how every FUSE operation ended (metrics, audit of denials). */
  readonly observe?: (outcome: OpOutcome) => void;
}

/** A served mount. Its steps, in the order a clean end takes them: commit, unmount, close. */
export interface KidfsMount {
  readonly mountpoint: string;
  /** The file system it presents (statistics, metrics). */
  readonly fs: NfsFileSystem;
  readonly openFiles: number;
  /** What it holds now, for `kidfs status`. */
  usage(): MountUsage;
  /** Commits every open file (COMMIT); rejects with the first failure. */
  commit(): Promise<void>;
  /** Unmounts lazily: files still open keep working until closed. One unmounted from outside already is fine. */
  unmount(): Promise<void>;
  /** From now on every operation answers ENOTCONN (files still open fail instead of acting as the identity). */
  detach(): void;
  /** Detaches and lets go of what the mount holds: its memory and rate shares, its hold on the export. */
  close(): Promise<void>;
  /**
   * Commits every open file, unmounts, closes; with `force` it does not wait for commits. Each step runs once, however
   * often this is called (a forced end may overtake a clean one). Rejects, after unmounting, when some data could not
   * be committed.
   */
  commitAndUnmount(options?: { force?: boolean }): Promise<void>;
}

/** What the MountHost lends a mount: a hold on the export, and shares of the process's memory and the identity's rates. */
export interface MountShares {
  /** The export and the mount's hold on it; `evict` when its root handle went stale, so the next one connects anew. */
  acquire(url: NfsUrl, credential: Credential): Promise<ExportLease>;
  readonly memory: () => MountMemoryBudget;
  readonly qos: (identity: string, volume?: Partial<QosLimits>) => QosLease | undefined;
}

export async function openMount(request: MountRequest, settings: MountConfig, shares: MountShares): Promise<KidfsMount> {
  const { identity, mountpoint } = request;
  const credential: Credential = { uid: identity.uid, gid: identity.gid, gids: identity.groups };
  const { lease, root } = await volumeDirectory(request, credential, shares);
  const memory = shares.memory();
  const qos = shares.qos(identity.name, request.qos);
  let fs: NfsFileSystem;
  let fuse: FuseMount;
  let gate: DetachableHandlers;
  try {
    fs = new NfsFileSystem({
      export: { client: lease.exp.client, rootHandle: root.handle, fsinfo: lease.exp.fsinfo },
      credential,
      ...fileSystemSettings(settings, memory),
      qos: qos?.share,
    });
    // fuse-native keeps a mount's handlers for the life of the process: the gate lets the file system go.
    gate = detachableHandlers(fsHandlers(fs, request.log, request.observe));
    fuse = await mountFuse({
      mountpoint,
      handlers: gate.handlers,
      options: fuseMountOptions(settings, mountName(request), request.readOnly || settings.readOnly),
      opTimeoutMs: settings.opTimeoutMs,
      log: request.log,
    });
  } catch (err) {
    memory.close();
    qos?.release();
    await lease.release();
    throw err;
  }
  const detach = gate.detach;

  let syncing: Promise<unknown> | undefined;
  let unmounting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const mount: KidfsMount = {
    mountpoint,
    fs,
    get openFiles() {
      return fs.openFiles;
    },
    usage: () => usageOf(fs),
    commit: () => fs.syncAll(),
    async unmount() {
      try {
        await fuse.unmount();
      } catch (err) {
        // Someone unmounted it already (umount -l from outside): nothing is left to unmount.
        if (await isMountPoint(mountpoint)) throw err;
      }
    },
    detach,
    close: () =>
      (closing ??= (async () => {
        detach();
        memory.close();
        qos?.release();
        await lease.release();
      })()),
    async commitAndUnmount(options = {}) {
      const unsynced = options.force
        ? undefined
        : await (syncing ??= fs.syncAll().then(
            () => undefined,
            (err: unknown) => err,
          ));
      await (unmounting ??= mount.unmount().then(() => mount.close()));
      if (unsynced !== undefined) throw unsynced;
    },
  };
  return mount;
}

/** The hold on the export and the volume's directory there; a root handle gone stale is connected anew once. */
async function volumeDirectory(
  request: MountRequest,
  credential: Credential,
  shares: MountShares,
): Promise<{ lease: ExportLease; root: Directory }> {
  for (let attempt = 1; ; attempt++) {
    const lease = await shares.acquire(request.export, credential);
    try {
      const { client, rootHandle } = lease.exp;
      const exportRoot: Directory = { handle: rootHandle, attributes: await client.getattr(credential, rootHandle) };
      const root = await walkSubDir(
        client,
        credential,
        exportRoot,
        request.subDir,
        request.trustedOwners ? { trusted: { owners: request.trustedOwners, last: false } } : {},
      );
      if (!root) {
        throw new FsError(
          Errno.ENOENT,
          `${request.subDir} does not exist in ${formatNfsUrl(request.export)}: the volume's directory must exist on the server`,
        );
      }
      return { lease, root };
    } catch (err) {
      const stale = isStale(err);
      if (stale) lease.evict();
      await lease.release();
      if (!stale || attempt === 2) throw err;
    }
  }
}

function usageOf(fs: NfsFileSystem): MountUsage {
  const { memory, qos } = fs;
  return {
    openFiles: fs.openFiles,
    memoryBytes: memory.used,
    memoryLimitBytes: memory.limitBytes,
    memoryHighWaterBytes: memory.highWater,
    memoryWaits: memory.waits,
    readAheadSkipped: memory.readAheadSkipped,
    ...(qos
      ? {
          qos: { bytesPerSecond: qos.bytesPerSecond, opsPerSecond: qos.opsPerSecond, waits: qos.waits, waitedMs: Math.round(qos.waitedMs) },
        }
      : {}),
  };
}

/** How the mount shows in the mount table: kidfs:<identity>@<server>:<export path>[/<subDir>]. */
function mountName(request: MountRequest): string {
  const { export: exp, subDir } = request;
  const where = `${exp.host}:${exp.path}${subDir ? `/${subDir}` : ''}`.replace(/\/\/+/g, '/');
  return `${request.identity.name}@${where}`;
}
