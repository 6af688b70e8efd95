// The CSI controller against a real ganesha: CreateVolume makes one directory per volume, owned as the
// StorageClass says, setgid; DeleteVolume deletes, archives or keeps it; both are idempotent; nothing
// outside the export is ever reached (.., absolute paths, symlinks on the server).
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import { ControllerDaemon } from '../../src/controller/controller-daemon.ts';
import { KIDFS_VERSION } from '../../src/version.ts';
import { startLoopbackNfs } from '../../scripts/loopback-nfs.ts';
import { connectCsi } from '../helpers/csi-client.ts';
import { makeTempDir } from '../helpers/kidfs-test-config.ts';

const server = await startLoopbackNfs();
t.teardown(() => server.stop());
const dir = makeTempDir('kidfs-controller-test-');
t.teardown(() => dir.remove());
const configFile = join(dir.path, 'kidfs.ini');
writeFileSync(configFile, '[static]\ncms/editor = 2001:2000:3000\ncms/viewer = 2002:2000\n[groups]\nshared-media = 3000\n');
const config = loadConfig(configFile, {});
const resolver = new IdentityResolver(config, { log: () => {} });
const log: string[] = [];
const controller = await ControllerDaemon.start({
  endpoint: `unix://${join(dir.path, 'controller.sock')}`,
  driverName: 'kidfs.io',
  credential: { uid: 0, gid: 0, gids: [] },
  privilegedPort: config.mount.privilegedPort,
  ownerIdentity: (account) => resolver.resolveServiceAccount(account),
  groups: config.groups,
  log: (line) => log.push(line),
});
t.teardown(() => controller.stop());
const csi = connectCsi(controller.csiSocket);
t.teardown(() => csi.close());

const ports = [`port=${server.nfsPort}`, `mountport=${server.mountPort}`];
const exportUrl = `nfs://127.0.0.1${server.dir}?nfsport=${server.nfsPort}&mountport=${server.mountPort}`;
const capability = { mount: { fs_type: '', mount_flags: ports }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };

/** CreateVolume as external-provisioner sends it with --extra-create-metadata, for a PVC in namespace cms; null drops a parameter. */
function createRequest(name: string, overrides: Record<string, string | null> = {}, pvc = 'media') {
  const parameters: Record<string, string> = {
    server: '127.0.0.1',
    share: server.dir,
    owner: '${pvc.metadata.namespace}/editor',
    'csi.storage.k8s.io/pvc/name': pvc,
    'csi.storage.k8s.io/pvc/namespace': 'cms',
    'csi.storage.k8s.io/pv/name': name,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete parameters[key];
    else parameters[key] = value;
  }
  return {
    name,
    capacity_range: { required_bytes: '1073741824', limit_bytes: '0' },
    volume_capabilities: [capability],
    parameters,
    secrets: {},
  };
}

const volumeIdOf = async (request: object) =>
  ((await csi.call('Controller', 'CreateVolume', request)) as { volume: { volume_id: string } }).volume.volume_id;

t.test('Identity and capabilities of the controller endpoint', async (t) => {
  t.same(await csi.call('Identity', 'GetPluginCapabilities'), {
    capabilities: [{ service: { type: 'CONTROLLER_SERVICE' }, type: 'service' }],
  });
  t.same(await csi.call('Controller', 'ControllerGetCapabilities'), {
    capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' }, type: 'rpc' }],
  });
});

t.test("CreateVolume makes the directory owned by the StorageClass's owner, setgid; again is the same volume", async (t) => {
  const request = createRequest('pvc-1111');
  const first = await csi.call('Controller', 'CreateVolume', request);
  t.same(first, {
    volume: {
      capacity_bytes: '1073741824',
      volume_id: `${exportUrl}#pvc-1111#delete`,
      volume_context: { server: '127.0.0.1', share: server.dir, subDir: 'pvc-1111' },
      content_source: null,
      accessible_topology: [],
    },
  });
  const made = statSync(join(server.dir, 'pvc-1111'));
  t.equal(made.uid, 2001, "owned by cms/editor's uid");
  t.equal(made.gid, 2000, 'in its primary group');
  t.equal(made.mode & 0o7777, 0o2770, 'rwxrws--- with setgid');
  t.same(await csi.call('Controller', 'CreateVolume', request), first, 'the same name again: the same volume');

  const conflict = await csi.error('Controller', 'CreateVolume', createRequest('pvc-1111', { owner: 'cms/viewer' }));
  t.equal(conflict.code, status.ALREADY_EXISTS, 'the same name for another owner');
  t.equal(conflict.details, `${exportUrl} pvc-1111 exists with owner 2001 and group 2000; this request wants 2002 and 2000`);
});

