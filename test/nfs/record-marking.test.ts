import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { encodeRecord, fragmentHeaderWord, RecordMarkingError, RecordReader } from '../../src/nfs/record-marking.ts';

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

/**
 * Feeds `stream` to the reader as a socket with onread would: each read fills a prefix of the buffer the reader hands
 * out, as much as the buffer, the read's size and the bytes still to come allow. Read sizes are used in turn.
 */
function readAll(reader: RecordReader, stream: Buffer, readSizes: number[]): void {
  for (let pos = 0, i = 0; pos < stream.length; i++) {
    const target = reader.nextBuffer();
    assert.ok(target.length > 0, 'the reader always has room for a read');
    const n = stream.copy(target, 0, pos, pos + Math.min(readSizes[i % readSizes.length]!, target.length));
    pos += n;
    reader.onRead(n);
  }
}

/** The records a reader delivers, kept as delivered (not copied): reuse of a record's memory would show in them. */
function collector(maxRecordSize?: number): { reader: RecordReader; records: Buffer[] } {
  const records: Buffer[] = [];
  return { reader: new RecordReader((record) => records.push(record), { maxRecordSize }), records };
}

/** Bytes that differ with their position, so a byte copied to the wrong place shows. */
function patterned(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed + (i >> 8)) & 0xff;
  return out;
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
// Small records, and ones past the 64 KiB scratch buffer that the socket reads straight into.
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.integer({ min: 60 * 1024, max: 300 * 1024 }), fc.nat(255)).map(([length, seed]) => patterned(length, seed)),
);
const records = fc.array(fc.tuple(payload, fc.array(fraction, { maxLength: 6 }), fc.boolean()), { minLength: 1, maxLength: 8 });

function toStream(recs: [Buffer, number[], boolean][]): Buffer {
  return Buffer.concat(
    recs.map(([data, fragmentCuts, emptyFirst]) => {
      const fragments = cut(data, fragmentCuts);
      if (emptyFirst || fragments.length === 0) fragments.unshift(Buffer.alloc(0)); // empty fragments are legal
      return fragmentsToBytes(fragments);
    }),
  );
}

const hex = (buffers: Buffer[]) => buffers.map((b) => b.toString('hex'));

t.test('any records, cut into any fragments, read in reads of any sizes, come out as the same records', async (t) => {
  fc.assert(
    fc.property(records, fc.array(fc.integer({ min: 1, max: 200 * 1024 }), { minLength: 1, maxLength: 30 }), (recs, readSizes) => {
      const { reader, records: out } = collector(1024 * 1024);
      readAll(reader, toStream(recs), readSizes);
      // Compared only now: a record whose memory was read into again after it was delivered would differ.
      assert.deepEqual(hex(out), hex(recs.map(([data]) => data)));
    }),
    { numRuns: 300 },
  );
  t.pass('300 random streams read to their records');
});

t.test('the same through push(): chunks read elsewhere, cut anywhere and reused afterwards', async (t) => {
  fc.assert(
    fc.property(records, fc.array(fraction, { maxLength: 40 }), (recs, chunkCuts) => {
      const { reader, records: out } = collector(1024 * 1024);
      for (const chunk of cut(toStream(recs), chunkCuts)) {
        reader.push(chunk);
        chunk.fill(0xee); // the socket's buffer, handed out again
      }
      assert.deepEqual(hex(out), hex(recs.map(([data]) => data)));
    }),
    { numRuns: 200 },
  );
  t.pass('200 random streams pushed to their records');
});

t.test('a large fragment is read straight into the buffer the record is delivered in', async (t) => {
  const data = patterned(1024 * 1024, 3);
  const stream = fragmentsToBytes([data]);
  const { reader, records: out } = collector();
  const reads: { target: Buffer; bytes: number }[] = [];
  for (let pos = 0; pos < stream.length;) {
    const target = reader.nextBuffer();
    const bytes = stream.copy(target, 0, pos, pos + 100_000);
    reads.push({ target, bytes });
    pos += bytes;
    reader.onRead(bytes);
  }
  t.equal(out.length, 1);
  t.ok(out[0]!.equals(data), 'the record is whole');
  const copied = reads.filter((r) => r.target.buffer !== out[0]!.buffer).reduce((sum, r) => sum + r.bytes, 0);
  // The first read (with the header) and the fragment's last 64 KiB go through the scratch buffer.
  t.ok(copied <= 128 * 1024, `${copied} of ${stream.length} bytes went through the scratch buffer`);
  t.ok(
    reads.slice(1, -1).every((r) => r.target.buffer === out[0]!.buffer),
    'the reads in between went into the record',
  );
});

t.test('encodeRecord cuts into fragments of the given size, and the reader joins them', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (data, size) => {
      const payload = Buffer.from(data);
      const pieces = encodeRecord(payload, size);
      const headers = pieces.filter((_, i) => i % 2 === 0 || payload.length === 0);
      assert.equal(headers.length, Math.max(1, Math.ceil(payload.length / size)));
      assert.ok(headers.every((h, i) => h.length === 4 && h.readUInt32BE(0) >= 0x80000000 === (i === headers.length - 1)));
      const { reader, records: out } = collector();
      reader.push(Buffer.concat(pieces));
      assert.deepEqual(out, [payload]);
    }),
    { numRuns: 200 },
  );
  t.pass('200 random payloads survived fragmenting');
  t.equal(encodeRecord(Buffer.alloc(10)).length, 2, 'one fragment by default');
  t.throws(() => encodeRecord(Buffer.alloc(10), 0), RangeError);
});

t.test('a fragment longer than the record limit is an error, found from its header alone', async (t) => {
  t.throws(() => readAll(collector(80 * 1024 * 1024).reader, Buffer.from([0xff, 0xff, 0xff, 0xff]), [4]), RecordMarkingError);
  t.throws(() => collector(100).reader.push(Buffer.from([0x80, 0x00, 0x00, 101])), /over the limit of 100/);
  const { reader, records: out } = collector(100);
  readAll(reader, Buffer.concat([Buffer.from([0x80, 0, 0, 100]), Buffer.alloc(100)]), [1000]);
  t.equal(out.length, 1, 'exactly the limit is fine');
});

t.test('fragments that together pass the record limit are an error', async (t) => {
  const { reader, records: out } = collector(100);
  readAll(reader, Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.alloc(60)]), [7]);
  t.throws(() => readAll(reader, Buffer.from([0x80, 0, 0, 41]), [4]), /record of 101 bytes, over the limit of 100/);
  t.equal(out.length, 0);
});
