// How the client copes with replies ganesha never sends: a missing handle, a truncated reply, an unknown status.
import t from 'tap';
import { Errno, NfsError, errnoOf } from '../../src/nfs/errno.ts';
import { Nfs3Proc } from '../../src/nfs/nfs3-types.ts';
import { RpcProtocolError } from '../../src/nfs/rpc-errors.ts';
import { fakeNfsClient } from '../helpers/fake-rpc-server.ts';
import { cred } from '../helpers/nfs-fixture.ts';

const alice = cred(2001, 3001);

t.test('CREATE without a handle in the reply: the client looks the name up', async (t) => {
  const { fake, client } = await fakeNfsClient(t, (call, w) => {
    if (call.procedure === Nfs3Proc.CREATE) w.uint32(0).bool(false).bool(false).bool(false).bool(false); // OK, no handle, no attributes, no wcc
    else w.uint32(0).opaque(Buffer.from('found-handle')).bool(false).bool(false); // LOOKUP: the handle
  });
  const made = await client.create(alice, Buffer.from('dir'), 'new', { mode: 'guarded' });
  t.same(made.handle, Buffer.from('found-handle'));
  t.same(fake.calls.map((c) => c.procedure), [Nfs3Proc.CREATE, Nfs3Proc.LOOKUP]);
});

t.test('a truncated reply is an RpcProtocolError naming the procedure', async (t) => {
  const { client } = await fakeNfsClient(t, (_call, w) => {
    w.uint32(0).uint32(1).uint32(0o644); // GETATTR OK, then a fattr3 cut short
  });
  const err = await client.getattr(alice, Buffer.from('h')).catch((e: unknown) => e);
  t.type(err, RpcProtocolError);
  t.match((err as Error).message, /^malformed NFSv3 GETATTR reply: truncated XDR/);
  t.equal(errnoOf(err), Errno.EIO);
});

t.test('a status RFC 1813 does not define is an NfsError mapped to EIO', async (t) => {
  const { client } = await fakeNfsClient(t, (_call, w) => {
    w.uint32(4242).bool(false); // status, dir_attributes
  });
  const err = await client.lookup(alice, Buffer.from('h'), 'x').catch((e: unknown) => e);
  t.type(err, NfsError);
  t.equal((err as Error).message, 'nfsstat3 4242: unknown status for uid 2001 (LOOKUP x)');
  t.equal(errnoOf(err), Errno.EIO);
});
