// What the mount manager needs from src/identity: a verified identity for a pod, and whether a recorded
// pod still exists (recovery cleans up after pods that are gone).
import type { Identity, IdentityResolver, PodInfo } from '../identity/index.ts';

import type { PodRef } from './publish-request.ts';

export interface IdentitySource {
  /** The pod's verified identity; without a pod, what [identity] unidentified says. Throws IdentityError. */
  resolve(pod: PodInfo | undefined): Promise<Identity>;
  /** True when the API server says the pod is deleted, replaced (another uid) or finished. Throws IdentityError when it cannot tell. */
  podGone(pod: PodRef): Promise<boolean>;
}

export function resolverIdentitySource(resolver: IdentityResolver): IdentitySource {
  return {
    resolve: (pod) => resolver.resolve(pod),
    async podGone(pod) {
      const found = await resolver.kubernetes().api.readPod(pod.namespace, pod.podName);
      const phase = found?.status?.phase;
      return !found || found.metadata?.uid !== pod.podUid || phase === 'Succeeded' || phase === 'Failed';
    },
  };
}
