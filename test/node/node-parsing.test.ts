// The small rules the node layer is built on: subDirs that cannot leave an export, volume ids that round-trip,
// attributes of pod-defined volumes, CSI endpoints, atomic record files, per-target ordering.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseNfsUrl } from '../../src/nfs/nfs-url.ts';
import { writeFileAtomic } from '../../src/node/atomic-file.ts';
import { formatVolumeId, parseVolumeId } from '../../src/controller/volume-id.ts';
import { unixSocketPath } from '../../src/csi/endpoint.ts';
import { checkSubDir } from '../../src/csi/sub-dir.ts';
import { KeyedLock } from '../../src/node/keyed-lock.ts';
import { NodeError } from '../../src/csi/node-error.ts';
import { mountFlagPorts, readVolumeSource } from '../../src/csi/volume-source.ts';
import { makeTempDir } from '../helpers/kidfs-test-config.ts';

const refusal = (run: () => unknown): { code: string; message: string } => {
  try {
    run();
  } catch (err) {
    if (err instanceof NodeError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a NodeError');
};

t.test('checkSubDir: relative paths inside the export only', async (t) => {
  t.equal(checkSubDir('', 'subDir'), '');
  t.equal(checkSubDir('/', 'subDir'), '', '/ is the export itself');
  t.equal(checkSubDir('cms/media/', 'subDir'), 'cms/media', 'a trailing slash is dropped');
  t.equal(checkSubDir('pvc-1.data_2', 'subDir'), 'pvc-1.data_2');
  const refused: [string, string][] = [
    ['a//b', 'subDir "a//b" has an empty or . segment'],
    ['./a', 'subDir "./a" has an empty or . segment'],
    ['a/..', 'subDir "a/.." leaves the export (..)'],
    ['a#b', 'subDir "a#b" contains a control character or #'],
    ['a\nb', 'subDir "a\\nb" contains a control character or #'],
    [`a/${'x'.repeat(256)}`, `subDir segment "${'x'.repeat(20)}"... is longer than 255 bytes`],
  ];
  for (const [value, message] of refused)
    t.same(
      refusal(() => checkSubDir(value, 'subDir')),
      { code: 'INVALID_ARGUMENT', message },
      JSON.stringify(value),
    );
});

t.test('volume ids round-trip and are checked like requests', async (t) => {
  const ref = {
    export: parseNfsUrl('nfs://[fd00::7]/exports/a%23b?nfsport=2049&mountport=20048'),
    subDir: 'cms/pvc-1',
    onDelete: 'archive' as const,
  };
  const id = formatVolumeId(ref);
  t.equal(id, 'nfs://[fd00::7]/exports/a%23b?nfsport=2049&mountport=20048#cms/pvc-1#archive', 'a # in the export path is escaped');
  t.same(parseVolumeId(id), ref);
  t.same(
    refusal(() => parseVolumeId('nfs://h/e#a#b#delete')),
    { code: 'INVALID_ARGUMENT', message: 'volume_id "nfs://h/e#a#b#delete" is not a kidfs volume id (<nfs URL>#<subDir>#<onDelete>)' },
  );
  t.same(
    refusal(() => parseVolumeId('smb://h/e#a#delete')),
    { code: 'INVALID_ARGUMENT', message: "volume_id names no NFS export: 'smb://h/e' is not an NFS URL (expected nfs://host/path)" },
  );
});

t.test('pod-defined volumes on a node that allows none, and mount options', async (t) => {
  const rules = { untrusted: true, podExports: [], field: (key: string) => `volume_context["${key}"]` };
  t.same(
    refusal(() => readVolumeSource({ subDir: 'x' }, rules)),
    {
      code: 'PERMISSION_DENIED',
      message:
        'pod-defined (inline) kidfs volumes are not allowed on this node: an admin lists the exports they may use with kidfs node --pod-export',
    },
  );
  const one = { ...rules, podExports: [parseNfsUrl('nfs://nfs.example/e')] };
  t.same(
    refusal(() => readVolumeSource({ server: 'nfs.example' }, one)),
    {
      code: 'INVALID_ARGUMENT',
      message: 'volume_context["share"] is required when the other of server and share is given',
    },
  );
  t.same(readVolumeSource({ server: 'nfs.example', share: '/e' }, one), { export: { host: 'nfs.example', path: '/e' }, subDir: '' });
  t.same(mountFlagPorts(['vers=3', 'port=2049,mountport=635']), { nfsPort: 2049, mountPort: 635 });
  t.same(
    refusal(() => mountFlagPorts(['port=0'])),
    { code: 'INVALID_ARGUMENT', message: 'mount option port=0 needs a TCP port (1-65535)' },
  );
  const trusted = { untrusted: false, podExports: [], field: (key: string) => key };
  t.same(
    readVolumeSource({ server: 'fd00::7', share: '/exports/', mountPermissions: '0777', onDelete: 'retain' }, trusted),
    { export: { host: 'fd00::7', path: '/exports' }, subDir: '' },
    'IPv6 servers; csi-driver-nfs controller attributes are accepted and ignored',
  );
});

t.test('QoS volume attributes: an admin sets them (none lifts the default), a pod-defined volume may not', async (t) => {
  const trusted = { untrusted: false, podExports: [], field: (key: string) => `volume_context["${key}"]` };
  t.same(readVolumeSource({ server: 'nfs.example', share: '/e', qosBytesPerSecond: '10MiB', qosOpsPerSecond: 'none' }, trusted), {
    export: { host: 'nfs.example', path: '/e' },
    subDir: '',
    qos: { bytesPerSecond: 10 * 1024 * 1024, opsPerSecond: 0 },
  });
  t.same(
    refusal(() => readVolumeSource({ server: 'nfs.example', share: '/e', qosOpsPerSecond: 'fast' }, trusted)),
    {
      code: 'INVALID_ARGUMENT',
      message: 'volume_context["qosOpsPerSecond"] "fast" is not a whole number from 1 to 100000',
    },
  );
  const inline = { untrusted: true, podExports: [parseNfsUrl('nfs://nfs.example/e')], field: trusted.field };
  t.same(
    refusal(() => readVolumeSource({ qosBytesPerSecond: '1GiB' }, inline)),
    {
      code: 'PERMISSION_DENIED',
      message:
        'volume_context["qosBytesPerSecond"] is not allowed in a pod-defined volume: such volumes may set only server, share, subDir',
    },
  );
});

t.test('CSI endpoints are unix sockets', async (t) => {
  t.equal(unixSocketPath('unix:///csi/csi.sock'), '/csi/csi.sock');
  t.equal(unixSocketPath('unix:/csi/csi.sock'), '/csi/csi.sock');
  t.throws(() => unixSocketPath('tcp://127.0.0.1:10000'), {
    message: 'endpoint "tcp://127.0.0.1:10000" is not unix:///<absolute path> (kidfs serves CSI on a unix socket only)',
  });
  t.throws(() => unixSocketPath('unix://csi.sock'), /is not unix:\/\/\/<absolute path>/);
});

t.test('writeFileAtomic replaces a file whole, root-only, leaving no temporary file', async (t) => {
  const dir = makeTempDir();
  t.teardown(() => dir.remove());
  const path = join(dir.path, 'record.json');
  await writeFileAtomic(path, 'first');
  await writeFileAtomic(path, 'second');
  t.equal(readFileSync(path, 'utf8'), 'second');
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.same(readdirSync(dir.path), ['record.json']);
});

t.test('KeyedLock runs one task at a time per key, in order, and keys in parallel', async (t) => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const task =
    (name: string, ms: number, fail = false) =>
    async () => {
      events.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([
    lock.run('a', task('a1', 30, true)),
    lock.run('a', task('a2', 1)),
    lock.run('b', task('b1', 1)),
  ]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'fulfilled', 'fulfilled'],
    'a failure does not block the next task',
  );
  t.same(events, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
});
