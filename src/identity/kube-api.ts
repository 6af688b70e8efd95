// The few API server calls kidfs makes, through @kubernetes/client-node, each bounded by [kubernetes] timeout.
// Failures to talk to the API server become one-line IdentityErrors of kind `unavailable` (fail closed);
// "not found" and "conflict" are answers, returned to the caller.
import {
  AuthenticationV1Api, CoreV1Api, createConfiguration, FetchError, ServerConfiguration,
  type KubeConfig, type Middleware, type RequestContext, type ResponseContext,
  type V1ConfigMap, type V1Namespace, type V1Pod, type V1ServiceAccount, type V1TokenReviewStatus,
} from '@kubernetes/client-node';
import { IdentityError } from './identity.ts';

export class KubeApi {
  private readonly core: CoreV1Api;
  private readonly authentication: AuthenticationV1Api;
  readonly server: string;

  constructor(kubeConfig: KubeConfig, private readonly timeoutMs: number) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new IdentityError('unavailable', 'the kubeconfig has no current cluster');
    this.server = cluster.server;
    // What KubeConfig.makeApiClient builds, plus a deadline on every request.
    const deadline: Middleware = {
      pre: async (request: RequestContext) => {
        request.setSignal(AbortSignal.timeout(timeoutMs));
        return request;
      },
      post: async (response: ResponseContext) => response,
    };
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [deadline],
    });
    this.core = new CoreV1Api(configuration);
    this.authentication = new AuthenticationV1Api(configuration);
  }

  readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.orNotFound(`read pod ${namespace}/${name}`, () => this.core.readNamespacedPod({ namespace, name }));
  }

  readServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return this.orNotFound(`read serviceaccount ${namespace}/${name}`,
      () => this.core.readNamespacedServiceAccount({ namespace, name }));
  }

  async listNamespaces(): Promise<V1Namespace[]> {
    return (await this.call('list namespaces', () => this.core.listNamespace())).items;
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.orNotFound(`read configmap ${namespace}/${name}`, () => this.core.readNamespacedConfigMap({ namespace, name }));
  }

  /** Creates it; `conflict` when it exists already (another node was first). */
  createConfigMap(body: V1ConfigMap): Promise<'done' | 'conflict'> {
    const namespace = body.metadata!.namespace!;
    return this.orConflict(`create configmap ${namespace}/${body.metadata!.name}`,
      () => this.core.createNamespacedConfigMap({ namespace, body }));
  }

  /** Replaces it if its metadata.resourceVersion is still current; `conflict` when someone changed it since. */
  replaceConfigMap(body: V1ConfigMap): Promise<'done' | 'conflict'> {
    const namespace = body.metadata!.namespace!;
    const name = body.metadata!.name!;
    return this.orConflict(`update configmap ${namespace}/${name}`,
      () => this.core.replaceNamespacedConfigMap({ namespace, name, body }));
  }

  async reviewToken(token: string, audience: string): Promise<V1TokenReviewStatus> {
    const review = await this.call('create tokenreview', () => this.authentication.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
    }));
    return review.status ?? {};
  }

  private async orNotFound<T>(what: string, request: () => Promise<T>): Promise<T | undefined> {
    try {
      return await request();
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw this.explain(what, err);
    }
  }

  private async orConflict(what: string, request: () => Promise<unknown>): Promise<'done' | 'conflict'> {
    try {
      await request();
      return 'done';
    } catch (err) {
      if (statusCode(err) === 409) return 'conflict';
      throw this.explain(what, err);
    }
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.explain(what, err);
    }
  }

  /** One line saying why the request failed and what to look at. */
  private explain(what: string, err: unknown): IdentityError {
    const code = statusCode(err);
    const prefix = `Kubernetes API server ${this.server}: cannot ${what}`;
    if (code === 401) {
      return new IdentityError('unavailable', `${prefix}: 401 Unauthorized (kidfs's token or client certificate was not accepted)`);
    }
    if (code === 403) {
      return new IdentityError('unavailable', `${prefix}: 403 Forbidden (${statusMessage(err)}); grant it to kidfs in RBAC`);
    }
    if (code !== undefined) return new IdentityError('unavailable', `${prefix}: ${code} ${statusMessage(err)}`);
    if (err instanceof Error && err.name === 'AbortError') {
      return new IdentityError('unavailable', `${prefix}: no answer within ${this.timeoutMs} ms ([kubernetes] timeout)`);
    }
    if (err instanceof FetchError) {
      const reason = err.code && tlsCodes.has(err.code)
        ? `its TLS certificate is not trusted (${err.code}); check the cluster CA`
        : `unreachable (${err.code ?? err.message})`;
      return new IdentityError('unavailable', `${prefix}: ${reason}`);
    }
    return new IdentityError('unavailable', `${prefix}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The HTTP status of an ApiException (the client's error for non-2xx answers). */
function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `message` of the Status object the API server sent, else the status line. */
function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // not JSON: fall through to the raw text
    }
    if (body.trim() !== '') return body.trim().split('\n')[0]!;
  }
  return 'error';
}
