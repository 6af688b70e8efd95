// The node daemon after a crash or an upgrade: mount records in the state directory bring every mount back at
// the same target with the same identity, after the pod is verified again; mounts of pods that are gone are
// cleaned up; a dead FUSE mount left at a target is detached first; what cannot be verified stays down.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { parseNfsUrl } from '../../src/nfs/nfs-url.ts';
import { isMountPoint, targetState } from '../../src/mount/mount-table.ts';
import { startFuseServer } from '../helpers/fuse-server-client.ts';
import { NodeFixture, publishRequest, type TestPod } from '../helpers/node-fixture.ts';

const run = promisify(execFile);
const node = await NodeFixture.start(t);
const records = () => readdirSync(join(node.stateDir, 'mounts'));
const recordOf = (target: string) =>
  records()
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(node.stateDir, 'mounts', n), 'utf8')))
    .find((r) => r.request.target === target);

async function publish(pod: TestPod, options: Parameters<typeof publishRequest>[2] = {}): Promise<string> {
  const target = node.target(pod);
  await node.csi.call('Node', 'NodePublishVolume', publishRequest(pod, target, { token: node.token(pod), ...options }));
  return target;
}

t.test('after a crash every recorded mount comes back at its target with its identity', async (t) => {
  const editor = node.pod('editor');
  const api = node.pod('api');
  const editorTarget = await publish(editor);
  const apiTarget = await publish(api);
  const before = node.mounter.mounts.get(apiTarget)!.identity;

  await node.restart();
  t.equal(node.mounter.mounts.get(editorTarget)?.identity.name, 'cms.editor', 'editor remounted as itself');
  t.same(node.mounter.mounts.get(apiTarget)?.identity, before, 'shop/api remounted with the same identity');
  t.same(node.mounter.mounts.get(apiTarget)?.export, { host: '127.0.0.1', path: '/exports/shared' });
  t.same(await node.csi.call('Identity', 'Probe'), { ready: { value: true } }, 'ready once recovery is done');
  t.equal(node.log.at(-1), 'ready: 0 alive, 2 remounted, 0 cleaned up, 0 failed', 'the recovery is logged');
  t.notOk(
    records().some((n) => n.includes('.tmp-')),
    'no temporary record files are left',
  );

  // kubelet's republish after the restart finds the live mount: nothing to do.
  await node.csi.call(
    'Node',
    'NodePublishVolume',
    publishRequest(editor, editorTarget, { token: recordOf(editorTarget).request.token.token }),
  );
  t.equal(node.mounter.calls.filter((c) => c === `mount ${editorTarget}`).length, 1, 'no second mount');
  for (const target of [editorTarget, apiTarget])
    await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
});

t.test('mounts of pods that are gone are cleaned up: unmounted, record and target removed', async (t) => {
  const replaced = node.pod('editor');
  const finished = node.pod('viewer');
  const staying = node.pod('viewer');
  const replacedTarget = await publish(replaced);
  const finishedTarget = await publish(finished);
  const stayingTarget = await publish(staying);
  node.api.addPod({ namespace: 'cms', name: replaced.name, serviceAccount: 'editor', nodeName: 'node-a' });
  node.api.addPod({
    namespace: 'cms',
    name: finished.name,
    uid: finished.uid,
    serviceAccount: 'viewer',
    nodeName: 'node-a',
    phase: 'Succeeded',
  });

  await node.restart();
  for (const target of [replacedTarget, finishedTarget]) {
    t.notOk(node.mounter.mounts.has(target), `${target}: not mounted again`);
    t.notOk(existsSync(target), `${target}: removed`);
    t.notOk(recordOf(target), `${target}: record removed`);
  }
  t.ok(node.mounter.mounts.has(stayingTarget), 'the mount of a running pod is back');
  t.ok(
    node.log.some((l) => l === `cleaned up ${replacedTarget}: pod cms/${replaced.name} (uid ${replaced.uid}) is gone`),
    'cleaning is logged',
  );
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: replacedTarget });
  t.pass("kubelet's late unpublish of a cleaned-up target is fine");
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: stayingTarget });
});

t.test('a dead FUSE mount left at a target is detached and mounted again', async (t) => {
  const pod = node.pod('editor');
  const target = await publish(pod);
  await node.stop();
  // What a crashed daemon leaves: a FUSE mount whose server was killed.
  const fuse = await startFuseServer(t, { mountpoint: target, fs: 'memory', options: { name: 'dead-test' } });
  process.kill(fuse.pid, 'SIGKILL');
  await waitFor(async () => (await targetState(target)) === 'dead mount');
  t.equal(await targetState(target), 'dead mount', 'stat answers ENOTCONN');

  await node.restart();
  t.ok(node.log.includes(`detached the left-over dead mount at ${target}`), 'detached with umount -l');
  t.notOk(await isMountPoint(target), 'the dead mount is gone');
  t.equal(node.mounter.mounts.get(target)?.identity.name, 'cms.editor', 'and the target is served again');
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
});

