// `kidfs passwd` and `kidfs identity`: lines the system's own tools (pwck, grpck) accept, names of at most 32
// characters without collisions, and a mapping that reads back exactly as kidfs resolves it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { identityCommand } from '../../src/cli/identity-command.ts';
import { passwdCommand } from '../../src/cli/passwd-command.ts';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { fitName } from '../../src/identity/passwd-names.ts';
import { fakeCluster, kubernetesConfig } from '../helpers/kidfs-test-config.ts';

const { api, dir } = fakeCluster(t);

const longNamespace = 'analytics-pipeline-production-eu-west';
const longAccounts = ['spark-driver-for-nightly-batch-jobs', 'spark-driver-for-nightly-batch-jobs-v2'];
api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
api.addNamespace('shop', { 'kidfs.io/uid-range': '300000/1000' });
api.addNamespace(longNamespace, { 'kidfs.io/uid-range': '400000/1000' });
for (const name of ['editor', 'viewer']) api.addServiceAccount('cms', name);
for (const name of ['api', 'worker']) api.addServiceAccount('shop', name);
for (const name of longAccounts) api.addServiceAccount(longNamespace, name);

const staticAndGroups =
  '[static]\ncms/legacy = 5000:5000:9100,9300\n[groups]\nmedia = 9100: cms/editor, shop/*\nbackup = 9200: shop/worker';

async function capture(run: (out: PassThrough, err: PassThrough) => Promise<unknown>): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  await run(out, err);
  return { out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
}

/** A root for `pwck -R`/`grpck -R`: the files under test plus what those tools check against. */
function checkRoot(name: string, passwd: string, group: string): string {
  const root = join(dir.path, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'nonexistent'), { recursive: true });
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  writeFileSync(join(root, 'usr/sbin/nologin'), '', { mode: 0o755 });
  const names = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[0]!);
  writeFileSync(join(root, 'etc/passwd'), passwd);
  writeFileSync(
    join(root, 'etc/shadow'),
    names(passwd)
      .map((n) => `${n}:!:19000:0:99999:7:::\n`)
      .join(''),
    { mode: 0o640 },
  );
  writeFileSync(join(root, 'etc/group'), group);
  writeFileSync(
    join(root, 'etc/gshadow'),
    group
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [n, , , members] = l.split(':');
        return `${n}:!::${members}\n`;
      })
      .join(''),
    { mode: 0o640 },
  );
  return root;
}

t.test('passwd and group lines pass pwck and grpck, and read back as the mapping', async (t) => {
  const config = kubernetesConfig(api, dir.path, { extra: staticAndGroups });
  const resolver = new IdentityResolver(config, { log: () => {} });
  const accounts = [
    ['cms', 'editor'],
    ['cms', 'viewer'],
    ['shop', 'api'],
    ['shop', 'worker'],
    ...longAccounts.map((a) => [longNamespace, a]),
    ['cms', 'legacy'],
  ];
  // Resolving records the range uids; `kidfs passwd` lists what is recorded, plus [static].
  api.addServiceAccount('cms', 'legacy');
  const identities = [];
  for (const [namespace, serviceAccount] of accounts) {
    identities.push(await resolver.resolveServiceAccount({ namespace: namespace!, serviceAccount: serviceAccount! }));
  }

  const passwd = await capture((out) => passwdCommand({ config: config.file, only: 'passwd' }, out, out));
  const group = await capture((out) => passwdCommand({ config: config.file, only: 'group' }, out, out));
  const both = await capture((out, err) => passwdCommand({ config: config.file }, out, err));
  t.equal(both.out, `# passwd(5)\n${passwd.out}# group(5)\n${group.out}`);
  t.equal(both.err, '', 'nothing left out');

  const root = checkRoot('check', passwd.out, group.out);
  const pwck = spawnSync('pwck', ['-r', '-R', root], { encoding: 'utf8' });
  t.equal(pwck.status, 0, `pwck accepts the passwd lines: ${pwck.stdout}${pwck.stderr}`);
  const grpck = spawnSync('grpck', ['-r', '-R', root], { encoding: 'utf8' });
  t.equal(grpck.status, 0, `grpck accepts the group lines: ${grpck.stdout}${grpck.stderr}`);

  // Read back: every identity is one passwd line, and its supplementary groups are exactly the groups listing it.
  const users = new Map(
    passwd.out
      .trim()
      .split('\n')
      .map((line) => {
        const [name, , uid, gid, gecos] = line.split(':');
        return [name!, { uid: Number(uid), gid: Number(gid), gecos: gecos! }];
      }),
  );
  const groups = group.out
    .trim()
    .split('\n')
    .map((line) => {
      const [name, , gid, members] = line.split(':');
      return { name: name!, gid: Number(gid), members: members ? members.split(',') : [] };
    });
  t.equal(users.size, identities.length);
  for (const identity of identities) {
    const user = users.get(identity.name);
    t.same(user, { uid: identity.uid, gid: identity.gid, gecos: `kidfs ${identity.namespace}/${identity.serviceAccount}` }, identity.name);
    t.same(
      groups
        .filter((g) => g.members.includes(identity.name))
        .map((g) => g.gid)
        .sort(),
      [...identity.groups].sort(),
      `${identity.name}'s groups`,
    );
    t.ok(
      groups.some((g) => g.gid === identity.gid),
      `${identity.name}'s primary group has a name`,
    );
  }
  t.equal(new Set(groups.map((g) => g.gid)).size, groups.length, 'one line per gid');
  t.equal(new Set([...users.values()].map((u) => u.uid)).size, users.size, 'one line per uid');
  t.match(
    groups,
    [
      { name: 'ns-cms', gid: 200000 },
      { name: 'ns-shop', gid: 300000 },
      { name: fitName(`ns-${longNamespace}`), gid: 400000 },
      { name: 'kidfs-gid-5000', gid: 5000 },
      { name: 'media', gid: 9100 },
      { name: 'backup', gid: 9200 },
      { name: 'kidfs-gid-9300', gid: 9300 },
    ].sort((a, b) => a.gid - b.gid),
  );
  t.same(groups.find((g) => g.name === 'media')!.members.sort(), ['cms.editor', 'cms.legacy', 'shop.api', 'shop.worker']);

  const long = identities.filter((i) => i.namespace === longNamespace).map((i) => i.name);
  t.ok(
    long.every((name) => name.length === 32),
    `long names are cut to 32: ${long.join(' ')}`,
  );
  t.not(long[0], long[1], 'and stay distinct');
});

