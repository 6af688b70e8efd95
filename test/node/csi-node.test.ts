// The node daemon as kubelet sees it: CSI Identity and Node over real gRPC on a unix socket, pods verified
// against the loopback API server, mounts handed to a recording mounter (no FUSE here).
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNfsUrl } from '../../src/nfs/nfs-url.ts';
import { KIDFS_VERSION } from '../../src/version.ts';
import { NodeFixture, publishRequest } from '../helpers/node-fixture.ts';

const inline = parseNfsUrl('nfs://127.0.0.1/exports/inline?nfsport=2049&mountport=20048');
const node = await NodeFixture.start(t, { podExports: [inline, parseNfsUrl('nfs://nfs.example/exports/scratch')] });
const csi = node.csi;

t.test('Identity: plugin info, capabilities, ready', async (t) => {
  t.same(await csi.call('Identity', 'GetPluginInfo'), { name: 'kidfs.io', vendor_version: KIDFS_VERSION, manifest: {} });
  t.same(await csi.call('Identity', 'GetPluginCapabilities'), { capabilities: [] }, 'the node endpoint offers no controller');
  t.same(await csi.call('Identity', 'Probe'), { ready: { value: true } });
});

t.test('NodeGetInfo and NodeGetCapabilities', async (t) => {
  t.same(
    await csi.call('Node', 'NodeGetInfo'),
    { node_id: 'node-a', max_volumes_per_node: '0', accessible_topology: null },
    'no limit unless the daemon is given one',
  );
  t.same(await csi.call('Node', 'NodeGetCapabilities'), { capabilities: [] }, 'no staging: every publish is its own mount');
});

t.test('one volume for two pods with different service accounts: each mount acts as its own identity', async (t) => {
  const editor = node.pod('editor');
  const viewer = node.pod('viewer');
  const editorTarget = node.target(editor);
  const viewerTarget = node.target(viewer);
  await csi.call('Node', 'NodePublishVolume', publishRequest(editor, editorTarget, { token: node.token(editor) }));
  await csi.call('Node', 'NodePublishVolume', publishRequest(viewer, viewerTarget, { token: node.token(viewer) }));

  const editorMount = node.mounter.mounts.get(editorTarget)!;
  const viewerMount = node.mounter.mounts.get(viewerTarget)!;
  t.match(editorMount.identity, { uid: 200001, gid: 200000, name: 'cms.editor', namespace: 'cms', serviceAccount: 'editor' });
  t.match(viewerMount.identity, { uid: 200002, gid: 200000, name: 'cms.viewer', serviceAccount: 'viewer' });
  t.same(editorMount.export, { host: '127.0.0.1', path: '/exports/shared' });
  t.equal(editorMount.subDir, 'cms');
  t.equal(editorMount.readOnly, false);
  t.ok(statSync(editorTarget).isDirectory(), 'the target was created');
  t.equal(node.api.countRequests('POST', 'tokenreviews'), 2, 'both tokens went through TokenReview');

  const records = readdirSync(join(node.stateDir, 'mounts'));
  t.equal(records.length, 2, 'one record per mount');
  t.equal(statSync(join(node.stateDir, 'mounts')).mode & 0o777, 0o700, 'the state directory is root-only');
  for (const name of records) t.equal(statSync(join(node.stateDir, 'mounts', name)).mode & 0o777, 0o600, `${name} is root-only`);
  const recorded = records.map((name) => JSON.parse(readFileSync(join(node.stateDir, 'mounts', name), 'utf8')));
  t.same(recorded.map((r) => r.identity.name).sort(), ['cms.editor', 'cms.viewer']);
  t.same(recorded.map((r) => r.request.pod.podUid).sort(), [editor.uid, viewer.uid].sort());

  await csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'nfs://127.0.0.1/exports/shared#cms#retain', target_path: editorTarget });
  t.notOk(node.mounter.mounts.has(editorTarget), 'unmounted');
  t.notOk(existsSync(editorTarget), 'the target is removed');
  t.equal(readdirSync(join(node.stateDir, 'mounts')).length, 1, 'its record is gone');
  t.ok(node.mounter.mounts.has(viewerTarget), 'the other pod keeps its mount');
});

