// RpcClient against a fake peer that crafts replies: framing, ordering, malformed and random replies.
import fc from 'fast-check';
import t from 'tap';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { RpcConnectionError, RpcError, RpcProtocolError, RpcTimeoutError } from '../../src/nfs/rpc-errors.ts';
import { XdrWriter } from '../../src/nfs/xdr.ts';
import { delay, frame, startFakeRpcPeer, successReply, wordsReply, type FakeRpcPeer } from '../helpers/fake-rpc-peer.ts';

const PROG = 200000;
const VERS = 1;

async function setup(t: { teardown(fn: () => unknown): void }): Promise<{ peer: FakeRpcPeer; client: RpcClient }> {
  const peer = await startFakeRpcPeer();
  const client = new RpcClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, reconnectDelayMs: { initial: 10, max: 100 } });
  t.teardown(async () => {
    await client.close();
    await peer.close();
  });
  return { peer, client };
}

// Lengths are multiples of 4, as XDR results are.
const results = (n: number) => Buffer.from(Array.from({ length: 2000 + n * 36 }, (_, i) => (i * 7 + n) & 255));

t.test('replies cut into many fragments and written in many small, delayed TCP writes are parsed', async (t) => {
  const { peer, client } = await setup(t);
  let writing = Promise.resolve();
  peer.onCall = (call) => {
    const n = call.args.readUInt32BE(0);
    // One reply at a time (records cannot interleave), fragments of 1-13 bytes, writes of 1-97 bytes.
    writing = writing.then(async () => {
      const bytes = frame(successReply(call.xid, results(n)), 1 + (n % 13));
      for (let i = 0, k = 0; i < bytes.length; k++) {
        const size = 1 + ((k * 31 + n) % 97);
        call.socket.write(bytes.subarray(i, i + size));
        i += size;
        if (k % 4 === 0) await delay(1);
      }
    });
  };
  const replies = await Promise.all([0, 1, 2, 3, 4].map((n) => client.call(PROG, VERS, 1, null, (w) => w.uint32(n))));
  replies.forEach((r, n) => {
    t.ok(r.fixedOpaque(results(n).length).equals(results(n)), `reply ${n} intact`);
    t.equal(r.remaining, 0);
  });
});

t.test('60 calls in flight, answered in shuffled order, each get their own reply', async (t) => {
  const { peer, client } = await setup(t);
  const N = 60;
  peer.onCall = () => {
    if (peer.calls.length < N) return; // answer only once all are in flight
    const order = [...peer.calls].sort((a, b) => ((a.xid * 2654435761) >>> 0) - ((b.xid * 2654435761) >>> 0));
    const socket = order[0]!.socket;
    for (const call of order) socket.write(frame(successReply(call.xid, call.args)));
  };
  const replies = await Promise.all(
    Array.from({ length: N }, (_, i) => client.call(PROG, VERS, 2, null, (w) => w.uint32(i).string(`call number ${i}`))),
  );
  replies.forEach((r, i) => {
    t.equal(r.uint32(), i);
    t.equal(r.string(), `call number ${i}`);
  });
  const xids = peer.calls.map((c) => c.xid);
  t.ok(
    xids.every((x, i) => i === 0 || x === (xids[i - 1]! + 1) >>> 0),
    'xids count up by one',
  );
  t.same(new Set(peer.calls.map((c) => c.connection)), new Set([1]), 'one connection');
});

t.test('a malformed reply fails its own call only; unknown xids and short records are dropped', async (t) => {
  const { peer, client } = await setup(t);
  const malformed: [string, (xid: number) => Buffer][] = [
    ['truncated body', (xid) => wordsReply(xid, 1, 0, 0)],
    ['verifier over 400 bytes', (xid) => wordsReply(xid, 1, 0, 0, 401, 0, 0)],
    ['verifier length past the end', (xid) => wordsReply(xid, 1, 0, 0, 40, 0)],
    ['reply_stat out of range', (xid) => wordsReply(xid, 1, 7, 0, 0, 0)],
    ['accept_stat out of range', (xid) => wordsReply(xid, 1, 0, 0, 0, 99)],
    ['msg_type CALL', (xid) => wordsReply(xid, 0, 0, 0, 0, 0)],
  ];
  peer.onCall = (call) => {
    const i = call.args.readUInt32BE(0);
    const socket = call.socket;
    if (i < malformed.length) {
      socket.write(frame(malformed[i]![1](call.xid)));
    } else {
      socket.write(frame(successReply((call.xid + 0x10000) >>> 0, Buffer.from('not yours')))); // unknown xid
      socket.write(frame(Buffer.from([1, 2]))); // too short to hold an xid
      socket.write(frame(successReply(call.xid, call.args)));
    }
  };
  const outcomes = await Promise.allSettled(
    Array.from({ length: malformed.length + 3 }, (_, i) => client.call(PROG, VERS, 5, null, (w) => w.uint32(i))),
  );
  malformed.forEach(([name], i) => {
    const outcome = outcomes[i]!;
    t.equal(outcome.status, 'rejected', name);
    if (outcome.status === 'rejected') {
      t.ok(outcome.reason instanceof RpcProtocolError, `${name}: RpcProtocolError`);
      t.match(outcome.reason.message, /127\.0\.0\.1:\d+ sent a malformed reply to program 200000 v1 procedure 5: /);
    }
  });
  for (const outcome of outcomes.slice(malformed.length)) {
    t.equal(outcome.status, 'fulfilled', 'the good calls around them complete');
  }
  t.same(new Set(peer.calls.map((c) => c.connection)), new Set([1]), 'no reconnect was needed');
});

