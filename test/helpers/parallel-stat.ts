// Test driver that stats many files at once (forked with a large UV_THREADPOOL_SIZE, so the
// stats really run in parallel): on {type: 'round'} it stats <dir>/f0 .. f<count-1> together
// and answers {type: 'done', failures}.
import { stat } from 'node:fs/promises';

const [dir, count] = [process.argv[2], Number(process.argv[3])];

process.on('message', async (message: { type: string }) => {
  if (message.type !== 'round') return process.disconnect();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => stat(`${dir}/f${i}`)));
  process.send?.({ type: 'done', failures: results.filter((result) => result.status === 'rejected').length });
});
