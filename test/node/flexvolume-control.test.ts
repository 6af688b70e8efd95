// The control socket and its two clients: the FlexVolume driver, run exactly as kubelet runs it (argv and
// JSON, through the installed wrapper), and `kidfs status`. The daemon serves; the driver never holds a mount.
import t from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseNfsUrl } from '../../src/nfs/nfs-url.ts';
import { controlRequest } from '../../src/control-socket/control-client.ts';
import { startControlServer } from '../../src/control-socket/control-server.ts';
import { runFlexDriver } from '../../src/flexvolume/flex-driver.ts';
import { NodeError } from '../../src/csi/node-error.ts';
import { flexOptions, flexTarget as kubeletFlexTarget, NodeFixture, publishRequest, type TestPod } from '../helpers/node-fixture.ts';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const node = await NodeFixture.start(t, { podExports: [parseNfsUrl('nfs://127.0.0.1/exports/flex?nfsport=2049&mountport=20048')] });

// Installed as kubelet finds it: <plugin dir>/kidfs.io~kidfs/kidfs.
const driver = join(node.dir, 'volume-plugins', 'kidfs.io~kidfs', 'kidfs');
mkdirSync(join(node.dir, 'volume-plugins', 'kidfs.io~kidfs'), { recursive: true });
copyFileSync(join(repo, 'scripts/kidfs-flexvolume'), driver);
const env = { ...process.env, KIDFS_COMMAND: join(repo, 'scripts/kidfs'), KIDFS_CONTROL_SOCKET: node.controlSocket };

interface DriverRun {
  readonly answer: Record<string, unknown>;
  readonly exitCode: number;
  readonly stderr: string;
}

/** Runs the driver as kubelet does and parses the one JSON answer it must print. */
async function flex(args: string[], extraEnv: Record<string, string> = {}): Promise<DriverRun> {
  const result = await run(driver, args, { env: { ...env, ...extraEnv } }).then(
    ({ stdout, stderr }) => ({ stdout, stderr, exitCode: 0 }),
    (err: { stdout: string; stderr: string; code: number }) => ({ stdout: err.stdout, stderr: err.stderr, exitCode: err.code }),
  );
  return { answer: JSON.parse(result.stdout) as Record<string, unknown>, exitCode: result.exitCode, stderr: result.stderr };
}

const flexTarget = (pod: TestPod) => kubeletFlexTarget(node.dir, pod);

t.test('the control socket is root-only', async (t) => {
  t.equal(statSync(node.controlSocket).mode & 0o777, 0o600);
  await t.rejects(
    startControlServer(
      node.controlSocket,
      { mount: async () => {}, unmount: async () => {}, status: async () => ({ node: 'x', mounts: [] }) },
      () => {},
    ),
    { message: `another kidfs node daemon serves ${node.controlSocket}; stop it first` },
    'a second daemon on the same socket is refused',
  );
  t.same(await controlRequest(node.controlSocket, { op: 'status' }), { node: 'node-a', mounts: [] }, 'and the first one still answers');
});

t.test('FlexVolume init reports its capabilities without the daemon', async (t) => {
  const { answer, exitCode, stderr } = await flex(['init'], { KIDFS_CONTROL_SOCKET: join(node.dir, 'nowhere.sock') });
  t.same(answer, { status: 'Success', capabilities: { attach: false, fsGroup: false, selinuxRelabel: false } });
  t.equal(exitCode, 0);
  t.equal(stderr, '', 'nothing on stderr (kubelet reads it as part of the answer)');
  t.same(await runFlexDriver(['getvolumename', '{}'], node.controlSocket), {
    status: 'Not supported',
    message: 'kidfs does not implement getvolumename',
  });
});

t.test("FlexVolume mount and unmount go through the daemon, as the pod's identity", async (t) => {
  const pod = node.pod('editor');
  const target = flexTarget(pod);
  const mounted = await flex(['mount', target, flexOptions(pod, { subDir: 'media' }, 'ro')]);
  t.same(mounted.answer, { status: 'Success', message: `kidfs mounted ${target}` });
  t.equal(mounted.exitCode, 0);
  const mount = node.mounter.mounts.get(target)!;
  t.match(mount, { volumeId: 'media', subDir: 'media', readOnly: true, identity: { name: 'cms.editor', uid: 200001 } });
  t.same(mount.export, { host: '127.0.0.1', path: '/exports/flex', nfsPort: 2049, mountPort: 20048 }, 'the export the admin allowed');

  const again = await flex(['mount', target, flexOptions(pod, { subDir: 'media' }, 'ro')]);
  t.equal(again.answer['status'], 'Success', 'mount is idempotent');
  const unmounted = await flex(['unmount', target]);
  t.same(unmounted.answer, { status: 'Success', message: `kidfs unmounted ${target}` });
  t.notOk(node.mounter.mounts.has(target));
  t.notOk(existsSync(target), 'the mount directory is removed');
});