t.test('pwck does refuse what kidfs must never print (the check above can fail)', async (t) => {
  const root = checkRoot('bad', `${'x'.repeat(33)}:x:200001:200000::/nonexistent:/usr/sbin/nologin\n`, 'ns-cms:x:200000:\n');
  t.not(spawnSync('pwck', ['-r', '-R', root]).status, 0, 'a 33-character name');
  const orphan = checkRoot('orphan', 'a.b:x:200001:123456::/nonexistent:/usr/sbin/nologin\n', 'ns-cms:x:200000:\n');
  t.not(spawnSync('pwck', ['-r', '-R', orphan]).status, 0, 'a primary group without a group line');
});

t.test('names: short ones kept, long ones cut with a hash, distinct', async (t) => {
  t.equal(fitName('cms.editor'), 'cms.editor');
  t.equal(fitName('a'.repeat(32)), 'a'.repeat(32));
  const many = Array.from({ length: 2000 }, (_, i) => fitName(`${'shared-prefix-'.repeat(3)}${i}`));
  t.ok(many.every((n) => n.length === 32 && /^[a-z0-9.-]+-[0-9a-f]{6}$/.test(n)));
  t.equal(new Set(many).size, many.length);
  t.equal(fitName(`${'shared-prefix-'.repeat(3)}7`), many[7], 'the same on every node');
});

t.test('names that would collide are left out and reported, not printed twice', async (t) => {
  // A cut name has the form <head>-<hash>; an account named exactly like that would take the same name.
  const long = 'editor-of-the-weekly-newsletter-archive';
  const clash = fitName(`cms.${long}`).slice('cms.'.length);
  const file = join(dir.path, 'clash.ini');
  writeFileSync(file, `[static]\ncms/${long} = 6000:6000\ncms/${clash} = 6001:6000\n`);
  const { out, err } = await capture((o, e) => passwdCommand({ config: file, only: 'passwd' }, o, e));
  t.equal(out, `${fitName(`cms.${long}`)}:x:6000:6000:kidfs cms/${long}:/nonexistent:/usr/sbin/nologin\n`);
  t.equal(err, `kidfs passwd: left out: cms/${clash}: user name ${fitName(`cms.${long}`)} is already cms/${long}'s; left out\n`);
});

t.test('[static] wins over an older range record of the same account', async (t) => {
  const config = kubernetesConfig(api, dir.path, { extra: '[static]\ncms/viewer = 6000:6000' });
  const result = await capture((out, err) => passwdCommand({ config: config.file, only: 'passwd' }, out, err));
  t.match(result.out, /^cms\.viewer:x:6000:6000:/m);
  t.notMatch(result.out, /^cms\.viewer:x:2000/m);
});

t.test('kidfs identity prints the identity with names, and where it comes from', async (t) => {
  const config = kubernetesConfig(api, dir.path, { extra: staticAndGroups });
  const { out } = await capture((o) => identityCommand({ config: config.file, account: 'shop/worker' }, o));
  t.equal(
    out,
    'shop/worker: uid=300002(shop.worker) gid=300000(ns-shop) groups=9100(media),9200(backup)\n' +
      'source: namespace shop uid range 300000/1000 (annotation kidfs.io/uid-range), uid recorded in configmap kidfs/kidfs-uids-shop\n',
  );
  const legacy = await capture((o) => identityCommand({ config: config.file, account: 'cms/legacy' }, o));
  t.match(
    legacy.out,
    /^cms\/legacy: uid=5000\(cms\.legacy\) gid=5000\(kidfs-gid-5000\) groups=9100\(media\),9300\(kidfs-gid-9300\),200000\(ns-cms\)\nsource: \[static\] .*\.ini:\d+\n$/,
  );
  await t.rejects(identityCommand({ config: config.file, account: 'cms' }, new PassThrough()), {
    message: '"cms" is not <namespace>/<serviceaccount>: write kidfs identity <namespace>/<serviceaccount>',
  });
});

t.test('source = static: the example config lists its [static] table', async (t) => {
  const example = new URL('../../native-config/kidfs.ini', import.meta.url).pathname;
  const { out, err } = await capture((o, e) => passwdCommand({ config: example }, o, e));
  t.equal(
    out,
    [
      '# passwd(5)',
      'cms.editor:x:2001:2000:kidfs cms/editor:/nonexistent:/usr/sbin/nologin',
      'cms.viewer:x:2002:2000:kidfs cms/viewer:/nonexistent:/usr/sbin/nologin',
      'shop.api:x:2101:2100:kidfs shop/api:/nonexistent:/usr/sbin/nologin',
      '# group(5)',
      'kidfs-gid-2000:x:2000:',
      'kidfs-gid-2100:x:2100:',
      'shared-media:x:3000:cms.editor,shop.api',
      '',
    ].join('\n'),
  );
  t.equal(err, '');
});
