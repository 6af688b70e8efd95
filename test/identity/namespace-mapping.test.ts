// The mapping policy with source = kubernetes: namespace uid ranges set by admins, uids recorded in a ConfigMap,
// [static] and [groups] from the config, and refusals for everything out of range, conflicting, or chosen by
// anyone but a cluster admin.
import t from 'tap';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { rejection } from '../helpers/identity-rejection.ts';
import { fakeCluster, kubernetesConfig } from '../helpers/kidfs-test-config.ts';

const { api, dir } = fakeCluster(t);

const range = (value: string) => ({ 'kidfs.io/uid-range': value });
api.addNamespace('cms', range('200000/1000'));
api.addNamespace('shop', range('300000/1000'));
api.addNamespace('plain');
api.addNamespace('left', range('400000/1000'));
api.addNamespace('right', range('400500/1000'));
api.addNamespace('rooty', range('0/1000'));
api.addNamespace('low', range('500/100'));
api.addNamespace('garbled', range('lots'));
api.addNamespace('nobody', range('65000/1000'));
api.addNamespace('tiny', range('600000/3'));
for (const [namespace, names] of Object.entries({
  cms: ['editor', 'viewer', 'sneaky', 'ranger', 'pinned', 'intruder'],
  shop: ['api', 'worker'],
  plain: ['app'],
  left: ['app'],
  right: ['app'],
  rooty: ['app'],
  low: ['app'],
  garbled: ['app'],
  nobody: ['app'],
  tiny: ['a', 'b', 'c'],
})) {
  for (const name of names) {
    if (namespace === 'cms' && name === 'sneaky') api.addServiceAccount(namespace, name, { 'kidfs.io/uid': '0' });
    else if (namespace === 'cms' && name === 'ranger') api.addServiceAccount(namespace, name, range('1/10'));
    else api.addServiceAccount(namespace, name);
  }
}

const resolver = (options: Parameters<typeof kubernetesConfig>[2] = {}) =>
  new IdentityResolver(kubernetesConfig(api, dir.path, options), { log: () => {} });
const account = (id: string) => ({ namespace: id.split('/')[0]!, serviceAccount: id.split('/')[1]! });

t.test('service accounts of a namespace get distinct uids from its range, and its group', async (t) => {
  const r = resolver();
  const editor = await r.resolveServiceAccount(account('cms/editor'));
  const viewer = await r.resolveServiceAccount(account('cms/viewer'));
  const api1 = await r.resolveServiceAccount(account('shop/api'));
  t.match(editor, { uid: 200001, gid: 200000, groups: [], name: 'cms.editor' });
  t.match(viewer, { uid: 200002, gid: 200000, name: 'cms.viewer' });
  t.match(api1, { uid: 300001, gid: 300000, name: 'shop.api' });
  t.same(
    api.configMap('kidfs', 'kidfs-uids-cms')!['data'],
    { 'cms.editor': '200001', 'cms.viewer': '200002' },
    "each namespace's records in a map of its own",
  );
  t.same(api.configMap('kidfs', 'kidfs-uids-shop')!['data'], { 'shop.api': '300001' });
  t.same(await resolver().resolveServiceAccount(account('cms/editor')), editor, 'the record is what every later resolution uses');
});

t.test('a namespace without a range is refused unless the account is in [static]', async (t) => {
  t.equal(
    await rejection(resolver().resolveServiceAccount(account('plain/app'))),
    'namespace plain has no kidfs.io/uid-range annotation: a cluster admin sets one (kubectl annotate namespace plain kidfs.io/uid-range=<first uid>/<count>) or lists plain/app in [static]',
  );
  const pinned = await resolver({ extra: '[static]\nplain/app = 7000:7000:7100' }).resolveServiceAccount(account('plain/app'));
  t.match(pinned, { uid: 7000, gid: 7000, groups: [7100], name: 'plain.app' });
  t.match(pinned.source, /^\[static\] .*kidfs-.*\.ini:\d+$/);
});

