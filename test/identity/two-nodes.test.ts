// Two nodes (two independent resolvers, each with its own API client) agree on every identity, also when
// they race to record new uids: one uid per service account, one service account per uid.
import t from 'tap';
import type { Identity } from '../../src/identity/identity.ts';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { fakeCluster, kubernetesConfig } from '../helpers/kidfs-test-config.ts';

const { api, dir } = fakeCluster(t);

api.addNamespace('race', { 'kidfs.io/uid-range': '700000/100' });
api.addNamespace('calm', { 'kidfs.io/uid-range': '800000/100' });
const accounts = Array.from({ length: 12 }, (_, i) => `sa-${i}`);
for (const name of accounts) {
  api.addServiceAccount('race', name);
  api.addServiceAccount('calm', name);
}

const node = (nodeName: string) => new IdentityResolver(kubernetesConfig(api, dir.path, { nodeName }), { log: () => {} });

/** A pod of race/<sa> on the node, as kubelet would describe it. */
function podOn(nodeName: string, serviceAccount: string, index: number) {
  const podName = `${serviceAccount}-${nodeName}-${index}`;
  const podUid = api.addPod({ namespace: 'race', name: podName, nodeName, serviceAccount });
  return { namespace: 'race', podName, podUid, serviceAccount };
}

const ids = (identity: Identity) => ({ uid: identity.uid, gid: identity.gid, groups: identity.groups, name: identity.name });

t.test('racing nodes record one uid per service account and agree on all of them', async (t) => {
  const nodeA = node('node-a');
  const nodeB = node('node-b');
  const requests = accounts.flatMap((sa) =>
    [0, 1, 2].flatMap((i) => [
      { node: 'a', sa, pending: nodeA.resolvePod(podOn('node-a', sa, i)) },
      { node: 'b', sa, pending: nodeB.resolvePod(podOn('node-b', sa, i)) },
    ]),
  );
  const results = await Promise.all(requests.map(async (r) => ({ ...r, identity: await r.pending })));

  const bySa = new Map<string, string>();
  for (const { sa, identity } of results) {
    const seen = bySa.get(sa);
    if (seen === undefined) bySa.set(sa, JSON.stringify(ids(identity)));
    else t.equal(JSON.stringify(ids(identity)), seen, `${sa}: the same identity on both nodes, every time`);
  }
  const uids = [...bySa.values()].map((s) => (JSON.parse(s) as Identity).uid);
  t.equal(new Set(uids).size, accounts.length, 'different service accounts, different uids');
  t.ok(
    uids.every((uid) => uid > 700000 && uid < 700100),
    'all inside the range, after the group id',
  );

  const recorded = api.configMap('kidfs', 'kidfs-uids-race')!['data'] as Record<string, string>;
  t.same(Object.keys(recorded).sort(), accounts.map((sa) => `race.${sa}`).sort());
  for (const sa of accounts) t.equal(Number(recorded[`race.${sa}`]), (JSON.parse(bySa.get(sa)!) as Identity).uid);
  const conflicts = api.countRequests('PUT', '/configmaps/', 409) + api.countRequests('POST', '/configmaps', 409);
  t.ok(conflicts > 0, `the nodes did race (${conflicts} conflicting writes answered 409)`);

  const later = node('node-c');
  for (const sa of accounts) {
    t.same(
      ids(await later.resolveServiceAccount({ namespace: 'race', serviceAccount: sa })),
      JSON.parse(bySa.get(sa)!),
      `${sa} on a third node`,
    );
  }
});

t.test('two nodes resolving by service account name race the same way', async (t) => {
  const nodeA = node('node-a');
  const nodeB = node('node-b');
  const order = [...accounts].reverse();
  const [a, b] = await Promise.all([
    Promise.all(accounts.map((sa) => nodeA.resolveServiceAccount({ namespace: 'calm', serviceAccount: sa }))),
    Promise.all(order.map((sa) => nodeB.resolveServiceAccount({ namespace: 'calm', serviceAccount: sa }))),
  ]);
  const fromB = new Map(b.map((identity) => [identity.serviceAccount, identity]));
  for (const identity of a) t.same(ids(fromB.get(identity.serviceAccount)!), ids(identity), identity.serviceAccount);
  t.equal(new Set(a.map((i) => i.uid)).size, accounts.length);
  t.ok(a.every((i) => i.gid === 800000));
});
