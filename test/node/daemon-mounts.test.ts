// The node daemon with real FUSE mounts: `kidfs node` in its own process, a test client acting as kubelet over
// gRPC on the daemon's unix socket, a loopback ganesha, the loopback API server. What a pod's processes write in
// their mount belongs on the server to the pod's identity, whatever uid they run as.
import t, { type Test } from 'tap';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { startLoopbackNfs, type LoopbackNfs } from '../../scripts/loopback-nfs.ts';
import { KIDFS, kidfsEnv, run, startServer, USER_1000 } from '../helpers/kidfs-mount.ts';
import { flexOptions, TestCluster, type TestPod } from '../helpers/node-fixture.ts';
import { NodeProcess, VOLUME_DIR } from '../helpers/node-process.ts';

const execFileAsync = promisify(execFile);
const cluster = await TestCluster.start(t);
const server = await startServer(t);
const node = await NodeProcess.start(t, { cluster, server });

/** What the mount table says is at `path` (the test process reads it; the daemon serves the mounts). */
function mountType(path: string): string | undefined {
  const result = run('root', '/', `awk '$5 == "${path}" { for (i = 7; $i != "-"; i++); print $(i+1) }' /proc/self/mountinfo`);
  return result.stdout.trim().split('\n').filter(Boolean).at(-1);
}

/** Files written by root and by uid 1000 inside the pod's mount; each one's owner on the server's backing directory. */
function writeAsContainerUsers(target: string, label: string): { root: number; user1000: number } {
  for (const [user, name] of [
    ['root', `${label}-root`],
    [USER_1000, `${label}-1000`],
  ] as const) {
    const result = run(user, target, `echo ${name} > ${name} && cat ${name}`);
    if (result.status !== 0 || result.stdout !== `${name}\n`) throw new Error(`writing ${name} in ${target} failed: ${result.stderr}`);
  }
  return { root: statSync(join(node.volumeDir, `${label}-root`)).uid, user1000: statSync(join(node.volumeDir, `${label}-1000`)).uid };
}

t.test("one volume for two pods with different service accounts: each pod's files belong to its own identity", async (t) => {
  const editor = cluster.pod('editor');
  const api = cluster.pod('api');
  const editorTarget = await node.publish(editor);
  const apiTarget = await node.publish(api);
  t.equal(mountType(editorTarget), 'fuse.kidfs', "the editor pod's target is a kidfs FUSE mount");
  t.equal(mountType(apiTarget), 'fuse.kidfs', "so is the api pod's");

  const editorIdentity = (await node.status(editorTarget))!.identity;
  const apiIdentity = (await node.status(apiTarget))!.identity;
  t.match(editorIdentity, { name: 'cms.editor' });
  t.match(apiIdentity, { name: 'shop.api' });
  t.ok(editorIdentity.uid >= 200000 && editorIdentity.uid < 201000, `cms/editor has a uid from cms's range (${editorIdentity.uid})`);
  t.ok(apiIdentity.uid >= 300000 && apiIdentity.uid < 301000, `shop/api has a uid from shop's range (${apiIdentity.uid})`);

  t.same(
    writeAsContainerUsers(editorTarget, 'editor'),
    { root: editorIdentity.uid, user1000: editorIdentity.uid },
    'files the editor pod writes as root and as uid 1000 are owned by cms/editor on the server',
  );
  t.same(
    writeAsContainerUsers(apiTarget, 'api'),
    { root: apiIdentity.uid, user1000: apiIdentity.uid },
    'files the api pod writes are owned by shop/api',
  );
  t.equal(statSync(join(node.volumeDir, 'editor-root')).gid, editorIdentity.gid, "with the identity's group");
  t.equal(run(USER_1000, apiTarget, 'cat editor-1000').stdout, 'editor-1000\n', 'both pods see one volume');
  const nfsConnections = run('root', '/', `ss -Htnp state established '( dport = :${server.nfsPort} )'`)
    .stdout.split('\n')
    .filter((line) => line.includes(`pid=${node.pid},`));
  t.equal(nfsConnections.length, 1, 'both mounts share one connection to the NFS server');

  for (const target of [editorTarget, apiTarget]) {
    await node.unpublish(target);
    t.equal(mountType(target), undefined, `${target}: unmounted`);
    t.notOk(existsSync(target), `${target}: removed`);
  }
  t.same(readdirSync(node.volumeDir).sort(), ['api-1000', 'api-root', 'editor-1000', 'editor-root'], 'the files stay on the server');
});

