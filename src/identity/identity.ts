// The one Identity type of kidfs: who a mount acts as on the NFS server, and why.
import type { ServiceAccountRef } from '../config/index.ts';

export interface Identity {
  readonly uid: number;
  /** Primary gid. */
  readonly gid: number;
  /** Supplementary gids sent with every call: at most 16, without the primary gid. */
  readonly groups: readonly number[];
  /** passwd(5) name, e.g. `cms.editor` (at most 32 characters). */
  readonly name: string;
  /** Where the mapping came from, for people (`kidfs identity`, logs). */
  readonly source: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** What kubelet says about the pod a volume is mounted for (CSI podInfoOnMount / FlexVolume). */
export interface PodInfo {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly serviceAccount: string;
  /** The pod's bound service-account token for kidfs's audience (CSI tokenRequests), when kubelet sends one. */
  readonly token?: string;
}

export type { ServiceAccountRef };

/**
 * No identity. `refused`: the request or the mapping is wrong and stays wrong until someone changes it.
 * `unavailable`: kidfs could not check (API server unreachable, timeout, kidfs's own access refused); trying later may work.
 * Either way the mount must not go ahead. The message is one line naming the field or setting at fault.
 */
export class IdentityError extends Error {
  override name = 'IdentityError';
  constructor(
    readonly kind: 'refused' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

export const accountKey = (ref: ServiceAccountRef): string => `${ref.namespace}/${ref.serviceAccount}`;