t.test('publish is idempotent; another request on the same target is ALREADY_EXISTS', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  const request = publishRequest(pod, target);
  await csi.call('Node', 'NodePublishVolume', request);
  await csi.call('Node', 'NodePublishVolume', request);
  t.same(
    node.mounter.calls.filter((c) => c === `mount ${target}`),
    [`mount ${target}`],
    'mounted once',
  );

  const readOnly = await csi.error('Node', 'NodePublishVolume', publishRequest(pod, target, { readonly: true }));
  t.equal(readOnly.code, status.ALREADY_EXISTS);
  t.equal(readOnly.details, `${target} already has another kidfs mount: read-only false (asked: true)`);
  const other = await csi.error('Node', 'NodePublishVolume', publishRequest(pod, target, { context: { subDir: 'shop' }, volumeId: 'v2' }));
  t.equal(other.code, status.ALREADY_EXISTS);
  t.equal(
    other.details,
    `${target} already has another kidfs mount: volume "nfs://127.0.0.1/exports/shared#cms#retain" (asked: "v2"), subDir "cms" (asked: "shop")`,
  );
  t.ok(node.mounter.mounts.has(target), 'the first mount stays');
});

t.test('missing or malformed fields are INVALID_ARGUMENT naming the field', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  const base = publishRequest(pod, target) as Record<string, unknown>;
  const context = base['volume_context'] as Record<string, string>;
  const cases: [string, object, string][] = [
    ['no volume id', { ...base, volume_id: '' }, 'volume_id is required'],
    ['relative target', { ...base, target_path: 'pods/x/mount' }, 'target_path "pods/x/mount" is not an absolute path'],
    [
      'unnormalized target',
      { ...base, target_path: `${target}/../x` },
      `target_path "${target}/../x" is not a normalized path (no //, ., .. or trailing /)`,
    ],
    ['no capability', { ...base, volume_capability: null }, 'volume_capability is required'],
    [
      'block access',
      { ...base, volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } },
      'volume_capability asks for block access: kidfs volumes are file systems (use volumeMode: Filesystem)',
    ],
    ['no access mode', { ...base, volume_capability: { mount: {} } }, 'volume_capability has no access_mode'],
    [
      'no server',
      { ...base, volume_context: { ...context, server: '' } },
      'volume_context["server"] is required (the NFS server\'s name or address)',
    ],
    [
      'relative share',
      { ...base, volume_context: { ...context, share: 'exports' } },
      'volume_context["share"] "exports" is not an absolute export path',
    ],
    [
      'bad server',
      { ...base, volume_context: { ...context, server: 'nfs server' } },
      'volume_context["server"] or volume_context["share"] do not name an NFS export: nfs://nfs server/exports/shared: \'nfs server\' is not a host name or IP address',
    ],
    [
      'subDir leaving the export',
      { ...base, volume_context: { ...context, subDir: 'cms/../../etc' } },
      'volume_context["subDir"] "cms/../../etc" leaves the export (..)',
    ],
    [
      'absolute subDir',
      { ...base, volume_context: { ...context, subDir: '/etc' } },
      'volume_context["subDir"] "/etc" is absolute: write a path relative to the export',
    ],
    [
      'unknown attribute',
      { ...base, volume_context: { ...context, uid: '0' } },
      'volume_context["uid"] is not a kidfs volume attribute (kidfs reads server, share, subDir)',
    ],
    [
      'part of the pod information',
      { ...base, volume_context: { ...context, 'csi.storage.k8s.io/pod.uid': '' } },
      'volume_context["csi.storage.k8s.io/pod.uid"] is missing (the other pod information keys are present)',
    ],
    [
      'malformed pod uid',
      { ...base, volume_context: { ...context, 'csi.storage.k8s.io/pod.uid': '../x' } },
      'volume_context["csi.storage.k8s.io/pod.uid"] "../x" is not a pod UID',
    ],
    [
      'tokens not JSON',
      { ...base, secrets: { 'csi.storage.k8s.io/serviceAccount.tokens': '{kidfs' } },
      'secrets["csi.storage.k8s.io/serviceAccount.tokens"] is not JSON (expected {"<audience>": {"token": "...", "expirationTimestamp": "..."}})',
    ],
    [
      'token without a string',
      { ...base, volume_context: { ...context, 'csi.storage.k8s.io/serviceAccount.tokens': '{"kidfs":{"token":7}}' } },
      'volume_context["csi.storage.k8s.io/serviceAccount.tokens"] has no token string for audience "kidfs"',
    ],
    [
      'ephemeral flag',
      { ...base, volume_context: { ...context, 'csi.storage.k8s.io/ephemeral': 'yes' } },
      'volume_context["csi.storage.k8s.io/ephemeral"] is "yes", not "true" or "false"',
    ],
    [
      'NFS version 4',
      { ...base, volume_capability: { mount: { mount_flags: ['nfsvers=4.1'] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } } },
      'mount option nfsvers=4.1 is not supported: kidfs speaks NFS version 3',
    ],
    [
      'unknown mount option',
      { ...base, volume_capability: { mount: { mount_flags: ['hard,intr'] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } } },
      'mount option hard is not one kidfs knows (it takes port=N, mountport=N and nfsvers=3)',
    ],
  ];
  for (const [what, request, message] of cases) {
    const err = await csi.error('Node', 'NodePublishVolume', request);
    t.equal(err.code, status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
    t.equal(err.details, message, `${what}: names the field`);
  }
  t.notOk(existsSync(target), 'nothing was created for refused requests');
  const unpublish = await csi.error('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: '' });
  t.equal(unpublish.code, status.INVALID_ARGUMENT);
  t.equal(unpublish.details, 'target_path is required');
});

