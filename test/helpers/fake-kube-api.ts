// A loopback HTTPS server that answers the Kubernetes API paths kidfs uses as the real API server does:
// the same JSON shapes, Status objects for 401/403/404/409, bearer-token authentication, per-client
// permissions, resourceVersion preconditions, and TokenReview of bound service-account tokens.
// TLS uses a CA made at test time (test-certificates.ts) that the client must verify.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from './test-certificates.ts';

type Json = Record<string, unknown>;

/** What a client (bearer token) may do, as `<verb> <resource>` pairs, e.g. `get pods`; `*` for everything. */
export type Permissions = '*' | readonly string[];

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly nodeName: string;
  readonly serviceAccount: string;
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
}

interface BoundToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string;
  readonly podUid: string;
  readonly audiences: readonly string[];
  readonly expiresAt: number;
}

/** The identity kidfs's own requests carry (its service account in the kidfs namespace). */
export const KIDFS_USER = 'system:serviceaccount:kidfs:kidfs';

let certificates: TestCertificates | undefined;

export class FakeKubeApi {
  readonly certificates: TestCertificates;
  /** Every request answered: method, path, status. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  /** When set, requests are accepted and never answered (an API server that hangs). */
  stall = false;

  private server: Server | undefined;
  private portNumber = 0;
  private revision = 100;
  private readonly objects = new Map<string, Json>(); // `${resource}/${namespace}/${name}`, namespace '' for cluster-scoped
  private readonly clients = new Map<string, { user: string; permissions: Permissions }>();
  private readonly tokens = new Map<string, BoundToken>();

  constructor() {
    certificates ??= makeTestCertificates();
    this.certificates = certificates;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `https://127.0.0.1:${this.portNumber}`;
  }

