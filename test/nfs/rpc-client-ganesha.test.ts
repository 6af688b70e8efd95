// RpcClient and getPort against a real nfs-ganesha on loopback.
import { connect } from 'node:net';
import t from 'tap';
import { startLoopbackNfs } from '../../scripts/loopback-nfs.ts';
import { getPort } from '../../src/nfs/portmap.ts';
import { RecordReader } from '../../src/nfs/record-marking.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { decodeReply, encodeCallRecord } from '../../src/nfs/rpc-message.ts';
import type { Credential } from '../../src/nfs/rpc-transport.ts';
import { XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';
import { frame } from '../helpers/fake-rpc-peer.ts';

const NFS = 100003;
const MOUNT = 100005;
const root: Credential = { uid: 0, gid: 0, gids: [] };
const user = (gids: number): Credential => ({ uid: 1000, gid: 1000, gids: Array.from({ length: gids }, (_, i) => 2000 + i) });

// One server for most tests: the portmapper holds one registration per program, so getPort needs it alone.
const server = await startLoopbackNfs();
t.teardown(() => server.stop());

function clientFor(t: { teardown(fn: () => unknown): void }, port: number, privilegedPort = false) {
  const client = new RpcClient({ host: '127.0.0.1', port, timeoutMs: 20_000, privilegedPort });
  t.teardown(() => client.close());
  return client;
}

/** MOUNT MNT of the export: the root file handle (RFC 1813 mountres3). */
async function mountRootHandle(client: RpcClient, dir: string): Promise<Buffer> {
  const r = await client.call(MOUNT, 3, 1, root, (w) => w.string(dir));
  const status = r.uint32();
  if (status !== 0) throw new Error(`MNT ${dir} failed with mountstat3 ${status}`);
  return Buffer.from(r.opaque(64));
}

t.test('NFS NULL and MOUNT NULL succeed, with AUTH_SYS and with AUTH_NONE', async (t) => {
  const nfs = clientFor(t, server.nfsPort);
  const mount = clientFor(t, server.mountPort);
  for (const credential of [root, user(3), null]) {
    t.equal((await nfs.call(NFS, 3, 0, credential, null)).remaining, 0, 'NFS NULL has empty results');
    t.equal((await mount.call(MOUNT, 3, 0, credential, null)).remaining, 0, 'MOUNT NULL has empty results');
  }
});

t.test('getPort finds the MOUNT and NFS ports ganesha registered, and says when a program is missing', async (t) => {
  t.equal(await getPort('127.0.0.1', MOUNT, 3), server.mountPort);
  t.equal(await getPort('127.0.0.1', NFS, 3), server.nfsPort);
  await t.rejects(getPort('127.0.0.1', 100099, 1), {
    name: 'ProgramNotRegisteredError',
    message: /^no program 100099 v1 service registered with the portmapper on 127\.0\.0\.1:111/,
  });
});

/** A NULL call with an AUTH_SYS credential of `gids` gids, encoded by hand (the client would cut them to 16). */
function rawNullCall(port: number, gids: number): Promise<Buffer> {
  const w = new XdrWriter().uint32(42).uint32(0).uint32(2).uint32(NFS).uint32(3).uint32(0);
  const body = new XdrWriter().uint32(0).string('raw').uint32(1000).uint32(1000).uint32(gids);
  for (let i = 0; i < gids; i++) body.uint32(2000 + i);
  w.uint32(1).opaque(body.bytes()).uint32(0).uint32(0);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(frame(w.bytes())));
    const reader = new RecordReader((reply) => {
      socket.destroy();
      resolve(reply);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', reject);
  });
}

