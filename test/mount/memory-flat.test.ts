// Issue 3's promise for a real mount: bursts of parallel operations do not grow the `kidfs mount` process. A driver
// process runs rounds of 200 operations at once (stat, open/read/close, create/write/close, unlink, readdir) in a mount
// over ganesha; after every round the mount process collects its garbage, and the test reads its RssAnon (everything
// it holds) and its JS heap (where a leak of small objects shows first).
// It runs with the default [mount] settings and without attribute caching: the attribute cache once kept every
// removed file's entry (~0.8 KiB per file created and removed), which the first case alone would not show.
import { fork } from 'node:child_process';
import t, { type Test } from 'tap';
import { gcProbeEnv, memoryAfterGc, type MemoryAfterGc } from '../helpers/gc-probe.ts';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const PARALLEL = 200;
const WARM_UP_ROUNDS = 12;
const ROUNDS = 20;
/**
 * Growth allowed over ROUNDS (4000 operations) after warm-up. RssAnon, coarse (measured: up to 1.6 MiB as V8 and malloc
 * settle, 3.2 MiB on a machine loaded by other test runs), is there for buffers and native memory: keeping each written
 * buffer adds 10-12.5 MiB, an fd table that never frees 18.6 MiB. The JS heap (measured: ~150 KiB of optimised code)
 * sees ~60 bytes per operation.
 */
const RSS_FLAT_KIB = 5120;
const HEAP_FLAT_KIB = 384;
const DRIVER = new URL('../helpers/parallel-mix.ts', import.meta.url).pathname;

interface DriverAnswer {
  type: 'ready' | 'setup-failed' | 'done';
  message?: string;
  failures?: number;
  firstFailure?: string;
}

interface Settled {
  rss: number;
  heap: number;
}

/** The median of the last five rounds: one round can move RssAnon by a few hundred KiB and back. */
const settled = (values: number[]) => [...values.slice(-5)].sort((a, b) => a - b)[2]!;

/** Memory after warm-up and after ROUNDS more rounds, in a mount with `mountSection` as its [mount] settings. */
async function measure(t: Test, mountSection: string): Promise<{ before: Settled; after: Settled }> {
  const server = await startServer(t);
  const work = makeWorkDir(t);
  const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\n${mountSection}`);
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, env: gcProbeEnv() });
  const driver = fork(DRIVER, [mount.target, String(PARALLEL)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, UV_THREADPOOL_SIZE: String(PARALLEL) },
  });
  t.teardown(() => driver.kill());
  const answer = () =>
    new Promise<DriverAnswer>((resolve, reject) => {
      const exited = (code: number | null, signal: string | null) => reject(new Error(`the driver exited (${code ?? signal})`));
      if (driver.exitCode !== null || driver.signalCode !== null) return exited(driver.exitCode, driver.signalCode);
      driver.once('exit', exited);
      driver.once('message', (message: DriverAnswer) => {
        driver.off('exit', exited);
        resolve(message);
      });
    });
  const ready = await answer();
  if (ready.type !== 'ready') throw new Error(`the driver could not lay out its files: ${ready.message}`);

  const rounds = async (count: number): Promise<Settled> => {
    const measured: MemoryAfterGc[] = [];
    for (let i = 0; i < count; i++) {
      const reply = answer();
      driver.send({ type: 'round' });
      const { failures, firstFailure } = await reply;
      if (failures) throw new Error(`${failures} operations failed in a round, the first: ${firstFailure}`);
      measured.push(await memoryAfterGc(mount.pid, mount.stderr));
    }
    t.comment(`after each round, RssAnon (KiB): ${measured.map((m) => m.rssAnonKiB).join(' ')}`);
    t.comment(`after each round, JS heap used (KiB): ${measured.map((m) => m.heapUsedKiB).join(' ')}`);
    return { rss: settled(measured.map((m) => m.rssAnonKiB)), heap: settled(measured.map((m) => m.heapUsedKiB)) };
  };
  const before = await rounds(WARM_UP_ROUNDS);
  const after = await rounds(ROUNDS);
  driver.disconnect();
  const { code, stderr } = await mount.stop();
  if (code !== 0) throw new Error(`the mount did not stop cleanly (${code}): ${stderr}`);
  return { before, after };
}

function assertFlat(t: Test, { before, after }: { before: Settled; after: Settled }): void {
  t.ok(
    after.rss - before.rss < RSS_FLAT_KIB,
    `RssAnon ${before.rss} -> ${after.rss} KiB: grew by ${after.rss - before.rss} KiB (limit ${RSS_FLAT_KIB})`,
  );
  t.ok(
    after.heap - before.heap < HEAP_FLAT_KIB,
    `JS heap ${before.heap} -> ${after.heap} KiB: grew by ${after.heap - before.heap} KiB (limit ${HEAP_FLAT_KIB})`,
  );
}

t.test(`${ROUNDS} rounds of ${PARALLEL} parallel operations leave a kidfs mount process's memory flat (no attribute cache)`, async (t) => {
  assertFlat(t, await measure(t, 'attr-timeout = 0s'));
});

t.test('the same with the default [mount] settings', async (t) => {
  assertFlat(t, await measure(t, ''));
});
