// Write chunk buffers are reused once committed, and never while a WRITE that carried one may still be on its way.
import t from 'tap';
import { BufferPool } from '../../src/fs/buffer-pool.ts';
import { FsStats } from '../../src/fs/fs-stats.ts';
import { MountMemoryBudget } from '../../src/fs/memory-budget.ts';
import { WriteBack, type WriteSink } from '../../src/fs/write-back.ts';
import { StableHow } from '../../src/nfs/nfs3-types.ts';

const KiB = 1024;

t.test('the pool hands out what was given back, up to its bound, and drops it when idle', async (t) => {
  const pool = new BufferPool(64 * KiB, 2, { idleMs: 50 });
  const [a, b, c] = [pool.tryTake(64 * KiB)!, pool.tryTake(64 * KiB)!, pool.tryTake(64 * KiB)!];
  t.equal(pool.tryTake(100)!.length, 100, 'other sizes are plain allocations');
  for (const buffer of [a, b, c]) pool.give(buffer);
  const again = [pool.tryTake(64 * KiB)!, pool.tryTake(64 * KiB)!, pool.tryTake(64 * KiB)!];
  t.same([again[0] === b, again[1] === a], [true, true], 'given-back buffers come out again');
  t.notOk(again.includes(c), 'past the bound a buffer is left to the GC');
  pool.give(again[0]!);
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.not(pool.tryTake(64 * KiB)!, again[0], 'an idle pool has let go of its buffers');
});

t.test('the pool counts the bytes it holds, lent out or idle, as the budget does', async (t) => {
  const budget = MountMemoryBudget.standalone(1024 * KiB);
  const pool = new BufferPool(64 * KiB, 1, { idleMs: 60_000, budget });
  const [a, b] = [pool.tryTake(64 * KiB)!, pool.tryTake(64 * KiB)!];
  const odd = pool.tryCopy(Buffer.alloc(100))!;
  t.equal(pool.held, 128 * KiB + 100, 'two pooled buffers and a copy');
  pool.give(odd);
  pool.give(a);
  t.equal(pool.held, 128 * KiB, 'an idle buffer still counts; a copy given back does not');
  pool.give(b);
  t.equal(pool.held, 64 * KiB, 'past the bound of idle buffers one is let go');
  pool.relieve();
  t.equal(pool.held, 0, 'relieved: nothing held');
  t.equal(budget.used, pool.held, 'the same as the budget counts');
});

/** A server stand-in whose WRITEs all fail, or all succeed as UNSTABLE with one verifier. */
function sink(fail: boolean): WriteSink {
  const verifier = Buffer.alloc(8, 1);
  return {
    write: async (_offset, data) => {
      if (fail) throw new Error('no reply');
      return { count: data.length, committed: StableHow.UNSTABLE, verifier };
    },
    commit: async () => verifier,
  };
}

t.test('a committed chunk goes back to the pool; one whose WRITE failed never does', async (t) => {
  const chunk = 64 * KiB;
  const limits = { chunkBytes: chunk, maxInFlight: 4, maxUncommittedBytes: 8 * chunk, commitRetries: 0 };
  const given: Buffer[] = [];
  const pool = new BufferPool(chunk, 8);
  const give = pool.give.bind(pool);
  pool.give = (buffer) => {
    given.push(buffer);
    give(buffer);
  };

  const good = new WriteBack(sink(false), limits, new FsStats(), pool);
  await good.write(0, Buffer.alloc(2 * chunk, 7));
  await good.commit();
  t.equal(given.length, 2, 'both committed chunks were given back');

  given.length = 0;
  const bad = new WriteBack(sink(true), limits, new FsStats(), pool);
  await bad.write(0, Buffer.alloc(2 * chunk, 7));
  await bad.commit().catch(() => undefined);
  t.equal(bad.failures, 2, 'both WRITEs failed');
  t.equal(given.length, 0, 'no buffer of a failed WRITE was given back');
});