/**
 * A process that opens `name` in `dir`, writes `first`, says 'open', and on go() writes `second` and closes: it then
 * says 'wrote', or 'refused <code>' when the write or close fails.
 */
function holdOpenFile(t: Test, dir: string, name: string, first: string, second: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs');
    const fd = fs.openSync(${JSON.stringify(name)}, 'w');
    fs.writeSync(fd, ${JSON.stringify(first)});
    console.log('open');
    process.stdin.once('data', () => {
      try {
        fs.writeSync(fd, ${JSON.stringify(second)});
        fs.closeSync(fd);
        console.log('wrote');
      } catch (err) {
        console.log('refused ' + err.code);
      }
    });`,
    ],
    { cwd: dir, env: kidfsEnv(), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    go: () => child.stdin.write('go\n'),
    /** Resolves once the process has said `word` (also when it said it already). */
    said: (word: string) =>
      new Promise<void>((resolve) => {
        const check = () => (output.includes(word) ? resolve() : child.stdout.once('data', check));
        check();
      }),
  };
}

t.test('an unpublish while a file is still open detaches the mount and serves the file until it is closed', async (t) => {
  const pod = cluster.pod('editor');
  const target = await node.publish(pod);
  const holder = holdOpenFile(t, target, 'open.txt', 'before unpublish\n', 'after unpublish\n');
  await holder.said('open');

  await node.unpublish(target);
  t.equal(mountType(target), undefined, 'the target is no mount point any more');
  t.notOk(existsSync(target), 'and is removed');
  holder.go();
  await holder.said('wrote');
  t.equal(
    readFileSync(join(node.volumeDir, 'open.txt'), 'utf8'),
    'before unpublish\nafter unpublish\n',
    'the file open across the unpublish kept working until it was closed',
  );
  t.match(node.log, `${target}: unmounted with 1 files still open; serving them until they are closed`);
});

t.test('attack: a mount whose pod is gone is ended on republish: what was written is committed, open files stop working', async (t) => {
  const pod = cluster.pod('viewer');
  const target = await node.publish(pod);
  const holder = holdOpenFile(t, target, 'revoked.txt', 'written before\n', 'written after\n');
  await holder.said('open');

  // The pod was deleted and a new one of the same name made; kubelet republishes with a token of the old one.
  const oldToken = cluster.token(pod);
  cluster.api.addPod({ namespace: pod.namespace, name: pod.name, serviceAccount: pod.serviceAccount, nodeName: 'node-a' });
  const err = await node.csi.error('Node', 'NodePublishVolume', node.publishRequest(pod, target, { token: oldToken }));
  t.equal(err.code, status.PERMISSION_DENIED, 'the republish is refused');
  t.equal(mountType(target), undefined, 'the mount is ended');
  t.equal(readFileSync(join(node.volumeDir, 'revoked.txt'), 'utf8'), 'written before\n', 'what was written before is on the server');
  holder.go();
  await holder.said('refused');
  t.match(holder.output(), /refused E(NOTCONN|IO|BADF)/, 'the file open across the revocation no longer writes as the old identity');
  t.equal(readFileSync(join(node.volumeDir, 'revoked.txt'), 'utf8'), 'written before\n', 'nothing more reached the server');
  t.equal(await node.status(target), undefined, 'and the mount is forgotten');
});

t.test("a mount unmounted from outside is mounted again on kubelet's next publish", async (t) => {
  const pod = cluster.pod('api');
  const target = node.target(pod);
  const request = node.publishRequest(pod, target, { token: cluster.token(pod) });
  await node.csi.call('Node', 'NodePublishVolume', request);
  t.equal(run('root', '/', `umount -l ${target}`).status, 0, 'someone detaches it');
  t.equal((await node.status(target))?.state, 'not mounted', 'the daemon sees it is down');
  await node.csi.call('Node', 'NodePublishVolume', request);
  t.equal(mountType(target), 'fuse.kidfs', 'the same request mounts it again');
  t.equal(node.ownerOfNewFile(target, 'remounted'), (await node.status(target))!.identity.uid, "as the pod's identity");
  await node.unpublish(target);
});

t.test('an export made again on the server (its root handle stale) is connected anew for the next mount', async (t) => {
  const dir = mkdtempSync(join(node.dir, 'remade-export-'));
  chmodSync(dir, 0o777);
  const first = await startLoopbackNfs({ dir });
  t.teardown(() => first.stop());
  const on = (server: LoopbackNfs, pod: TestPod, target: string) =>
    node.publishRequest(pod, target, {
      token: cluster.token(pod),
      context: { share: dir, subDir: '' },
      mountFlags: [`port=${server.nfsPort}`, `mountport=${server.mountPort}`],
    });
  const holder = cluster.pod('editor');
  const holderTarget = node.target(holder);
  await node.csi.call('Node', 'NodePublishVolume', on(first, holder, holderTarget));

  // The same directory exported again under another Export_Id: every handle of the old export is STALE.
  await first.stop();
  const second = await startLoopbackNfs({ dir, nfsPort: first.nfsPort, mountPort: first.mountPort, exportId: 7 });
  t.teardown(() => second.stop());
  const pod = cluster.pod('viewer');
  const target = node.target(pod);
  await node.csi.call('Node', 'NodePublishVolume', on(second, pod, target));
  const written = run(USER_1000, target, 'echo fresh > fresh.txt');
  t.equal(written.status, 0, `the new mount works: ${written.stderr}`);
  t.equal(statSync(join(dir, 'fresh.txt')).uid, (await node.status(target))!.identity.uid, "as the pod's identity");
  for (const done of [holderTarget, target]) await node.unpublish(done);
});

t.test('refused publishes leave nothing mounted', async (t) => {
  const editor = cluster.pod('editor');
  const viewer = cluster.pod('viewer');
  const target = node.target(editor);
  const forgedUid: TestPod = { ...editor, uid: '0b1c2d3e-0000-4000-8000-000000000000' };
  const ephemeral = node.publishRequest(editor, target, { context: { 'csi.storage.k8s.io/ephemeral': 'true', serviceAccount: 'admin' } });
  const cases: [string, object, string][] = [
    [
      'forged pod information',
      node.publishRequest(forgedUid, node.target(forgedUid), { token: cluster.token(editor) }),
      `pod cms/${editor.name}: the API server has no such pod with metadata.uid "${forgedUid.uid}" as the mount request said`,
    ],
    [
      'a token of another pod',
      node.publishRequest(editor, target, { token: cluster.token(viewer) }),
      `pod cms/${editor.name}: its token does not belong to system:serviceaccount:cms:editor (status.user.username)`,
    ],
    [
      'an ephemeral volume that sets an identity',
      ephemeral,
      'volume_context["serviceAccount"] is not allowed in a pod-defined volume: such volumes may set only server, share, subDir',
    ],
  ];
  for (const [what, request, message] of cases) {
    const err = await node.csi.error('Node', 'NodePublishVolume', request);
    t.equal(err.code, status.PERMISSION_DENIED, `${what}: PERMISSION_DENIED`);
    t.equal(err.details, message, `${what}: ${message}`);
    t.equal(mountType(target), undefined, `${what}: nothing mounted`);
  }
  t.equal(await node.status(target), undefined, 'and nothing recorded');

  const missing = await node.csi.error(
    'Node',
    'NodePublishVolume',
    node.publishRequest(editor, target, { token: cluster.token(editor), context: { subDir: 'no/such/dir' } }),
  );
  t.equal(missing.code, status.NOT_FOUND, 'a subDir that does not exist: NOT_FOUND');
  t.match(missing.details, /^no\/such\/dir does not exist in nfs:\/\/127\.0\.0\.1\//);
  t.equal(mountType(target), undefined, 'nothing mounted');
});

t.test('a subDir that is a symlink on the server is refused, never followed', async (t) => {
  const editor = cluster.pod('editor');
  const target = node.target(editor);
  mkdirSync(join(server.dir, 'secret'), { mode: 0o777 });
  run('root', node.volumeDir, `ln -s ${join(server.dir, 'secret')} escape`);
  const err = await node.csi.error(
    'Node',
    'NodePublishVolume',
    node.publishRequest(editor, target, { token: cluster.token(editor), context: { subDir: 'cms/escape' } }),
  );
  t.equal(err.code, status.FAILED_PRECONDITION);
  t.equal(err.details, 'cms/escape is a symlink on the server: kidfs does not follow symlinks under an export');
  t.equal(mountType(target), undefined, 'nothing mounted');
});

t.test('attack: a PersistentVolume is never mounted through a directory a tenant could swap it in', async (t) => {
  const editor = cluster.pod('editor');
  const target = node.target(editor);
  // The tests' volume directory is 0777: a tenant could put a directory of its own at cms/team in place of the real one.
  mkdirSync(join(node.volumeDir, 'team'), { recursive: true });
  const err = await node.csi.error(
    'Node',
    'NodePublishVolume',
    node.publishRequest(editor, target, { token: cluster.token(editor), context: { subDir: 'cms/team' } }),
  );
  t.equal(err.code, status.FAILED_PRECONDITION);
  t.equal(
    err.details,
    `${VOLUME_DIR} on the server is owned by uid 0, group 0, mode 0777: kidfs reaches volumes only through directories owned by uid 0 that no one else can write`,
  );
  t.equal(mountType(target), undefined, 'nothing mounted');
});

t.test('the FlexVolume driver, run as kubelet runs it, mounts and unmounts through the daemon', async (t) => {
  const driverDir = join(node.dir, 'volume-plugins', 'kidfs.io~kidfs');
  mkdirSync(driverDir, { recursive: true });
  const driver = join(driverDir, 'kidfs');
  copyFileSync(new URL('../../scripts/kidfs-flexvolume', import.meta.url), driver);
  const env = { ...process.env, KIDFS_COMMAND: KIDFS, KIDFS_CONTROL_SOCKET: node.controlSocket };
  const flex = async (args: string[]) => JSON.parse((await execFileAsync(driver, args, { env })).stdout) as Record<string, unknown>;

  const viewer = cluster.pod('viewer');
  const target = node.flexTarget(viewer);
  mkdirSync(target);
  t.same(await flex(['mount', target, flexOptions(viewer, { subDir: 'cms' })]), { status: 'Success', message: `kidfs mounted ${target}` });
  t.equal(mountType(target), 'fuse.kidfs', 'a kidfs mount, served by the daemon');
  const identity = (await node.status(target))!.identity;
  t.match(identity, { name: 'cms.viewer' });
  t.same(writeAsContainerUsers(target, 'flex'), { root: identity.uid, user1000: identity.uid }, "files are the viewer's on the server");

  t.same(await flex(['unmount', target]), { status: 'Success', message: `kidfs unmounted ${target}` });
  t.equal(mountType(target), undefined, 'unmounted');
  t.notOk(existsSync(target), 'the mount directory is removed');

  const reader = cluster.pod('viewer');
  const readOnly = node.flexTarget(reader);
  mkdirSync(readOnly);
  t.same(await flex(['mount', readOnly, flexOptions(reader, { subDir: 'cms' }, 'ro')]), {
    status: 'Success',
    message: `kidfs mounted ${readOnly}`,
  });
  t.equal(run('root', readOnly, 'cat flex-root').stdout, 'flex-root\n', 'a read-only mount reads');
  t.match(run('root', readOnly, 'echo x > new-file').stderr, /Read-only file system/, 'and refuses writes (kubernetes.io/readwrite ro)');
  t.same((await flex(['unmount', readOnly])).status, 'Success');
  t.equal(mountType(readOnly), undefined, 'unmounted');
});