t.test('QoS parameters of the StorageClass are checked and passed on to the PV', async (t) => {
  const created = await csi.call(
    'Controller',
    'CreateVolume',
    createRequest('pvc-qos', { qosBytesPerSecond: '20MiB', qosOpsPerSecond: '500' }),
  );
  t.match(created, { volume: { volume_context: { subDir: 'pvc-qos', qosBytesPerSecond: '20MiB', qosOpsPerSecond: '500' } } });
  const err = await csi.error('Controller', 'CreateVolume', createRequest('pvc-qos2', { qosOpsPerSecond: 'lots' }));
  t.equal(err.details, 'parameters["qosOpsPerSecond"] "lots" is not a whole number from 1 to 100000');
});

t.test('group by [groups] name, mode and nested subDir templates', async (t) => {
  const id = await volumeIdOf(
    createRequest('pvc-2222', {
      owner: null,
      group: 'shared-media',
      mountPermissions: '0750',
      subDir: 'tenants/${pvc.metadata.namespace}/${pvc.metadata.name}',
    }),
  );
  t.equal(id, `${exportUrl}#tenants/cms/media#delete`);
  const volume = statSync(join(server.dir, 'tenants/cms/media'));
  t.same([volume.uid, volume.gid, volume.mode & 0o7777], [0, 3000, 0o2750], 'root:shared-media, setgid added to 0750');
  const parent = statSync(join(server.dir, 'tenants/cms'));
  t.same([parent.uid, parent.gid, parent.mode & 0o7777], [0, 0, 0o755], "parents are root's, traversable");
});

t.test('DeleteVolume removes the whole tree, never following a symlink out of it; again is fine', async (t) => {
  const id = await volumeIdOf(createRequest('pvc-3333'));
  const volume = join(server.dir, 'pvc-3333');
  const outside = join(dir.path, 'precious');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'keep');
  mkdirSync(join(volume, 'a/b'), { recursive: true });
  writeFileSync(join(volume, 'a/b/file'), 'data');
  writeFileSync(join(volume, 'top'), 'data');
  symlinkSync(outside, join(volume, 'a/escape'));
  await csi.call('Controller', 'DeleteVolume', { volume_id: id });
  t.notOk(existsSync(volume), 'the volume directory is gone');
  t.same(readdirSync(outside), ['keep.txt'], 'what a symlink in it pointed to is untouched');
  await csi.call('Controller', 'DeleteVolume', { volume_id: id });
  t.pass('deleting a deleted volume is OK');
  t.ok(log.includes(`DeleteVolume ${id}: absent`));
});

t.test('onDelete archive renames, retain keeps', async (t) => {
  const archived = await volumeIdOf(createRequest('pvc-4444', { onDelete: 'archive' }));
  writeFileSync(join(server.dir, 'pvc-4444', 'page.html'), '<p>');
  await csi.call('Controller', 'DeleteVolume', { volume_id: archived });
  t.notOk(existsSync(join(server.dir, 'pvc-4444')));
  t.same(readdirSync(join(server.dir, 'archived-pvc-4444')), ['page.html'], 'archived with its files');
  await volumeIdOf(createRequest('pvc-4444', { onDelete: 'archive' }));
  await csi.call('Controller', 'DeleteVolume', { volume_id: archived });
  t.equal(
    readdirSync(server.dir).filter((n) => n.startsWith('archived-pvc-4444-')).length,
    1,
    'a second archive of the name gets a time suffix',
  );

  const retained = await volumeIdOf(createRequest('pvc-5555', { onDelete: 'retain' }));
  await csi.call('Controller', 'DeleteVolume', { volume_id: retained });
  t.ok(existsSync(join(server.dir, 'pvc-5555')), 'retained');
});

