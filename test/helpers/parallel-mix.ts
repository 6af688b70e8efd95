// Test driver that loads a mount with a mix of file operations at once (forked with a large UV_THREADPOOL_SIZE, so they
// really run in parallel). argv: <dir> <count>. It lays out <dir>/keep (count/5 files of FILE_SIZE) and <dir>/new, then answers
// {type: 'ready'}; each {type: 'round'} then runs `count` operations together, a fifth each of: stat, open/read/close,
// create/write/close of a new file, unlink of the previous round's new files, readdir; and answers
// {type: 'done', failures, firstFailure}. Any other message ends it.
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';

const FILE_SIZE = 16 * 1024;
const [dir, count] = [process.argv[2]!, Number(process.argv[3])];
const perKind = Math.floor(count / 5);
const slots = Array.from({ length: perKind }, (_, i) => i);
const keep = (i: number) => `${dir}/keep/k${i}`;
const fresh = (round: number, i: number) => `${dir}/new/r${round}-${i}`;

async function readWhole(path: string): Promise<void> {
  const data = await readFile(path);
  if (data.length !== FILE_SIZE) throw new Error(`${path}: read ${data.length} bytes, not ${FILE_SIZE}`);
}

async function listKeep(): Promise<void> {
  const names = await readdir(`${dir}/keep`);
  if (names.length !== perKind) throw new Error(`readdir keep: ${names.length} names, not ${perKind}`);
}

let round = 0;

async function runRound(): Promise<PromiseSettledResult<unknown>[]> {
  const data = Buffer.alloc(FILE_SIZE, round % 256);
  const operations = [
    ...slots.map((i) => stat(keep(i))),
    ...slots.map((i) => readWhole(keep(i))),
    ...slots.map((i) => writeFile(fresh(round, i), data)),
    ...slots.map((i) => unlink(fresh(round - 1, i))),
    ...slots.map(() => listKeep()),
  ];
  round++;
  return Promise.allSettled(operations);
}

async function setUp(): Promise<void> {
  await mkdir(`${dir}/keep`, { recursive: true });
  await mkdir(`${dir}/new`, { recursive: true });
  await Promise.all(slots.map((i) => writeFile(keep(i), Buffer.alloc(FILE_SIZE, i))));
  // What round 0 removes.
  await Promise.all(slots.map((i) => writeFile(fresh(-1, i), '')));
}

process.on('message', async (message: { type: string }) => {
  if (message.type !== 'round') return process.disconnect();
  const results = await runRound();
  const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  process.send?.({ type: 'done', failures: failed.length, firstFailure: failed[0] ? String(failed[0].reason) : undefined });
});

setUp().then(
  () => process.send?.({ type: 'ready' }),
  (err: Error) => process.send?.({ type: 'setup-failed', message: err.message }),
);
