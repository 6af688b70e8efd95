// How the client copes with replies ganesha never sends: a missing handle, a truncated reply, an unknown status,
// a server that answers JUKEBOX.
import t from 'tap';
import { Errno } from '../../src/fs/errno.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { Nfs3Proc, Nfs3Status } from '../../src/nfs/nfs3-types.ts';
import { RpcProtocolError, RpcTimeoutError } from '../../src/nfs/rpc-errors.ts';
import { fakeNfsClient } from '../helpers/fake-rpc-server.ts';
import { cred } from '../helpers/nfs-fixture.ts';

const alice = cred(2001, 3001);

t.test('CREATE without a handle in the reply: the client looks the name up', async (t) => {
  const { fake, client } = await fakeNfsClient(t, (call, w) => {
    if (call.procedure === Nfs3Proc.CREATE)
      w.uint32(0).bool(false).bool(false).bool(false).bool(false); // OK, no handle, no attributes, no wcc
    else w.uint32(0).opaque(Buffer.from('found-handle')).bool(false).bool(false); // LOOKUP: the handle
  });
  const made = await client.create(alice, Buffer.from('dir'), 'new', { mode: 'guarded' });
  t.same(made.handle, Buffer.from('found-handle'));
  t.same(
    fake.calls.map((c) => c.procedure),
    [Nfs3Proc.CREATE, Nfs3Proc.LOOKUP],
  );
});

t.test('a truncated reply is an RpcProtocolError naming the procedure', async (t) => {
  const { client } = await fakeNfsClient(t, (_call, w) => {
    w.uint32(0).uint32(1).uint32(0o644); // GETATTR OK, then a fattr3 cut short
  });
  const err = await client.getattr(alice, Buffer.from('h')).catch((e: unknown) => e);
  t.type(err, RpcProtocolError);
  t.match((err as Error).message, /^malformed NFSv3 GETATTR reply: truncated XDR/);
  t.equal(errnoOfFailure(err), Errno.EIO);
});

t.test('a status RFC 1813 does not define is an NfsError mapped to EIO', async (t) => {
  const { client } = await fakeNfsClient(t, (_call, w) => {
    w.uint32(4242).bool(false); // status, dir_attributes
  });
  const err = await client.lookup(alice, Buffer.from('h'), 'x').catch((e: unknown) => e);
  t.type(err, NfsError);
  t.equal((err as Error).message, 'nfsstat3 4242: unknown status for uid 2001 (LOOKUP x)');
  t.equal(errnoOfFailure(err), Errno.EIO);
});

t.test('JUKEBOX (busy, ask again later) is asked again, waiting longer each time, until the server answers', async (t) => {
  let busy = 2;
  const { fake, client } = await fakeNfsClient(t, (call, w) => {
    if (call.procedure !== Nfs3Proc.REMOVE) return;
    if (busy-- > 0)
      w.uint32(Nfs3Status.NFS3ERR_JUKEBOX).bool(false).bool(false); // status, wcc_data
    else w.uint32(Nfs3Status.NFS3_OK).bool(false).bool(false);
  });
  const started = Date.now();
  await client.remove(alice, Buffer.from('dir'), 'recalled-from-tape');
  const waited = Date.now() - started;
  t.equal(fake.calls.length, 3, 'asked three times');
  t.ok(waited >= 100 + 200, `waited ${waited} ms: 100 ms, then 200 ms`);
});

t.test('a server that answers JUKEBOX for longer than the call may take fails it with ETIMEDOUT, naming why', async (t) => {
  const { fake, client } = await fakeNfsClient(
    t,
    (_call, w) => {
      w.uint32(Nfs3Status.NFS3ERR_JUKEBOX).bool(false); // status, post_op_attr
    },
    { timeoutMs: 1000 },
  );
  const started = Date.now();
  const err = await client.getattr(alice, Buffer.from('h')).catch((e: unknown) => e);
  t.type(err, RpcTimeoutError);
  t.equal((err as Error).message, 'NFSv3 GETATTR: the server answered JUKEBOX (busy, ask again later) for 1000 ms');
  t.equal(errnoOfFailure(err), Errno.ETIMEDOUT);
  t.ok(Date.now() - started < 2000, 'given up after about the call timeout');
  t.ok(fake.calls.length >= 4, `asked ${fake.calls.length} times meanwhile`);
});