t.test('mount options and access modes reach the mounter', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  await csi.call(
    'Node',
    'NodePublishVolume',
    publishRequest(pod, target, { mode: 'MULTI_NODE_READER_ONLY', mountFlags: ['nfsvers=3,port=2049', 'mountport=20048'] }),
  );
  const mount = node.mounter.mounts.get(target)!;
  t.equal(mount.readOnly, true, 'a reader-only access mode mounts read-only');
  t.same(mount.export, { host: '127.0.0.1', path: '/exports/shared', nfsPort: 2049, mountPort: 20048 });
});

t.test('unpublish of something not mounted is OK and removes the target', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  await mkdir(target);
  await csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
  t.notOk(existsSync(target), 'an empty target left by kubelet is removed');
  await csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
  t.pass('a target that does not exist is fine too');
});

t.test('forged pod information and foreign tokens are refused with PERMISSION_DENIED', async (t) => {
  const editor = node.pod('editor');
  const viewer = node.pod('viewer');
  const elsewhere = node.pod('editor', { nodeName: 'node-b' });
  const forgedUid = { ...editor, uid: '0b1c2d3e-0000-4000-8000-000000000000' };
  const target = node.target(editor);
  const cases: [string, object, string][] = [
    [
      'another service account than the pod runs as',
      publishRequest({ ...editor, serviceAccount: 'viewer' }, target),
      `pod cms/${editor.name}: its spec.serviceAccountName is not "viewer" as the mount request said`,
    ],
    [
      'another pod uid',
      publishRequest(forgedUid, node.target(forgedUid)),
      `pod cms/${editor.name}: the API server has no such pod with metadata.uid "0b1c2d3e-0000-4000-8000-000000000000" as the mount request said`,
    ],
    [
      'a pod of another node',
      publishRequest(elsewhere, node.target(elsewhere)),
      `pod cms/${elsewhere.name}: its spec.nodeName is not this node "node-a"`,
    ],
    [
      'a token of another pod',
      publishRequest(editor, target, { token: node.token(viewer) }),
      `pod cms/${editor.name}: its token does not belong to system:serviceaccount:cms:editor (status.user.username)`,
    ],
    [
      'a token for another audience',
      publishRequest(editor, target, { token: node.token(editor, ['vault']) }),
      `pod cms/${editor.name}: its service-account token was not accepted by TokenReview (status.error: [invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["kidfs"]])`,
    ],
  ];
  for (const [what, request, message] of cases) {
    const err = await csi.error('Node', 'NodePublishVolume', request);
    t.equal(err.code, status.PERMISSION_DENIED, `${what}: PERMISSION_DENIED`);
    t.equal(err.details, message, `${what}: says why`);
  }
  t.notOk(node.mounter.mounts.has(target), 'nothing was mounted');
  t.notOk(existsSync(target), 'no target was made for a refused pod');
});

