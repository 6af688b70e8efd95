// The record a running `kidfs mount` keeps of itself, so that `kidfs unmount` signals exactly that process:
// /run/kidfs/mounts/<escaped target>.json, with the process's pid and start time (a reused pid never matches).
// The mount's log (when it runs in the background) sits next to it as <escaped target>.log.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MOUNT_RECORD_DIR = '/run/kidfs/mounts';

/** Where records are kept: MOUNT_RECORD_DIR, or $KIDFS_MOUNT_RECORDS (a CLI in a container with /run/kidfs elsewhere, tests). */
export const mountRecordDir = (): string => process.env['KIDFS_MOUNT_RECORDS'] || MOUNT_RECORD_DIR;

export interface StandaloneRecord {
  readonly target: string;
  readonly pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot): with the pid, names one process for good. */
  readonly startTime: string;
  readonly url: string;
  /** `<namespace>/<serviceaccount>` */
  readonly identity: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly readOnly: boolean;
  readonly startedAt: string;
}

/** systemd-escape's idea, readable in `ls`: /mnt/a-b -> mnt-a%2db; long paths end in a hash. */
function escapeTarget(target: string): string {
  const escaped = target
    .replace(/^\/+/, '')
    .replace(/[^A-Za-z0-9_./]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''))
    .replace(/\//g, '-');
  if (escaped.length <= 200) return escaped || '-';
  return `${escaped.slice(0, 150)}~${createHash('sha256').update(target).digest('hex').slice(0, 16)}`;
}

export const recordPath = (target: string): string => join(mountRecordDir(), `${escapeTarget(target)}.json`);
export const logPath = (target: string): string => join(mountRecordDir(), `${escapeTarget(target)}.log`);

/** Fields 3 on of /proc/<pid>/stat (state, ppid, ...), or undefined when there is no such process. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses, so count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of a process (field 22), or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/**
 * Is the recorded process still the one running under that pid? A zombie (state Z) with no thread left has exited,
 * its files (the FUSE connection) closed; only its parent has not reaped it yet, which for a detached mount process is
 * init, on its own schedule (seconds in some containers, never under a PID 1 that does not reap). A zombie leader
 * whose other threads are still exiting still runs.
 */
export function isRunning(record: Pick<StandaloneRecord, 'pid' | 'startTime'>): boolean {
  const fields = statFields(record.pid);
  if (fields?.[19] !== record.startTime) return false;
  return !(fields[0] === 'Z' && fields[17] === '1'); // state, num_threads
}

export async function writeRecord(record: StandaloneRecord): Promise<void> {
  await mkdir(mountRecordDir(), { recursive: true, mode: 0o755 });
  const path = recordPath(record.target);
  await writeFile(`${path}.${record.pid}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  await rename(`${path}.${record.pid}.tmp`, path);
}

/** The record for `target`, or undefined when there is none (or it cannot be read: it then means nothing). */
export async function readRecord(target: string): Promise<StandaloneRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath(target), 'utf8')) as StandaloneRecord;
    return record.target === target && Number.isInteger(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Every record kept, in target order (those that cannot be read are left out). */
export async function readAllRecords(): Promise<StandaloneRecord[]> {
  const names = await readdir(mountRecordDir()).catch(() => [] as string[]);
  const records = await Promise.all(
    names
      .filter((name) => name.endsWith('.json'))
      .map(async (name) => {
        try {
          return JSON.parse(await readFile(join(mountRecordDir(), name), 'utf8')) as StandaloneRecord;
        } catch {
          return undefined;
        }
      }),
  );
  return records
    .filter((r): r is StandaloneRecord => typeof r?.target === 'string' && Number.isInteger(r.pid))
    .sort((a, b) => a.target.localeCompare(b.target));
}

/** Removes the record of `target` if it is `pid`'s (a newer mount on the same target keeps its own). */
export async function removeRecord(target: string, pid: number): Promise<void> {
  const record = await readRecord(target);
  if (!record || record.pid === pid) await rm(recordPath(target), { force: true });
}