  /** Starts listening (again on the same port after stop(), like an API server coming back). */
  async start(): Promise<void> {
    const server = createServer({ key: this.certificates.key, cert: this.certificates.cert }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A bearer token for a client with these permissions. */
  addClient(permissions: Permissions = '*', user = KIDFS_USER): string {
    const token = randomBytes(24).toString('base64url');
    this.clients.set(token, { user, permissions });
    return token;
  }

  /** A kubeconfig file (JSON is YAML) for the client with `token`, trusting `ca` (default: this server's CA). */
  writeKubeconfig(dir: string, token: string, ca = this.certificates.ca): string {
    const path = join(dir, `kubeconfig-${randomBytes(4).toString('hex')}`);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'fake',
        clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
        users: [{ name: 'kidfs', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'kidfs' } }],
      }),
    );
    return path;
  }

  addNamespace(name: string, annotations: Record<string, string> = {}): void {
    this.put('namespaces', '', name, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, annotations },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  addServiceAccount(namespace: string, name: string, annotations: Record<string, string> = {}): void {
    this.put('serviceaccounts', namespace, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, annotations } });
  }

  /** Adds (or replaces) a pod; returns its uid. */
  addPod(pod: FakePod): string {
    const uid = pod.uid ?? randomUUID();
    this.put(
      'pods',
      pod.namespace,
      pod.name,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod.name, namespace: pod.namespace, uid },
        spec: {
          nodeName: pod.nodeName,
          serviceAccountName: pod.serviceAccount,
          serviceAccount: pod.serviceAccount,
          containers: [{ name: 'app', image: 'registry.example/app:1' }],
        },
        status: { phase: pod.phase ?? 'Running' },
      },
      uid,
    );
    return uid;
  }

  /** A bound service-account token for a pod, as kubelet requests one (CSI tokenRequests). */
  issueToken(
    pod: { namespace: string; name: string; serviceAccount: string; uid: string },
    audiences: readonly string[],
    lifetimeMs = 3_600_000,
  ): string {
    const token = `eyJ${randomBytes(32).toString('base64url')}`;
    this.tokens.set(token, {
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccount,
      podName: pod.name,
      podUid: pod.uid,
      audiences,
      expiresAt: Date.now() + lifetimeMs,
    });
    return token;
  }

  configMap(namespace: string, name: string): Json | undefined {
    return this.objects.get(`configmaps/${namespace}/${name}`);
  }

  /** Writes a ConfigMap directly, as an admin with kubectl would. */
  setConfigMap(namespace: string, name: string, data: Record<string, string>): void {
    this.put('configmaps', namespace, name, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
  }

  countRequests(method: string, pathPart: string, status?: number): number {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart) && (status === undefined || r.status === status))
      .length;
  }

  private put(resource: string, namespace: string, name: string, object: Json, uid?: string): Json {
    const key = `${resource}/${namespace}/${name}`;
    const previous = this.objects.get(key)?.['metadata'] as Json | undefined;
    const metadata = object['metadata'] as Json;
    const stored = {
      ...object,
      metadata: {
        ...metadata,
        uid: uid ?? previous?.['uid'] ?? randomUUID(),
        resourceVersion: String(++this.revision),
        creationTimestamp: previous?.['creationTimestamp'] ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    this.objects.set(key, stored);
    return stored;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.stall) return;
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const method = req.method ?? 'GET';
    const send = (status: number, body: Json) => {
      this.requests.push({ method, path, status });
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const client = bearer === undefined ? undefined : this.clients.get(bearer);
    if (!client) {
      send(401, statusObject(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    let body: Json = {};
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      } catch {
        send(400, statusObject(400, 'BadRequest', 'the body of the request was in an unknown format'));
        return;
      }
    }
    const route = this.route(method, path);
    if (!route) {
      send(404, statusObject(404, 'NotFound', 'the server could not find the requested resource', {}));
      return;
    }
    const { verb, resource, group, namespace, name } = route;
    if (!allowed(client.permissions, verb, resource)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      send(
        403,
        statusObject(
          403,
          'Forbidden',
          `${resource}${group ? `.${group}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "${client.user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
          { ...(name ? { name } : {}), ...(group ? { group } : {}), kind: resource },
        ),
      );
      return;
    }
    const [status, answer] = this.serve(route, body);
    send(status, answer);
  }

  private route(method: string, path: string) {
    let match = /^\/apis\/authentication\.k8s\.io\/v1\/tokenreviews$/.exec(path);
    if (match && method === 'POST')
      return { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io', namespace: '', name: '' };
    if (path === '/api/v1/namespaces' && method === 'GET')
      return { verb: 'list', resource: 'namespaces', group: '', namespace: '', name: '' };
    match = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|serviceaccounts|configmaps)(?:\/([^/]+))?$/.exec(path);
    if (!match) return undefined;
    const [, namespace, resource, name] = match as unknown as [string, string, string, string | undefined];
    const verb =
      name === undefined
        ? method === 'POST' && resource === 'configmaps'
          ? 'create'
          : undefined
        : ({ GET: 'get', PUT: 'update' } as Record<string, string>)[method];
    if (verb === undefined || (verb === 'update' && resource !== 'configmaps')) return undefined;
    return { verb, resource, group: '', namespace, name: name ?? '' };
  }

  private serve(route: NonNullable<ReturnType<FakeKubeApi['route']>>, body: Json): [number, Json] {
    const { verb, resource, namespace, name } = route;
    if (resource === 'tokenreviews') return [201, this.review(body)];
    if (verb === 'list') {
      const items = [...this.objects.entries()]
        .filter(([key]) => key.startsWith('namespaces//'))
        .map(([, value]) => {
          const { apiVersion: _a, kind: _k, ...item } = value;
          return item;
        });
      return [200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: String(this.revision) }, items }];
    }
    const key = `${resource}/${namespace}/${name}`;
    if (verb === 'get') {
      const object = this.objects.get(key);
      return object ? [200, object] : [404, notFound(resource, name)];
    }
    if (namespace && !this.objects.has(`namespaces//${namespace}`)) return [404, notFound('namespaces', namespace)];
    const metadata = (body['metadata'] ?? {}) as Json;
    const bodyName = metadata['name'] as string | undefined;
    if (resource === 'configmaps' && configMapBytes(body) > MAX_CONFIGMAP_BYTES) {
      // The API server's validation of a ConfigMap: keys and values together at most 1 MiB.
      return [
        422,
        statusObject(
          422,
          'Invalid',
          `ConfigMap "${bodyName ?? ''}" is invalid: []: Too long: may not be more than ${MAX_CONFIGMAP_BYTES} bytes`,
        ),
      ];
    }
    if (verb === 'create') {
      if (!bodyName)
        return [
          422,
          statusObject(422, 'Invalid', `ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required`),
        ];
      if (this.objects.has(`${resource}/${namespace}/${bodyName}`)) {
        return [409, statusObject(409, 'AlreadyExists', `${resource} "${bodyName}" already exists`, { name: bodyName, kind: resource })];
      }
      return [201, this.put(resource, namespace, bodyName, { ...body, metadata: { ...metadata, namespace } })];
    }
    // update: the name must match, and a resourceVersion in the body is a precondition.
    if (bodyName !== name) {
      return [400, statusObject(400, 'BadRequest', `the name of the object (${bodyName}) does not match the name on the URL (${name})`)];
    }
    const current = this.objects.get(key);
    if (!current) return [404, notFound(resource, name)];
    const wanted = metadata['resourceVersion'];
    if (wanted !== undefined && wanted !== (current['metadata'] as Json)['resourceVersion']) {
      return [
        409,
        statusObject(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, kind: resource },
        ),
      ];
    }
    return [200, this.put(resource, namespace, name, { ...body, metadata: { ...metadata, namespace } })];
  }

  /** TokenReview as the API server answers it for a bound service-account token. */
  private review(body: Json): Json {
    const spec = (body['spec'] ?? {}) as { token?: string; audiences?: string[] };
    const wanted = spec.audiences && spec.audiences.length > 0 ? spec.audiences : ['https://kubernetes.default.svc.cluster.local'];
    const answer = (status: Json): Json => ({
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token: spec.token, audiences: spec.audiences },
      status,
    });
    const refused = (error: string) => answer({ user: {}, error: `[invalid bearer token, ${error}]` });
    const token = spec.token === undefined ? undefined : this.tokens.get(spec.token);
    if (!token) return refused('square/go-jose: error in cryptographic primitive, token lookup failed');
    const common = token.audiences.filter((a) => wanted.includes(a));
    if (common.length === 0) {
      return refused(`token audiences ${JSON.stringify(token.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}`);
    }
    if (token.expiresAt <= Date.now()) return refused('service account token has expired');
    const pod = this.objects.get(`pods/${token.namespace}/${token.podName}`);
    if (!pod) return refused(`pods "${token.podName}" not found`);
    const podUid = (pod['metadata'] as Json)['uid'];
    if (podUid !== token.podUid) {
      return refused(
        `the UID in the bound object reference (${token.podUid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
    const serviceAccount = this.objects.get(`serviceaccounts/${token.namespace}/${token.serviceAccount}`);
    return answer({
      authenticated: true,
      user: {
        username: `system:serviceaccount:${token.namespace}:${token.serviceAccount}`,
        uid: (serviceAccount?.['metadata'] as Json | undefined)?.['uid'] ?? randomUUID(),
        groups: ['system:serviceaccounts', `system:serviceaccounts:${token.namespace}`, 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': [`JTI=${randomUUID()}`],
          'authentication.kubernetes.io/pod-name': [token.podName],
          'authentication.kubernetes.io/pod-uid': [token.podUid],
        },
      },
      audiences: common,
    });
  }
}

const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** What the API server counts against a ConfigMap's limit: every key and value of data and binaryData. */
function configMapBytes(body: Json): number {
  let total = 0;
  for (const field of ['data', 'binaryData']) {
    for (const [key, value] of Object.entries((body[field] ?? {}) as Record<string, string>)) total += key.length + value.length;
  }
  return total;
}

function allowed(permissions: Permissions, verb: string, resource: string): boolean {
  return permissions === '*' || permissions.includes(`${verb} ${resource}`);
}

function statusObject(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function notFound(resource: string, name: string): Json {
  return statusObject(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}
