// Times set through a mount arrive as asked: upstream fuse-native passed the access time as both
// times, rounded to milliseconds, and libfuse 2 dropped a change of one time only (touch -a/-m).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';

const run = promisify(execFile);
const seconds = (date: string) => BigInt(Date.parse(date) / 1000) * 1_000_000_000n;

t.test('times set through the mount', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'times' } });
  const mnt = server.mountpoint;
  const local = await mkdtemp(join(tmpdir(), 'kidfs-times-'));
  t.teardown(() => rm(local, { recursive: true, force: true }));

  t.test('touch -d sets both times, to the nanosecond', async (t) => {
    await run('touch', ['-d', '2001-02-03 04:05:06.123456789Z', `${mnt}/d`]);
    const after = await stat(`${mnt}/d`, { bigint: true });
    t.equal(after.mtimeNs, seconds('2001-02-03T04:05:06Z') + 123456789n);
    t.equal(after.atimeNs, seconds('2001-02-03T04:05:06Z') + 123456789n);
  });

  t.test('touch -m -d changes only the modification time', async (t) => {
    await run('touch', ['-d', '2001-02-03 04:05:06Z', `${mnt}/m`]);
    await run('touch', ['-m', '-d', '2010-01-01 00:00:00Z', `${mnt}/m`]);
    const after = await stat(`${mnt}/m`, { bigint: true });
    t.equal(after.mtimeNs, seconds('2010-01-01T00:00:00Z'));
    t.equal(after.atimeNs, seconds('2001-02-03T04:05:06Z'));
  });

  t.test('touch -a -d changes only the access time', async (t) => {
    await run('touch', ['-d', '2001-02-03 04:05:06Z', `${mnt}/a`]);
    await run('touch', ['-a', '-d', '2010-01-01 00:00:00Z', `${mnt}/a`]);
    const after = await stat(`${mnt}/a`, { bigint: true });
    t.equal(after.atimeNs, seconds('2010-01-01T00:00:00Z'));
    t.equal(after.mtimeNs, seconds('2001-02-03T04:05:06Z'));
  });

  t.test('touch -m sets the modification time to now, leaving the access time', async (t) => {
    await run('touch', ['-d', '2001-02-03 04:05:06Z', `${mnt}/now`]);
    const start = BigInt(Date.now() - 1000) * 1_000_000n;
    await run('touch', ['-m', `${mnt}/now`]);
    const after = await stat(`${mnt}/now`, { bigint: true });
    t.ok(after.mtimeNs >= start, `mtime ${after.mtimeNs} is now`);
    t.equal(after.atimeNs, seconds('2001-02-03T04:05:06Z'));
    const utimens = (await server.calls()).filter((call) => call.op === 'utimens' && call.path === '/now');
    t.same(utimens.at(-1)?.args[0], 'omit', 'the access time arrives as omit');
  });

  t.test('cp -p keeps both times of the source', async (t) => {
    await writeFile(`${local}/source`, 'data');
    await run('touch', ['-a', '-d', '2005-05-05 05:05:05.5Z', `${local}/source`]);
    await run('touch', ['-m', '-d', '2003-03-03 03:03:03.25Z', `${local}/source`]);
    const source = await stat(`${local}/source`, { bigint: true }); // before cp reads it (relatime)
    await run('cp', ['-p', `${local}/source`, `${mnt}/copy`]);
    const copy = await stat(`${mnt}/copy`, { bigint: true });
    t.equal(copy.mtimeNs, source.mtimeNs);
    t.equal(copy.atimeNs, source.atimeNs);
  });

  t.test('tar x restores the modification times of the archive', async (t) => {
    const dates = ['1999-12-31 23:59:59Z', '2004-06-07 08:09:10Z', '2020-02-29 12:00:00Z'];
    await Promise.all(
      dates.map(async (date, i) => {
        await writeFile(`${local}/t${i}`, `file ${i}`);
        await run('touch', ['-m', '-d', date, `${local}/t${i}`]);
      }),
    );
    await run('tar', ['-cf', `${local}/archive.tar`, '-C', local, 't0', 't1', 't2']);
    await run('tar', ['-xf', `${local}/archive.tar`, '-C', mnt]);
    for (const [i, date] of dates.entries()) {
      t.equal((await stat(`${mnt}/t${i}`, { bigint: true })).mtimeNs, seconds(date.replace(' ', 'T')), `t${i}`);
    }
  });
});
