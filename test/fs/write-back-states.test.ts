// The rare branches of write-back, against an NFS server in memory (test/helpers/fake-nfs.ts) whose every WRITE and
// COMMIT answer the test decides: short writes, verifiers that differ within a chunk, a restart between WRITE and
// COMMIT, COMMITs that fail while the application keeps writing, and a WRITE error reported once to each fd.
// test/fs/write-back.test.ts and recovery.test.ts take the common paths against a real ganesha.
import t from 'tap';
import { BufferPool } from '../../src/fs/buffer-pool.ts';
import { Errno } from '../../src/fs/errno.ts';
import { FsStats } from '../../src/fs/fs-stats.ts';
import { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { WriteBack, type WriteSink } from '../../src/fs/write-back.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { Nfs3Status, StableHow } from '../../src/nfs/nfs3-types.ts';
import { FakeNfs } from '../helpers/fake-nfs.ts';
import { rejectsWithErrno } from '../helpers/fs-fixture.ts';

const CHUNK = 4096;

function setUp(options: { maxUncommittedBytes?: number; commitRetries?: number; writesInFlight?: number } = {}) {
  const server = new FakeNfs();
  const fs = new NfsFileSystem({
    export: server.exportView,
    credential: { uid: 1000, gid: 1000, gids: [] },
    writeChunkBytes: CHUNK,
    ...options,
  });
  return { server, fs };
}

/** `chunks` whole chunks of distinct bytes. */
const payload = (chunks: number): Buffer => Buffer.from(Array.from({ length: chunks * CHUNK }, (_, i) => (i * 7 + (i >> 12)) % 251));

t.test('short writes: the rest of each chunk is sent until the server has taken it all', async (t) => {
  const { server, fs } = setUp();
  server.onWrite = ({ length }) => ({ count: Math.min(length, 1000) });
  const data = payload(3);
  const fd = await fs.create('/f', 0o644);
  await fs.write(fd, data, 0);
  await fs.flush(fd);
  t.ok(server.stableContents('f').equals(data), 'every byte reached stable storage');
  t.ok(fs.stats.shortWrites >= 3, `short writes counted (${fs.stats.shortWrites})`);
  t.ok(
    server.writes.every((w) => w.stable === StableHow.UNSTABLE),
    'as UNSTABLE WRITEs, committed once',
  );
  await fs.release(fd);
});

t.test('a server that takes nothing of a WRITE fails the file once, with EIO', async (t) => {
  const { server, fs } = setUp();
  server.onWrite = () => ({ count: 0 });
  const fd = await fs.create('/f', 0o644);
  await fs.write(fd, payload(1), 0);
  const err = await rejectsWithErrno(t, fs.flush(fd), Errno.EIO, 'flush after a WRITE that took nothing');
  t.match((err as Error).message, /the server took 0 of 4096 bytes written at offset 0/);
  await fs.flush(fd);
  t.pass('the next flush has nothing more to report');
  await fs.release(fd);
});

t.test('a chunk whose pieces got different verifiers is sent again, even when the last matches the COMMIT', async (t) => {
  const { server, fs } = setUp();
  const data = payload(1);
  // The server takes half, restarts (losing that half), then takes the other half under its new verifier.
  server.onWrite = ({ length }) => {
    if (server.writes.length === 2) server.restart();
    return { count: Math.min(length, CHUNK / 2) };
  };
  const fd = await fs.create('/f', 0o644);
  await fs.write(fd, data, 0);
  await fs.flush(fd);
  t.equal(server.restarts, 1);
  t.ok(server.stableContents('f').equals(data), 'the half the restart lost was written again');
  t.equal(fs.stats.replayedChunks, 1, 'the chunk was replayed');
  await fs.release(fd);
});

t.test('a restart between WRITE and COMMIT: every chunk is sent again, in order, then committed', async (t) => {
  const { server, fs } = setUp();
  const data = payload(3);
  const fd = await fs.create('/f', 0o644);
  await fs.write(fd, data, 0);
  await fs.write(fd, Buffer.from('rewritten'), 100); // a later chunk over an earlier one: the order must hold
  data.write('rewritten', 100);
  server.onCommit = () => {
    if (server.commits === 1) server.restart();
    return undefined;
  };
  await fs.flush(fd);
  t.ok(server.stableContents('f').equals(data), 'nothing acknowledged was lost, the rewrite kept its place');
  t.equal(fs.stats.replayedChunks, 4, 'the three chunks and the rewrite were sent again');
  t.equal(server.commits, 2, 'and committed under the new verifier');
  await fs.release(fd);
});

t.test('a server that restarts at every COMMIT fails fsync after the retries, keeps the data, and the next fsync commits it', async (t) => {
  const { server, fs } = setUp({ commitRetries: 2 });
  const data = payload(2);
  const fd = await fs.create('/f', 0o644);
  await fs.write(fd, data, 0);
  server.onCommit = () => {
    server.restart();
    return undefined;
  };
  const err = await rejectsWithErrno(t, fs.fsync(fd), Errno.EIO, 'fsync while the server keeps restarting');
  t.match((err as Error).message, /restarted during each of 3 COMMITs in a row; the data is kept/);
  t.equal(server.commits, 3);
  server.onCommit = () => undefined;
  await fs.fsync(fd);
  t.ok(server.stableContents('f').equals(data), 'the kept data was sent again and committed');
  await fs.release(fd);
});

t.test('a COMMIT that fails while the application keeps writing loses nothing', async (t) => {
  // Half of maxUncommittedBytes acknowledged starts a COMMIT in the background; the first one fails.
  const { server, fs } = setUp({ maxUncommittedBytes: 4 * CHUNK });
  server.onCommit = () => (server.commits === 1 ? new NfsError(Nfs3Status.NFS3ERR_IO, 'COMMIT', null) : undefined);
  const data = payload(12);
  const fd = await fs.create('/f', 0o644);
  for (let offset = 0; offset < data.length; offset += CHUNK) await fs.write(fd, data.subarray(offset, offset + CHUNK), offset);
  t.ok(server.commits >= 2, `writes went on past the failed COMMIT, and later ones committed (${server.commits} COMMITs)`);
  await fs.flush(fd);
  t.ok(server.stableContents('f').equals(data), 'every byte is on stable storage');

  // A COMMIT that fails in the foreground fails the fsync that waits for it; the data stays for the next one.
  const more = payload(1).reverse();
  await fs.write(fd, more, data.length); // a whole chunk, sent UNSTABLE at once: it needs a COMMIT
  server.onCommit = () => new NfsError(Nfs3Status.NFS3ERR_SERVERFAULT, 'COMMIT', null);
  await rejectsWithErrno(t, fs.fsync(fd), Errno.EREMOTEIO, 'fsync whose COMMIT fails');
  server.onCommit = () => undefined;
  await fs.fsync(fd);
  t.ok(server.stableContents('f').subarray(data.length).equals(more), 'the next fsync commits what the failed one could not');
  await fs.release(fd);
});

t.test('a failed WRITE is reported once to each fd open at the time, and not to fds opened later', async (t) => {
  const { server, fs } = setUp();
  server.onWrite = ({ offset }) => (offset === 0 ? new NfsError(Nfs3Status.NFS3ERR_NOSPC, 'WRITE', null) : {});
  const first = await fs.create('/f', 0o644);
  const second = await fs.open('/f', 2);
  await fs.write(first, payload(1), 0);
  await rejectsWithErrno(t, fs.flush(first), Errno.ENOSPC, 'the writing fd');
  await fs.flush(first);
  t.pass('the writing fd is told once');
  await rejectsWithErrno(t, fs.write(second, Buffer.from('x'), CHUNK), Errno.ENOSPC, 'the other fd, at its next write');
  await fs.flush(second);
  t.pass('the other fd is told once too');
  const third = await fs.open('/f', 2);
  await fs.flush(third);
  t.pass('an fd opened after the failure was reported is not told');
  for (const fd of [first, second, third]) await fs.release(fd);
});

t.test('the file is committing during a COMMIT and replaying while it sends chunks again; new writes wait for the replay', async (t) => {
  const seen: string[] = [];
  let verifier = Buffer.from('boot-0');
  let late: Promise<void> | undefined;
  const sink: WriteSink = {
    write: async (offset, data) => {
      seen.push(`WRITE ${offset / CHUNK} ${writeBack.state}`);
      // The application writes on while the replay runs: its chunk must not go out before the replay is done.
      if (writeBack.state === 'replaying') late ??= writeBack.write(2 * CHUNK, payload(1));
      return { count: data.length, committed: StableHow.UNSTABLE, verifier };
    },
    commit: async () => {
      seen.push(`COMMIT ${writeBack.state}`);
      if (seen.length === 2) verifier = Buffer.from('boot-1'); // the server restarted before this COMMIT
      return verifier;
    },
  };
  const limits = { chunkBytes: CHUNK, maxInFlight: 4, maxUncommittedBytes: 16 * CHUNK, commitRetries: 1 };
  const writeBack = new WriteBack(sink, limits, new FsStats(), new BufferPool(CHUNK, 4));
  await writeBack.write(0, payload(1));
  t.equal(writeBack.state, 'writing');
  await writeBack.commit();
  await late;
  await writeBack.commit();
  t.same(seen, [
    'WRITE 0 writing',
    'COMMIT committing',
    'WRITE 0 replaying',
    'COMMIT committing',
    'WRITE 2 committing',
    'COMMIT committing',
  ]);
  t.equal(writeBack.state, 'writing');
  t.equal(writeBack.holding, 0, 'everything committed');
});

t.test('a write is accepted once, when only its copy is left, and never when it fails', async (t) => {
  const { server, fs } = setUp();
  const fd = await fs.create('/f', 0o644);
  const data = payload(3);
  let acceptedBeforeSettled = 0;
  let settled = false;
  // 12 KiB from offset 100 spans four chunks: only the last one's room covers what is left of the write.
  const writing = fs
    .write(fd, data, 100, { accepted: () => void (acceptedBeforeSettled += settled ? 0 : 1) })
    .finally(() => (settled = true));
  t.equal(await writing, data.length, 'the write took every byte');
  t.equal(acceptedBeforeSettled, 1, 'accepted once, before the write settled');
  await fs.flush(fd);
  t.ok(server.stableContents('f').subarray(100).equals(data), 'and every byte reached the server where it was written');
  await fs.release(fd);

  const readOnly = await fs.open('/f', 0);
  let accepted = 0;
  await rejectsWithErrno(t, fs.write(readOnly, data, 0, { accepted: () => void accepted++ }), Errno.EBADF, 'a write on a read-only fd');
  t.equal(accepted, 0, 'a write refused (fd not open for writing) is never accepted');
  await fs.release(readOnly);
});
