// The node daemon's control socket: a unix socket only root can open (mode 0600 in a 0700 directory),
// one JSON object per line each way. Every request carries an `id` that its response repeats.
//
//   {"id":1,"op":"mount","target":"/path","options":{...}}   FlexVolume's vocabulary: kubernetes.io/pod.name,
//                                                            kubernetes.io/readwrite, ..., server, share, subDir
//   {"id":2,"op":"unmount","target":"/path"}
//   {"id":3,"op":"status"}
//
//   {"id":1,"ok":true}                        {"id":3,"ok":true,"status":{"node":"...","mounts":[...]}}
//   {"id":2,"ok":false,"code":"INVALID_ARGUMENT","error":"one line for people"}
import type { NodeErrorCode } from '../csi/index.ts';
import type { Identity } from '../identity/index.ts';
import type { MountUsage } from '../mount/index.ts';

export type ControlRequest =
  | { readonly id: number; readonly op: 'mount'; readonly target: string; readonly options: Readonly<Record<string, string>> }
  | { readonly id: number; readonly op: 'unmount'; readonly target: string }
  | { readonly id: number; readonly op: 'status' };

/** One mount of the node daemon, as `kidfs status` shows it. */
export interface NodeMountStatus {
  readonly target: string;
  readonly volumeId: string;
  /** nfs://server/share (with ports when given) and the subDir under it. */
  readonly export: string;
  readonly subDir: string;
  readonly pod?: { readonly namespace: string; readonly name: string; readonly uid: string; readonly serviceAccount: string };
  readonly identity: Pick<Identity, 'uid' | 'gid' | 'groups' | 'name' | 'source'>;
  readonly readOnly: boolean;
  readonly ephemeral: boolean;
  readonly via: 'csi' | 'flexvolume';
  readonly publishedAt: string;
  readonly state: 'mounted' | 'not mounted';
  /** Why it is not mounted, when a recovery failed. */
  readonly problem?: string;
  /** Memory and QoS use, while this daemon serves it. */
  readonly usage?: MountUsage;
}

export interface NodeStatus {
  readonly node: string;
  readonly mounts: readonly NodeMountStatus[];
}

export type ControlResponse =
  | { readonly id: number; readonly ok: true; readonly status?: NodeStatus }
  | { readonly id: number; readonly ok: false; readonly code: NodeErrorCode; readonly error: string };

/** Longest line either side accepts (a mount request with its options is far smaller). */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Calls `onLine` for every complete line of `chunks`; `onOverflow` when a line grows past MAX_LINE_BYTES. */
export function lineSplitter(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') onLine(line);
    }
    if (Buffer.byteLength(pending) > MAX_LINE_BYTES) {
      pending = '';
      onOverflow();
    }
  };
}
