// A daemon mounts and unmounts for every pod, for weeks: an unmounted mount must leave nothing
// behind, and whatever still arrives for it late must be harmless. Upstream fuse-native kept a
// reference to every instance it ever mounted, and with it the handlers and everything they
// reach; the patch drops its references once libfuse has finished with the mount.
import { execFile, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { makeMountpoint, startFuseServer, STEADY_MEMORY_FLAGS, STEADY_MEMORY_TUNABLES } from '../helpers/fuse-server-client.ts';
import type { ChurnConfig, ChurnResult } from '../helpers/mount-churn.ts';

const run = promisify(execFile);
const MOUNTS = 40;
const WARM_UP_MOUNTS = 2;
const BALLAST_MIB = 20;
/** RssAnon growth from the warm-up to the end allowed for the patched build: a fifth of one mount's ballast */
const FLAT_KIB = 4096;
const CHURN = new URL('../helpers/mount-churn.ts', import.meta.url).pathname;
const FUSECTL = '/sys/fs/fuse/connections';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Mounts and unmounts MOUNTS times in a process of its own, with handlers holding BALLAST_MIB each. */
async function churn(t: Teardown, binding: ChurnConfig['binding']): Promise<ChurnResult> {
  const config: ChurnConfig = {
    binding,
    mountpoint: await makeMountpoint(t),
    mounts: MOUNTS,
    ballastMiB: BALLAST_MIB,
    warmUpMounts: WARM_UP_MOUNTS,
  };
  const child = fork(CHURN, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...STEADY_MEMORY_FLAGS],
    env: { ...process.env, GLIBC_TUNABLES: STEADY_MEMORY_TUNABLES },
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('message', (result: ChurnResult) => resolve(result));
    child.once('exit', (code, signal) => reject(new Error(`mount-churn exited (${code ?? signal}) before reporting`)));
  });
}

t.test(`${MOUNTS} mounts and unmounts leave the serving process's memory flat`, async (t) => {
  const { warmRssKiB, finalRssKiB, collected } = await churn(t, 'kidfs');
  t.comment(`patched: RssAnon ${warmRssKiB} KiB after ${WARM_UP_MOUNTS} mounts, ${finalRssKiB} KiB after ${MOUNTS}`);
  t.equal(collected, MOUNTS, 'the handlers of every unmounted mount were collected');
  t.ok(finalRssKiB - warmRssKiB < FLAT_KIB, `RssAnon grew by ${finalRssKiB - warmRssKiB} KiB (limit ${FLAT_KIB})`);
});

t.test('the same churn keeps every handlers object on upstream fuse-native (the leak the patch fixes)', async (t) => {
  const { warmRssKiB, finalRssKiB, collected } = await churn(t, 'upstream');
  t.comment(`upstream: RssAnon ${warmRssKiB} KiB after ${WARM_UP_MOUNTS} mounts, ${finalRssKiB} KiB after ${MOUNTS}`);
  t.equal(collected, 0, 'no handlers object was collected');
  const ballastKiB = (MOUNTS - WARM_UP_MOUNTS) * BALLAST_MIB * 1024;
  t.ok(
    finalRssKiB - warmRssKiB > 0.9 * ballastKiB,
    `RssAnon grew by ${finalRssKiB - warmRssKiB} KiB (the ballast of ${MOUNTS - WARM_UP_MOUNTS} mounts is ${ballastKiB})`,
  );
});

/** The fusectl directory of the FUSE connection serving `path` (fusectl is mounted for the test if it is not). */
async function fuseConnection(t: Teardown, path: string): Promise<string> {
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === FUSECTL);
  if (!mounted) {
    await run('mount', ['-t', 'fusectl', 'fusectl', FUSECTL]);
    t.teardown(() => run('umount', [FUSECTL]));
  }
  // the connection is named by the kernel's device number: major << 20 | minor
  const { dev } = await stat(path);
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${FUSECTL}/${major * 2 ** 20 + minor}`;
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

t.test('calls libfuse makes after its loop ended still reach the handlers, before the release', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'after-loop' } });
  const mnt = server.mountpoint;
  await writeFile(`${mnt}/open`, 'data');
  const file = await open(`${mnt}/open`, 'r');
  t.teardown(() => file.close().catch(() => undefined));
  await unlink(`${mnt}/open`); // libfuse renames a file still open to a hidden name
  const [hidden] = await readdir(mnt);
  t.match(hidden, /^\.fuse_hidden/);

  // Ends the connection with the file still open: libfuse removes the hidden name itself, from
  // the mount's own thread, after its loop.
  await writeFile(`${await fuseConnection(t, mnt)}/abort`, '1');
  let removed = false;
  for (let tries = 0; !removed && tries < 50; tries++) {
    const calls = await within(2000, 'the fuse server', server.calls());
    removed = calls.some((call) => call.op === 'unlink' && call.path === `/${hidden}`);
    if (!removed) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(removed, 'the handlers got the unlink of the hidden name');
  t.doesNotThrow(() => process.kill(server.pid, 0), 'the server still runs');
  t.equal(server.stderr(), '', 'and logged nothing');
});

t.test('an answer given a second time is dropped: later requests get their own answers', async (t) => {
  // getattr answers twice, the second time EIO while the next getattr waits; upstream let that answer end the
  // next request its thread served, and every one after it got the answer of the one before
  const server = await startFuseServer(t, { fs: 'memory', binding: 'raw', answerTwice: true, options: { name: 'twice' } });
  const mnt = server.mountpoint;
  for (let size = 1; size <= 5; size++) await writeFile(`${mnt}/file-${size}`, 'x'.repeat(size));
  for (let size = 1; size <= 5; size++) {
    t.equal((await stat(`${mnt}/file-${size}`)).size, size, `file-${size}`);
  }
  // Writes are answered from the JavaScript thread through slots the binding reuses: each second answer comes while
  // the next write waits, maybe in the same slot, and must neither end that write nor change what it reports.
  const pieces = Array.from({ length: 20 }, (_, i) => Buffer.alloc(4096, i + 1));
  const file = await open(`${mnt}/pieces`, 'w');
  const written: number[] = [];
  try {
    for (const piece of pieces) written.push((await file.write(piece)).bytesWritten);
  } finally {
    await file.close();
  }
  t.same(
    written,
    pieces.map(() => 4096),
    'each of 20 writes reported its own 4096 bytes',
  );
  t.ok((await readFile(`${mnt}/pieces`)).equals(Buffer.concat(pieces)), 'and the file holds each piece where it was written');
  t.doesNotThrow(() => process.kill(server.pid, 0), 'the server still runs');
});
