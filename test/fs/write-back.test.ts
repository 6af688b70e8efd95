// Write-back against a real ganesha: UNSTABLE WRITEs in flight, COMMIT at flush/fsync/release, replay after a server
// restart, the uncommitted-memory bound, write errors reported and never lost.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Errno } from '../../src/fs/errno.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';
import type { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { backingDir, makeFs } from '../helpers/fs-fixture.ts';

const { O_RDWR, O_WRONLY, O_CREAT } = constants;
const KiB = 1024;
const MiB = 1024 * KiB;
const { server, exp } = await startNfsFixture(t, {}, { timeoutMs: 30_000 });
const alice = cred(10001, 10001);
backingDir(server.dir, 'w', alice);

async function sha256OnServer(name: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(server.dir, name))) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `size` bytes of varied random data in `piece`-sized writes; resolves with their SHA-256. */
async function writeStream(
  fs: NfsFileSystem,
  fd: number,
  size: number,
  piece: number,
  progress?: (written: number) => void,
): Promise<string> {
  const pool = randomBytes(4 * MiB);
  const hash = createHash('sha256');
  for (let offset = 0, i = 0; offset < size; offset += piece, i++) {
    const start = (i * 7919 * 64) % (pool.length - piece);
    const data = pool.subarray(start, start + Math.min(piece, size - offset));
    hash.update(data);
    await fs.write(fd, data, offset);
    progress?.(offset + data.length);
  }
  return hash.digest('hex');
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

t.test('many WRITEs in flight, then release: the data is complete on the server', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.create('/w/inflight', 0o644, O_WRONLY | O_CREAT);
  const sum = await writeStream(fs, fd, 32 * MiB, 128 * KiB);
  t.ok(fs.stats.writesInFlightHighWater >= 8, `WRITEs went out without waiting for each (${fs.stats.writesInFlightHighWater} at once)`);
  t.ok(fs.stats.writesInFlightHighWater <= 16, 'at most writesInFlight (16) at once');
  t.equal(fs.stats.writeRpcs, 32, '128 KiB writes gathered into 1 MiB WRITEs');
  await fs.release(fd);
  t.equal(await sha256OnServer('w/inflight'), sum);
});

t.test("a small file's only write goes out before close as one FILE_SYNC WRITE; later writes still gather", async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.create('/w/small', 0o644, O_WRONLY | O_CREAT);
  await fs.write(fd, Buffer.from('hello\n'), 0);
  await until(() => readFileSync(join(server.dir, 'w/small'), 'utf8') === 'hello\n');
  t.equal(fs.stats.writeRpcs, 1, 'sent before any flush');
  await fs.release(fd);
  t.equal(fs.stats.writeRpcs, 1, 'close sent nothing more');
  t.equal(fs.stats.commits, 0, 'and needed no COMMIT: the WRITE was FILE_SYNC');

  const big = await fs.create('/w/small-then-more', 0o644, O_WRONLY | O_CREAT);
  const sum = createHash('sha256');
  for (let offset = 0; offset < 4 * MiB; offset += 4 * KiB) {
    const piece = randomBytes(4 * KiB);
    sum.update(piece);
    await fs.write(big, piece, offset);
  }
  await fs.release(big);
  t.equal(fs.stats.writeRpcs, 1 + (1 + 4), "after the first file's WRITE: the first 4 KiB alone, then a chunk up to each MiB boundary");
  t.equal(await sha256OnServer('w/small-then-more'), sum.digest('hex'));
});

