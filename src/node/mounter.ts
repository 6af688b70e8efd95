// The one place the mount manager touches mounts: it decides what to mount, for whom, and keeps the records;
// a Mounter makes and removes the mounts this process serves. The real one (src/mount) is made by
// createFuseMounter in fuse-mounter.ts; tests inject their own.
import type { QosLimits } from '../config/index.ts';
import type { Identity } from '../identity/index.ts';
import type { MountUsage } from '../mount/index.ts';
import type { NfsUrl } from '../nfs/index.ts';
import type { PodRef } from './publish-request.ts';

export interface MountSpec {
  /** An existing, empty directory that is no mount point (the manager makes sure). */
  readonly target: string;
  readonly export: NfsUrl;
  /**
   * Directory under the export to present, relative ('' = the export itself), already checked by checkSubDir.
   * The mounter reaches it with walkSubDir (src/fs/export-directories.ts), so no symlink on the server leads outside the export.
   */
  readonly subDir: string;
  readonly readOnly: boolean;
  /** Every NFS call of the mount is made as this identity (never uid 0). */
  readonly identity: Identity;
  readonly volumeId: string;
  /**
   * Owners the export's root and every directory on the way to subDir must have, writable by no one else
   * (checkTrusted); undefined: not checked (a pod-defined volume in an export pods share).
   */
  readonly trustedOwners?: readonly number[];
  /** QoS the volume sets (0: no limit); a field left out is [mount]'s default. */
  readonly qos?: Partial<QosLimits>;
  /** The pod it is for, when known (labels of its metrics, fields of its audit records). */
  readonly pod?: PodRef;
}

export interface Mounter {
  /** Mounts and serves `spec.target`; rejects with a one-line reason, leaving nothing mounted. */
  mount(spec: MountSpec): Promise<void>;
  /**
   * Unmounts a mount this mounter made (lazily: open files keep working until closed) and stops serving it.
   * A target it does not serve resolves at once: left-over mounts of an earlier process are the manager's.
   */
  unmount(target: string): Promise<void>;
  /**
   * Ends a mount whose identity no longer holds: commits what was written, unmounts and stops serving at
   * once, so files still open fail from now on instead of acting as that identity until they are closed.
   * A target it does not serve resolves at once.
   */
  revoke(target: string): Promise<void>;
  /** Whether this mounter serves `target` right now and its FUSE connection is up. */
  isAlive(target: string): Promise<boolean>;
  /** What the mount at `target` holds now, when this mounter serves it. */
  usage?(target: string): MountUsage | undefined;
  /**
   * The daemon is stopping: make what was written durable (commit open files) and stop serving, but leave
   * the mounts in place. They fail with ENOTCONN until the next daemon remounts them from its records, so a
   * pod never writes into the node's empty directory underneath.
   */
  close(): Promise<void>;
}
