// [kubernetes]: how kidfs reaches the API server.
import { resolve } from 'node:path';
import { SectionReader, type ConfigSection } from '../config-section.ts';
import { parseBoolean, parseDuration, parseNonEmpty } from '../values.ts';

export interface KubernetesConfig {
  /** Kubeconfig file for running outside a cluster (absolute); undefined = in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** Context in the kubeconfig; undefined = its current-context. */
  readonly context: string | undefined;
  /** Audience the pods' bound tokens must carry (the CSIDriver's tokenRequests audience). */
  readonly tokenAudience: string;
  /** Refuse pod mounts that come without a bound service-account token. */
  readonly requireToken: boolean;
  /** Longest wait for one API request. */
  readonly timeoutMs: number;
}

const keys = ['kubeconfig', 'context', 'token-audience', 'require-token', 'timeout'] as const;

export const kubernetesSection: ConfigSection<KubernetesConfig> = {
  name: 'kubernetes',
  parse(section, context) {
    const read = new SectionReader('kubernetes', section, context, keys);
    return {
      kubeconfig: read.get('kubeconfig', (v): string | undefined => resolve(context.dir, v), undefined),
      context: read.get('context', (v): string | undefined => v, undefined),
      tokenAudience: read.get('token-audience', parseNonEmpty, 'kidfs'),
      requireToken: read.get('require-token', parseBoolean, false),
      timeoutMs: read.get('timeout', parseDuration, 10_000),
    };
  },
};
