// Reads: sequential readers are served from fewer, larger READs fetched ahead; random reads are exact; read-ahead
// data is dropped when the file changes.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, constants, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { makeFs } from '../helpers/fs-fixture.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const { server, exp } = await startNfsFixture(t);
const alice = cred(10001, 10001);
const hash = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const content = randomBytes(24 * MiB);
writeFileSync(join(server.dir, 'big'), content);
chownSync(join(server.dir, 'big'), alice.uid, alice.gid);

/** Reads the whole file in `piece`-sized reads, in order. */
async function readSequentially(fs: NfsFileSystem, path: string, piece: number): Promise<Buffer> {
  const fd = await fs.open(path, constants.O_RDONLY);
  const parts: Buffer[] = [];
  for (let offset = 0; ; offset += piece) {
    const buffer = Buffer.alloc(piece);
    const n = await fs.read(fd, buffer, offset);
    if (n === 0) break;
    parts.push(buffer.subarray(0, n));
  }
  await fs.release(fd);
  return Buffer.concat(parts);
}

t.test('a sequential reader gets the file from fewer, larger READs', async (t) => {
  const fs = makeFs(exp, alice);
  t.ok((await readSequentially(fs, '/big', 128 * KiB)).equals(content), 'content right');
  t.ok(fs.stats.readRpcs <= 26, `${fs.stats.readRpcs} READs for 192 reads of 128 KiB`);
  t.ok(fs.stats.readRpcBytes <= content.length + 2 * MiB, 'little fetched that was not needed');

  const plain = makeFs(exp, alice, { readAheadWindow: 0 });
  t.ok((await readSequentially(plain, '/big', 128 * KiB)).equals(content));
  t.equal(plain.stats.readRpcs, 193, 'without read-ahead: one READ per read (and one at the end)');
});

t.test('reads sent several at a time, slightly out of order (as the kernel does), still use read-ahead', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.open('/big', constants.O_RDONLY);
  const piece = 128 * KiB;
  const result = Buffer.alloc(content.length);
  for (let batch = 0; batch < content.length; batch += 8 * piece) {
    const offsets = Array.from({ length: 8 }, (_, i) => batch + i * piece).reverse();
    await Promise.all(offsets.map((offset) => fs.read(fd, result.subarray(offset, offset + piece), offset)));
  }
  await fs.release(fd);
  t.ok(result.equals(content), 'content right');
  t.ok(fs.stats.readRpcs <= 40, `${fs.stats.readRpcs} READs for 192 reads`);
});

t.test('random reads return exactly the bytes asked for', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.open('/big', constants.O_RDONLY);
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 300; i++) {
    const length = 1 + random(200 * KiB);
    const offset = random(content.length + 64 * KiB);
    const buffer = Buffer.alloc(length);
    const n = await fs.read(fd, buffer, offset);
    const expected = content.subarray(offset, offset + length);
    if (n !== expected.length || !buffer.subarray(0, n).equals(expected)) {
      t.fail(`read of ${length} at ${offset} returned ${n} bytes, not the file's ${expected.length}`);
      break;
    }
  }
  t.ok(fs.stats.readRpcs <= 320, `random access reads about what is asked (${fs.stats.readRpcs} READs for 300 reads)`);
  await fs.release(fd);
  t.pass('300 random reads right');
});

t.test('a small file is one READ; nothing is fetched past its end', async (t) => {
  writeFileSync(join(server.dir, 'small'), 'tiny');
  const fs = makeFs(exp, alice);
  t.equal((await readSequentially(fs, '/small', 128 * KiB)).toString(), 'tiny');
  t.equal(fs.stats.readRpcs, 1);
});

t.test('read-ahead data is dropped when an open sees the file changed', async (t) => {
  const fs = makeFs(exp, alice);
  const fd = await fs.open('/big', constants.O_RDONLY);
  const buffer = Buffer.alloc(128 * KiB);
  for (let offset = 0; offset < 2 * MiB; offset += buffer.length) await fs.read(fd, buffer, offset);
  const patch = Buffer.alloc(MiB, 0xab);
  const backing = openSync(join(server.dir, 'big'), 'r+');
  writeSync(backing, patch, 0, patch.length, 3 * MiB);
  closeSync(backing);
  await fs.release(await fs.open('/big', constants.O_RDONLY));
  const expected = Buffer.from(content);
  patch.copy(expected, 3 * MiB);
  for (let offset = 2 * MiB; offset < 5 * MiB; offset += buffer.length) {
    await fs.read(fd, buffer, offset);
    if (!buffer.equals(expected.subarray(offset, offset + buffer.length))) {
      t.fail(`stale data at ${offset}`);
      break;
    }
  }
  await fs.release(fd);
  t.pass('the sequential reader went on with the new data');
});