t.test('traversal attempts are refused: .., absolute paths, symlinks on the server', async (t) => {
  mkdirSync(join(dir.path, 'elsewhere'), { recursive: true });
  symlinkSync(join(dir.path, 'elsewhere'), join(server.dir, 'link'));
  const refusals: [string, object, number, string][] = [
    [
      'subDir with ..',
      createRequest('pvc-x', { subDir: '../outside' }),
      status.INVALID_ARGUMENT,
      'parameters["subDir"] "../outside" leaves the export (..)',
    ],
    [
      'absolute subDir',
      createRequest('pvc-x', { subDir: '/etc' }),
      status.INVALID_ARGUMENT,
      'parameters["subDir"] "/etc" is absolute: write a path relative to the export',
    ],
    [
      'a template making ..',
      createRequest('..', { subDir: '${pv.metadata.name}' }),
      status.INVALID_ARGUMENT,
      'parameters["subDir"] ".." leaves the export (..)',
    ],
    [
      'a symlinked parent',
      createRequest('pvc-x', { subDir: 'link/${pv.metadata.name}' }),
      status.FAILED_PRECONDITION,
      'link is a symlink on the server: kidfs does not follow symlinks under an export',
    ],
    [
      'a symlink as the volume',
      createRequest('link'),
      status.FAILED_PRECONDITION,
      'link is a symlink on the server: kidfs does not follow symlinks under an export',
    ],
  ];
  for (const [what, request, code, message] of refusals) {
    const err = await csi.error('Controller', 'CreateVolume', request);
    t.equal(err.code, code, `${what}: code ${code}`);
    t.equal(err.details, message, `${what}: says why`);
  }
  t.same(readdirSync(join(dir.path, 'elsewhere')), [], 'nothing was made through the symlink');

  // CSI: DeleteVolume of an id that names no volume kidfs made succeeds, touching nothing.
  const ids: [string, string][] = [
    ['.. in a volume id', `${exportUrl}#../../etc#delete`],
    ['the export itself', `${exportUrl}##delete`],
    ['not an id', 'pvc-123'],
    ['a symlink', `${exportUrl}#link#delete`],
    ['an unknown onDelete', `${exportUrl}#pvc-1111#shred`],
  ];
  for (const [what, volumeId] of ids) {
    t.same(await csi.call('Controller', 'DeleteVolume', { volume_id: volumeId }), {}, `DeleteVolume with ${what}: succeeds`);
    t.ok(
      log.some((line) => line.startsWith(`DeleteVolume ${volumeId}: absent`)),
      `DeleteVolume with ${what}: logged as absent`,
    );
  }
  t.ok(existsSync(join(server.dir, 'pvc-1111')), 'the volume a malformed id resembles is left alone');
  t.ok(existsSync(join(server.dir, 'link')), 'the symlink itself is left alone');
});

/** A directory under the export made as a tenant or a careless admin would: its owner and mode exactly. */
function serverDir(path: string, uid: number, mode: number, gid = uid): string {
  const full = join(server.dir, path);
  mkdirSync(full, { recursive: true });
  chownSync(full, uid, gid);
  chmodSync(full, mode);
  return full;
}

const untrusted = (path: string, uid: number, mode: string, gid = uid) =>
  `${path} on the server is owned by uid ${uid}, group ${gid}, mode ${mode}: kidfs reaches volumes only through directories owned by uid 0 that no one else can write`;

