// MOUNT v3 and connectExport against ganesha: root handle, export list, refusals, privileged ports, shared connections.
import t from 'tap';
import { statSync } from 'node:fs';
import { Errno } from '../../src/fs/errno.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';
import { MountError } from '../../src/nfs/mount-error.ts';
import { RpcConnectionPool, createRpcClient, type TransportTarget } from '../../src/nfs/connection-pool.ts';
import { AuthFlavor, Mount3Client } from '../../src/nfs/mount3.ts';
import { connectExport } from '../../src/nfs/nfs-export.ts';
import { parseNfsUrl } from '../../src/nfs/nfs-url.ts';
import { RpcAuthError, RpcConnectionError } from '../../src/nfs/rpc-errors.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { startLoopbackNfs } from '../../scripts/loopback-nfs.ts';
import { startFakeRpcServer } from '../helpers/fake-rpc-server.ts';
import { ROOT, cred, startNfsFixture } from '../helpers/nfs-fixture.ts';

const { server, exp } = await startNfsFixture(t);

t.test('connectExport: root handle, flavors, limits, ports', async (t) => {
  t.equal(
    (await exp.client.getattr(ROOT, exp.rootHandle)).fileid,
    statSync(server.dir, { bigint: true }).ino,
    'the root handle is the exported directory',
  );
  t.ok(exp.authFlavors.includes(AuthFlavor.AUTH_SYS), `AUTH_SYS among the flavors ${exp.authFlavors.join(', ')}`);
  t.equal(exp.fsinfo.wtmax, 64 * 1024 * 1024);
  t.same(exp.url, { host: '127.0.0.1', path: server.dir, nfsPort: server.nfsPort, mountPort: server.mountPort });
  const parsed = await connectExport(parseNfsUrl(server.url), { credential: cred(2001, 3001), timeoutMs: 5000 });
  t.teardown(() => parsed.close());
  t.same(parsed.rootHandle, exp.rootHandle, 'a parsed URL and an AUTH_SYS MNT give the same root');
});

t.test('MOUNT v3: MNT, EXPORT, UMNT and refusals', async (t) => {
  const transport = new RpcClient({ host: '127.0.0.1', port: server.mountPort });
  t.teardown(() => transport.close());
  const mount = new Mount3Client(transport, { serverName: `127.0.0.1:${server.mountPort}` });
  const mounted = await mount.mnt(null, server.dir);
  t.same(mounted.rootHandle, exp.rootHandle);
  t.same(await mount.export(null), [{ path: server.dir, groups: [] }], 'the export list names our directory');
  await mount.umnt(null, server.dir);

  const err = await mount.mnt(null, '/no/such/export').catch((e: unknown) => e);
  t.type(err, MountError);
  t.equal(errnoOfFailure(err), Errno.EACCES, 'ganesha answers MNT3ERR_ACCES for a path it does not export');
  t.equal(
    (err as MountError).message,
    `mounting /no/such/export from 127.0.0.1:${server.mountPort} failed: ` +
      "MNT3ERR_ACCES: access denied: the path is not exported to this client (check the path and the export's client list)",
  );
  await t.rejects(connectExport(server.url.replace(server.dir, '/elsewhere')), MountError, 'connectExport passes the refusal on');
});

t.test('an export that wants a privileged source port', async (t) => {
  const strict = await startLoopbackNfs({ privilegedPort: true });
  t.teardown(() => strict.stop());
  const refused = await connectExport(strict.url).catch((e: unknown) => e);
  t.type(refused, RpcAuthError, `from an ordinary port: ${(refused as Error).message}`);
  t.equal(errnoOfFailure(refused), Errno.EACCES);
  const ok = await connectExport(strict.url, { privilegedPort: true });
  t.teardown(() => ok.close());
  t.equal(
    (await ok.client.getattr(ROOT, ok.rootHandle)).fileid,
    statSync(strict.dir, { bigint: true }).ino,
    'from a port below 1024 it works',
  );
});

t.test('exports on one server share one NFS connection from a pool', async (t) => {
  const made: TransportTarget[] = [];
  const pool = new RpcConnectionPool((target) => {
    made.push(target);
    return createRpcClient(target);
  });
  const first = await connectExport(server.url, { pool });
  const second = await connectExport(server.url, { pool });
  t.equal(first.client.transport, second.client.transport, 'one transport for both');
  t.equal(pool.size, 1, 'only the NFS connection stays open (MOUNT connections are closed after MNT)');
  t.same(made.filter((m) => m.port === server.nfsPort).length, 1, 'the NFS connection was made once');
  await first.close();
  await first.close();
  t.equal(pool.size, 1, 'closing one export (twice) leaves the other its connection');
  await second.client.null();
  await second.close();
  t.equal(pool.size, 0);
  await t.rejects(second.client.getattr(ROOT, second.rootHandle), RpcConnectionError, 'the last close closed the connection');
});

t.test('an export that does not accept AUTH_SYS is refused', async (t) => {
  const RPCSEC_GSS = 6;
  const fake = await startFakeRpcServer((_call, w) => {
    w.uint32(0).opaque(Buffer.from('root-handle')).uint32(1).uint32(RPCSEC_GSS); // MNT3_OK, handle, [RPCSEC_GSS]
  });
  t.teardown(() => fake.close());
  await t.rejects(connectExport(`nfs://127.0.0.1/kerberos-only?nfsport=${fake.port}&mountport=${fake.port}`), {
    message: `nfs://127.0.0.1/kerberos-only?nfsport=${fake.port}&mountport=${fake.port} does not accept AUTH_SYS (it offers flavors 6): allow sec=sys on the export`,
  });
  t.equal(fake.calls.length, 1, 'nothing but MNT was sent');
});