/** A file no test changes, for the reads checked by checksum. */
const streamed = randomBytes(24 * MiB);
writeFileSync(join(server.dir, 'streamed'), streamed);
chownSync(join(server.dir, 'streamed'), alice.uid, alice.gid);

t.test('a long sequential read goes through a few pooled reply buffers, reused, and reads back exactly', async (t) => {
  const blockBytes = 256 * KiB;
  const window = 4;
  const fs = makeFs(exp, alice, { readAheadBytes: blockBytes, readAheadWindow: window });
  const fd = await fs.open('/streamed', constants.O_RDONLY);
  const piece = 128 * KiB;
  const result = Buffer.alloc(streamed.length);
  // As the kernel sends them: several at a time, slightly out of order.
  for (let batch = 0; batch < streamed.length; batch += 4 * piece) {
    const offsets = [1, 0, 3, 2].map((i) => batch + i * piece);
    const counts = await Promise.all(offsets.map((offset) => fs.read(fd, result.subarray(offset, offset + piece), offset)));
    if (counts.some((n) => n !== piece)) {
      t.fail(`short reads at ${batch}: ${counts.join(', ')}`);
      break;
    }
  }
  t.equal(hash(result), hash(streamed), 'sha256 right');
  const blocks = streamed.length / blockBytes;
  t.ok(fs.stats.readRpcs >= blocks && fs.stats.readRpcs <= blocks + 4, `${fs.stats.readRpcs} READs of ${blocks} blocks`);
  t.ok(fs.stats.readBuffersAllocated <= window + 4, `${fs.stats.readBuffersAllocated} reply buffers allocated for ${blocks} blocks`);
  t.ok(fs.stats.readBuffersAllocated >= window, 'read-ahead READs went into pooled buffers');

  // The tail: a block shorter than the others (copied out of its pooled buffer) reads right too.
  const tail = Buffer.alloc(piece);
  const n = await fs.read(fd, tail, streamed.length - 5);
  t.equal(n, 5);
  t.ok(tail.subarray(0, 5).equals(streamed.subarray(-5)), 'the last bytes');
  await fs.release(fd);
});

t.test('two fds reading one file at once, at different offsets, each get their own bytes', async (t) => {
  const fs = makeFs(exp, alice, { readAheadBytes: 256 * KiB });
  const [a, b] = [await fs.open('/streamed', constants.O_RDONLY), await fs.open('/streamed', constants.O_RDONLY)];
  const half = streamed.length / 2;
  const [ra, rb] = [Buffer.alloc(half), Buffer.alloc(half)];
  const piece = 128 * KiB;
  for (let offset = 0; offset < half; offset += piece) {
    await Promise.all([
      fs.read(a, ra.subarray(offset, offset + piece), offset),
      fs.read(b, rb.subarray(offset, offset + piece), half + offset),
    ]);
  }
  t.equal(hash(ra), hash(streamed.subarray(0, half)), 'the first fd read the first half');
  t.equal(hash(rb), hash(streamed.subarray(half)), 'the second fd read the second half');
  await Promise.all([fs.release(a), fs.release(b)]);
});

t.test('reads interleaved with writes through the same fs see every write, read-ahead and all', async (t) => {
  const size = 6 * MiB;
  writeFileSync(join(server.dir, 'mixed'), streamed.subarray(0, size));
  chownSync(join(server.dir, 'mixed'), alice.uid, alice.gid);
  const fs = makeFs(exp, alice, { readAheadBytes: 256 * KiB });
  const writer = await fs.open('/mixed', constants.O_RDWR);
  const reader = await fs.open('/mixed', constants.O_RDONLY);
  const model = Buffer.from(streamed.subarray(0, size));
  const piece = 128 * KiB;
  const got = Buffer.alloc(piece);
  for (let offset = 0, i = 0; offset < size; offset += piece, i++) {
    const n = await fs.read(reader, got, offset);
    if (n !== piece || !got.equals(model.subarray(offset, offset + piece))) {
      t.fail(`read at ${offset} does not show the data written`);
      break;
    }
    // Ahead of the reader, inside its read-ahead window: the blocks fetched there are now stale.
    const patch = Buffer.alloc(1000, i);
    const at = Math.min(size - patch.length, offset + piece + ((i * 7919) % (3 * piece)));
    await fs.write(writer, patch, at);
    patch.copy(model, at);
  }
  await fs.release(writer);
  await fs.release(reader);
  t.equal(hash(await readSequentially(makeFs(exp, alice), '/mixed', piece)), hash(model), 'the server holds the same');
});