t.test('attack: no volume is made, found or deleted through a directory a tenant could change', async (t) => {
  const cases: [string, string, number, number, string, number][] = [
    ['a parent the tenant owns', 'owned/cms', 3001, 0o755, '0755', 3001],
    ['a parent anyone can write', 'open', 0, 0o777, '0777', 0],
    ['a sticky parent anyone can write', 'sticky', 0, 0o1777, '1777', 0],
    ["a parent a tenants' group can write", 'grouped', 0, 0o775, '0775', 3000],
  ];
  for (const [what, path, uid, mode, shown, gid] of cases) {
    const made = serverDir(path, uid, mode, gid);
    const err = await csi.error('Controller', 'CreateVolume', createRequest('pvc-t1', { subDir: `${path}/\${pv.metadata.name}` }));
    t.equal(err.code, status.FAILED_PRECONDITION, `${what}: FAILED_PRECONDITION`);
    t.equal(err.details, untrusted(path, uid, shown, gid), `${what}: says which directory and why`);
    t.same(readdirSync(made), [], `${what}: nothing was made in it`);
  }

  // A volume made under a safe parent whose parent later becomes writable: every walk checks again.
  const id = await volumeIdOf(createRequest('pvc-t2', { subDir: 'later/${pv.metadata.name}' }));
  writeFileSync(join(server.dir, 'later/pvc-t2/data'), 'tenant data');
  chmodSync(join(server.dir, 'later'), 0o777);
  const deleted = await csi.error('Controller', 'DeleteVolume', { volume_id: id });
  t.equal(deleted.code, status.FAILED_PRECONDITION, 'DeleteVolume through a writable parent is refused');
  t.equal(deleted.details, untrusted('later', 0, '0777'));
  const validated = await csi.error('Controller', 'ValidateVolumeCapabilities', { volume_id: id, volume_capabilities: [capability] });
  t.equal(validated.code, status.FAILED_PRECONDITION, 'so is ValidateVolumeCapabilities');
  t.ok(existsSync(join(server.dir, 'later/pvc-t2/data')), 'the volume is untouched');
  chmodSync(join(server.dir, 'later'), 0o755);
  await csi.call('Controller', 'DeleteVolume', { volume_id: id });
  t.notOk(existsSync(join(server.dir, 'later/pvc-t2')), 'deleted once the parent is safe again');
});

t.test('attack: a directory is a volume only when this controller made it for that very volume', async (t) => {
  // Made in advance with the owner and group the StorageClass names, as a tenant hoping to be adopted would.
  const planted = serverDir('pvc-planted', 2001, 0o2777);
  chownSync(planted, 2001, 2000);
  const adopted = await csi.error('Controller', 'CreateVolume', createRequest('pvc-planted'));
  t.equal(adopted.code, status.ALREADY_EXISTS, 'a directory kidfs did not make is not adopted');
  t.equal(
    adopted.details,
    `${exportUrl} pvc-planted exists but kidfs did not make it for a volume (no marker in .kidfs-volumes): kidfs adopts only directories it made`,
  );
  t.same(
    await csi.call('Controller', 'DeleteVolume', { volume_id: `${exportUrl}#pvc-planted#delete` }),
    {},
    'nor deleted: it is no kidfs volume',
  );
  t.ok(existsSync(planted), 'and left alone');
  const missing = await csi.error('Controller', 'ValidateVolumeCapabilities', {
    volume_id: `${exportUrl}#pvc-planted#delete`,
    volume_capabilities: [capability],
  });
  t.equal(missing.code, status.NOT_FOUND, 'nor validated');

  // PVCs named alike in two namespaces: a template that cannot tell them apart is refused.
  for (const template of ['${pvc.metadata.name}', 'shared', '${pvc.metadata.namespace}']) {
    const err = await csi.error('Controller', 'CreateVolume', createRequest('pvc-c0', { subDir: template }, 'data'));
    t.equal(err.code, status.INVALID_ARGUMENT, `${template}: refused`);
    t.equal(
      err.details,
      `parameters["subDir"] ${JSON.stringify(template)} could give two volumes one directory: use \${pv.metadata.name}, or both \${pvc.metadata.namespace} and \${pvc.metadata.name}`,
    );
  }
  // Two volumes for one PVC name (the first kept by onDelete retain): the directory stays the first's.
  const template = 'claims/${pvc.metadata.namespace}/${pvc.metadata.name}';
  const first = await volumeIdOf(createRequest('pvc-c1', { subDir: template, onDelete: 'retain' }, 'data'));
  writeFileSync(join(server.dir, 'claims/cms/data/first'), 'first');
  const second = await csi.error('Controller', 'CreateVolume', createRequest('pvc-c2', { subDir: template }, 'data'));
  t.equal(second.code, status.ALREADY_EXISTS);
  t.equal(
    second.details,
    `${exportUrl} claims/cms/data belongs to volume "pvc-c1", not "pvc-c2": choose a subDir that is unique per volume`,
  );
  await csi.call('Controller', 'DeleteVolume', { volume_id: first });
  t.ok(existsSync(join(server.dir, 'claims/cms/data/first')), 'the first volume keeps its data');
});