t.test('20 gids are sent as 16: ganesha rejects a credential of 17 with AUTH_BADCRED', async (t) => {
  const context = { xid: 42, program: NFS, version: 3, procedure: 0, credential: user(17), server: `127.0.0.1:${server.nfsPort}` };
  t.equal(decodeReply(await rawNullCall(server.nfsPort, 16), context).remaining, 0, '16 gids by hand: accepted');
  const reply17 = await rawNullCall(server.nfsPort, 17);
  t.throws(() => decodeReply(reply17, context), {
    name: 'RpcAuthError',
    reason: 'AUTH_BADCRED',
    message: /rejected the credential uid=1000 gid=1000 gids=2000,.* for NFS v3 NULL \(AUTH_BADCRED\)/,
  });
  const call = new XdrReader(Buffer.concat(encodeCallRecord({ ...context, credential: user(20) }, null)), 4 + 6 * 4);
  t.equal(call.uint32(), 1, 'AUTH_SYS');
  const credential = new XdrReader(call.opaque(400));
  credential.uint32(); // stamp
  credential.string(255);
  t.same([credential.uint32(), credential.uint32(), credential.uint32()], [1000, 1000, 16], 'what the client sends for 20 gids: 16');
  const nfs = clientFor(t, server.nfsPort);
  t.equal((await nfs.call(NFS, 3, 0, user(20), null)).remaining, 0, 'the client with 20 gids: accepted');
});

t.test('PROG_MISMATCH, PROC_UNAVAIL and PROG_UNAVAIL from ganesha become RpcAcceptError with clear messages', async (t) => {
  const nfs = clientFor(t, server.nfsPort);
  const at = `the server at 127\\.0\\.0\\.1:${server.nfsPort}`;
  await t.rejects(nfs.call(NFS, 2, 0, root, null), {
    name: 'RpcAcceptError',
    status: 'PROG_MISMATCH',
    message: new RegExp(`^${at} supports NFS version 3 only, not v2 \\(PROG_MISMATCH\\)$`),
  });
  await t.rejects(nfs.call(NFS, 3, 99, root, null), {
    status: 'PROC_UNAVAIL',
    message: new RegExp(`^${at} does not implement NFS v3 procedure 99 \\(PROC_UNAVAIL\\)$`),
  });
  await t.rejects(nfs.call(100099, 1, 0, root, null), {
    status: 'PROG_UNAVAIL',
    message: /does not serve program 100099 \(PROG_UNAVAIL\)/,
  });
  const mount = clientFor(t, server.mountPort);
  await t.rejects(mount.call(MOUNT, 3, 99, root, null), { status: 'PROC_UNAVAIL', message: /does not implement MOUNT v3 procedure 99/ });
  t.equal((await nfs.call(NFS, 3, 0, root, null)).remaining, 0, 'the connection is still good');
});

t.test('500 calls in flight on one connection all complete', async (t) => {
  const nfs = clientFor(t, server.nfsPort);
  const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => nfs.call(NFS, 3, 0, user(i % 17), null)));
  t.equal(replies.length, 500);
});

t.test('the server killed with 20 calls in flight, then restarted: all 20 complete', async (t) => {
  const nfs = clientFor(t, server.nfsPort);
  await nfs.call(NFS, 3, 0, root, null); // connected
  const pid = server.pid;
  process.kill(pid, 'SIGSTOP'); // it cannot answer the calls below: they stay in flight
  const calls = Array.from({ length: 20 }, () => nfs.call(NFS, 3, 0, root, null));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await server.kill();
  await server.restart();
  t.not(server.pid, pid, 'a new server process');
  const replies = await Promise.all(calls);
  t.ok(
    replies.every((r) => r.remaining === 0),
    '20 NULL replies',
  );
});

t.test('an export with PrivilegedPort: GETATTR needs privilegedPort (MOUNT does not)', async (t) => {
  await server.stop(); // this test's server is the only one, as for getPort above
  const secure = await startLoopbackNfs({ privilegedPort: true });
  t.teardown(() => secure.stop());
  const fh = await mountRootHandle(clientFor(t, secure.mountPort), secure.dir);
  const getattr = (client: RpcClient) => client.call(NFS, 3, 1, root, (w) => w.opaque(fh));
  await t.rejects(getattr(clientFor(t, secure.nfsPort)), {
    name: 'RpcAuthError',
    reason: 'AUTH_TOOWEAK',
    message: /\(AUTH_TOOWEAK\): .*source port below 1024/,
  });
  const r = await getattr(clientFor(t, secure.nfsPort, true));
  t.equal(r.uint32(), 0, 'NFS3_OK');
  t.equal(r.uint32(), 2, 'the root is a directory (NF3DIR)');
});
