// The pod a mount is for, read from the keys kubelet adds to a mount request (CSI podInfoOnMount,
// FlexVolume's kubernetes.io/* options) and checked for shape; the API server confirms it later.
import { join } from 'node:path';
import { isDnsLabel, isDnsSubdomain } from '../config/index.ts';
import { invalidField, NodeError } from '../csi/index.ts';
import type { PodRef } from './publish-request.ts';

/** Which key holds which part of the pod reference. */
export interface PodKeys {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
}

const checks: Record<keyof PodKeys, [(value: string) => boolean, string]> = {
  namespace: [isDnsLabel, 'is not a valid namespace name'],
  name: [isDnsSubdomain, 'is not a valid pod name'],
  uid: [(v) => /^[0-9a-f-]{1,64}$/.test(v), 'is not a pod UID'],
  serviceAccount: [isDnsSubdomain, 'is not a valid service account name'],
};

/**
 * The pod, or undefined when none of the keys is present (a mount without pod information).
 * Some present and others missing, or a malformed value, is INVALID_ARGUMENT naming the key via `field`.
 */
export function readPodRef(values: Readonly<Record<string, string>>, keys: PodKeys, field: (key: string) => string): PodRef | undefined {
  const parts = Object.keys(keys) as (keyof PodKeys)[];
  if (parts.every((part) => !values[keys[part]])) return undefined;
  const read = (part: keyof PodKeys): string => {
    const value = values[keys[part]];
    if (!value) throw invalidField(field(keys[part]), 'is missing (the other pod information keys are present)');
    const [valid, problem] = checks[part];
    if (!valid(value)) throw invalidField(field(keys[part]), `${JSON.stringify(value)} ${problem}`);
    return value;
  };
  return { namespace: read('namespace'), podName: read('name'), podUid: read('uid'), serviceAccount: read('serviceAccount') };
}

/** kubelet's root directory when the daemon is not told another (kubelet --root-dir). */
export const DEFAULT_KUBELET_DIR = '/var/lib/kubelet';

/**
 * The pod uid a request claims must be the one in its target path: kubelet mounts a pod's volumes under
 * <kubelet dir>/pods/<pod uid>/volumes/, and a pod author can set the FlexVolume options that carry the
 * claim, never the path. A mismatch is PERMISSION_DENIED naming only what the request gave.
 */
export function checkTargetOfPod(target: string, pod: PodRef, kubeletDir: string, field: string): void {
  const podVolumes = `${join(kubeletDir, 'pods', pod.podUid, 'volumes')}/`;
  if (!target.startsWith(podVolumes)) {
    throw new NodeError(
      'PERMISSION_DENIED',
      `${field} ${JSON.stringify(target)} is not under ${podVolumes}, where kubelet mounts the volumes of the pod uid ${JSON.stringify(pod.podUid)} the request names`,
    );
  }
}
