// The standalone mounts of this machine (`kidfs mount`, no node daemon), from their records, each asked for what it
// holds right now: `kidfs status` lists them.
import { KIDFS_FSTYPE, mountAt } from '../mount/index.ts';
import { isRunning, readAllRecords } from './standalone-records.ts';
import { askMount, type MountUse } from './standalone-socket.ts';

export interface StandaloneMount {
  readonly target: string;
  readonly export: string;
  /** `<namespace>/<serviceaccount>` and what it maps to. */
  readonly identity: { readonly account: string; readonly uid: number; readonly gid: number; readonly groups: readonly number[] };
  readonly readOnly: boolean;
  readonly pid: number;
  readonly startedAt: string;
  /**
   * serving: its process answers; not answering: its process runs but did not answer; dead: still mounted, its process
   * gone (callers get ENOTCONN: `kidfs unmount` clears it); gone: neither mounted nor running (a record left behind).
   */
  readonly state: 'serving' | 'not answering' | 'dead' | 'gone';
  /** What it holds, when it answered. */
  readonly use?: MountUse;
}

export async function standaloneMounts(): Promise<StandaloneMount[]> {
  return Promise.all(
    (await readAllRecords()).map(async (record) => {
      const running = isRunning(record);
      const use = running ? (await askMount(record.target, { op: 'status' }).catch(() => undefined))?.use : undefined;
      const mounted = (await mountAt(record.target))?.fstype === KIDFS_FSTYPE;
      const state = running ? (use ? 'serving' : 'not answering') : mounted ? 'dead' : 'gone';
      return {
        target: record.target,
        export: record.url,
        identity: { account: record.identity, uid: record.uid, gid: record.gid, groups: record.groups },
        readOnly: record.readOnly,
        pid: record.pid,
        startedAt: record.startedAt,
        state,
        ...(use ? { use } : {}),
      };
    }),
  );
}
