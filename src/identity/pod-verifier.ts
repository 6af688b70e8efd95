// Checks what kubelet said about a mounting pod against the API server, and its bound token with TokenReview.
// Every mismatch is a refusal naming the field that did not match, and only values the request itself gave:
// a refusal never tells the requester another pod's uid, node or service account.
import { isDnsLabel, isDnsSubdomain } from '../config/index.ts';
import { IdentityError, type PodInfo } from './identity.ts';
import type { KubeApi } from './kube-api.ts';

export interface PodChecks {
  /** This node's name; undefined = unknown, and then no pod can be verified. */
  readonly nodeName: string | undefined;
  readonly tokenAudience: string;
  readonly requireToken: boolean;
}

/** The claim a bound service-account token carries about its pod (TokenReview status.user.extra). */
export const POD_UID_CLAIM = 'authentication.kubernetes.io/pod-uid';

const refuse = (pod: PodInfo, reason: string): IdentityError =>
  new IdentityError('refused', `pod ${pod.namespace}/${pod.podName}: ${reason}`);

/** Resolves when the pod is who kubelet says it is; throws IdentityError otherwise. */
export async function verifyPod(api: KubeApi, request: PodInfo, checks: PodChecks): Promise<void> {
  // An empty token is no token (a CSI request may carry an empty tokens map).
  const pod = request.token === '' ? { ...request, token: undefined } : request;
  checkShape(pod);
  if (checks.nodeName === undefined) {
    throw refuse(pod, "this node's name is unknown: set [identity] node-name or NODE_NAME (from the downward API spec.nodeName)");
  }
  if (pod.token === undefined && checks.requireToken) {
    throw refuse(
      pod,
      "no service-account token came with the mount and [kubernetes] require-token = yes (check the CSIDriver's tokenRequests)",
    );
  }
  const found = await api.readPod(pod.namespace, pod.podName);
  // One answer for "no such pod" and "a pod of that name with another uid": a requester that names another pod
  // must not learn whether it exists.
  if (found?.metadata?.uid !== pod.podUid)
    throw refuse(pod, `the API server has no such pod with metadata.uid ${quote(pod.podUid)} as the mount request said`);
  const node = found.spec?.nodeName;
  if (node !== checks.nodeName) throw refuse(pod, `its spec.nodeName is not this node ${quote(checks.nodeName)}`);
  // The API server fills in "default" when a pod names no service account.
  const serviceAccount = found.spec?.serviceAccountName || 'default';
  if (serviceAccount !== pod.serviceAccount) {
    throw refuse(pod, `its spec.serviceAccountName is not ${quote(pod.serviceAccount)} as the mount request said`);
  }
  const phase = found.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw refuse(pod, `has finished (status.phase ${phase})`);
  if (pod.token !== undefined) await verifyToken(api, pod, checks.tokenAudience);
}

async function verifyToken(api: KubeApi, pod: PodInfo, audience: string): Promise<void> {
  const status = await api.reviewToken(pod.token!, audience);
  if (!status.authenticated) {
    throw refuse(pod, `its service-account token was not accepted by TokenReview (status.error: ${status.error || 'none given'})`);
  }
  const expectedUser = `system:serviceaccount:${pod.namespace}:${pod.serviceAccount}`;
  const username = status.user?.username;
  if (username !== expectedUser) {
    throw refuse(pod, `its token does not belong to ${expectedUser} (status.user.username)`);
  }
  if (!(status.audiences ?? []).includes(audience)) {
    throw refuse(pod, `its token is not for audience ${quote(audience)} (status.audiences)`);
  }
  const boundTo = status.user?.extra?.[POD_UID_CLAIM];
  if (!boundTo || boundTo.length !== 1) {
    throw refuse(pod, `its token is not bound to a pod (status.user.extra["${POD_UID_CLAIM}"] missing)`);
  }
  if (boundTo[0] !== pod.podUid) {
    throw refuse(pod, `its token is not bound to pod uid ${quote(pod.podUid)} (status.user.extra["${POD_UID_CLAIM}"])`);
  }
}

/** Refuses input that cannot be a real pod before it goes into a URL. */
function checkShape(pod: PodInfo): void {
  if (!isDnsLabel(pod.namespace)) throw refuse(pod, `namespace ${quote(pod.namespace)} is not a valid namespace name`);
  if (!isDnsSubdomain(pod.podName)) throw refuse(pod, `pod name ${quote(pod.podName)} is not a valid name`);
  if (!isDnsSubdomain(pod.serviceAccount)) throw refuse(pod, `service account ${quote(pod.serviceAccount)} is not a valid name`);
  if (!/^[0-9a-f-]{1,64}$/.test(pod.podUid)) throw refuse(pod, `pod uid ${quote(pod.podUid)} is not a UID`);
}

const quote = (value: string | undefined): string => (value === undefined ? '(none)' : JSON.stringify(value));
