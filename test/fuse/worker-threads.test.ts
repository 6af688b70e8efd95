// A burst of parallel requests must not grow the process that serves a mount by a thread per
// request: libfuse 2 (upstream fuse-native) starts a worker for every request that finds none
// idle, without bound; on libfuse 3 the binding bounds a mount's workers (max_threads) and keeps
// at most max_idle_threads of them idle, so a daemon with 100 mounts holds a few hundred threads,
// not thousands.
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';
import type { FuseServerConfig } from '../helpers/fuse-server.ts';

const PARALLEL = 100;
const MAX_THREADS = 8;
const DRIVER = new URL('../helpers/parallel-stat.ts', import.meta.url).pathname;

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function threadsOf(pid: number): Promise<number> {
  return Number(/Threads:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

/** The server's thread count before a burst of PARALLEL stats, the most seen during it, and after it. */
async function burst(t: Teardown, binding: FuseServerConfig['binding']): Promise<{ before: number; peak: number; after: number }> {
  // Every stat reaches the server (attr_timeout=0) and waits there 50 ms, so all are in flight at once.
  const server = await startFuseServer(t, {
    fs: 'null',
    getattrDelayMs: 50,
    binding,
    options: { name: `threads-${binding}`, attrTimeoutSeconds: 0, entryTimeoutSeconds: 3600, maxThreads: MAX_THREADS, maxIdleThreads: 1 },
  });
  const driver = fork(DRIVER, [server.mountpoint, String(PARALLEL)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, UV_THREADPOOL_SIZE: String(PARALLEL) },
  });
  t.teardown(() => driver.kill());
  const round = () =>
    new Promise<void>((resolve, reject) => {
      driver.once('message', (message: { failures: number }) =>
        message.failures ? reject(new Error(`${message.failures} stats failed`)) : resolve(),
      );
      driver.send({ type: 'round' });
    });

  await round(); // warm-up: the first lookups and the driver's own start
  const before = await threadsOf(server.pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) peak = Math.max(peak, await threadsOf(server.pid));
  })();
  await round();
  sampling = false;
  await sampler;
  const after = await threadsOf(server.pid);
  driver.disconnect();
  await server.stop();
  return { before, peak, after };
}

t.test(`${PARALLEL} parallel requests run on at most max_threads=${MAX_THREADS} workers`, async (t) => {
  const { before, peak, after } = await burst(t, 'kidfs');
  t.comment(`libfuse 3: ${before} threads before the burst, ${peak} at most during it, ${after} after`);
  t.ok(peak - before <= MAX_THREADS, `grew by ${peak - before} threads (at most ${MAX_THREADS})`);
});

t.test('the same burst starts a thread per request on upstream fuse-native (libfuse 2)', async (t) => {
  const { before, peak } = await burst(t, 'upstream');
  t.comment(`libfuse 2: ${before} threads before the burst, ${peak} at most during it`);
  t.ok(peak - before > PARALLEL / 2, `grew by ${peak - before} threads (more than ${PARALLEL / 2})`);
});
