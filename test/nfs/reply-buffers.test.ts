// Replies read into buffers their callers lend (READ into pooled buffers): a reply lands in the lent buffer when its
// xid asks for one, nowhere else; and once a call has given up, its buffer is never written again, whatever the
// rest of its reply does.
import t from 'tap';
import { fragmentHeaderWord, RecordReader } from '../../src/nfs/record-marking.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { RpcTimeoutError } from '../../src/nfs/rpc-errors.ts';
import { delay, frame, startFakeRpcPeer, successReply } from '../helpers/fake-rpc-peer.ts';

const KiB = 1024;
const MARK = 0xee;

/** A single-fragment record of `length` bytes starting with `xid`, its other bytes varying with position. */
function record(xid: number, length: number): { bytes: Buffer; body: Buffer } {
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = (i * 13 + (i >> 9) + xid) & 0xff;
  body.writeUInt32BE(xid, 0);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(fragmentHeaderWord(length, true));
  return { bytes: Buffer.concat([header, body]), body };
}

/** A reader lending `lent` for `xid`, and what it delivers. */
function lending(xid: number, lent: Buffer) {
  const records: Buffer[] = [];
  const asked: number[] = [];
  const reader = new RecordReader((r) => records.push(r), {
    bufferFor: (_length, x) => {
      asked.push(x);
      return x === xid ? lent : undefined;
    },
  });
  return { reader, records, asked };
}

/** Feeds `bytes` as a socket with onread does: reads of at most `size` into whatever buffer the reader hands out. */
function readThrough(reader: RecordReader, bytes: Buffer, size: number): void {
  for (let pos = 0; pos < bytes.length;) {
    const target = reader.nextBuffer();
    const n = bytes.copy(target, 0, pos, pos + Math.min(size, target.length));
    pos += n;
    reader.onRead(n);
  }
}

t.test('RecordReader: a record whose xid has a lent buffer is read into it; others are not', async (t) => {
  for (const [how, feed] of [
    [
      'pushed chunks',
      (reader: RecordReader, bytes: Buffer) => {
        for (let i = 0; i < bytes.length; i += 5000) reader.push(bytes.subarray(i, i + 5000));
      },
    ],
    ['socket reads', (reader: RecordReader, bytes: Buffer) => readThrough(reader, bytes, 100 * KiB)],
  ] as const) {
    const lent = Buffer.alloc(400 * KiB);
    const { reader, records, asked } = lending(7, lent);
    const a = record(7, 300 * KiB);
    const b = record(8, 300 * KiB);
    const small = record(7, 16); // fits as well
    feed(reader, Buffer.concat([b.bytes, a.bytes, small.bytes]));
    t.same(asked, [8, 7, 7], `${how}: asked by xid, once per record`);
    t.equal(records.length, 3);
    t.ok(records[0]!.equals(b.body) && records[1]!.equals(a.body) && records[2]!.equals(small.body), `${how}: records intact`);
    t.not(records[0]!.buffer, lent.buffer, `${how}: the other xid's record has a buffer of its own`);
    t.equal(records[1]!.buffer, lent.buffer, `${how}: the record is read into the lent buffer`);
    t.equal(records[1]!.byteOffset, lent.byteOffset, 'at its start');
  }

  const lent = Buffer.alloc(100 * KiB);
  const { reader, records } = lending(7, lent);
  const big = record(7, 200 * KiB);
  reader.push(big.bytes);
  t.ok(records[0]!.equals(big.body), 'a record larger than the lent buffer still arrives');
  t.not(records[0]!.buffer, lent.buffer, 'in a buffer of its own');

  const { reader: second, records: more, asked } = lending(7, Buffer.alloc(100 * KiB));
  const body = record(7, 1000).body;
  const first = Buffer.alloc(4);
  first.writeUInt32BE(fragmentHeaderWord(500, false));
  const last = Buffer.alloc(4);
  last.writeUInt32BE(fragmentHeaderWord(500, true));
  second.push(Buffer.concat([first, body.subarray(0, 500), last, body.subarray(500)]));
  t.ok(more[0]!.equals(body), 'a record of two fragments arrives');
  t.same(asked, [], 'and is never read into a lent buffer');
});

