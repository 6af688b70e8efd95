// The memory budget on its own: a mount never holds more than its share, the process never more than its limit, a
// caller beyond either waits (never fails) while the holders are asked to give memory back, and mounts that wait for
// the process's memory are served one caller each in turn.
import t from 'tap';
import { ProcessMemoryBudget, type MemoryHolder } from '../../src/fs/memory-budget.ts';

/** A holder that gives back everything it holds of `budget` when asked. */
function holder(budget: { release(bytes: number): void }): MemoryHolder & { held: number; asked: number } {
  return {
    held: 0,
    asked: 0,
    relieve() {
      this.asked++;
      const bytes = this.held;
      this.held = 0;
      if (bytes > 0) budget.release(bytes);
    },
  };
}

t.test("a mount's share bounds it; beyond it a caller waits until a holder of the mount gives back", async (t) => {
  const process = new ProcessMemoryBudget(100);
  const mount = process.mount(40);
  const other = process.mount(40);
  const keeper = holder(mount);
  mount.addHolder(keeper);
  t.ok(mount.tryReserve(40), 'the share is there');
  keeper.held = 40;
  t.notOk(mount.tryReserve(1), 'not a byte more');
  t.ok(other.tryReserve(40), 'another mount has its own share');
  let granted = false;
  const waiting = mount.reserve(10).then(() => (granted = true));
  t.equal(mount.waits, 1, 'the wait is counted');
  await waiting;
  t.ok(granted && keeper.asked === 1, 'the holder was asked, gave back, and the caller got its memory');
  t.same([mount.used, mount.highWater, process.used], [10, 40, 50]);
});

t.test('the process limit is shared in turn between the mounts that wait for it', async (t) => {
  const process = new ProcessMemoryBudget(30);
  const [a, b, hog] = [process.mount(30), process.mount(30), process.mount(30)];
  t.ok(hog.tryReserve(30), 'one mount took all the process has');
  const order: string[] = [];
  const waits = [
    ...[1, 2, 3].map((n) => a.reserve(10).then(() => order.push(`a${n}`))),
    ...[1, 2].map((n) => b.reserve(10).then(() => order.push(`b${n}`))),
  ];
  for (let i = 0; i < 3; i++) hog.release(10);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(order, ['a1', 'b1', 'a2'], 'the freed memory went to both waiting mounts in turn, not all to the first');
  a.release(10);
  b.release(10);
  await Promise.all(waits);
  t.same(order, ['a1', 'b1', 'a2', 'b2', 'a3']);
});