t.test('bad or overlapping ranges are refused, for both namespaces of an overlap', async (t) => {
  const r = resolver();
  t.equal(
    await rejection(r.resolveServiceAccount(account('left/app'))),
    "namespace left: its kidfs.io/uid-range 400000/1000 overlaps namespace right's 400500/1000; a cluster admin must correct it",
  );
  t.equal(
    await rejection(r.resolveServiceAccount(account('right/app'))),
    "namespace right: its kidfs.io/uid-range 400500/1000 overlaps namespace left's 400000/1000; a cluster admin must correct it",
  );
  t.equal(
    await rejection(r.resolveServiceAccount(account('rooty/app'))),
    'namespace rooty: its kidfs.io/uid-range annotation "0/1000" starts below [identity] min-uid 1000; a cluster admin must correct it',
  );
  t.match(await rejection(r.resolveServiceAccount(account('low/app'))), /"500\/100" starts below \[identity\] min-uid 1000/);
  t.match(await rejection(r.resolveServiceAccount(account('garbled/app'))), /"lots" is not <first uid>\/<count>, e.g. 200000\/10000/);
  t.match(await rejection(r.resolveServiceAccount(account('nobody/app'))), /"65000\/1000" contains 65534 \(nobody\)/);
  for (const namespace of ['left', 'right', 'rooty', 'low', 'garbled', 'nobody'])
    t.equal(api.configMap('kidfs', `kidfs-uids-${namespace}`), undefined, `nothing recorded for ${namespace}`);
});

t.test('nothing on a ServiceAccount can choose a uid', async (t) => {
  const r = resolver();
  t.equal(
    await rejection(r.resolveServiceAccount(account('cms/sneaky'))),
    'cms/sneaky: serviceaccount annotation kidfs.io/uid="0" is not allowed: identities are set only by cluster admins (namespace range, [static], [groups]); remove the annotation',
  );
  t.match(
    await rejection(r.resolveServiceAccount(account('cms/ranger'))),
    /serviceaccount annotation kidfs.io\/uid-range="1\/10" is not allowed/,
  );
  t.equal(await rejection(r.resolveServiceAccount(account('cms/ghost'))), 'cms/ghost: serviceaccount not found in the API server');
});

t.test("[static] wins over the range, and its uid may not sit in another namespace's range", async (t) => {
  const r = resolver({ extra: '[static]\ncms/pinned = 200500:200000\ncms/intruder = 300010:3000' });
  const pinned = await r.resolveServiceAccount(account('cms/pinned'));
  t.match(pinned, { uid: 200500, gid: 200000, groups: [] }, 'a static uid inside its own namespace range is fine');
  t.match(pinned.source, /^\[static\]/);
  t.match(
    await rejection(r.resolveServiceAccount(account('cms/intruder'))),
    /^cms\/intruder: \[static\] uid 300010 \(.*:\d+\) lies in namespace shop's uid range 300000\/1000$/,
  );
  const withGroup = await resolver({ extra: '[static]\ncms/pinned = 9000:9000' }).resolveServiceAccount(account('cms/pinned'));
  t.same(withGroup.groups, [200000], "a static identity is still in its namespace's group");
});

t.test('allocation skips uids that [static] holds, and a full range is refused', async (t) => {
  const r = resolver({ extra: '[static]\ntiny/a = 600001:7000' });
  t.match(await r.resolveServiceAccount(account('tiny/b')), { uid: 600002, gid: 600000 });
  t.equal(
    await rejection(r.resolveServiceAccount(account('tiny/c'))),
    "tiny/c: namespace tiny's uid range 600000/3 is full: a cluster admin must give it a larger one",
  );
});

t.test('[groups] add groups; a group gid inside a namespace range is refused', async (t) => {
  const r = resolver({ extra: '[groups]\nmedia = 9100: cms/editor, shop/*\nbackup = 9200: shop/worker' });
  t.same((await r.resolveServiceAccount(account('cms/editor'))).groups, [9100]);
  t.same((await r.resolveServiceAccount(account('shop/worker'))).groups, [9100, 9200]);
  t.same((await r.resolveServiceAccount(account('cms/viewer'))).groups, []);
  const clash = resolver({ extra: '[groups]\nmedia = 200999: cms/viewer' });
  t.match(
    await rejection(clash.resolveServiceAccount(account('cms/viewer'))),
    /^cms\/viewer: \[groups\] media gid 200999 \(.*\) lies in namespace cms's uid range; choose a gid outside all ranges$/,
  );
});

