// Server restarts: the write verifier tells the caller that uncommitted data may be lost, and calls in flight when
// the server dies complete once it is back (the transport reconnects and resends them).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StableHow } from '../../src/nfs/nfs3-types.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';

const { server, exp } = await startNfsFixture(t);
const { client, rootHandle: root } = exp;
const alice = cred(2001, 3001);

t.test('WRITE UNSTABLE, restart, COMMIT: the verifier differs', async (t) => {
  const { handle } = await client.create(alice, root, 'unstable.bin', { mode: 'guarded', attributes: { mode: 0o644 } });
  const data = randomBytes(100_000);
  const written = await client.write(alice, handle, 0n, data, StableHow.UNSTABLE);
  t.equal(written.committed, StableHow.UNSTABLE, 'ganesha keeps it unstable');
  const before = await client.commit(alice, handle);
  t.same(before.verifier, written.verifier, 'same server run: COMMIT matches the WRITE verifier');

  const again = await client.write(alice, handle, 0n, data, StableHow.UNSTABLE);
  await server.restart();
  const after = await client.commit(alice, handle);
  t.notSame(after.verifier, again.verifier, 'after a restart COMMIT answers another verifier: the caller must write again');
  const rewritten = await client.write(alice, handle, 0n, data, StableHow.UNSTABLE);
  t.same(rewritten.verifier, after.verifier, 'the new run has one verifier');
  t.same((await client.commit(alice, handle)).verifier, after.verifier);
  t.same(readFileSync(join(server.dir, 'unstable.bin')), data);
});

t.test('calls in flight when the server is killed complete after it restarts', async (t) => {
  const { handle } = await client.create(alice, root, 'in-flight.bin', { mode: 'guarded', attributes: { mode: 0o644 } });
  const chunk = 1024 * 1024;
  const data = randomBytes(16 * chunk);
  let settled = 0;
  const calls: Promise<unknown>[] = [];
  const track = <T>(call: Promise<T>) => calls.push(call.finally(() => settled++));
  for (let i = 0; i < 16; i++) {
    track(client.write(alice, handle, BigInt(i * chunk), data.subarray(i * chunk, (i + 1) * chunk), StableHow.FILE_SYNC));
    track(client.getattr(alice, root));
  }
  const killedPid = server.pid;
  await server.kill();
  t.ok(settled < calls.length, `${calls.length - settled} of ${calls.length} calls were unanswered when the server died`);
  await server.restart();
  t.not(server.pid, killedPid, 'a new server process');
  const results = await Promise.all(calls);
  t.equal(results.length, 32, 'every call completed');
  t.same(readFileSync(join(server.dir, 'in-flight.bin')), data, 'all the data arrived');
  t.equal((await client.getattr(alice, handle)).size, BigInt(data.length));
});