t.test('attack: a pod claiming another pod of this node is refused by where kubelet mounts it', async (t) => {
  const attacker = node.pod('viewer');
  const victim = node.pod('editor');
  const attackerTarget = node.target(attacker);
  const claims: [string, object][] = [
    ["the victim's pod information at the attacker's target", publishRequest(victim, attackerTarget)],
    ["the victim's information, inline", publishRequest(victim, attackerTarget, { context: { 'csi.storage.k8s.io/ephemeral': 'true' } })],
    ["a target outside kubelet's pods", publishRequest(victim, join(node.dir, 'elsewhere', victim.uid, 'volumes', 'mount'))],
    [
      "a path that only begins with the victim's uid",
      publishRequest(victim, join(node.dir, 'kubelet', 'pods', `${victim.uid}0`, 'volumes', 'x', 'mount')),
    ],
  ];
  for (const [what, request] of claims) {
    const err = await csi.error('Node', 'NodePublishVolume', request);
    t.equal(err.code, status.PERMISSION_DENIED, `${what}: PERMISSION_DENIED`);
    const target = (request as { target_path: string }).target_path;
    t.equal(
      err.details,
      `target_path ${JSON.stringify(target)} is not under ${join(node.dir, 'kubelet', 'pods', victim.uid, 'volumes')}/, where kubelet mounts the volumes of the pod uid "${victim.uid}" the request names`,
      `${what}: says why`,
    );
    t.notOk(node.mounter.mounts.has(target), `${what}: nothing mounted`);
  }
  t.equal(node.api.countRequests('GET', `pods/${victim.name}`), 0, 'the API server was never asked about the victim');
});

t.test("attack: a secret of the pod author neither replaces nor hides kubelet's token", async (t) => {
  const strict = await NodeFixture.start(t, { kubernetes: 'require-token = yes' });
  const pod = strict.pod('editor');
  const other = strict.pod('editor');
  const target = strict.target(pod);
  const authorTokens = (tokens: object) => ({ 'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify(tokens) });
  // nodePublishSecretRef of an inline volume: the pod author chooses what lands in secrets.
  for (const [what, secrets] of [
    ["a tokens map without kidfs's audience", authorTokens({ vault: { token: 'x' } })],
    ["another pod's token for kidfs", authorTokens({ kidfs: { token: strict.token(other) } })],
  ] as const) {
    await strict.csi.call('Node', 'NodePublishVolume', publishRequest(pod, target, { token: strict.token(pod), secrets }));
    t.equal(strict.mounter.mounts.get(target)?.identity.name, 'cms.editor', `${what} in secrets: kubelet's token is used`);
    await strict.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
  }
  const withoutAudience = publishRequest(pod, target, {
    context: { 'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({ vault: { token: 'x' } }) },
  });
  const err = await strict.csi.error('Node', 'NodePublishVolume', withoutAudience);
  t.equal(err.code, status.INVALID_ARGUMENT, "require-token = yes: a tokens map without kidfs's audience is no stand-in for a token");
  t.equal(
    err.details,
    'volume_context["csi.storage.k8s.io/serviceAccount.tokens"] has no token for audience "kidfs" and [kubernetes] require-token = yes (the CSIDriver\'s tokenRequests must ask for it)',
  );
  t.notOk(strict.mounter.mounts.has(target), 'nothing mounted');
});

t.test('inline ephemeral volumes: attributes of the pod author pick only an allowed export and a subDir in it', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod, 'scratch');
  const ephemeral = (context: Record<string, string>) => {
    const request = publishRequest(pod, target, { context: { 'csi.storage.k8s.io/ephemeral': 'true', ...context } }) as {
      volume_context: Record<string, string>;
    };
    for (const key of ['server', 'share', 'subDir']) if (!(key in context)) delete request.volume_context[key];
    return request;
  };
  const refusals: [string, object, number, string][] = [
    [
      'an identity attribute',
      ephemeral({ serviceAccount: 'admin' }),
      status.PERMISSION_DENIED,
      'volume_context["serviceAccount"] is not allowed in a pod-defined volume: such volumes may set only server, share, subDir',
    ],
    [
      'a uid',
      ephemeral({ uid: '0' }),
      status.PERMISSION_DENIED,
      'volume_context["uid"] is not allowed in a pod-defined volume: such volumes may set only server, share, subDir',
    ],
    [
      'another export',
      ephemeral({ server: '10.0.0.9', share: '/secrets' }),
      status.PERMISSION_DENIED,
      '10.0.0.9:/secrets is not an export pod-defined volumes may use (allowed: nfs://127.0.0.1/exports/inline?nfsport=2049&mountport=20048, nfs://nfs.example/exports/scratch)',
    ],
    [
      'a subDir leaving the export',
      ephemeral({ subDir: '../shared' }),
      status.INVALID_ARGUMENT,
      'volume_context["subDir"] "../shared" leaves the export (..)',
    ],
    [
      'a forged service account',
      { ...ephemeral({}), volume_context: { ...ephemeral({}).volume_context, 'csi.storage.k8s.io/serviceAccount.name': 'viewer' } },
      status.PERMISSION_DENIED,
      `pod cms/${pod.name}: its spec.serviceAccountName is not "viewer" as the mount request said`,
    ],
  ];
  for (const [what, request, code, message] of refusals) {
    const err = await csi.error('Node', 'NodePublishVolume', request);
    t.equal(err.code, code, `${what}: refused with code ${code}`);
    t.equal(err.details, message, `${what}: says why`);
  }
  const noPod = ephemeral({}) as { volume_context: Record<string, string> };
  for (const key of Object.keys(noPod.volume_context))
    if (key.startsWith('csi.storage.k8s.io/pod') || key.includes('serviceAccount')) delete noPod.volume_context[key];
  const anonymous = await csi.error('Node', 'NodePublishVolume', noPod);
  t.equal(anonymous.code, status.INVALID_ARGUMENT, 'an inline volume without pod information is refused');
  t.match(anonymous.details, /is missing: an inline volume is only mounted for a known pod/);
  t.notOk(node.mounter.mounts.has(target), 'nothing mounted at the target');

  await csi.call('Node', 'NodePublishVolume', ephemeral({ subDir: 'tmp/editor' }));
  const mount = node.mounter.mounts.get(target)!;
  t.same(mount.export, inline, 'the default pod export, ports and all');
  t.equal(mount.subDir, 'tmp/editor');
  t.equal(mount.identity.name, 'cms.editor', "the identity is the verified pod's");
  await csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'x', target_path: target });

  await csi.call('Node', 'NodePublishVolume', ephemeral({ server: 'nfs.example', share: '/exports/scratch/' }));
  t.same(
    node.mounter.mounts.get(target)!.export,
    { host: 'nfs.example', path: '/exports/scratch' },
    'another allowed export by server and share',
  );
});

