// [mount]: how every kidfs mount of this node behaves: what owners it shows, what chown may do, how long it caches
// and how long it waits for the NFS server. Per-mount choices (identity, export, read-only) come with the mount.
import { SectionReader, type ConfigSection } from '../config-section.ts';
import { parseBoolean, parseByteRate, parseChoice, parseCount, parseDuration, parseOpRate, parseSize, ValueProblem } from '../values.ts';

export interface MountConfig {
  /** Files the identity owns are shown as owned by this uid/gid inside the mount; undefined: the identity's own ids. */
  readonly ownerView: { readonly uid: number; readonly gid: number } | undefined;
  /** chown/chgrp to an owner the identity cannot give files to: refused (EPERM), or reported done and ignored. */
  readonly chown: 'deny' | 'ignore';
  /** How long kidfs reuses attributes / kidfs and the kernel reuse looked-up names before asking the server again. */
  readonly attrTimeoutMs: number;
  readonly entryTimeoutMs: number;
  /**
   * How long the kernel may answer "no such name" from its cache (the NFS client's lookupcache=all); 0 asks the server
   * every time, so that a name another host creates shows up at once.
   */
  readonly negativeTimeoutMs: number;
  /** Longest wait for one NFS call (across reconnects); then the operation fails with ETIMEDOUT. */
  readonly nfsTimeoutMs: number;
  /** Longest any one file operation may take (flushes included) before the application gets ETIMEDOUT. */
  readonly opTimeoutMs: number;
  /** Data one open file may hold that the server has not committed; writers wait beyond it. */
  readonly maxUncommittedBytes: number;
  /** Mount every export read-only (kidfs mount --read-only does it for one mount). */
  readonly readOnly: boolean;
  /** Connect from a source port below 1024, for exports that require it (`secure`, ganesha PrivilegedPort). */
  readonly privilegedPort: boolean;
  /** Memory one mount may hold for write-back, read-ahead and their pooled buffers; writers wait beyond it. */
  readonly memoryPerMountBytes: number;
  /** The same for all mounts of one process (a node daemon, or one `kidfs mount`) together. */
  readonly memoryPerProcessBytes: number;
  /** Mounts one node daemon serves at most (CSI max_volumes_per_node); more are refused. */
  readonly maxMountsPerNode: number;
  /** Default QoS of an identity on a node (a volume's attributes may set their own): undefined means no limit. */
  readonly qos: QosLimits;
}

/** Rates an identity's mounts on one node share; calls beyond them wait their turn (never fail). */
export interface QosLimits {
  /** Bytes read plus written per second. */
  readonly bytesPerSecond: number | undefined;
  /** File operations per second. */
  readonly opsPerSecond: number | undefined;
}

const keys = [
  'owner-view',
  'chown',
  'attr-timeout',
  'entry-timeout',
  'negative-timeout',
  'nfs-timeout',
  'op-timeout',
  'max-uncommitted',
  'read-only',
  'privileged-port',
  'memory-per-mount',
  'memory-per-process',
  'max-mounts-per-node',
  'qos-bytes-per-second',
  'qos-ops-per-second',
] as const;

const MiB = 1024 * 1024;

/** `identity`, or `<uid>:<gid>` as the container sees them (0:0 allowed: a container's root owns its files). */
function parseOwnerView(value: string): MountConfig['ownerView'] {
  if (value === 'identity') return undefined;
  const match = /^(\d+):(\d+)$/.exec(value);
  const uid = Number(match?.[1]);
  const gid = Number(match?.[2]);
  if (!match || uid > 0xfffffffe || gid > 0xfffffffe) {
    throw new ValueProblem(`${JSON.stringify(value)} is not identity or <uid>:<gid> (numbers below 4294967295)`);
  }
  return { uid, gid };
}

/** FUSE takes its timeouts in seconds, so whole milliseconds of up to a day are plenty. */
function parseCacheTime(value: string): number {
  const ms = parseDuration(value);
  if (ms > 86_400_000) throw new ValueProblem(`${JSON.stringify(value)} is longer than a day`);
  return ms;
}

function parsePositiveDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms < 100 || ms > 0x7fffffff) throw new ValueProblem(`${JSON.stringify(value)} must be from 100ms to 24d`);
  return ms;
}

function parseUncommitted(value: string): number {
  const bytes = parseSize(value);
  // Two write chunks of 1 MiB: one filling while the other is committed.
  if (bytes < 2 * 1024 * 1024) throw new ValueProblem(`${JSON.stringify(value)} is below 2MiB (two write chunks)`);
  return bytes;
}

/** Two write chunks and two read-ahead blocks of 1 MiB: below it a mount could not write and read at once. */
function parseMountMemory(value: string): number {
  const bytes = parseSize(value);
  if (bytes < 4 * MiB) throw new ValueProblem(`${JSON.stringify(value)} is below 4MiB (two write chunks and two read-ahead blocks)`);
  return bytes;
}

export const mountSection: ConfigSection<MountConfig> = {
  name: 'mount',
  parse(section, context) {
    const read = new SectionReader('mount', section, context, keys);
    const nfsTimeoutMs = read.get('nfs-timeout', parsePositiveDuration, 60_000);
    const opTimeoutMs = read.get(
      'op-timeout',
      (value) => {
        const ms = parsePositiveDuration(value);
        if (ms < nfsTimeoutMs)
          throw new ValueProblem(`${JSON.stringify(value)} is shorter than nfs-timeout; an operation needs at least one NFS call`);
        return ms;
      },
      Math.max(600_000, nfsTimeoutMs),
    );
    const memoryPerMountBytes = read.get('memory-per-mount', parseMountMemory, 64 * MiB);
    return {
      ownerView: read.get('owner-view', parseOwnerView, undefined),
      chown: read.get('chown', parseChoice(['deny', 'ignore']), 'ignore'),
      attrTimeoutMs: read.get('attr-timeout', parseCacheTime, 1000),
      entryTimeoutMs: read.get('entry-timeout', parseCacheTime, 1000),
      negativeTimeoutMs: read.get('negative-timeout', parseCacheTime, 0),
      nfsTimeoutMs,
      opTimeoutMs,
      maxUncommittedBytes: read.get('max-uncommitted', parseUncommitted, 64 * 1024 * 1024),
      readOnly: read.get('read-only', parseBoolean, false),
      privilegedPort: read.get('privileged-port', parseBoolean, true),
      memoryPerMountBytes,
      memoryPerProcessBytes: read.get(
        'memory-per-process',
        (value) => {
          const bytes = parseMountMemory(value);
          if (bytes < memoryPerMountBytes)
            throw new ValueProblem(`${JSON.stringify(value)} is below memory-per-mount; one mount could never use its share`);
          return bytes;
        },
        Math.max(192 * MiB, memoryPerMountBytes),
      ),
      maxMountsPerNode: read.get('max-mounts-per-node', parseCount, 100),
      qos: {
        bytesPerSecond: read.get('qos-bytes-per-second', parseByteRate, undefined),
        opsPerSecond: read.get('qos-ops-per-second', parseOpRate, undefined),
      },
    };
  },
};