t.test('200 MiB in 128 KiB writes has the right checksum', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.create('/w/big', 0o644, O_WRONLY | O_CREAT);
  const started = Date.now();
  const sum = await writeStream(fs, fd, 200 * MiB, 128 * KiB);
  await fs.release(fd);
  t.comment(`200 MiB through the fs API in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  t.equal(await sha256OnServer('w/big'), sum);
  t.ok(fs.stats.uncommittedHighWater <= 64 * MiB, 'never more than maxUncommittedBytes held');
  rmSync(join(server.dir, 'w/big'));
});

t.test('the uncommitted-memory bound holds: writers wait for COMMITs', async (t) => {
  const fs = makeFs(exp, alice, { maxUncommittedBytes: 4 * MiB, writeChunkBytes: MiB });
  const fd = await fs.create('/w/bounded', 0o644, O_WRONLY | O_CREAT);
  const sum = await writeStream(fs, fd, 40 * MiB, 128 * KiB);
  t.ok(fs.stats.uncommittedHighWater <= 4 * MiB, `high-water mark ${fs.stats.uncommittedHighWater} <= 4 MiB`);
  t.ok(fs.stats.uncommittedHighWater >= 2 * MiB, 'the bound was approached');
  t.ok(fs.stats.commits >= 9, `40 MiB through a 4 MiB bound took at least 9 COMMITs (${fs.stats.commits})`);
  await fs.release(fd);
  t.equal(await sha256OnServer('w/bounded'), sum);
});

t.test('server restart between WRITEs and fsync: the chunks are sent again', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.create('/w/restart', 0o644, O_WRONLY | O_CREAT);
  const sum = await writeStream(fs, fd, 24 * MiB, 128 * KiB);
  await server.restart();
  await fs.fsync(fd);
  t.ok(fs.stats.replayedChunks > 0, `fsync replayed ${fs.stats.replayedChunks} chunks the old server run had not committed`);
  t.equal(await sha256OnServer('w/restart'), sum, 'the file on the server is complete after fsync');
  await fs.release(fd);
});

t.test('server killed during writes and started again: fsync succeeds and the data is right', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.create('/w/killed', 0o644, O_WRONLY | O_CREAT);
  let written = 0;
  const writer = writeStream(fs, fd, 48 * MiB, 128 * KiB, (n) => (written = n));
  await until(() => written >= 24 * MiB);
  await server.kill();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.restart();
  const sum = await writer;
  await fs.fsync(fd);
  t.ok(fs.stats.replayedChunks > 0, `chunks written before the kill were sent again (${fs.stats.replayedChunks})`);
  t.equal(await sha256OnServer('w/killed'), sum);
  await fs.release(fd);
});

t.test('overlapping and out-of-order writes, with a restart, end as written', async (t) => {
  const fs = makeFs(exp, alice, { writeChunkBytes: 64 * KiB, writesInFlight: 4, maxUncommittedBytes: 2 * MiB });
  const size = 4 * MiB;
  const model = Buffer.alloc(size);
  const fd = await fs.create('/w/random', 0o644, O_RDWR | O_CREAT);
  await fs.truncate('/w/random', size, fd);
  let seed = 12345;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 600; i++) {
    const length = 1 + random(i % 10 === 0 ? 200 * KiB : 8 * KiB);
    const offset = random(size - length);
    const data = randomBytes(length);
    data.copy(model, offset);
    await fs.write(fd, data, offset);
    if (i === 300) await server.restart();
  }
  const check = Buffer.alloc(size);
  t.equal(await fs.read(fd, check, 0), size);
  t.ok(check.equals(model), 'a read through the fd sees every write, latest last');
  await fs.release(fd);
  t.ok(readFileSync(join(server.dir, 'w/random')).equals(model), 'so does the server');
  t.ok(fs.stats.replayedChunks > 0, `the restart made the release send ${fs.stats.replayedChunks} chunks again, in order`);
});

t.test('reads see pending writes; getattr counts them', async (t) => {
  const fs = makeFs(exp, alice);
  const data = randomBytes(3 * MiB + 5);
  const writer = await fs.create('/w/pending', 0o644, O_RDWR | O_CREAT);
  await fs.write(writer, data, 0);
  t.equal((await fs.getattr('/w/pending')).size, data.length, 'the size includes data not yet on the server');
  const reader = await fs.open('/w/pending', constants.O_RDONLY);
  const part = Buffer.alloc(MiB);
  t.equal(await fs.read(reader, part, 2 * MiB + 5), MiB);
  t.ok(part.equals(data.subarray(2 * MiB + 5)), 'another fd of the file reads the pending data');
  await fs.release(reader);
  await fs.release(writer);
});

t.test('a failed WRITE is reported to the next write/flush of every fd, once, and never lost silently', async (t) => {
  // A 2 MiB tmpfs: ganesha answers WRITEs past it with NFS3ERR_NOSPC.
  const tiny = join(tmpdir(), `kidfs-tiny-${process.pid}`);
  mkdirSync(tiny, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0777', 'tmpfs', tiny]);
  t.teardown(() => {
    execFileSync('umount', ['-l', tiny]);
    rmSync(tiny, { recursive: true, force: true });
  });
  const small = await startNfsFixture(t, { dir: tiny });
  const fs = makeFs(small.exp, alice);
  const fd = await fs.create('/full', 0o644, O_WRONLY | O_CREAT);
  const other = await fs.open('/full', O_WRONLY);
  const failures: number[] = [];
  for (let offset = 0; offset < 8 * MiB; offset += 128 * KiB) {
    await fs.write(fd, Buffer.alloc(128 * KiB, 7), offset).catch((err: unknown) => failures.push(errnoOfFailure(err)));
  }
  await fs.flush(fd).catch((err: unknown) => failures.push(errnoOfFailure(err)));
  t.ok(failures.length >= 1 && failures.every((errno) => errno === Errno.ENOSPC), `the writer got ENOSPC (${failures.length} times)`);
  const otherErr = await fs.flush(other).then(() => 0, errnoOfFailure);
  t.equal(otherErr, Errno.ENOSPC, 'the other fd of the file hears of it too');
  await fs.flush(other);
  t.pass('each fd hears of an error once');
  await fs.release(other);
  await fs.release(fd).catch(() => undefined);
  fs.memory.relieveHolders(); // the pools' idle buffers
  t.equal(fs.memory.used, 0, 'once the file is closed, none of its memory counts against the budget any more');
});
