// How kidfs reaches the API server: the pod's service account when running in a cluster, or a kubeconfig file.
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesConfig } from '../config/index.ts';
import { IdentityError } from './identity.ts';

/** Where kubelet mounts a pod's service-account token and the cluster CA. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * A KubeConfig per [kubernetes]: the kubeconfig file (and context) when set, else in-cluster.
 * `inClusterRoot` prefixes the service-account paths (tests lay out a fake pod filesystem there).
 * Async because it loads the client library (see kube-api.ts).
 */
export async function makeKubeConfig(
  config: KubernetesConfig,
  env: NodeJS.ProcessEnv = process.env,
  inClusterRoot = '',
): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (config.kubeconfig !== undefined) {
    try {
      kc.loadFromFile(config.kubeconfig);
    } catch (err) {
      throw new IdentityError('unavailable', `cannot load [kubernetes] kubeconfig ${config.kubeconfig}: ${(err as Error).message}`);
    }
    if (config.context !== undefined) {
      if (!kc.getContexts().some((c) => c.name === config.context)) {
        throw new IdentityError('unavailable', `[kubernetes] context ${JSON.stringify(config.context)} is not in ${config.kubeconfig}`);
      }
      kc.setCurrentContext(config.context);
    }
    if (!kc.getCurrentCluster()) {
      throw new IdentityError('unavailable', `${config.kubeconfig} has no current cluster: set [kubernetes] context`);
    }
    return kc;
  }
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new IdentityError(
      'unavailable',
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT unset): set [kubernetes] kubeconfig to reach the cluster from outside',
    );
  }
  for (const file of ['token', 'ca.crt']) {
    if (!existsSync(`${inClusterRoot}${SERVICE_ACCOUNT_DIR}/${file}`)) {
      throw new IdentityError(
        'unavailable',
        `in-cluster ${file} missing at ${inClusterRoot}${SERVICE_ACCOUNT_DIR}/${file}: give kidfs's pod a service account token (automountServiceAccountToken)`,
      );
    }
  }
  // What KubeConfig.loadFromCluster sets up, but from `env` rather than process.env: the token file is
  // re-read every minute (bound tokens rotate), and the CA file is what TLS verifies the API server against.
  kc.loadFromClusterAndUser(
    {
      name: 'in-cluster',
      server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: `${inClusterRoot}${SERVICE_ACCOUNT_DIR}/ca.crt`,
      skipTLSVerify: false,
    },
    { name: 'kidfs', authProvider: { name: 'tokenFile', config: { tokenFile: `${inClusterRoot}${SERVICE_ACCOUNT_DIR}/token` } } },
  );
  return kc;
}