t.test("attack: a namespace range holding a [groups] gid or another account's [static] id maps nobody", async (t) => {
  api.addNamespace('films', range('3000/1000'));
  api.addServiceAccount('films', 'app');
  api.addServiceAccount('films', 'pinned');
  // Without the check, every films identity would have gid 3000: shared-media's files would be theirs.
  const grouped = resolver({ extra: '[groups]\nshared-media = 3000: cms/editor' });
  t.match(
    await rejection(grouped.resolveServiceAccount(account('films/app'))),
    /^films\/app: namespace films's uid range 3000\/1000 holds \[groups\] shared-media gid 3000 \(.*kidfs-.*\.ini:\d+\): a cluster admin must move one of them$/,
  );
  t.match(
    await rejection(grouped.resolveServiceAccount(account('films/pinned'))),
    /holds \[groups\] shared-media gid 3000/,
    "a [static] account of films is in films's group too: refused as well",
  );
  t.match(
    await rejection(grouped.resolveServiceAccount(account('cms/editor'))),
    /shared-media gid 3000 .* lies in namespace films's uid range/,
    'and its members, as before',
  );
  const pinnedElsewhere = resolver({ extra: '[static]\nshop/legacy = 5000:3500' });
  t.match(
    await rejection(pinnedElsewhere.resolveServiceAccount(account('films/app'))),
    /^films\/app: namespace films's uid range 3000\/1000 holds id 3500 of \[static\] shop\/legacy \(.*\): a cluster admin must move one of them$/,
  );
  const pinnedInside = await resolver({ extra: '[static]\nfilms/pinned = 3500:3000' }).resolveServiceAccount(account('films/app'));
  t.equal(pinnedInside.gid, 3000, 'a [static] entry of the namespace itself may use its range');
});

t.test('primary-group = own: a group per identity, the namespace group as a supplementary one', async (t) => {
  const identity = await resolver({ identity: 'primary-group = own' }).resolveServiceAccount(account('cms/editor'));
  t.match(identity, { uid: 200001, gid: 200001, groups: [200000] });
});

t.test('records an admin broke are refused, never reinterpreted', async (t) => {
  const r = resolver({ identity: 'uid-allocations = kidfs/broken-uids' });
  api.setConfigMap('kidfs', 'broken-uids', { 'cms.editor': '250000', 'cms.viewer': '200007', 'shop.api': '200007' });
  t.equal(
    await rejection(r.resolveServiceAccount(account('cms/editor'))),
    "cms/editor: uid 250000 recorded in configmap kidfs/broken-uids is not in namespace cms's range 200000/1000 (after its first id, the group); a cluster admin must fix the record",
  );
  t.equal(
    await rejection(r.resolveServiceAccount(account('cms/viewer'))),
    'cms/viewer: uid 200007 recorded in configmap kidfs/broken-uids is also recorded for shop/api; a cluster admin must fix the record',
  );
  api.setConfigMap('kidfs', 'broken-uids', { 'cms.editor': '0' });
  t.equal(
    await rejection(r.resolveServiceAccount(account('cms/editor'))),
    'configmap kidfs/broken-uids: entry cms.editor: "0" is not <namespace>.<serviceaccount>: "<uid>"; an admin must fix it',
  );
  api.setConfigMap('kidfs', 'broken-uids', { 'cms.editor': '200000' });
  t.match(
    await rejection(r.resolveServiceAccount(account('cms/editor'))),
    /uid 200000 recorded in .* is not in namespace cms's range/,
    'the namespace group id is never a user',
  );
});