t.test('CSI: the same name with another capacity is ALREADY_EXISTS', async (t) => {
  const request = createRequest('pvc-cap');
  const created = await csi.call('Controller', 'CreateVolume', request);
  t.same(await csi.call('Controller', 'CreateVolume', request), created, 'the same capacity again: the same volume');
  const bigger = { ...request, capacity_range: { required_bytes: '2147483648', limit_bytes: '0' } };
  const err = await csi.error('Controller', 'CreateVolume', bigger);
  t.equal(err.code, status.ALREADY_EXISTS);
  t.equal(
    err.details,
    'volume "pvc-cap" was created with capacity_range 1073741824/0 (required/limit bytes); this request asks 2147483648/0',
  );
});

t.test('parameters that are wrong are INVALID_ARGUMENT naming them', async (t) => {
  const cases: [string, object, string][] = [
    [
      'an unknown parameter',
      createRequest('pvc-y', { uid: '0' }),
      'parameters["uid"] is not a kidfs StorageClass parameter (kidfs reads server, share, subDir, onDelete, mountPermissions, owner, group, qosBytesPerSecond, qosOpsPerSecond)',
    ],
    [
      'no owner or group',
      { ...createRequest('pvc-y'), parameters: { server: '127.0.0.1', share: server.dir } },
      'parameters["owner"] or parameters["group"] is required: say who may use the volume (owner <namespace>/<serviceaccount>, group <gid or [groups] name>)',
    ],
    [
      'a setuid mode',
      createRequest('pvc-y', { mountPermissions: '4770' }),
      'parameters["mountPermissions"] is "4770", not an octal mode like 2770 (setuid is not allowed)',
    ],
    [
      'an unknown group',
      createRequest('pvc-y', { group: 'wheel' }),
      'parameters["group"] "wheel" is neither a gid nor a group in [groups] of the kidfs config',
    ],
    [
      'an unknown template',
      createRequest('pvc-y', { subDir: '${pvc.annotations.x}' }),
      'parameters["subDir"] uses ${pvc.annotations.x}; kidfs knows ${pvc.metadata.name}, ${pvc.metadata.namespace}, ${pv.metadata.name}',
    ],
    ['no server', createRequest('pvc-y', { server: '' }), 'parameters["server"] is required (the NFS server\'s name or address)'],
    [
      'a snapshot source',
      { ...createRequest('pvc-y'), volume_content_source: { snapshot: { snapshot_id: 's' } } },
      'volume_content_source is not supported: kidfs does not clone volumes or restore snapshots',
    ],
    [
      'block access',
      { ...createRequest('pvc-y'), volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] },
      'volume_capabilities[0] asks for block access: kidfs volumes are file systems (use volumeMode: Filesystem)',
    ],
    ['no name', createRequest(''), 'name is required'],
  ];
  for (const [what, request, message] of cases) {
    const err = await csi.error('Controller', 'CreateVolume', request);
    t.equal(err.code, status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
    t.equal(err.details, message, `${what}: names it`);
  }
  t.notOk(existsSync(join(server.dir, 'pvc-y')), 'nothing was made');
  const unknown = await csi.error('Controller', 'CreateVolume', createRequest('pvc-y', { owner: 'cms/intruder' }));
  t.equal(unknown.code, status.PERMISSION_DENIED, 'an owner without an identity is refused');
  t.match(unknown.details, /^cms\/intruder is not in \[static\] of /);
});

