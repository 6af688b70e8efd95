// Reaching the API server: in-cluster and kubeconfig, TLS verified against the CA, and every failure to get an
// answer (down, hanging, 401, 403, untrusted certificate) refuses the mount with one clear line, never a fallback.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { makeKubeConfig, SERVICE_ACCOUNT_DIR } from '../../src/identity/kube-config.ts';
import { KIDFS_USER } from '../helpers/fake-kube-api.ts';
import { rejection } from '../helpers/identity-rejection.ts';
import { fakeCluster, kubernetesConfig } from '../helpers/kidfs-test-config.ts';
import { makeTestCertificates } from '../helpers/test-certificates.ts';

const { api, dir } = fakeCluster(t);

api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
api.addServiceAccount('cms', 'editor');
const podUid = api.addPod({ namespace: 'cms', name: 'web-1', nodeName: 'node-a', serviceAccount: 'editor' });
const pod = { namespace: 'cms', podName: 'web-1', podUid, serviceAccount: 'editor' };

const quiet = { log: () => {} };

t.test('API server down at mount time: refused with a clear message; back up: works', async (t) => {
  const resolver = new IdentityResolver(kubernetesConfig(api, dir.path), quiet);
  await api.stop();
  t.equal(
    await rejection(resolver.resolvePod(pod), 'unavailable'),
    `Kubernetes API server ${api.url}: cannot read pod cms/web-1: unreachable (ECONNREFUSED)`,
  );
  t.match(
    await rejection(resolver.resolveServiceAccount({ namespace: 'cms', serviceAccount: 'editor' }), 'unavailable'),
    /cannot read serviceaccount cms\/editor: unreachable \(ECONNREFUSED\)$/,
  );
  await api.start();
  t.match(await resolver.resolvePod(pod), { uid: 200001, name: 'cms.editor' });
});

t.test('an API server that does not answer is given up after [kubernetes] timeout', async (t) => {
  const resolver = new IdentityResolver(kubernetesConfig(api, dir.path, { timeout: '300ms' }), quiet);
  api.stall = true;
  try {
    t.equal(
      await rejection(resolver.resolvePod(pod), 'unavailable'),
      `Kubernetes API server ${api.url}: cannot read pod cms/web-1: no answer within 300 ms ([kubernetes] timeout)`,
    );
  } finally {
    api.stall = false;
  }
  t.equal((await resolver.resolvePod(pod)).uid, 200001);
});

t.test("kidfs's own credentials refused: 401 and 403 are told apart", async (t) => {
  const unknown = new IdentityResolver(kubernetesConfig(api, dir.path, { token: 'not-a-known-token' }), quiet);
  t.equal(
    await rejection(unknown.resolvePod(pod), 'unavailable'),
    `Kubernetes API server ${api.url}: cannot read pod cms/web-1: 401 Unauthorized (kidfs's token or client certificate was not accepted)`,
  );

  const noReviews = api.addClient([
    'get pods',
    'get serviceaccounts',
    'list namespaces',
    'get configmaps',
    'create configmaps',
    'update configmaps',
  ]);
  const limited = new IdentityResolver(kubernetesConfig(api, dir.path, { token: noReviews }), quiet);
  const token = api.issueToken({ namespace: 'cms', name: 'web-1', serviceAccount: 'editor', uid: podUid }, ['kidfs']);
  t.equal(
    await rejection(limited.resolvePod({ ...pod, token }), 'unavailable'),
    `Kubernetes API server ${api.url}: cannot create tokenreview: 403 Forbidden (tokenreviews.authentication.k8s.io is forbidden: ` +
      `User "${KIDFS_USER}" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope); grant it to kidfs in RBAC`,
  );
  t.equal((await limited.resolvePod(pod)).uid, 200001, 'without a token to review, those permissions are enough');

  const podsOnly = new IdentityResolver(kubernetesConfig(api, dir.path, { token: api.addClient(['get pods']) }), quiet);
  t.match(
    await rejection(podsOnly.resolvePod(pod), 'unavailable'),
    /cannot read serviceaccount cms\/editor: 403 Forbidden \(serviceaccounts "editor" is forbidden: .* in the namespace "cms"\)/,
  );
});

t.test("the API server's certificate must come from the configured CA", async (t) => {
  const otherCa = makeTestCertificates().ca;
  const kubeconfig = api.writeKubeconfig(dir.path, api.addClient('*'), otherCa);
  const config = kubernetesConfig(api, dir.path);
  const resolver = new IdentityResolver({ ...config, kubernetes: { ...config.kubernetes, kubeconfig } }, quiet);
  t.match(
    await rejection(resolver.resolvePod(pod), 'unavailable'),
    /^Kubernetes API server https:\/\/127\.0\.0\.1:\d+: cannot read pod cms\/web-1: its TLS certificate is not trusted \([A-Z_]+\); check the cluster CA$/,
  );
});

t.test("in-cluster: the pod's service-account token and CA, the service address from the environment", async (t) => {
  const root = join(dir.path, 'pod-root');
  mkdirSync(join(root, SERVICE_ACCOUNT_DIR), { recursive: true });
  writeFileSync(join(root, SERVICE_ACCOUNT_DIR, 'token'), api.addClient('*'));
  writeFileSync(join(root, SERVICE_ACCOUNT_DIR, 'ca.crt'), api.certificates.ca);
  writeFileSync(join(root, SERVICE_ACCOUNT_DIR, 'namespace'), 'kidfs');
  const config = kubernetesConfig(api, dir.path);
  const inCluster = { ...config.kubernetes, kubeconfig: undefined };
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) };

  const kubeConfig = await makeKubeConfig(inCluster, env, root);
  const resolver = new IdentityResolver({ ...config, kubernetes: inCluster }, { ...quiet, kubeConfig });
  t.match(await resolver.resolvePod(pod), { uid: 200001, name: 'cms.editor' });

  await t.rejects(makeKubeConfig(inCluster, {}, root), {
    message:
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT unset): set [kubernetes] kubeconfig to reach the cluster from outside',
  });
  await t.rejects(makeKubeConfig(inCluster, env, join(dir.path, 'empty-root')), {
    message:
      /^in-cluster token missing at .*\/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token: give kidfs's pod a service account token/,
  });
  const outside = new IdentityResolver({ ...config, kubernetes: inCluster }, { ...quiet, env: {} });
  t.match(
    await rejection(outside.resolvePod(pod), 'unavailable'),
    /^not running in a Kubernetes pod/,
    'a resolver outside a cluster refuses',
  );
});

t.test('a kubeconfig that cannot be used is one clear line', async (t) => {
  const config = kubernetesConfig(api, dir.path);
  const missing = join(dir.path, 'no-such-kubeconfig');
  await t.rejects(makeKubeConfig({ ...config.kubernetes, kubeconfig: missing }), {
    message: new RegExp(`^cannot load \\[kubernetes\\] kubeconfig ${missing}: ENOENT`),
  });
  await t.rejects(makeKubeConfig({ ...config.kubernetes, context: 'prod' }), {
    message: `[kubernetes] context "prod" is not in ${config.kubernetes.kubeconfig}`,
  });
});
