// One timer checks every operation's deadline: an operation expires once, after its time and not much later; one
// answered in time never does; after an idle spell the timer comes back.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { OperationDeadlines } from '../../src/fuse/op-deadlines.ts';

t.test('expires late operations once, in time, and never answered ones', async (t) => {
  const deadlines = new OperationDeadlines(100);
  const expired: string[] = [];
  const started = performance.now();
  const expiredAt = new Map<string, number>();
  const start = (name: string) =>
    deadlines.start(() => {
      expired.push(name);
      expiredAt.set(name, performance.now() - started);
    });
  start('slow');
  const cancelFast = start('fast');
  await sleep(30);
  cancelFast();
  start('later');
  await sleep(250);
  t.same(expired, ['slow', 'later'], 'the answered one never expires; the others once each, in order');
  t.ok(
    expiredAt.get('slow')! >= 100 && expiredAt.get('slow')! < 100 + 25 + 40,
    `slow expired after ${expiredAt.get('slow')!.toFixed(0)} ms`,
  );
  t.ok(expiredAt.get('later')! >= 130, `later expired after ${expiredAt.get('later')!.toFixed(0)} ms, its own 100 ms after it started`);
});

t.test('after an idle spell (its timer stopped), a new operation still expires', async (t) => {
  const deadlines = new OperationDeadlines(40);
  deadlines.start(() => undefined)();
  await sleep(60); // a check finds nothing waiting and stops the timer
  let expired = false;
  deadlines.start(() => (expired = true));
  await sleep(80);
  t.ok(expired);
});