t.test('a mount that died while the daemon runs comes back on republish or reconcile', async (t) => {
  const pod = node.pod('viewer');
  const target = await publish(pod);
  node.mounter.kill(target);
  await node.csi.call('Node', 'NodePublishVolume', publishRequest(pod, target, { token: recordOf(target).request.token.token }));
  t.ok(node.mounter.mounts.has(target), "kubelet's republish remounts it");
  node.mounter.kill(target);
  const summary = await node.daemon.manager.recover();
  t.same(summary.remounted, [target], 'the reconcile pass remounts it');
  t.ok(
    node.log.includes(
      `remounted nfs://127.0.0.1/exports/shared cms at ${target} for pod cms/${pod.name} as cms.viewer (uid 200002, gid 200000)`,
    ),
  );
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
});

t.test("the daemon's reconcile interval brings a dead mount back by itself", async (t) => {
  const ticking = await NodeFixture.start(t, { reconcileIntervalMs: 100 });
  const pod = ticking.pod('editor');
  const target = ticking.target(pod);
  await ticking.csi.call('Node', 'NodePublishVolume', publishRequest(pod, target));
  ticking.mounter.kill(target);
  // The log line comes once the new record is saved, after the mount itself.
  const remounted = () => ticking.log.some((line) => line.startsWith(`remounted nfs://127.0.0.1/exports/shared cms at ${target}`));
  await waitFor(async () => ticking.mounter.mounts.has(target) && remounted());
  t.ok(ticking.mounter.mounts.has(target), 'remounted without a call from kubelet');
  t.ok(remounted());
});

t.test('what cannot be verified at recovery stays down and is retried; an expired token is not sent again', async (t) => {
  const pod = node.pod('editor');
  const target = await publish(pod, { token: node.token(pod, ['kidfs'], 1500), tokenExpires: new Date(Date.now() + 1500) });
  await new Promise((resolve) => setTimeout(resolve, 1600));
  await node.api.stop();
  await node.restart();
  t.notOk(node.mounter.mounts.has(target), 'not mounted while the API server is away (fail closed)');
  const [entry] = (await node.daemon.manager.status()).filter((m) => m.target === target);
  t.equal(entry?.state, 'not mounted');
  t.match(entry?.problem, /^Kubernetes API server https:\/\/127\.0\.0\.1:\d+: cannot read pod cms\/editor-\d+: unreachable/);
  t.ok(recordOf(target), 'the record is kept');

  await node.api.start();
  const reviews = node.api.countRequests('POST', 'tokenreviews');
  const summary = await node.daemon.manager.recover();
  t.same(summary.remounted, [target], 'mounted once the pod can be verified');
  t.equal(node.api.countRequests('POST', 'tokenreviews'), reviews, 'the expired token was not reviewed');
  t.notOk(recordOf(target).request.token, 'and is dropped from the record until kubelet brings a new one');
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
});

t.test('the state directory: unreadable records are moved aside, interrupted writes removed', async (t) => {
  await node.stop();
  const dir = join(node.stateDir, 'mounts');
  writeFileSync(join(dir, '0123456789abcdef0123456789abcdef.json'), '{"version": 1, "request": ');
  writeFileSync(join(dir, '.0123456789abcdef0123456789abcdef.json.tmp-a1b2c3d4e5f6'), '{}');
  await node.restart();
  t.same(records().sort(), ['0123456789abcdef0123456789abcdef.json.unreadable'], 'moved aside; the temporary file is gone');
  t.ok(
    node.log.some((l) => l.startsWith(`mount record ${join(dir, '0123456789abcdef0123456789abcdef.json')} cannot be read (`)),
    'and reported',
  );
});