t.test('ValidateVolumeCapabilities', async (t) => {
  const id = await volumeIdOf(createRequest('pvc-6666'));
  const context = { server: '127.0.0.1', share: server.dir, subDir: 'pvc-6666' };
  const confirmed = await csi.call('Controller', 'ValidateVolumeCapabilities', {
    volume_id: id,
    volume_context: context,
    volume_capabilities: [capability],
  });
  t.match(confirmed, {
    confirmed: { volume_context: context, volume_capabilities: [{ access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] },
    message: '',
  });
  const block = await csi.call('Controller', 'ValidateVolumeCapabilities', {
    volume_id: id,
    volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  t.same(block, {
    confirmed: null,
    message: 'volume_capabilities[0] asks for block access: kidfs volumes are file systems (use volumeMode: Filesystem)',
  });
  const missing = await csi.error('Controller', 'ValidateVolumeCapabilities', {
    volume_id: `${exportUrl}#pvc-none#delete`,
    volume_capabilities: [capability],
  });
  t.equal(missing.code, status.NOT_FOUND);
  t.equal(missing.details, `volume ${exportUrl}#pvc-none#delete does not exist`);
  const malformed = await csi.error('Controller', 'ValidateVolumeCapabilities', {
    volume_id: 'pvc-123',
    volume_capabilities: [capability],
  });
  t.equal(malformed.code, status.NOT_FOUND, 'an id kidfs could not have made names no volume: NOT_FOUND');
  t.equal(malformed.details, 'volume pvc-123 does not exist: volume_id "pvc-123" is not a kidfs volume id (<nfs URL>#<subDir>#<onDelete>)');
});

t.test('by default the provisioner reaches an export that requires privileged source ports', async (t) => {
  t.equal(config.mount.privilegedPort, true, '[mount] privileged-port is on unless the config says no');
  const secure = await startLoopbackNfs({ privilegedPort: true });
  t.teardown(() => secure.stop());
  const request = {
    ...createRequest('pvc-secure', { share: secure.dir }),
    volume_capabilities: [
      { ...capability, mount: { fs_type: '', mount_flags: [`port=${secure.nfsPort}`, `mountport=${secure.mountPort}`] } },
    ],
  };
  await csi.call('Controller', 'CreateVolume', request);
  t.equal(statSync(join(secure.dir, 'pvc-secure')).uid, 2001, 'the volume is made');
});

t.test('an export that squashes root refuses the provisioner: PERMISSION_DENIED with the fix', async (t) => {
  const squashed = await startLoopbackNfs({ squash: 'root' });
  t.teardown(() => squashed.stop());
  const request = {
    ...createRequest('pvc-7777', { share: squashed.dir }),
    volume_capabilities: [
      { ...capability, mount: { fs_type: '', mount_flags: [`port=${squashed.nfsPort}`, `mountport=${squashed.mountPort}`] } },
    ],
  };
  const err = await csi.error('Controller', 'CreateVolume', request);
  t.equal(err.code, status.PERMISSION_DENIED);
  t.match(
    err.details,
    /^NFS3ERR_ACCES: permission denied for uid 0 \(MKDIR \.kidfs-volumes\): the provisioner must act as root on the export/,
  );
});

t.test('kidfs controller as a process: serves on its endpoint until SIGTERM, then removes the socket', async (t) => {
  const socket = join(dir.path, 'cli-controller.sock');
  const child = spawn(
    new URL('../../scripts/kidfs', import.meta.url).pathname,
    ['controller', '--config', configFile, '--endpoint', `unix://${socket}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(existsSync(socket), `the socket appears (${stderr.trim()})`);
  const client = connectCsi(socket);
  t.teardown(() => client.close());
  t.same(await client.call('Identity', 'GetPluginInfo'), { name: 'kidfs.io', vendor_version: KIDFS_VERSION, manifest: {} });
  const created = await client.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', createRequest('pvc-cli'));
  t.equal(created.volume.volume_id, `${exportUrl}#pvc-cli#delete`);
  t.equal(statSync(join(server.dir, 'pvc-cli')).uid, 2001);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean exit');
  t.notOk(existsSync(socket), 'the socket is removed');
  t.match(stderr, /"component":"controller".*"msg":"CreateVolume pvc-cli: created /, 'it logs what it did, as a JSON line');
});
