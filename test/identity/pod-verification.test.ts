// A pod's identity is given only when the API server confirms what kubelet said (pod uid, node, service
// account, not finished) and, when a bound token comes along, TokenReview confirms it for this very pod.
import t from 'tap';
import type { PodInfo } from '../../src/identity/identity.ts';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import type { FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { rejection } from '../helpers/identity-rejection.ts';
import { fakeCluster, kubernetesConfig } from '../helpers/kidfs-test-config.ts';

const { api, dir } = fakeCluster(t);

api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
api.addServiceAccount('cms', 'editor');
api.addServiceAccount('cms', 'viewer');

const logged: string[] = [];
const resolver = (options: Parameters<typeof kubernetesConfig>[2] = {}) =>
  new IdentityResolver(kubernetesConfig(api, dir.path, options), { log: (line) => logged.push(line) });

/** A running pod of cms/editor on node-a, with what kubelet would send for it. */
function runningPod(name: string, overrides: Partial<Parameters<FakeKubeApi['addPod']>[0]> = {}): PodInfo & { uid: string } {
  const uid = api.addPod({ namespace: 'cms', name, nodeName: 'node-a', serviceAccount: 'editor', ...overrides });
  return { namespace: 'cms', podName: name, podUid: uid, serviceAccount: 'editor', uid };
}

t.test('a pod that is what kubelet says gets its service account identity', async (t) => {
  const pod = runningPod('web-1');
  const token = api.issueToken({ ...pod, name: pod.podName }, ['kidfs']);
  const identity = await resolver().resolvePod({ ...pod, token });
  t.match(identity, { uid: 200001, gid: 200000, groups: [], name: 'cms.editor', namespace: 'cms', serviceAccount: 'editor' });
  t.match(identity.source, /namespace cms uid range 200000\/1000/);
  const noToken = await resolver().resolvePod(pod);
  t.same(noToken, identity, 'the token is optional unless required, and changes nothing');
});

t.test('each mismatch with the API server is refused, naming the field', async (t) => {
  const r = resolver();
  const pod = runningPod('web-2');
  t.equal(
    await rejection(r.resolvePod({ ...pod, podUid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' })),
    `pod cms/web-2: the API server has no such pod with metadata.uid "1b4e28ba-2fa1-11d2-883f-0016d3cca427" as the mount request said`,
  );

  const elsewhere = runningPod('web-3', { nodeName: 'node-b' });
  t.equal(await rejection(r.resolvePod(elsewhere)), 'pod cms/web-3: its spec.nodeName is not this node "node-a"');

  const viewerPod = runningPod('web-4', { serviceAccount: 'viewer' });
  t.equal(await rejection(r.resolvePod(viewerPod)), 'pod cms/web-4: its spec.serviceAccountName is not "editor" as the mount request said');

  for (const phase of ['Succeeded', 'Failed'] as const) {
    const finished = runningPod(`job-${phase.toLowerCase()}`, { phase });
    t.equal(await rejection(r.resolvePod(finished)), `pod cms/job-${phase.toLowerCase()}: has finished (status.phase ${phase})`);
  }

  t.equal(
    await rejection(r.resolvePod({ ...pod, podName: 'web-gone' })),
    `pod cms/web-gone: the API server has no such pod with metadata.uid "${pod.podUid}" as the mount request said`,
  );
  t.equal(
    await rejection(r.resolvePod({ ...pod, namespace: 'shop' })),
    `pod shop/web-2: the API server has no such pod with metadata.uid "${pod.podUid}" as the mount request said`,
  );
  t.equal(
    await rejection(r.resolvePod({ ...pod, podName: '../../secrets/x' })),
    'pod cms/../../secrets/x: pod name "../../secrets/x" is not a valid name',
  );
  t.ok(
    logged.some((line) => line === 'refused: pod cms/web-3: its spec.nodeName is not this node "node-a"'),
    'refusals are logged',
  );
});

t.test("attack: probing another pod's fields learns nothing the prober did not send", async (t) => {
  const r = resolver();
  const victim = runningPod('victim-1', { serviceAccount: 'viewer', nodeName: 'node-b' });
  const attacker = runningPod('attacker-1');
  const probes: PodInfo[] = [
    { ...victim, podUid: attacker.uid, serviceAccount: 'editor' },
    { ...victim, serviceAccount: 'editor' },
    { ...victim, serviceAccount: 'viewer' },
    { ...attacker, token: api.issueToken({ ...victim, name: victim.podName, serviceAccount: 'viewer' }, ['kidfs']) },
  ];
  for (const probe of probes) {
    const message = await rejection(r.resolvePod(probe));
    const secrets = [victim.uid, 'node-b', ...(probe.serviceAccount === 'viewer' ? [] : ['viewer'])].filter(
      (value) => !JSON.stringify(probe).includes(value),
    );
    for (const secret of secrets) t.notMatch(message, secret, `${message}: does not tell ${secret}`);
  }
});

t.test('a pod is only served when this node knows its own name', async (t) => {
  const config = kubernetesConfig(api, dir.path);
  const nameless = new IdentityResolver({ ...config, identity: { ...config.identity, nodeName: undefined } }, { log: () => {} });
  t.match(
    await rejection(nameless.resolvePod(runningPod('web-5'))),
    /this node's name is unknown: set \[identity\] node-name or NODE_NAME/,
  );
});

t.test("bound tokens must be for this pod, this service account and kidfs's audience, and valid", async (t) => {
  const r = resolver();
  const pod = runningPod('web-6');
  const other = runningPod('web-7');
  const viewer = runningPod('web-8', { serviceAccount: 'viewer' });

  const forOtherPod = api.issueToken({ ...other, name: other.podName }, ['kidfs']);
  t.equal(
    await rejection(r.resolvePod({ ...pod, token: forOtherPod })),
    `pod cms/web-6: its token is not bound to pod uid "${pod.uid}" (status.user.extra["authentication.kubernetes.io/pod-uid"])`,
  );

  const forViewer = api.issueToken({ ...viewer, name: viewer.podName, serviceAccount: 'viewer' }, ['kidfs']);
  t.equal(
    await rejection(r.resolvePod({ ...pod, token: forViewer })),
    'pod cms/web-6: its token does not belong to system:serviceaccount:cms:editor (status.user.username)',
  );

  const wrongAudience = api.issueToken({ ...pod, name: pod.podName }, ['https://kubernetes.default.svc.cluster.local']);
  t.equal(
    await rejection(r.resolvePod({ ...pod, token: wrongAudience })),
    'pod cms/web-6: its service-account token was not accepted by TokenReview (status.error: [invalid bearer token, token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ["kidfs"]])',
  );

  const expired = api.issueToken({ ...pod, name: pod.podName }, ['kidfs'], -1000);
  t.equal(
    await rejection(r.resolvePod({ ...pod, token: expired })),
    'pod cms/web-6: its service-account token was not accepted by TokenReview (status.error: [invalid bearer token, service account token has expired])',
  );

  t.match(
    await rejection(r.resolvePod({ ...pod, token: 'eyJnot-a-real-token' })),
    /TokenReview \(status.error: \[invalid bearer token, .*token lookup failed\]\)/,
  );

  // A token of a deleted pod whose name was reused: the API server no longer accepts it.
  const old = runningPod('web-9');
  const oldToken = api.issueToken({ ...old, name: old.podName }, ['kidfs']);
  const reborn = runningPod('web-9');
  t.match(await rejection(r.resolvePod({ ...reborn, token: oldToken })), /does not match the UID in record/);

  const good = api.issueToken({ ...pod, name: pod.podName }, ['other-audience', 'kidfs']);
  t.equal((await r.resolvePod({ ...pod, token: good })).name, 'cms.editor', 'a token for several audiences including kidfs is fine');
});

t.test('require-token = yes refuses pods that come without one', async (t) => {
  const strict = resolver({ kubernetes: 'require-token = yes' });
  const pod = runningPod('web-10');
  t.match(await rejection(strict.resolvePod(pod)), /no service-account token came with the mount and \[kubernetes\] require-token = yes/);
  const token = api.issueToken({ ...pod, name: pod.podName }, ['kidfs']);
  t.equal((await strict.resolvePod({ ...pod, token })).uid, 200001);
});

t.test('a custom token audience is what TokenReview is asked for', async (t) => {
  const r = resolver({ kubernetes: 'token-audience = nfs.example.com' });
  const pod = runningPod('web-11');
  const kidfsToken = api.issueToken({ ...pod, name: pod.podName }, ['kidfs']);
  t.match(await rejection(r.resolvePod({ ...pod, token: kidfsToken })), /target audiences \["nfs.example.com"\]/);
  const token = api.issueToken({ ...pod, name: pod.podName }, ['nfs.example.com']);
  t.equal((await r.resolvePod({ ...pod, token })).name, 'cms.editor');
});

t.test('verified identities are cached for cache-ttl; refusals are not', async (t) => {
  const r = resolver({ cacheTtl: '1h' });
  const pod = runningPod('web-12');
  const before = api.countRequests('GET', '/pods/web-12');
  await r.resolvePod(pod);
  await Promise.all([r.resolvePod(pod), r.resolvePod(pod)]);
  t.equal(api.countRequests('GET', '/pods/web-12') - before, 1, 'asked once');
  api.addPod({ namespace: 'cms', name: 'web-13', nodeName: 'node-b', serviceAccount: 'editor', uid: pod.uid });
  const moved = { ...pod, podName: 'web-13' };
  await rejection(r.resolvePod(moved));
  api.addPod({ namespace: 'cms', name: 'web-13', nodeName: 'node-a', serviceAccount: 'editor', uid: pod.uid });
  t.equal((await r.resolvePod(moved)).name, 'cms.editor', 'a refusal is not remembered');
});

t.test('mounts without pod information are refused unless the config maps them', async (t) => {
  t.equal(
    await rejection(resolver().resolve(undefined)),
    'the mount request has no pod information (namespace, pod name, pod uid, service account) and [identity] unidentified = refuse',
  );
  const mapped = await resolver({ identity: 'unidentified = cms/viewer' }).resolve(undefined);
  t.match(mapped, { name: 'cms.viewer', namespace: 'cms', serviceAccount: 'viewer' });
  t.match(mapped.source, /^\[identity\] unidentified -> cms\/viewer: namespace cms uid range/);
});