t.test('RecordReader.detach: the record goes on in a buffer of its own, the lent one is left alone', async (t) => {
  const lent = Buffer.alloc(400 * KiB);
  const { reader, records } = lending(7, lent);
  const a = record(7, 300 * KiB);
  reader.push(a.bytes.subarray(0, 120 * KiB));
  t.ok(reader.detach(lent), 'pushed bytes: the fragment can move');
  lent.fill(MARK);
  reader.push(a.bytes.subarray(120 * KiB));
  t.ok(records[0]!.equals(a.body), 'the record arrives intact');
  t.not(records[0]!.buffer, lent.buffer, 'in a buffer of its own');
  t.equal(lent.indexOf(MARK ^ 0xff), -1, 'the lent buffer was not written after detach');
  t.ok(lent.every((byte) => byte === MARK));
  t.ok(reader.detach(lent), 'detaching a buffer the reader no longer uses changes nothing');

  // A socket fixes its next read's buffer in advance: when that is inside the lent buffer, only closing it helps.
  const { reader: socketReader } = lending(7, lent);
  readThrough(socketReader, a.bytes.subarray(0, 100 * KiB), 64 * KiB);
  const next = socketReader.nextBuffer();
  t.equal(next.buffer, lent.buffer, 'the next read goes straight into the lent buffer');
  t.equal(socketReader.detach(lent), false, 'detach says the socket must go');
  t.ok(socketReader.detach(Buffer.alloc(10)), 'another buffer: nothing to do');
});

t.test('RpcClient: a call with replyInto gets results that are views of it', async (t) => {
  const peer = await startFakeRpcPeer();
  const client = new RpcClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000 });
  t.teardown(async () => {
    await client.close();
    await peer.close();
  });
  const data = Buffer.alloc(256 * KiB, 0x5a);
  peer.onCall = (call) => call.socket.write(frame(successReply(call.xid, data)));
  const into = Buffer.alloc(300 * KiB);
  const reply = await client.call(200000, 1, 1, null, null, { replyInto: into });
  const results = reply.fixedOpaque(data.length);
  t.ok(results.equals(data), 'results intact');
  t.equal(results.buffer, into.buffer, 'read into the buffer given');
  const plain = await client.call(200000, 1, 1, null, null);
  t.not(plain.fixedOpaque(data.length).buffer, into.buffer, 'a call without replyInto does not use it');
});

for (const [size, sent, socketGoes] of [
  [1024 * KiB, 300 * KiB, true],
  [100 * KiB, 90 * KiB, false],
] as const) {
  t.test(
    `RpcClient: a call timing out with ${sent / KiB} of ${size / KiB} KiB of its reply read: its buffer is not touched afterwards`,
    async (t) => {
      const peer = await startFakeRpcPeer();
      const client = new RpcClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, reconnectDelayMs: { initial: 10, max: 100 } });
      t.teardown(async () => {
        await client.close();
        await peer.close();
      });
      let rest: (() => void) | undefined;
      peer.onCall = (call) => {
        const bytes = frame(successReply(call.xid, Buffer.alloc(size, 0x11)));
        if (rest === undefined) {
          call.socket.write(bytes.subarray(0, sent));
          rest = () => call.socket.write(bytes.subarray(sent));
        } else call.socket.write(bytes);
      };
      const into = Buffer.alloc(size + 4 * KiB);
      await t.rejects(client.call(200000, 1, 1, null, null, { replyInto: into, timeoutMs: 300 }), RpcTimeoutError);
      t.ok(
        into.subarray(100, sent - 100).every((b) => b === 0x11),
        'the part of the reply sent had been read into it',
      );
      into.fill(MARK);
      rest!();
      await delay(200);
      t.ok(
        into.every((b) => b === MARK),
        'nothing written into the buffer after the call failed',
      );
      const again = await client.call(200000, 1, 1, null, null, { replyInto: into });
      t.ok(
        again.fixedOpaque(size).every((b) => b === 0x11),
        'the next call with the buffer gets its reply',
      );
      t.equal(
        peer.remotePorts.length,
        socketGoes ? 2 : 1,
        socketGoes
          ? 'the socket aimed its next read into the buffer: the connection was dropped and made again'
          : 'the rest of the reply went to a buffer of its own: the connection stayed',
      );
    },
  );
}
