// The few API server calls kidfs makes, through @kubernetes/client-node, each bounded by [kubernetes] timeout.
// Failures to talk to the API server become one-line IdentityErrors of kind `unavailable` (fail closed);
// "not found" and "conflict" are answers, returned to the caller.
// The client library is loaded on the first request: it is ~900 modules, seconds of start-up on a busy node and ~80 MB
// of memory in every process that loads it, and most kidfs processes (a mount with source = static, the CLI) never ask.
import type {
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  Middleware,
  RequestContext,
  ResponseContext,
  V1ConfigMap,
  V1Namespace,
  V1Pod,
  V1ServiceAccount,
  V1TokenReviewStatus,
} from '@kubernetes/client-node';
import { IdentityError } from './identity.ts';

interface Connection {
  readonly server: string;
  readonly core: CoreV1Api;
  readonly authentication: AuthenticationV1Api;
  readonly FetchError: typeof import('@kubernetes/client-node').FetchError;
}

export class KubeApi {
  private connection: Promise<Connection> | undefined;

  /** `kubeConfig` is asked for on the first request (again after it failed). */
  constructor(
    private readonly kubeConfig: () => Promise<KubeConfig>,
    private readonly timeoutMs: number,
  ) {}

  readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.orNotFound(`read pod ${namespace}/${name}`, ({ core }) => core.readNamespacedPod({ namespace, name }));
  }

  readServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return this.orNotFound(`read serviceaccount ${namespace}/${name}`, ({ core }) =>
      core.readNamespacedServiceAccount({ namespace, name }),
    );
  }

  async listNamespaces(): Promise<V1Namespace[]> {
    return (await this.call('list namespaces', ({ core }) => core.listNamespace())).items;
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.orNotFound(`read configmap ${namespace}/${name}`, ({ core }) => core.readNamespacedConfigMap({ namespace, name }));
  }

  /** Creates it; `conflict` when it exists already (another node was first). */
  createConfigMap(body: V1ConfigMap): Promise<'done' | 'conflict'> {
    const namespace = body.metadata!.namespace!;
    return this.orConflict(`create configmap ${namespace}/${body.metadata!.name}`, ({ core }) =>
      core.createNamespacedConfigMap({ namespace, body }),
    );
  }

  /** Replaces it if its metadata.resourceVersion is still current; `conflict` when someone changed it since. */
  replaceConfigMap(body: V1ConfigMap): Promise<'done' | 'conflict'> {
    const namespace = body.metadata!.namespace!;
    const name = body.metadata!.name!;
    return this.orConflict(`update configmap ${namespace}/${name}`, ({ core }) =>
      core.replaceNamespacedConfigMap({ namespace, name, body }),
    );
  }

  async reviewToken(token: string, audience: string): Promise<V1TokenReviewStatus> {
    const review = await this.call('create tokenreview', ({ authentication }) =>
      authentication.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
      }),
    );
    return review.status ?? {};
  }

  private async orNotFound<T>(what: string, request: (connection: Connection) => Promise<T>): Promise<T | undefined> {
    const connection = await this.connect();
    try {
      return await request(connection);
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw this.explain(connection, what, err);
    }
  }

  private async orConflict(what: string, request: (connection: Connection) => Promise<unknown>): Promise<'done' | 'conflict'> {
    const connection = await this.connect();
    try {
      await request(connection);
      return 'done';
    } catch (err) {
      if (statusCode(err) === 409) return 'conflict';
      throw this.explain(connection, what, err);
    }
  }

  private async call<T>(what: string, request: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await this.connect();
    try {
      return await request(connection);
    } catch (err) {
      throw this.explain(connection, what, err);
    }
  }

  private connect(): Promise<Connection> {
    if (!this.connection) {
      this.connection = this.open();
      // A kubeconfig that could not be loaded may be there at the next request.
      this.connection.catch(() => (this.connection = undefined));
    }
    return this.connection;
  }

  /** What KubeConfig.makeApiClient builds, plus a deadline on every request. */
  private async open(): Promise<Connection> {
    const kubeConfig = await this.kubeConfig();
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new IdentityError('unavailable', 'the kubeconfig has no current cluster');
    const { AuthenticationV1Api, CoreV1Api, createConfiguration, FetchError, ServerConfiguration } =
      await import('@kubernetes/client-node');
    const deadline: Middleware = {
      pre: async (request: RequestContext) => {
        request.setSignal(AbortSignal.timeout(this.timeoutMs));
        return request;
      },
      post: async (response: ResponseContext) => response,
    };
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [deadline],
    });
    return {
      server: cluster.server,
      core: new CoreV1Api(configuration),
      authentication: new AuthenticationV1Api(configuration),
      FetchError,
    };
  }

  /** One line saying why the request failed and what to look at. */
  private explain({ server, FetchError }: Connection, what: string, err: unknown): IdentityError {
    const code = statusCode(err);
    const prefix = `Kubernetes API server ${server}: cannot ${what}`;
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
      const reason =
        err.code && tlsCodes.has(err.code)
          ? `its TLS certificate is not trusted (${err.code}); check the cluster CA`
          : `unreachable (${err.code ?? err.message})`;
      return new IdentityError('unavailable', `${prefix}: ${reason}`);
    }
    return new IdentityError('unavailable', `${prefix}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
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
