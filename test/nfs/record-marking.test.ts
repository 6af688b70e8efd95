import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { encodeRecord, fragmentHeaderWord, RecordDecoder, RecordMarkingError } from '../../src/nfs/record-marking.ts';

/** Cuts `data` at the given fractions (0..1) of its length. */
function cut(data: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * data.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    if (p > start) pieces.push(data.subarray(start, p));
    start = Math.max(start, p);
  }
  return pieces;
}

/** A record sent as the given fragments (possibly empty ones), as bytes. */
function fragmentsToBytes(fragments: Buffer[]): Buffer {
  const out: Buffer[] = [];
  fragments.forEach((f, i) => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(fragmentHeaderWord(f.length, i === fragments.length - 1));
    out.push(header, f);
  });
  return Buffer.concat(out);
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true });

t.test('any records, cut into any fragments, read in any chunks, decode to the same records', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.array(fraction, { maxLength: 6 }), fc.boolean()), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.array(fraction, { maxLength: 40 }),
      (records, chunkCuts) => {
        const stream = Buffer.concat(
          records.map(([data, fragmentCuts, emptyFirst]) => {
            const fragments = cut(Buffer.from(data), fragmentCuts);
            if (emptyFirst || fragments.length === 0) fragments.unshift(Buffer.alloc(0)); // empty fragments are legal
            return fragmentsToBytes(fragments);
          }),
        );
        const decoder = new RecordDecoder(1024);
        const decoded = cut(stream, chunkCuts).flatMap((chunk) => decoder.push(chunk));
        assert.deepEqual(
          decoded.map((r) => r.toString('hex')),
          records.map(([data]) => Buffer.from(data).toString('hex')),
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random streams decoded to their records');
});

t.test('encodeRecord cuts into fragments of the given size, and the decoder joins them', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (data, size) => {
      const payload = Buffer.from(data);
      const pieces = encodeRecord(payload, size);
      const headers = pieces.filter((_, i) => i % 2 === 0 || payload.length === 0);
      assert.equal(headers.length, Math.max(1, Math.ceil(payload.length / size)));
      assert.ok(headers.every((h, i) => h.length === 4 && (h.readUInt32BE(0) >= 0x80000000) === (i === headers.length - 1)));
      assert.deepEqual(new RecordDecoder().push(Buffer.concat(pieces)), [payload]);
    }),
    { numRuns: 200 },
  );
  t.pass('200 random payloads survived fragmenting');
  t.equal(encodeRecord(Buffer.alloc(10)).length, 2, 'one fragment by default');
  t.throws(() => encodeRecord(Buffer.alloc(10), 0), RangeError);
});

t.test('a record is returned without copying when it arrives in one chunk', async (t) => {
  const chunk = Buffer.concat(encodeRecord(Buffer.from('abcdefgh')));
  const [record] = new RecordDecoder().push(chunk);
  t.equal(record!.buffer, chunk.buffer);
});

t.test('a fragment longer than the record limit is an error, found from its header alone', async (t) => {
  const decoder = new RecordDecoder(80 * 1024 * 1024);
  t.throws(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), RecordMarkingError);
  t.throws(() => new RecordDecoder(100).push(Buffer.from([0x80, 0x00, 0x00, 101])), /over the limit of 100/);
  t.same(new RecordDecoder(100).push(Buffer.concat([Buffer.from([0x80, 0, 0, 100]), Buffer.alloc(100)])).length, 1, 'exactly the limit is fine');
});

t.test('fragments that together pass the record limit are an error', async (t) => {
  const decoder = new RecordDecoder(100);
  t.same(decoder.push(Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.alloc(60)])), []);
  t.throws(() => decoder.push(Buffer.from([0x80, 0, 0, 41])), RecordMarkingError);
});
