// Reads: sequential readers are served from fewer, larger READs fetched ahead; random reads are exact; read-ahead
// data is dropped when the file changes.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chownSync, constants, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { NfsFileSystem } from '../../src/fs/nfs-file-system.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';
import { makeFs } from '../helpers/fs-fixture.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const { server, exp } = await startNfsFixture(t);
const alice = cred(10001, 10001);
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

t.test('readBuffer (what the FUSE adapter calls) answers the same bytes, sequential reads as views of read-ahead data', async (t) => {
  const data = randomBytes(8 * MiB + 5);
  writeFileSync(join(server.dir, 'viewed'), data);
  const fs = makeFs(exp, alice);
  const fd = await fs.open('/viewed', constants.O_RDONLY);
  const piece = 128 * KiB;
  const parts: Buffer[] = [];
  for (let offset = 0; ; offset += piece) {
    const part = await fs.readBuffer(fd, piece, offset);
    if (part.length === 0) break;
    parts.push(Buffer.from(part));
    if (offset === piece) {
      const first = await fs.readBuffer(fd, piece, 0);
      t.equal(part.buffer, first.buffer, 'two reads in one read-ahead block share its memory: no buffer per read');
    }
  }
  t.ok(Buffer.concat(parts).equals(data), 'content right');
  t.ok(fs.stats.readRpcs <= 10, `${fs.stats.readRpcs} READs for 65 reads of 128 KiB`);

  for (const [offset, length] of [[5, 3 * MiB], [MiB - 10, 20], [data.length - 7, piece], [data.length + 1, 10]] as const) {
    const part = await fs.readBuffer(fd, length, offset);
    t.ok(part.equals(data.subarray(offset, offset + length)), `${length} bytes at ${offset}: ${part.length} bytes, right`);
  }
  await fs.release(fd);
});
