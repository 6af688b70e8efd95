// What a front end (CSI, FlexVolume over the control socket) asks the mount manager for, already parsed
// and checked: one per-pod mount of an export directory at a target path.
import { isAbsolute, normalize } from 'node:path';
import type { QosLimits } from '../config/index.ts';
import type { PodInfo } from '../identity/index.ts';
import { formatNfsUrl, type NfsUrl } from '../nfs/index.ts';
import { invalidField } from '../csi/index.ts';

/** The pod a mount is for, as kubelet names it (verified against the API server before any mount). */
export type PodRef = Omit<PodInfo, 'token'>;

/** A bound service-account token for kidfs's audience, as kubelet hands it over (CSI tokenRequests). */
export interface PodToken {
  readonly token: string;
  /** RFC 3339, as kubelet sends it; absent when unknown. */
  readonly expiresAt?: string;
}

export interface PublishRequest {
  readonly volumeId: string;
  /** Absolute, normalized. */
  readonly target: string;
  /** The NFS export (server, export path, optional ports). */
  readonly export: NfsUrl;
  /** Directory under the export, relative and checked by checkSubDir; '' for the export itself. */
  readonly subDir: string;
  readonly readOnly: boolean;
  /** QoS the volume's attributes set (an admin's); absent: [mount]'s defaults. */
  readonly qos?: Partial<QosLimits>;
  /** Absent: a mount without pod information ([identity] unidentified decides). */
  readonly pod?: PodRef;
  readonly token?: PodToken;
  /** The attributes came from the pod's author (CSI inline volume, FlexVolume), not from an admin. */
  readonly ephemeral: boolean;
  /** Which front end asked. */
  readonly via: 'csi' | 'flexvolume';
}

/** Same mount: everything but the token (a republish brings fresh tokens for the same mount). */
export function sameMount(a: PublishRequest, b: PublishRequest): boolean {
  const pod = (p?: PodRef) => (p ? `${p.namespace}/${p.podName}/${p.podUid}/${p.serviceAccount}` : '-');
  return (
    a.volumeId === b.volumeId &&
    a.target === b.target &&
    formatNfsUrl(a.export) === formatNfsUrl(b.export) &&
    a.subDir === b.subDir &&
    a.readOnly === b.readOnly &&
    pod(a.pod) === pod(b.pod) &&
    a.ephemeral === b.ephemeral &&
    a.via === b.via
  );
}

/** What differs between two requests for one target, for the ALREADY_EXISTS message. */
export function mountDifference(existing: PublishRequest, wanted: PublishRequest): string {
  const fields: [string, (r: PublishRequest) => unknown][] = [
    ['volume', (r) => r.volumeId],
    ['export', (r) => formatNfsUrl(r.export)],
    ['subDir', (r) => r.subDir],
    ['read-only', (r) => r.readOnly],
    ['pod', (r) => r.pod && `${r.pod.namespace}/${r.pod.podName} (uid ${r.pod.podUid})`],
    ['service account', (r) => r.pod?.serviceAccount],
    ['ephemeral', (r) => r.ephemeral],
    ['front end', (r) => r.via],
  ];
  const differing = fields
    .filter(([, get]) => get(existing) !== get(wanted))
    .map(([name, get]) => `${name} ${JSON.stringify(get(existing) ?? null)} (asked: ${JSON.stringify(get(wanted) ?? null)})`);
  return differing.join(', ');
}

/** Checks a target path: absolute, normalized, no NUL. Returns it. */
export function checkTargetPath(value: string, field: string): string {
  if (value === '') throw invalidField(field, 'is required');
  if (value.includes('\0')) throw invalidField(field, 'contains a NUL byte');
  if (!isAbsolute(value)) throw invalidField(field, `${JSON.stringify(value)} is not an absolute path`);
  if (normalize(value) !== value || (value.length > 1 && value.endsWith('/'))) {
    throw invalidField(field, `${JSON.stringify(value)} is not a normalized path (no //, ., .. or trailing /)`);
  }
  if (value === '/') throw invalidField(field, 'cannot be /');
  return value;
}
