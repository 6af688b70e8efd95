// The states of a read-ahead block, driven step by step with READs the test answers itself: a block's buffer goes
// back to the pool only once its READ has settled and no reader copies from it, whenever it was evicted.
import t from 'tap';
import { BufferPool } from '../../src/fs/buffer-pool.ts';
import { ReadAhead } from '../../src/fs/read-ahead.ts';

const BLOCK = 4096;

interface PendingRead {
  readonly offset: number;
  readonly into: Buffer;
  /** Answers the READ with the file's bytes (byte i of the file is i % 251), `count` of them (else all asked). */
  answer(count?: number): void;
  fail(): void;
}

function setUp(window: number) {
  const pool = new BufferPool(BLOCK, 8);
  const given: Buffer[] = [];
  const give = pool.give.bind(pool);
  pool.give = (buffer) => {
    given.push(buffer);
    give(buffer);
  };
  const reads: PendingRead[] = [];
  const readAhead = new ReadAhead(
    { blockBytes: BLOCK, window },
    pool,
    (offset, length, into) =>
      new Promise<Buffer>((resolve, reject) => {
        reads.push({
          offset,
          into,
          answer: (count = length) => {
            for (let i = 0; i < count; i++) into[i] = (offset + i) % 251;
            resolve(into.subarray(0, count));
          },
          fail: () => reject(new Error('READ failed')),
        });
      }),
  );
  return { given, reads, readAhead };
}

/** Every promise reaction queued so far has run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const fileBytes = (offset: number, length: number) => Buffer.from(Array.from({ length }, (_, i) => (offset + i) % 251));

t.test('a block evicted while its READ is in flight goes back only once the READ settles', async (t) => {
  const { given, reads, readAhead } = setUp(2);
  const target = Buffer.alloc(BLOCK);
  const read = readAhead.read(target, 0, 0, 1 << 20);
  t.same(
    reads.map((r) => r.offset),
    [0, BLOCK, 2 * BLOCK],
    'the block read and two ahead',
  );
  reads[0]!.answer();
  t.equal(await read, BLOCK);
  t.ok(target.equals(fileBytes(0, BLOCK)));
  readAhead.drop();
  t.same(given, [reads[0]!.into], 'the settled block goes back at once');
  t.same(given.includes(reads[1]!.into) || given.includes(reads[2]!.into), false, 'blocks still being read do not');
  reads[1]!.answer();
  reads[2]!.fail();
  await settle();
  t.ok(given.includes(reads[1]!.into) && given.includes(reads[2]!.into), 'each goes back when its READ settles, answered or failed');
});

t.test('a read-ahead READ that fails is read again by the read that needs it', async (t) => {
  const { given, reads, readAhead } = setUp(2);
  const first = readAhead.read(Buffer.alloc(BLOCK), 0, 0, 1 << 20);
  reads[0]!.answer();
  reads[1]!.fail();
  await first;
  await settle();
  t.ok(given.includes(reads[1]!.into), "the failed block's buffer went back");
  const target = Buffer.alloc(BLOCK);
  const second = readAhead.read(target, BLOCK, 0, 1 << 20);
  const again = reads.find((r, i) => i > 2 && r.offset === BLOCK);
  t.ok(again, 'the block was asked for again');
  again!.answer();
  t.equal(await second, BLOCK);
  t.ok(target.equals(fileBytes(BLOCK, BLOCK)), 'with the right bytes');
  for (const r of reads) if (r !== reads[1] && r !== again) r.answer();
});

t.test('an evicted block a reader still copies from goes back when that reader is done', async (t) => {
  const { given, reads, readAhead } = setUp(1);
  const target = Buffer.alloc(2 * BLOCK);
  const read = readAhead.read(target, 0, 0, 1 << 20);
  reads[0]!.answer();
  await settle(); // the reader has block 0 and waits for block 1
  readAhead.drop();
  t.notOk(given.includes(reads[0]!.into), 'block 0 stays while its reader is not done');
  reads[1]!.answer();
  t.equal(await read, 2 * BLOCK);
  t.ok(target.equals(fileBytes(0, 2 * BLOCK)), 'the reader got both blocks whole');
  t.ok(given.includes(reads[0]!.into) && given.includes(reads[1]!.into), 'then both go back');
  reads[2]!.answer();
});

t.test('a read one block holds is answered from the block itself, while it is held; others are copied', async (t) => {
  const { given, reads, readAhead } = setUp(1);
  const answers: { source: Uint8Array; pooled: boolean; held: boolean }[] = [];
  const answerFrom = (source: Uint8Array) =>
    answers.push({
      source: Buffer.from(source),
      pooled: reads.some((read) => read.into.buffer === source.buffer),
      held: !given.some((buffer) => buffer.buffer === source.buffer),
    });
  const first = Buffer.alloc(BLOCK / 2);
  const reading = readAhead.read(first, 0, 0, 1 << 20, answerFrom);
  reads[0]!.answer();
  t.equal(await reading, BLOCK / 2, 'the count answered');
  t.same(answers.length, 1, 'answered from elsewhere, once');
  t.ok(answers[0]!.pooled && answers[0]!.held, 'from the block, still held when answered');
  t.ok(Buffer.from(answers[0]!.source).equals(fileBytes(0, BLOCK / 2)), 'with exactly the bytes asked for');
  t.ok(first.equals(Buffer.alloc(BLOCK / 2)), "the reader's own buffer was not written");

  // A read across two blocks is copied into the target.
  const across = Buffer.alloc(BLOCK);
  const crossing = readAhead.read(across, BLOCK / 2, 0, 1 << 20, answerFrom);
  reads[1]!.answer();
  t.equal(await crossing, BLOCK);
  t.equal(answers.length, 1, 'a read across blocks is not answered from one');
  t.ok(across.equals(fileBytes(BLOCK / 2, BLOCK)), 'it is copied whole');
  for (const read of reads.slice(2)) read.answer();
});

t.test('a read that ends in a short block (the end of the file) is copied, with the count read', async (t) => {
  const { reads, readAhead } = setUp(1);
  let answered = 0;
  const target = Buffer.alloc(BLOCK / 2);
  const reading = readAhead.read(target, 0, 0, BLOCK / 4, () => answered++);
  reads[0]!.answer(BLOCK / 4);
  t.equal(await reading, BLOCK / 4, 'the bytes up to the end of the file');
  t.equal(answered, 0, 'not answered from the block');
  t.ok(target.subarray(0, BLOCK / 4).equals(fileBytes(0, BLOCK / 4)), 'they were copied into the target');
});