t.test('attack: one namespace can neither exhaust nor break the uid records of another', async (t) => {
  const logged: string[] = [];
  const r = new IdentityResolver(kubernetesConfig(api, dir.path, { identity: 'uid-allocations = kidfs/crowded-uids' }), {
    log: (line) => logged.push(line),
  });
  api.addNamespace('bulk', range('1000000/100000'));
  api.addServiceAccount('bulk', 'one-more');
  // What a tenant with a large range gets by mounting as thousands of service accounts with 253-character names.
  // The map is full when its next entry would pass the API server's 1 MiB: 16 bytes are left.
  const longNames = (prefix: string) => {
    const data: Record<string, string> = {};
    let bytes = 0;
    for (let i = 0; bytes < 1024 * 1024 - 16; i++) {
      const value = String(1000001 + i);
      const name = `bulk.${`${prefix}-${i}-`.padEnd(Math.min(253, 1024 * 1024 - 16 - bytes - value.length - 5), 'x')}`;
      data[name] = value;
      bytes += name.length + value.length;
    }
    return data;
  };
  // Records kidfs wrote before, all namespaces in one map, filled to the brim by that tenant.
  api.setConfigMap('kidfs', 'crowded-uids', longNames('old'));
  t.ok(JSON.stringify(api.configMap('kidfs', 'crowded-uids')!['data']).length > 1_000_000, 'the shared map is nearly 1 MiB');
  const worker = await r.resolveServiceAccount(account('shop/worker'));
  t.same(
    api.configMap('kidfs', 'crowded-uids-shop')!['data'],
    { 'shop.worker': String(worker.uid) },
    'another namespace still gets its uid recorded, in its own map',
  );

  // The tenant's own map filled too: only the tenant's new accounts are refused.
  api.setConfigMap('kidfs', 'crowded-uids-bulk', longNames('new'));
  t.match(
    await rejection(r.resolveServiceAccount(account('bulk/one-more')), 'unavailable'),
    /cannot update configmap kidfs\/crowded-uids-bulk: 422 ConfigMap "crowded-uids-bulk" is invalid: \[\]: Too long: may not be more than 1048576 bytes/,
  );
  t.equal((await r.resolveServiceAccount(account('cms/viewer'))).uid, 200001, 'cms is not affected');

  // A record an admin broke refuses its own account only, and says so in the log.
  api.setConfigMap('kidfs', 'crowded-uids-cms', { 'cms.viewer': '200001', 'cms.editor': 'two hundred thousand' });
  const problem =
    'configmap kidfs/crowded-uids-cms: entry cms.editor: "two hundred thousand" is not <namespace>.<serviceaccount>: "<uid>"; an admin must fix it';
  t.equal(await rejection(r.resolveServiceAccount(account('cms/editor'))), problem);
  t.equal((await r.resolveServiceAccount(account('cms/viewer'))).uid, 200001, 'the other accounts of the map are fine');
  t.equal((await r.resolveServiceAccount(account('shop/api'))).name, 'shop.api', 'and so are other namespaces');
  t.ok(logged.includes(`ignored a record: ${problem}`), 'the bad record is logged');
  // A namespace's map speaks only for that namespace.
  api.setConfigMap('kidfs', 'crowded-uids-cms', { 'cms.viewer': '200001', 'shop.intruder': '300500' });
  t.equal((await r.resolveServiceAccount(account('cms/viewer'))).uid, 200001);
  t.ok(
    logged.includes(
      'ignored a record: configmap kidfs/crowded-uids-cms: entry shop.intruder is not of namespace cms, whose records this map holds; an admin must move it',
    ),
  );
});

t.test("another range annotation (e.g. OpenShift's) can be used", async (t) => {
  api.addNamespace('openshift-app', { 'openshift.io/sa.scc.uid-range': '1000700000/10000' });
  api.addServiceAccount('openshift-app', 'builder');
  const r = resolver({ identity: 'uid-range-annotation = openshift.io/sa.scc.uid-range\nuid-allocations = kidfs/os-uids' });
  t.match(await r.resolveServiceAccount(account('openshift-app/builder')), { uid: 1000700001, gid: 1000700000 });
  t.match(
    await rejection(r.resolveServiceAccount(account('cms/editor'))),
    /namespace cms has no openshift.io\/sa.scc.uid-range annotation/,
  );
});

t.test('a dry run shows the uid the first mount will record, and records nothing', async (t) => {
  const r = resolver({ identity: 'uid-allocations = kidfs/dry-uids' });
  const preview = await r.resolveServiceAccount(account('shop/worker'), { dryRun: true });
  t.match(preview, { uid: 300001 });
  t.match(preview.source, /not recorded yet \(the first mount records it in configmap kidfs\/dry-uids-shop\)/);
  t.equal(api.configMap('kidfs', 'dry-uids-shop'), undefined);
  const real = await r.resolveServiceAccount(account('shop/worker'));
  t.equal(real.uid, preview.uid);
  t.match(real.source, /uid recorded in configmap kidfs\/dry-uids-shop/);
});

t.test('source = static never asks the API server to map a service account', async (t) => {
  const config = kubernetesConfig(api, dir.path, { extra: '[static]\ncms/editor = 7000:7000' });
  const r = new IdentityResolver({ ...config, identity: { ...config.identity, source: 'static' } }, { log: () => {} });
  const before = api.requests.length;
  t.match(await r.resolveServiceAccount(account('cms/editor')), { uid: 7000, gid: 7000 });
  t.match(await rejection(r.resolveServiceAccount(account('cms/viewer'))), /^cms\/viewer is not in \[static\] of .* \(source = static\)$/);
  t.equal(api.requests.length, before);
});
