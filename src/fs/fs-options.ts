// How a kidfs file system behaves: caches, write-back and read-ahead sizes, the ownership view. Checked once, at construction.
import type { Credential } from '../nfs/index.ts';
import { MountMemoryBudget } from './memory-budget.ts';
import type { NfsExportView } from './nfs-operations.ts';
import type { QosShare } from './rate-limit.ts';

/** What to do with chown/chgrp to an owner this mount cannot act as: refuse with EPERM, or report success and change nothing. */
export type ChownPolicy = 'deny' | 'ignore';

export interface FileSystemOptions {
  /** The export to present: its client (shareable by many file systems), root handle and FSINFO limits. */
  readonly export: NfsExportView;
  /** Who every call acts as on the server. Never uid 0. */
  readonly credential: Credential;
  /** How long cached attributes are used before asking the server again (default 1000; 0: always ask). */
  readonly attrTimeoutMs?: number;
  /** How long a looked-up path keeps its handle before LOOKUP again (default: attrTimeoutMs). */
  readonly entryTimeoutMs?: number;
  /** Present files the server says the credential owns as owned by this uid/gid (default: shown as they are). */
  readonly ownerView?: { readonly uid: number; readonly gid: number };
  /** chown/chgrp to anyone but the identity and its groups (default 'ignore'). */
  readonly chownPolicy?: ChownPolicy;
  /** Sequential writes are gathered into WRITEs of this size (default 1 MiB, at most FSINFO wtmax). */
  readonly writeChunkBytes?: number;
  /** UNSTABLE WRITEs one file may have in flight (default 16). */
  readonly writesInFlight?: number;
  /** Data one file may hold that the server has not committed; past it writes wait for a COMMIT (default 64 MiB). */
  readonly maxUncommittedBytes?: number;
  /** COMMIT rounds that may find a restarted server (and send the data again) before fsync fails (default 5). */
  readonly commitRetries?: number;
  /** Size of one read-ahead READ (default 1 MiB, at most FSINFO rtmax). */
  readonly readAheadBytes?: number;
  /** Read-ahead READs one open file may have ahead of the reader (default 4; 0 turns read-ahead off). */
  readonly readAheadWindow?: number;
  /** Cached paths and attributes before the caches start over (default 10000 each: ~4 MiB, whatever a tenant lists). */
  readonly maxCacheEntries?: number;
  /**
   * This mount's share of its process's memory budget for write-back, read-ahead and their pooled buffers (default: a
   * budget of its own of 64 MiB).
   */
  readonly memory?: MountMemoryBudget;
  /** The rates this mount shares with its identity's other mounts (default: none, no limit). */
  readonly qos?: QosShare;
}

export interface ResolvedOptions {
  readonly attrTimeoutMs: number;
  readonly entryTimeoutMs: number;
  readonly chownPolicy: ChownPolicy;
  readonly writeChunkBytes: number;
  readonly writesInFlight: number;
  readonly maxUncommittedBytes: number;
  readonly commitRetries: number;
  readonly readAheadBytes: number;
  readonly readAheadWindow: number;
  readonly maxCacheEntries: number;
  readonly memory: MountMemoryBudget;
  readonly qos: QosShare | undefined;
}

const MiB = 1024 * 1024;

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min)
    throw new RangeError(`file system option ${name} must be a whole number of at least ${min}, got ${v}`);
  return v;
}

export function resolveOptions(o: FileSystemOptions): ResolvedOptions {
  const { credential, export: nfs } = o;
  if (credential.uid === 0) {
    throw new Error('kidfs never acts as uid 0 on the server: map the identity to a uid other than 0');
  }
  if (o.ownerView) {
    count('ownerView.uid', o.ownerView.uid, 0, 0);
    count('ownerView.gid', o.ownerView.gid, 0, 0);
  }
  if (o.chownPolicy !== undefined && o.chownPolicy !== 'deny' && o.chownPolicy !== 'ignore') {
    throw new RangeError(`file system option chownPolicy must be 'deny' or 'ignore', got '${String(o.chownPolicy)}'`);
  }
  const attrTimeoutMs = count('attrTimeoutMs', o.attrTimeoutMs, 1000, 0);
  const writeChunkBytes = Math.min(count('writeChunkBytes', o.writeChunkBytes, MiB, 4096), nfs.fsinfo.wtmax || MiB);
  const maxUncommittedBytes = count('maxUncommittedBytes', o.maxUncommittedBytes, 64 * MiB, 1);
  if (maxUncommittedBytes < 2 * writeChunkBytes) {
    throw new RangeError(
      `file system option maxUncommittedBytes (${maxUncommittedBytes}) must be at least two write chunks (${2 * writeChunkBytes})`,
    );
  }
  if (o.memory && o.memory.limitBytes < 2 * writeChunkBytes) {
    throw new RangeError(
      `file system option memory (a budget of ${o.memory.limitBytes} bytes) must hold at least two write chunks (${2 * writeChunkBytes})`,
    );
  }
  return {
    attrTimeoutMs,
    entryTimeoutMs: count('entryTimeoutMs', o.entryTimeoutMs, attrTimeoutMs, 0),
    chownPolicy: o.chownPolicy ?? 'ignore',
    writeChunkBytes,
    writesInFlight: count('writesInFlight', o.writesInFlight, 16, 1),
    maxUncommittedBytes,
    commitRetries: count('commitRetries', o.commitRetries, 5, 0),
    readAheadBytes: Math.min(count('readAheadBytes', o.readAheadBytes, MiB, 4096), nfs.fsinfo.rtmax || MiB),
    readAheadWindow: count('readAheadWindow', o.readAheadWindow, 4, 0),
    maxCacheEntries: count('maxCacheEntries', o.maxCacheEntries, 10_000, 1),
    memory: o.memory ?? MountMemoryBudget.standalone(64 * MiB),
    qos: o.qos,
  };
}