t.test('a garbled stream (absurd fragment length) drops the connection; the call goes again with its xid', async (t) => {
  const { peer, client } = await setup(t);
  peer.onCall = (call) => {
    if (call.connection === 1) call.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    else call.socket.write(frame(successReply(call.xid, Buffer.from('fine'))));
  };
  const r = await client.call(PROG, VERS, 1, null, null);
  t.equal(r.fixedOpaque(4).toString(), 'fine');
  t.same(
    peer.calls.map((c) => c.connection),
    [1, 2],
  );
  t.equal(peer.calls[0]!.xid, peer.calls[1]!.xid, 'retransmitted with the same xid');
});

for (const how of ['end', 'reset'] as const) {
  t.test(`a peer that closes mid-reply (${how}): reconnect, retransmit every pending call with its xid, complete`, async (t) => {
    const { peer, client } = await setup(t);
    peer.onCall = (call) => {
      if (call.connection === 1) {
        if (peer.calls.length < 5) return;
        const reply = frame(successReply(call.xid, results(1)));
        call.socket.write(reply.subarray(0, reply.length >> 1), () => (how === 'end' ? call.socket.end() : call.socket.resetAndDestroy()));
      } else {
        call.socket.write(frame(successReply(call.xid, call.args)));
      }
    };
    const replies = await Promise.all([0, 1, 2, 3, 4].map((i) => client.call(PROG, VERS, 1, null, (w) => w.uint32(i))));
    replies.forEach((r, i) => t.equal(r.uint32(), i));
    const first = peer.calls.filter((c) => c.connection === 1).map((c) => c.xid);
    const second = peer.calls.filter((c) => c.connection === 2).map((c) => c.xid);
    t.equal(first.length, 5);
    t.same(second, first, 'the second connection carried the same xids, in order');
  });
}

const replyWords = fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.nat(), fc.constant(400), fc.constant(401)), { maxLength: 10 });

t.test('random replies and random streams: every call settles with results or an RpcError, in time', async (t) => {
  const peer = await startFakeRpcPeer();
  t.teardown(() => peer.close());
  let outcomes = { resolved: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        // Bytes in place of a reply, then the peer hangs up: the call must go again and complete.
        fc.record({ kind: fc.constant('stream' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 80 }) }),
        // A record with the right xid and a random body, in random fragments.
        fc.record({
          kind: fc.constant('record' as const),
          words: replyWords,
          tail: fc.uint8Array({ maxLength: 12 }),
          fragment: fc.integer({ min: 1, max: 16 }),
        }),
      ),
      async (behaviour) => {
        const client = new RpcClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 3000, reconnectDelayMs: { initial: 5, max: 20 } });
        let seen = 0;
        peer.onCall = (call) => {
          if (seen++ > 0) {
            call.socket.write(frame(successReply(call.xid)));
          } else if (behaviour.kind === 'stream') {
            call.socket.write(behaviour.bytes, () => call.socket.destroy());
          } else {
            const body = Buffer.concat([wordsReply(call.xid, ...behaviour.words), behaviour.tail]);
            call.socket.write(frame(body, behaviour.fragment));
          }
        };
        try {
          await client.call(PROG, VERS, 1, null, null);
          outcomes.resolved++;
        } catch (err) {
          if (!(err instanceof RpcError) || err instanceof RpcTimeoutError || err instanceof RpcConnectionError) throw err;
          if (behaviour.kind === 'stream') throw new Error(`a garbled stream must end in a retransmission, not ${err.name}`);
          outcomes.rejected++;
        } finally {
          await client.close();
        }
      },
    ),
    { numRuns: 80 },
  );
  t.ok(
    outcomes.resolved > 0 && outcomes.rejected > 0,
    `80 runs: ${outcomes.resolved} resolved, ${outcomes.rejected} rejected with RpcError`,
  );
});

t.test('results that need a large record arrive whole (4 MiB reply over many reads)', async (t) => {
  const { peer, client } = await setup(t);
  const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
  big.writeUInt32BE(0xdeadbeef, big.length - 4);
  peer.onCall = (call) => call.socket.write(frame(successReply(call.xid, new XdrWriter(big.length + 8).opaque(big).bytes())));
  const r = await client.call(PROG, VERS, 6, null, null);
  t.ok(r.opaque().equals(big));
});

t.test('large replies in a row: each is read whole, and the results kept from earlier ones stay intact', async (t) => {
  const { peer, client } = await setup(t);
  // 64 KiB up to 1 MiB: past the reader's scratch buffer, so the socket reads most of each straight into its record.
  const big = (n: number) => Buffer.from(Array.from({ length: 64 * 1024 + n * 150_000 }, (_, i) => (i * 13 + (i >> 10) + n) & 255));
  peer.onCall = (call) => {
    const n = call.args.readUInt32BE(0);
    // Some in several fragments, all written back to back so reads span record boundaries.
    call.socket.write(frame(successReply(call.xid, new XdrWriter().opaque(big(n)).bytes()), n % 2 === 0 ? undefined : 200_000));
  };
  const kept: Buffer[] = [];
  for (const batch of [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]) {
    const replies = await Promise.all(batch.map((n) => client.call(PROG, VERS, 1, null, (w) => w.uint32(n))));
    kept.push(...replies.map((r) => r.opaque())); // views into the records, as READ data is
  }
  kept.forEach((data, n) => t.ok(data.equals(big(n)), `reply ${n} (${data.length} bytes) intact after all 8 arrived`));
});
