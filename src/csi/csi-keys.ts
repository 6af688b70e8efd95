// Keys Kubernetes puts into CSI requests (kubelet's podInfoOnMount and tokenRequests, external-provisioner's
// --extra-create-metadata), as kubelet and the sidecars spell them.

/** Where podInfoOnMount puts the pod (the node daemon's PodKeys). */
export const CSI_POD_KEYS = {
  namespace: 'csi.storage.k8s.io/pod.namespace',
  name: 'csi.storage.k8s.io/pod.name',
  uid: 'csi.storage.k8s.io/pod.uid',
  serviceAccount: 'csi.storage.k8s.io/serviceAccount.name',
} as const;

/** JSON {"<audience>": {"token": "...", "expirationTimestamp": "..."}}, in secrets or volume_context. */
export const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';

/** "true" for an inline (ephemeral) volume: its attributes come from the pod's author. */
export const EPHEMERAL_KEY = 'csi.storage.k8s.io/ephemeral';

/** CreateVolume parameters from external-provisioner --extra-create-metadata. */
export const PVC_NAME_KEY = 'csi.storage.k8s.io/pvc/name';
export const PVC_NAMESPACE_KEY = 'csi.storage.k8s.io/pvc/namespace';
export const PV_NAME_KEY = 'csi.storage.k8s.io/pv/name';