t.test('FlexVolume refusals are Failure answers naming the problem', async (t) => {
  const pod = node.pod('editor');
  const target = flexTarget(pod);
  const forged = await flex(['mount', target, flexOptions({ ...pod, serviceAccount: 'viewer' })]);
  t.same(
    forged.answer,
    {
      status: 'Failure',
      message: `PERMISSION_DENIED: pod cms/${pod.name}: its spec.serviceAccountName is not "viewer" as the mount request said`,
    },
    'a forged service account, through the installed driver',
  );
  t.equal(forged.exitCode, 1);

  // The same driver code in this process (spawning kidfs for each case would only add start-up time).
  const cases: [string, string[], string][] = [
    [
      'an export the admin did not allow',
      ['mount', target, flexOptions(pod, { server: '10.1.1.1', share: '/' })],
      'PERMISSION_DENIED: 10.1.1.1:/ is not an export pod-defined volumes may use (allowed: nfs://127.0.0.1/exports/flex?nfsport=2049&mountport=20048)',
    ],
    [
      'an identity option',
      ['mount', target, flexOptions(pod, { uid: '0' })],
      'PERMISSION_DENIED: option "uid" is not allowed in a pod-defined volume: such volumes may set only server, share, subDir',
    ],
    [
      'a subDir leaving the export',
      ['mount', target, flexOptions(pod, { subDir: '../..' })],
      'INVALID_ARGUMENT: option "subDir" "../.." leaves the export (..)',
    ],
    [
      'no pod information',
      ['mount', target, JSON.stringify({ 'kubernetes.io/readwrite': 'rw' })],
      'INVALID_ARGUMENT: option "kubernetes.io/pod.name" is missing: kidfs mounts FlexVolumes only for a known pod',
    ],
    [
      'a bad readwrite',
      ['mount', target, flexOptions(pod, {}, 'rx')],
      'INVALID_ARGUMENT: option "kubernetes.io/readwrite" is "rx", not rw or ro',
    ],
    ['options that are not JSON', ['mount', target, '{"kubernetes.io'], 'the options argument is not JSON'],
    ['a relative directory', ['mount', 'mnt', flexOptions(pod)], 'INVALID_ARGUMENT: mount directory "mnt" is not an absolute path'],
    ['no directory', ['unmount'], 'usage: unmount <mount dir>'],
  ];
  for (const [what, args, message] of cases) {
    t.same(await runFlexDriver(args, node.controlSocket), { status: 'Failure', message }, `${what}: ${message}`);
  }
  t.notOk(node.mounter.mounts.has(target), 'nothing was mounted');
  const down = await flex(['mount', target, flexOptions(pod)], { KIDFS_CONTROL_SOCKET: join(node.dir, 'nowhere.sock') });
  t.same(
    down.answer,
    {
      status: 'Failure',
      message: `UNAVAILABLE: cannot reach the kidfs node daemon at ${join(node.dir, 'nowhere.sock')}: ENOENT (is kidfs node running on this node?)`,
    },
    'no daemon: a Failure that says so',
  );
  const missing = await flex(['init'], { KIDFS_COMMAND: join(node.dir, 'no-kidfs') });
  t.same(
    missing.answer,
    {
      status: 'Failure',
      message: `kidfs FlexVolume driver: ${join(node.dir, 'no-kidfs')} not found: install kidfs on the node or set KIDFS_COMMAND`,
    },
    'no kidfs command: still a JSON answer',
  );
});

t.test('attack: a pod author whose options name another pod of the node gets nothing, and learns nothing', async (t) => {
  const attacker = node.pod('viewer');
  const victim = node.pod('editor');
  const target = flexTarget(attacker);
  // kubelet puts its kubernetes.io/pod.* keys first and the author's flexVolume.options over them.
  const claims: [string, Record<string, string>][] = [
    [
      'the victim, every key',
      { 'kubernetes.io/pod.name': victim.name, 'kubernetes.io/pod.uid': victim.uid, 'kubernetes.io/serviceAccount.name': 'editor' },
    ],
    [
      'a guessed uid',
      {
        'kubernetes.io/pod.name': victim.name,
        'kubernetes.io/pod.uid': '0b1c2d3e-0000-4000-8000-000000000000',
        'kubernetes.io/serviceAccount.name': 'editor',
      },
    ],
  ];
  for (const [what, own] of claims) {
    const answer = await runFlexDriver(['mount', target, flexOptions(attacker, own)], node.controlSocket);
    t.same(
      answer,
      {
        status: 'Failure',
        message: `PERMISSION_DENIED: mount directory ${JSON.stringify(target)} is not under ${join(node.dir, 'kubelet', 'pods', own['kubernetes.io/pod.uid']!, 'volumes')}/, where kubelet mounts the volumes of the pod uid ${JSON.stringify(own['kubernetes.io/pod.uid'])} the request names`,
      },
      `${what}: refused`,
    );
  }
  // Its own uid with the victim's name and account: the API server says no, without telling what it holds.
  const probe = await runFlexDriver(
    ['mount', target, flexOptions(attacker, { 'kubernetes.io/pod.name': victim.name, 'kubernetes.io/serviceAccount.name': 'editor' })],
    node.controlSocket,
  );
  t.equal(probe.status, 'Failure');
  t.equal(
    probe.message,
    `PERMISSION_DENIED: pod cms/${victim.name}: the API server has no such pod with metadata.uid "${attacker.uid}" as the mount request said`,
  );
  // The same answer for a name no pod has: whether a pod of that name exists is not told either.
  const ghost = await runFlexDriver(
    ['mount', target, flexOptions(attacker, { 'kubernetes.io/pod.name': 'no-such-pod', 'kubernetes.io/serviceAccount.name': 'editor' })],
    node.controlSocket,
  );
  t.equal(ghost.message, probe.message?.replace(victim.name, 'no-such-pod'), 'a missing pod and another pod answer alike');
  const sa = await runFlexDriver(
    ['mount', target, flexOptions(attacker, { 'kubernetes.io/serviceAccount.name': 'editor' })],
    node.controlSocket,
  );
  t.equal(sa.message, `PERMISSION_DENIED: pod cms/${attacker.name}: its spec.serviceAccountName is not "editor" as the mount request said`);
  for (const answer of [probe, sa]) t.notMatch(answer.message, victim.uid, "the victim's uid is never told");
  t.notOk(node.mounter.mounts.has(target), 'nothing was mounted');
});

