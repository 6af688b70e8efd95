// The entry point of src/identity: a mount request -> one verified Identity, or an IdentityError.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KidfsConfig } from '../config/index.ts';
import { accountKey, IdentityError, type Identity, type PodInfo, type ServiceAccountRef } from './identity.ts';
import { KubeApi } from './kube-api.ts';
import { makeKubeConfig } from './kube-config.ts';
import { KubernetesSource } from './kubernetes-source.ts';
import { staticIdentity } from './mapping-policy.ts';
import { verifyPod } from './pod-verifier.ts';
import { TtlCache } from './ttl-cache.ts';
import { UidAllocations } from './uid-allocations.ts';

export interface ResolverOptions {
  /** Use this instead of what [kubernetes] says (embedding, tests). */
  readonly kubeConfig?: KubeConfig;
  /** Environment for in-cluster configuration; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where refusals and uid records are logged, one line each; default stderr. */
  readonly log?: (line: string) => void;
}

export class IdentityResolver {
  private readonly cache: TtlCache<Identity>;
  private readonly log: (line: string) => void;
  private kubernetesParts: { api: KubeApi; source: KubernetesSource } | undefined;

  constructor(
    readonly config: KidfsConfig,
    private readonly options: ResolverOptions = {},
  ) {
    this.cache = new TtlCache(config.identity.cacheTtlMs);
    this.log = options.log ?? ((line) => process.stderr.write(`kidfs identity: ${line}\n`));
  }

  /** A pod's verified identity; without pod information, what [identity] unidentified says. */
  resolve(pod: PodInfo | undefined): Promise<Identity> {
    return pod ? this.resolvePod(pod) : this.resolveUnidentified();
  }

  /** Verifies the pod against the API server (and its token by TokenReview), then maps its service account. */
  resolvePod(pod: PodInfo): Promise<Identity> {
    const tokenHash = pod.token === undefined ? '-' : createHash('sha256').update(pod.token).digest('hex');
    const key = `pod:${pod.namespace}/${pod.podName}/${pod.podUid}/${pod.serviceAccount}/${tokenHash}`;
    return this.logged(`pod ${pod.namespace}/${pod.podName}`, () =>
      this.cache.get(key, async () => {
        const { api } = this.kubernetes();
        await verifyPod(api, pod, {
          nodeName: this.config.identity.nodeName,
          tokenAudience: this.config.kubernetes.tokenAudience,
          requireToken: this.config.kubernetes.requireToken,
        });
        return this.map({ namespace: pod.namespace, serviceAccount: pod.serviceAccount }, false);
      }),
    );
  }

  /**
   * A service account's identity without a pod (`kidfs mount --identity`, `kidfs identity`): for people who are
   * root on the node already. `dryRun`: never record a new uid; the identity says it is not recorded yet.
   */
  resolveServiceAccount(account: ServiceAccountRef, options: { dryRun?: boolean } = {}): Promise<Identity> {
    const dryRun = options.dryRun ?? false;
    const run = () => this.map(account, dryRun);
    return this.logged(accountKey(account), () => (dryRun ? run() : this.cache.get(`sa:${accountKey(account)}`, run)));
  }

  /** A mount without pod information: refused unless [identity] unidentified names a service account. */
  resolveUnidentified(): Promise<Identity> {
    const target = this.config.identity.unidentified;
    if (target === 'refuse') {
      return this.logged('unidentified mount', async () => {
        throw new IdentityError(
          'refused',
          'the mount request has no pod information (namespace, pod name, pod uid, service account) and [identity] unidentified = refuse',
        );
      });
    }
    return this.resolveServiceAccount(target).then((identity) => ({
      ...identity,
      source: `[identity] unidentified -> ${accountKey(target)}: ${identity.source}`,
    }));
  }

  /**
   * The kubernetes side, made on first use (source = static without pods never needs it). The client library loads
   * with the first API request: a process that never makes one never pays for it.
   */
  kubernetes(): { api: KubeApi; source: KubernetesSource } {
    if (!this.kubernetesParts) {
      const { kubeConfig } = this.options;
      const api = new KubeApi(
        () => (kubeConfig ? Promise.resolve(kubeConfig) : makeKubeConfig(this.config.kubernetes, this.options.env)),
        this.config.kubernetes.timeoutMs,
      );
      const allocations = new UidAllocations(api, this.config.identity.uidAllocations, this.log);
      this.kubernetesParts = { api, source: new KubernetesSource(this.config, api, allocations) };
    }
    return this.kubernetesParts;
  }

  private async map(account: ServiceAccountRef, dryRun: boolean): Promise<Identity> {
    if (this.config.identity.source === 'kubernetes') return this.kubernetes().source.identity(account, dryRun);
    const entry = this.config.static.get(accountKey(account));
    if (!entry) {
      throw new IdentityError('refused', `${accountKey(account)} is not in [static] of ${this.config.file} (source = static)`);
    }
    return staticIdentity(this.config, entry);
  }

  /** Logs a failure in one line, then passes it on. */
  private async logged(subject: string, run: () => Promise<Identity>): Promise<Identity> {
    try {
      return await run();
    } catch (err) {
      const error = err instanceof IdentityError ? err : new IdentityError('unavailable', (err as Error).message);
      this.log(error.message.startsWith(subject) ? `${error.kind}: ${error.message}` : `${error.kind}: ${subject}: ${error.message}`);
      throw error;
    }
  }
}
