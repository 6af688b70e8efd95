// What an operator sees of a real node daemon (`kidfs node` with real FUSE mounts of a loopback ganesha export):
// Prometheus metrics that move as the work says, JSON log lines, and an audit stream of publishes, refusals and the
// server's permission denials (rate-limited). A tenant who puts its token where it is echoed finds it in no log.
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/loopback-nfs.ts';
import { run, startServer, USER_1000 } from '../helpers/kidfs-mount.ts';
import { metricValue, scrape as scrapeMetrics } from '../helpers/metrics-scrape.ts';
import { TestCluster } from '../helpers/node-fixture.ts';
import { NodeProcess } from '../helpers/node-process.ts';

const DENIALS_PER_MINUTE = 5;
const cluster = await TestCluster.start(t);
const server = await startServer(t);
const metricsPort = await freePort();
const auditName = 'audit.log';
const node = await NodeProcess.start(t, {
  cluster,
  server,
  sections: [
    '[log]',
    `audit-file = ${auditName}`,
    `audit-denials-per-minute = ${DENIALS_PER_MINUTE}`,
    '[metrics]',
    `listen = 127.0.0.1:${metricsPort}`,
  ],
});
const auditFile = join(node.dir, auditName);

const scrape = (name: string) => scrapeMetrics(metricsPort, name);
const value = (name: string, labels: Record<string, string> = {}) => metricValue(metricsPort, name, labels);

const auditRecords = (): Record<string, unknown>[] =>
  readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

t.test('a publish, a write and an unpublish: the numbers move as the work says, and the series go with the mount', async (t) => {
  const pod = cluster.pod('editor');
  const publishesBefore = await value('kidfs_publishes_total', { outcome: 'mounted' });
  const target = await node.publish(pod);
  const identity = (await node.status(target))!.identity;
  const mount = { namespace: 'cms', pod: pod.name, service_account: 'editor', uid: String(identity.uid), volume: 'volume-cms' };
  t.equal(await value('kidfs_publishes_total', { outcome: 'mounted' }), publishesBefore + 1, 'the publish is counted');
  t.equal(await value('kidfs_mounts', { state: 'mounted' }), 1, 'one mount, mounted');
  t.ok((await value('kidfs_identity_lookups_total', { result: 'ok' })) >= 1, 'the identity look-up is counted');
  t.ok((await value('kidfs_process_resident_memory_bytes')) > 0, 'process memory is there');

  const bytes = 3 * 1024 * 1024 + 12_345;
  const written = run(USER_1000, target, `head -c ${bytes} /dev/urandom > data.bin && cat data.bin > /dev/null`);
  t.equal(written.status, 0, written.stderr);
  t.equal(await value('kidfs_written_bytes_total', mount), bytes, 'bytes written = what dd wrote');
  t.equal(await value('kidfs_read_bytes_total', mount), bytes, 'bytes read = what cat read');
  t.ok(
    (await value('kidfs_fuse_operations_total', { ...mount, op: 'write' })) >= bytes / (128 * 1024),
    'FUSE writes counted (128 KiB each at most)',
  );
  t.ok((await value('kidfs_mount_nfs_calls_total', { ...mount, procedure: 'WRITE' })) >= 1, 'WRITE calls counted');
  t.ok((await value('kidfs_nfs_calls_total', { procedure: 'NFS v3 WRITE' })) >= 1, 'and by the connection');
  t.ok(
    (await scrape('kidfs_fuse_operation_duration_seconds_count')).some((s) => s.labels['op'] === 'write' && s.labels['pod'] === pod.name),
    'write latency observed',
  );
  t.equal(await value('kidfs_write_back_bytes_held', mount), 0, 'nothing held once the file is closed');

  await node.unpublish(target);
  t.equal((await scrape('kidfs_fuse_operations_total')).filter((s) => s.labels['pod'] === pod.name).length, 0, 'its series are gone');
  t.equal((await scrape('kidfs_written_bytes_total')).filter((s) => s.labels['pod'] === pod.name).length, 0);
  t.equal(await value('kidfs_mounts', { state: 'mounted' }), 0);
  const records = auditRecords();
  t.match(
    records.find((r) => r['event'] === 'publish' && r['target'] === target),
    {
      stream: 'audit',
      component: 'node',
      outcome: 'mounted',
      export: /^nfs:\/\/127\.0\.0\.1\//,
      subDir: 'cms',
      pod: { namespace: 'cms', name: pod.name, uid: pod.uid, serviceAccount: 'editor' },
      identity: { uid: identity.uid, name: 'cms.editor' },
    },
    'the publish is audited with pod, identity, export and subDir',
  );
  t.match(
    records.find((r) => r['event'] === 'unpublish' && r['target'] === target),
    { pod: { name: pod.name }, identity: { uid: identity.uid } },
  );
});