t.test('kidfs status lists the mounts with pod, identity, export and state', async (t) => {
  const editor = node.pod('editor');
  const api = node.pod('api');
  const editorTarget = node.target(editor);
  const apiTarget = flexTarget(api);
  await node.csi.call('Node', 'NodePublishVolume', publishRequest(editor, editorTarget, { token: node.token(editor) }));
  t.equal((await flex(['mount', apiTarget, flexOptions(api)])).answer['status'], 'Success');
  node.mounter.kill(apiTarget);
  await node.api.stop();
  await node.daemon.manager.recover();
  await node.api.start();

  const kidfs = join(repo, 'scripts/kidfs');
  const table = (await run(kidfs, ['status', '--control-socket', node.controlSocket])).stdout.split('\n');
  t.equal(table[0], 'node node-a: 2 kidfs mounts');
  t.match(table[1], /^POD +IDENTITY +EXPORT +STATE +TARGET$/);
  const editorRow = table.find((line) => line.startsWith(`cms/${editor.name} `));
  t.match(
    editorRow,
    new RegExp(`^cms/${editor.name} +cms\\.editor 200001:200000 +nfs://127\\.0\\.0\\.1/exports/shared cms +mounted +${editorTarget}$`),
  );
  const apiRow = table.findIndex((line) => line.startsWith(`shop/${api.name} `));
  t.match(
    table[apiRow],
    new RegExp(
      `^shop/${api.name} +shop\\.api 300001:300000 +nfs://127\\.0\\.0\\.1/exports/flex\\?nfsport=2049&mountport=20048 +not mounted +${apiTarget}$`,
    ),
  );
  t.match(
    table[apiRow + 1],
    /^ {2}problem: Kubernetes API server https:\/\/127\.0\.0\.1:\d+: cannot read pod shop\/api-\d+: unreachable/,
    'why it is down',
  );

  const json = JSON.parse((await run(kidfs, ['status', '--json', '--control-socket', node.controlSocket])).stdout) as {
    node: string;
    mounts: Record<string, unknown>[];
  };
  t.equal(json.node, 'node-a');
  t.match(
    json.mounts.find((m) => m['target'] === editorTarget),
    {
      volumeId: 'nfs://127.0.0.1/exports/shared#cms#retain',
      export: 'nfs://127.0.0.1/exports/shared',
      subDir: 'cms',
      state: 'mounted',
      via: 'csi',
      pod: { namespace: 'cms', name: editor.name, uid: editor.uid, serviceAccount: 'editor' },
      identity: { uid: 200001, gid: 200000, name: 'cms.editor' },
    },
  );
  t.match(
    json.mounts.find((m) => m['target'] === apiTarget),
    { state: 'not mounted', via: 'flexvolume', ephemeral: true, problem: /unreachable/ },
  );

  // No daemon and no standalone mount (records of this test's own, empty): the one line that says so.
  const noRecords = { env: { ...process.env, KIDFS_MOUNT_RECORDS: join(node.dir, 'no-records') } };
  const refused = await run(kidfs, ['status', '--control-socket', join(node.dir, 'nowhere.sock')], noRecords).catch(
    (err: { stderr: string; code: number }) => err,
  );
  t.equal((refused as { code: number }).code, 1);
  t.equal(
    (refused as { stderr: string }).stderr,
    `kidfs: cannot reach the kidfs node daemon at ${join(node.dir, 'nowhere.sock')}: ENOENT (is kidfs node running on this node?)\n`,
  );
});

t.test('control requests that are malformed are answered with INVALID_ARGUMENT', async (t) => {
  const err = await controlRequest(node.controlSocket, {
    op: 'mount',
    target: '/x',
    options: { 'kubernetes.io/pod.name': 5 as unknown as string },
  }).catch((e: unknown) => e);
  t.type(err, NodeError);
  t.match(err, { code: 'INVALID_ARGUMENT', message: 'options["kubernetes.io/pod.name"] must be a string' });
});
