// kidfs mounts take READs off /dev/fuse in the binding too and answer them from the JavaScript thread (patch level 10,
// fastReads), and a handler that holds the data elsewhere (kidfs's read-ahead blocks) answers from there without
// copying it into the kernel's buffer (answerFrom). The reader must get exactly those bytes; an answer after the
// operation's timeout must reach nobody (the slot serves other requests by then); and a READ, which names its file
// only by fh, must still give the handler the file's current path and the reading process.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';

const errorCode = (promise: Promise<unknown>) =>
  promise.then(
    () => 'success',
    (error: NodeJS.ErrnoException) => error.code,
  );

t.test("a read answered from the handler's own memory reaches the reader exactly", async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'answer-from' } });
  const mnt = server.mountpoint;
  await mkdir(`${mnt}/answer-from`);
  // Larger than a request (1 MiB), not a multiple of a page: whole requests, and a short one at the end.
  const data = randomBytes(3 * 1024 * 1024 + 1234);
  await writeFile(`${mnt}/answer-from/data`, data);
  const back = await readFile(`${mnt}/answer-from/data`);
  t.equal(back.length, data.length, 'every byte arrived');
  t.ok(back.equals(data), "the reader got the handler's copy, not the kernel's buffer (filled with 0xee)");
  const answered = (await server.calls()).filter((call) => call.op === 'answered-from');
  t.ok(answered.length >= 4, `${answered.length} reads were answered from the handler's memory`);
  t.notMatch(server.stderr(), /handler failed|unusable answer/, 'nothing failed');
});

t.test("an answer from the handler's memory after the timeout reaches nobody: other reads stay exact", async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', opTimeoutMs: 1000, options: { name: 'late-answer-from' } });
  const mnt = server.mountpoint;
  await mkdir(`${mnt}/answer-from`);
  const other = randomBytes(128 * 1024);
  await writeFile(`${mnt}/other`, other);
  await writeFile(`${mnt}/answer-from/slow-read-2500`, Buffer.alloc(128 * 1024, 0x11));
  // Held open, so that the late handler still finds its file and answers (a closed fd would fail it first).
  const slow = await open(`${mnt}/answer-from/slow-read-2500`, 'r');
  let reads = 0;
  let lateAnswers = 0;
  try {
    t.equal(await errorCode(slow.read(Buffer.alloc(4096), 0, 4096, 0)), 'ETIMEDOUT', 'the slow read gets ETIMEDOUT');
    // Other reads run in the slots meanwhile; each must get its own data until well after the late answers came.
    while ((lateAnswers === 0 || reads < 50) && reads < 20_000) {
      if (!(await readFile(`${mnt}/other`)).equals(other)) {
        t.fail(`read ${reads + 1} of another file came back changed`);
        break;
      }
      reads++;
      if (reads % 10 === 0) lateAnswers = (await server.calls()).filter((call) => call.op === 'answered-from').length;
    }
  } finally {
    await slow.close();
  }
  t.ok(lateAnswers > 0, `the late answers came (${lateAnswers}), while ${reads} reads of another file were exact`);
  t.match(
    server.stderr(),
    /fuse read \/answer-from\/slow-read-2500: no answer within 1000 ms; replied ETIMEDOUT/,
    'the timeout was logged',
  );
  t.notMatch(server.stderr(), /handler failed|unusable answer/, 'the late answer failed nothing');
  t.doesNotThrow(() => process.kill(server.pid, 0), 'the server still runs');
});

t.test("a read's handler gets the file's current path, renames included, and the reading process", async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'fast-reads' } });
  const mnt = server.mountpoint;
  await mkdir(`${mnt}/dir`);
  // Large enough that its end is past what the kernel reads ahead of the first read: the second read is a READ too.
  const data = randomBytes(8 * 1024 * 1024);
  await writeFile(`${mnt}/dir/before`, data);
  const file = await open(`${mnt}/dir/before`, 'r');
  try {
    const start = (await file.read(Buffer.alloc(4), 0, 4, 0)).buffer;
    await rename(`${mnt}/dir/before`, `${mnt}/dir/after`);
    await rename(`${mnt}/dir`, `${mnt}/moved`);
    const end = (await file.read(Buffer.alloc(5), 0, 5, data.length - 5)).buffer;
    t.ok(start.equals(data.subarray(0, 4)) && end.equals(data.subarray(-5)), 'both reads got their bytes');
  } finally {
    await file.close();
  }
  const calls = await server.calls();
  t.same(
    [...new Set(calls.filter((call) => call.op === 'read').map((call) => call.path))],
    ['/dir/before', '/moved/after'],
    'each read named the path the file had then',
  );
  const audits = calls.filter((call) => call.op === 'audit' && call.args[0] === 'read');
  t.ok(audits.length >= 2, 'the reads were audited');
  // The kernel reports the reading thread: here one of libuv's pool threads, which live on in this process.
  t.same(
    audits.map(({ args: [, tid, uid, gid] }) => [existsSync(`/proc/${process.pid}/task/${tid as number}`), uid, gid]),
    audits.map(() => [true, process.getuid!(), process.getgid!()]),
    'and came from a thread of this process, with its uid and gid',
  );
});