t.test('a target that is a mount point kidfs did not make is refused', async (t) => {
  const pod = node.pod('editor');
  const target = node.target(pod);
  mkdirSync(target);
  await run('mount', ['-t', 'tmpfs', 'kidfs-test', target]);
  t.teardown(() => run('umount', ['-l', target]).catch(() => undefined));
  const publishErr = await node.csi.error('Node', 'NodePublishVolume', publishRequest(pod, target));
  t.equal(publishErr.code, status.FAILED_PRECONDITION);
  t.equal(publishErr.details, `${target} is a mount point kidfs has no record of; unmount it first`);
  const unpublishErr = await node.csi.error('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: target });
  t.equal(unpublishErr.code, status.FAILED_PRECONDITION, 'unpublish leaves a foreign mount alone');
  t.ok(await isMountPoint(target));
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

t.test('attack: a republish that finds the pod gone or another identity ends the old mount', async (t) => {
  const gone = node.pod('editor');
  const changed = node.pod('viewer');
  const goneTarget = await publish(gone);
  const changedTarget = await publish(changed);

  // The pod was deleted and one of the same name made: kubelet's republish still carries the old pod's new token.
  const oldToken = node.token(gone);
  node.api.addPod({ namespace: 'cms', name: gone.name, serviceAccount: 'editor', nodeName: 'node-a' });
  const goneErr = await node.csi.error('Node', 'NodePublishVolume', publishRequest(gone, goneTarget, { token: oldToken }));
  t.equal(goneErr.code, status.PERMISSION_DENIED, 'the republish is refused');
  t.ok(node.mounter.calls.includes(`revoke ${goneTarget}`), 'and the old mount is ended (committed, then unmounted)');
  t.notOk(recordOf(goneTarget), 'its record is gone');
  t.notOk(existsSync(goneTarget), 'and its target');
  t.ok(node.log.includes(`ended the mount at ${goneTarget}: pod cms/${gone.name} is gone`), 'logged');

  // An admin moved cms's range: the pod maps to another gid now.
  node.api.addNamespace('cms', { 'kidfs.io/uid-range': '199999/1001' });
  t.teardown(() => node.api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' }));
  const changedErr = await node.csi.error(
    'Node',
    'NodePublishVolume',
    publishRequest(changed, changedTarget, { token: node.token(changed) }),
  );
  t.equal(changedErr.code, status.FAILED_PRECONDITION);
  t.match(
    changedErr.details,
    /^.*: the pod's identity is now cms\.viewer \(uid 200002, gid 199999\), the mount acted as cms\.viewer \(uid 200002, gid 200000\); the mount is ended: restart the pod to use the new identity$/,
  );
  t.ok(node.mounter.calls.includes(`revoke ${changedTarget}`), 'the mount acting as the old identity is ended');
  t.notOk(recordOf(changedTarget));
});

t.test('attack: live mounts are checked again, and the ones that no longer hold are ended', async (t) => {
  const finished = node.pod('editor');
  const remapped = node.pod('viewer');
  const staying = node.pod('api');
  const targets = [await publish(finished), await publish(remapped), await publish(staying)];
  node.api.addPod({
    namespace: 'cms',
    name: finished.name,
    uid: finished.uid,
    serviceAccount: 'editor',
    nodeName: 'node-a',
    phase: 'Succeeded',
  });
  node.api.addNamespace('cms', { 'kidfs.io/uid-range': '199999/1001' });
  t.teardown(() => node.api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' }));

  const result = await node.daemon.manager.reverify();
  t.same(result, { kept: 1, revoked: [targets[0], targets[1]] }, "the finished pod's and the remapped one's mounts are ended");
  t.same(
    node.mounter.calls.filter((c) => targets.some((target) => c === `revoke ${target}`)),
    [`revoke ${targets[0]}`, `revoke ${targets[1]}`],
  );
  t.ok(node.mounter.mounts.has(targets[2]), 'the pod that still is what it was keeps its mount');

  await node.api.stop();
  t.same(await node.daemon.manager.reverify(), { kept: 1, revoked: [] }, 'what cannot be checked is not ended');
  t.ok(node.mounter.mounts.has(targets[2]));
  t.match(node.log.at(-1), /^cannot check .* again: Kubernetes API server .* unreachable/);
  await node.api.start();
  await node.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v', target_path: targets[2] });
});

t.test('attack: recovery re-checks the exports pod-defined volumes may use before remounting', async (t) => {
  const inline = parseNfsUrl('nfs://127.0.0.1/exports/inline');
  const scratch = parseNfsUrl('nfs://127.0.0.1/exports/scratch');
  await node.restart({ podExports: [inline, scratch] });
  const pod = node.pod('editor');
  const target = node.target(pod);
  await node.csi.call(
    'Node',
    'NodePublishVolume',
    publishRequest(pod, target, {
      token: node.token(pod),
      context: { 'csi.storage.k8s.io/ephemeral': 'true', server: '127.0.0.1', share: '/exports/scratch', subDir: 'tmp' },
    }),
  );
  t.same(node.mounter.mounts.get(target)?.export, scratch);

  await node.restart({ podExports: [inline] });
  t.notOk(node.mounter.mounts.has(target), 'an export no longer allowed is not mounted again');
  t.notOk(recordOf(target), 'its record is removed');
  t.ok(
    node.log.includes(
      `ended the mount at ${target}: nfs://127.0.0.1/exports/scratch is no longer an export pod-defined volumes may use (kidfs node --pod-export)`,
    ),
  );
  await node.restart({ podExports: [] });
});