t.test('a refused publish is counted by reason and audited; the token the tenant slipped into it is in no log', async (t) => {
  const pod = cluster.pod('viewer');
  const token = cluster.token(pod);
  const refusedBefore = await value('kidfs_publish_refusals_total', { reason: 'INVALID_ARGUMENT' });
  const target = node.target(pod);
  // The tenant's inline volume names a subDir that is echoed in the refusal: it carries the pod's own bound token.
  const request = node.publishRequest(pod, target, { token, context: { subDir: `../${token}` } });
  await t.rejects(node.csi.call('Node', 'NodePublishVolume', request), /leaves the export/);
  t.equal(await value('kidfs_publish_refusals_total', { reason: 'INVALID_ARGUMENT' }), refusedBefore + 1, 'the refusal is counted');
  const refusal = auditRecords().find((r) => r['event'] === 'refusal' && r['target'] === target);
  t.match(
    refusal,
    { code: 'INVALID_ARGUMENT', reason: /leaves the export/, via: 'csi', claimedPod: { namespace: 'cms', name: pod.name } },
    'and audited',
  );

  const good = await node.publish(pod);
  await node.unpublish(good);
  t.notMatch(node.log, token, "the daemon's log never shows the token");
  t.notMatch(readFileSync(auditFile, 'utf8'), token, 'nor does the audit stream');
  t.match(node.log, /\[redacted token\]/, 'it was scrubbed from the refusal');
  for (const line of node.log.trim().split('\n')) {
    t.match(
      JSON.parse(line),
      { level: /^(debug|info|warn|error)$/, time: /^\d{4}-/, component: 'node' },
      'every log line is a JSON record',
    );
  }
});

t.test("the server's permission denials are audited with identity, operation and path, at most N a minute, the rest counted", async (t) => {
  const pod = cluster.pod('editor');
  const target = await node.publish(pod);
  const identity = (await node.status(target))!.identity;
  mkdirSync(join(node.volumeDir, 'private'), { mode: 0o700 }); // root's: the identity may not enter
  const attempts = run(USER_1000, target, 'for i in $(seq 20); do ls private/ 2>/dev/null; cat private/x 2>/dev/null; done; true');
  t.equal(attempts.status, 0);
  const denied = await value('kidfs_permission_denials_total', { pod: pod.name });
  t.ok(denied > DENIALS_PER_MINUTE, `${denied} denials the server answered`);
  await node.unpublish(target);

  const records = auditRecords().filter((r) => r['target'] === target);
  const denials = records.filter((r) => r['event'] === 'denial');
  t.equal(denials.length, DENIALS_PER_MINUTE, 'only the first N are recorded');
  t.match(denials[0], {
    errno: 'EACCES',
    operation: /^(opendir|readdir|getattr|open|access)$/,
    path: /^\/private/,
    identity: { uid: identity.uid },
    pod: { name: pod.name },
  });
  t.match(
    records.find((r) => r['event'] === 'denials-dropped'),
    { dropped: denied - DENIALS_PER_MINUTE, limitPerMinute: DENIALS_PER_MINUTE },
    'and how many were left out',
  );
});