t.test('a republish with a new token verifies it and keeps the mount', async (t) => {
  const pod = node.pod('viewer');
  const other = node.pod('editor');
  const target = node.target(pod);
  await csi.call('Node', 'NodePublishVolume', publishRequest(pod, target, { token: node.token(pod) }));
  const reviews = node.api.countRequests('POST', 'tokenreviews');
  const fresh = node.token(pod);
  await csi.call('Node', 'NodePublishVolume', publishRequest(pod, target, { token: fresh }));
  t.equal(node.api.countRequests('POST', 'tokenreviews'), reviews + 1, 'the new token was reviewed');
  const record = readdirSync(join(node.stateDir, 'mounts'))
    .map((n) => JSON.parse(readFileSync(join(node.stateDir, 'mounts', n), 'utf8')))
    .find((r) => r.request.target === target);
  t.equal(record.request.token.token, fresh, 'the record keeps the newest token');
  const again = node.mounter.calls.filter((c) => c === `mount ${target}`).length;
  t.equal(again, 1, 'no remount');

  const foreign = await csi.error('Node', 'NodePublishVolume', publishRequest(pod, target, { token: node.token(other) }));
  t.equal(foreign.code, status.PERMISSION_DENIED, 'a republish with a foreign token is refused');
  t.ok(node.mounter.mounts.has(target), 'and the live mount stays');
});

t.test('an API server that cannot be reached is UNAVAILABLE (kubelet retries), never a weaker identity', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  await node.api.stop();
  const err = await csi.error('Node', 'NodePublishVolume', publishRequest(pod, target));
  await node.api.start();
  t.equal(err.code, status.UNAVAILABLE);
  t.match(err.details, /^Kubernetes API server https:\/\/127\.0\.0\.1:\d+: cannot read pod cms\/editor-\d+: unreachable/);
  t.notOk(node.mounter.mounts.has(target));
  await csi.call('Node', 'NodePublishVolume', publishRequest(pod, target));
  t.ok(node.mounter.mounts.has(target), 'the retry works once the API server is back');
});
