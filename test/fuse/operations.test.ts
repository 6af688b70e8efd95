// Each operation reaches its handler with the arguments the kernel sent, where upstream
// fuse-native lost or swapped them, and written data survives being kept by the handler.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';
import type { Call } from '../helpers/memory-fs.ts';

const run = promisify(execFile);
const { O_CREAT, O_DIRECTORY, O_EXCL } = constants;
const MiB = 1 << 20;

const callsOf = (calls: Call[], op: string, path: string) => calls.filter((call) => call.op === op && call.path === path);

t.test('operations on a memory file system', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'operations' } });
  const mnt = server.mountpoint;

  t.test('ftruncate of an open file is answered by fgetattr with its handle', async (t) => {
    await writeFile(`${mnt}/grow`, 'hello world');
    await run('truncate', ['-s', '5', `${mnt}/grow`]); // open + ftruncate
    const calls = await server.calls();
    const [opened] = callsOf(calls, 'open', '/grow');
    const handle = opened.args[1];
    t.same(
      callsOf(calls, 'ftruncate', '/grow').map((call) => call.args),
      [[handle, 5]],
    );
    t.ok(
      callsOf(calls, 'fgetattr', '/grow').some((call) => call.args[0] === handle),
      'fgetattr got the handle',
    );
    t.equal((await stat(`${mnt}/grow`)).size, 5);
  });

  t.test('an unlinked open file still answers through its handle', async (t) => {
    const file = await open(`${mnt}/gone`, 'w+');
    t.teardown(() => file.close().catch(() => {}));
    await file.write('0123456789');
    await unlink(`${mnt}/gone`);
    await file.truncate(4);
    t.equal((await file.stat()).size, 4);
    const created = callsOf(await server.calls(), 'create', '/gone')[0];
    const fgetattr = (await server.calls()).filter((call) => call.op === 'fgetattr' && call.args[0] === created.args[2]);
    t.ok(fgetattr.length > 0, 'fgetattr answered for the handle after unlink');
    await file.close();
  });

  t.test('opendir gets the open flags', async (t) => {
    await readdir(mnt);
    const [call] = callsOf(await server.calls(), 'opendir', '/');
    t.ok((call.args[0] as number) & O_DIRECTORY, `flags ${call.args[0]} include O_DIRECTORY`);
  });

  t.test('create gets the open flags, O_EXCL included', async (t) => {
    const file = await open(`${mnt}/exclusive`, O_CREAT | O_EXCL | constants.O_WRONLY, 0o640);
    await file.close();
    const [call] = callsOf(await server.calls(), 'create', '/exclusive');
    t.equal((call.args[0] as number) & 0o777, 0o640);
    t.ok((call.args[1] as number) & O_EXCL, `flags ${call.args[1]} include O_EXCL`);
  });

  t.test('fsync and fdatasync arrive as (handle, datasync)', async (t) => {
    const file = await open(`${mnt}/synced`, 'w');
    await file.write('data');
    await file.sync();
    await file.datasync();
    await file.close();
    const calls = await server.calls();
    const handle = callsOf(calls, 'create', '/synced')[0].args[2];
    t.same(
      callsOf(calls, 'fsync', '/synced').map((call) => call.args),
      [
        [handle, false],
        [handle, true],
      ],
    );
  });

  t.test('written data the handler keeps after answering stays intact', async (t) => {
    // MemoryFs keeps each write's Buffer and applies it only at flush/read, like a write-back cache.
    const data = randomBytes(3 * MiB + 12345);
    await writeFile(`${mnt}/kept`, data);
    t.ok((await readFile(`${mnt}/kept`)).equals(data), 'read back equal');
  });

  t.test('a 4 MiB write arrives in 1 MiB requests (libfuse 3, max_pages)', async (t) => {
    const file = await open(`${mnt}/big`, 'w');
    await file.write(randomBytes(4 * MiB)); // one write(2): writeFile would write 512 KiB at a time
    await file.close();
    const sizes = callsOf(await server.calls(), 'write', '/big').map((call) => call.args[0] as number);
    t.equal(Math.max(...sizes), MiB);
    t.equal(
      sizes.reduce((sum, size) => sum + size, 0),
      4 * MiB,
    );
  });

  t.test('a sequential read asks in 1 MiB requests (max_read, and the mount read-ahead raised to match)', async (t) => {
    await readFile(`${mnt}/big`);
    const sizes = callsOf(await server.calls(), 'read', '/big').map((call) => call.args[1] as number);
    t.equal(Math.max(...sizes), MiB);
  });
});

t.test('without bigWrites, writes arrive a page at a time', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'small-writes', bigWrites: false } });
  await writeFile(`${server.mountpoint}/small`, randomBytes(MiB));
  const sizes = callsOf(await server.calls(), 'write', '/small').map((call) => call.args[0] as number);
  t.equal(Math.max(...sizes), 4096);
});

t.test('with use_ino, st_ino reaches the program whole, beyond 32 bits', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'inodes', useIno: true } });
  await writeFile(`${server.mountpoint}/first`, 'x');
  await writeFile(`${server.mountpoint}/second`, 'y');
  const [first, second] = await Promise.all([
    stat(`${server.mountpoint}/first`, { bigint: true }),
    stat(`${server.mountpoint}/second`, { bigint: true }),
  ]);
  t.ok(first.ino > 2n ** 40n && second.ino > 2n ** 40n, `the file system's numbers (${first.ino}, ${second.ino})`);
  t.not(first.ino, second.ino);
});
