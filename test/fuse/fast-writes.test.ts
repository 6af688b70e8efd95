// kidfs mounts take WRITEs off /dev/fuse in the binding and answer them from the JavaScript thread (patch level 9,
// fastWrites). A WRITE names its file only by fh, so the binding keeps the path each fh was opened as; the handler must
// still get the file's current path, after a rename of it or of a directory above it, and the writing process. libfuse
// never sees such a WRITE, so an INTERRUPT the kernel sends for one (its writer got a signal) must do no harm.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import t from 'tap';
import { exited } from '../helpers/child-exit.ts';
import { startFuseServer } from '../helpers/fuse-server-client.ts';
import { waitUntil } from '../helpers/wait-until.ts';

t.test("a write's handler gets the file's current path, renames included, and the writing process", async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'fast-writes' } });
  const mnt = server.mountpoint;
  await mkdir(`${mnt}/dir`);
  const file = await open(`${mnt}/dir/before`, 'w');
  try {
    await file.write('one ');
    await rename(`${mnt}/dir/before`, `${mnt}/dir/after`);
    await file.write('two ');
    await rename(`${mnt}/dir`, `${mnt}/moved`);
    await file.write('three');
  } finally {
    await file.close();
  }
  t.equal(await readFile(`${mnt}/moved/after`, 'utf8'), 'one two three', 'every write landed in the file');
  const calls = await server.calls();
  t.same(
    calls.filter((call) => call.op === 'write').map((call) => call.path),
    ['/dir/before', '/dir/after', '/moved/after'],
    'each write named the path the file had then',
  );
  const audits = calls.filter((call) => call.op === 'audit' && call.args[0] === 'write');
  // The kernel reports the writing thread: here one of libuv's pool threads, which live on in this process.
  t.same(
    audits.map(({ args: [, tid, uid, gid] }) => [existsSync(`/proc/${process.pid}/task/${tid as number}`), uid, gid]),
    audits.map(() => [true, process.getuid!(), process.getgid!()]),
    'and came from a thread of this process, with its uid and gid',
  );
  t.equal(audits.length, 3, 'all three writes were audited');
});

t.test('a writer interrupted by a signal while its write waits: the write is answered, and the mount serves on', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'interrupted-write' } });
  const mnt = server.mountpoint;
  const writer = spawn('dd', ['if=/dev/zero', `of=${mnt}/slow-write-2000`, 'bs=4k', 'count=1', 'status=none'], { stdio: 'ignore' });
  t.ok(await waitUntil(async () => (await server.calls()).some((call) => call.op === 'write')), 'the slow write reached its handler');
  // The kernel sends FUSE an INTERRUPT for the waiting write, which libfuse never saw: it must not disturb anything.
  writer.kill('SIGTERM');
  const other = Buffer.alloc(64 * 1024, 7);
  await writeFile(`${mnt}/other`, other);
  t.ok((await readFile(`${mnt}/other`)).equals(other), 'another file is written and read back meanwhile');
  t.ok(await exited(writer, 10_000), 'the writer ended once its write was answered');
  t.ok(
    (await server.calls()).some((call) => call.op === 'slow-write'),
    'the slow write was answered',
  );
  t.ok((await stat(`${mnt}/other`)).isFile(), 'and the mount still answers');
  t.notMatch(server.stderr(), /handler failed|unusable answer/, 'nothing failed');
  t.doesNotThrow(() => process.kill(server.pid, 0), 'the server still runs');
});
