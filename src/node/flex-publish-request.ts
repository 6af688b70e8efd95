// FlexVolume mount options -> PublishRequest, in the daemon. kubelet sends the pod's information under
// kubernetes.io/* and the volume's own options beside them. kidfs cannot tell a FlexVolume in a pod's spec
// from one in a PersistentVolume, so its options are always treated as the pod author's: they only pick an
// export the admin allowed (kidfs node --pod-export) and a subDir in it. FlexVolume carries no bound token, and
// kubelet lets the pod author's options override its kubernetes.io/pod.* keys: the mount directory, which the
// author cannot choose, must be the claimed pod's.
import type { NfsUrl } from '../nfs/index.ts';
import { invalidField, readVolumeSource } from '../csi/index.ts';
import { checkTargetOfPod, readPodRef, type PodKeys } from './pod-ref.ts';
import { checkTargetPath, type PublishRequest } from './publish-request.ts';

export const FLEX_POD_KEYS: PodKeys = {
  namespace: 'kubernetes.io/pod.namespace',
  name: 'kubernetes.io/pod.name',
  uid: 'kubernetes.io/pod.uid',
  serviceAccount: 'kubernetes.io/serviceAccount.name',
};
export const READWRITE_KEY = 'kubernetes.io/readwrite';
export const VOLUME_NAME_KEY = 'kubernetes.io/pvOrVolumeName';

export function publishRequestFromFlex(
  target: string,
  options: Readonly<Record<string, string>>,
  rules: { readonly podExports: readonly NfsUrl[]; readonly kubeletDir: string },
): PublishRequest {
  const field = (key: string) => `option ${JSON.stringify(key)}`;
  const checkedTarget = checkTargetPath(target, 'mount directory');
  const pod = readPodRef(options, FLEX_POD_KEYS, field);
  if (!pod) throw invalidField(field(FLEX_POD_KEYS.name), 'is missing: kidfs mounts FlexVolumes only for a known pod');
  checkTargetOfPod(checkedTarget, pod, rules.kubeletDir, 'mount directory');
  const readwrite = options[READWRITE_KEY] ?? 'rw';
  if (readwrite !== 'rw' && readwrite !== 'ro') throw invalidField(field(READWRITE_KEY), `is ${JSON.stringify(readwrite)}, not rw or ro`);
  const source = readVolumeSource(options, { untrusted: true, podExports: rules.podExports, field });
  return {
    volumeId: options[VOLUME_NAME_KEY] || `flexvolume:${checkedTarget}`,
    target: checkedTarget,
    export: source.export,
    subDir: source.subDir,
    readOnly: readwrite === 'ro',
    pod,
    ephemeral: true,
    via: 'flexvolume',
  };
}
