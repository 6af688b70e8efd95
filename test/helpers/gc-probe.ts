// Measures a process the test did not write, such as `kidfs mount`, without changing it: the process is started with
// gcProbeEnv(), which preloads gc-on-signal.ts and steadies its memory, and memoryAfterGc() asks it for a full GC by
// SIGUSR2, then reads its memory.
import { rssAnonKiB, STEADY_MEMORY_TUNABLES } from './fuse-server-client.ts';
import { preloadOptions } from './preload.ts';

const GC_ON_SIGNAL = new URL('./gc-on-signal.ts', import.meta.url).pathname;
const GC_DONE = /^gc-on-signal: collected, JS heap used (\d+) bytes$/gm;

/** What gc-on-signal.ts writes to stderr after each collection. */
export function gcDoneLine(heapUsedBytes: number): string {
  return `gc-on-signal: collected, JS heap used ${heapUsedBytes} bytes`;
}

/**
 * Environment for a measured node process. NODE_OPTIONS takes only some V8 flags: of fuse-server-client.ts's steady-memory
 * flags, --max-semi-space-size (a young generation that does not grow with the allocation rate). Without --single-threaded,
 * V8's helper threads, libuv's and libfuse's allocate too: one malloc arena keeps what they free from staying in arenas
 * of their own (measured: RssAnon then moves by ~1 MiB between rounds instead of by up to 10 MiB).
 */
export function gcProbeEnv(): NodeJS.ProcessEnv {
  return {
    NODE_OPTIONS: `--expose-gc --max-semi-space-size=1 ${preloadOptions([GC_ON_SIGNAL])}`,
    GLIBC_TUNABLES: `${STEADY_MEMORY_TUNABLES}:glibc.malloc.arena_max=1`,
  };
}

export interface MemoryAfterGc {
  /** RssAnon from /proc: all memory the process wrote to, JS heap, buffers and native allocations. */
  readonly rssAnonKiB: number;
  /** Live JS objects: a leak of small objects shows here well before it stands out of RssAnon's noise. */
  readonly heapUsedKiB: number;
}

/** Asks `pid` (started with gcProbeEnv(), its stderr collected by `stderr`) for a full GC, then measures it. */
export async function memoryAfterGc(pid: number, stderr: () => string, timeoutMs = 10_000): Promise<MemoryAfterGc> {
  const answers = () => [...stderr().matchAll(GC_DONE)];
  const before = answers().length;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  while (answers().length === before) {
    if (Date.now() > deadline)
      throw new Error(`process ${pid} did not answer SIGUSR2 with a GC within ${timeoutMs} ms: was it started with gcProbeEnv()?`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { rssAnonKiB: rssAnonKiB(pid), heapUsedKiB: Math.round(Number(answers()[before]![1]) / 1024) };
}
