import fc from 'fast-check';
import t from 'tap';
import { encodeAuthSys, encodeCredential } from '../../src/nfs/auth.ts';
import { RpcAuthError, RpcError, RpcProtocolError, RpcVersionMismatchError } from '../../src/nfs/rpc-errors.ts';
import { decodeReply, encodeCallRecord, replyXid, type ReplyContext } from '../../src/nfs/rpc-message.ts';
import { XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';
import { successReply, wordsReply } from '../helpers/fake-rpc-peer.ts';

const credential = { uid: 1000, gid: 2000, gids: Array.from({ length: 20 }, (_, i) => 3000 + i), machineName: 'node-a' };
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const context: ReplyContext = { xid: 7, program: 100003, version: 3, procedure: 7, credential, server: '10.0.0.1:2049' };

t.test('AUTH_SYS carries stamp, machine name, uid, gid and the first 16 gids', async (t) => {
  const w = new XdrWriter();
  encodeAuthSys(w, credential);
  const r = new XdrReader(Buffer.from(w.bytes()));
  t.equal(r.uint32(), 1, 'flavor AUTH_SYS');
  const body = new XdrReader(Buffer.from(r.opaque(400)));
  t.equal(r.remaining, 0);
  body.uint32(); // stamp
  t.equal(body.string(255), 'node-a');
  t.equal(body.uint32(), 1000);
  t.equal(body.uint32(), 2000);
  const count = body.uint32();
  t.equal(count, 16, '20 gids are cut to 16');
  t.same(
    Array.from({ length: count }, () => body.uint32()),
    credential.gids.slice(0, 16),
  );
  t.equal(body.remaining, 0, 'the body length is exact');
});

t.test('AUTH_NONE is flavor 0 with an empty body', async (t) => {
  const w = new XdrWriter();
  encodeCredential(w, null);
  t.same([...w.bytes()], [0, 0, 0, 0, 0, 0, 0, 0]);
});

t.test('ids must be uint32 and the machine name at most 255 bytes', async (t) => {
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
    t.throws(() => encodeAuthSys(new XdrWriter(), { uid: bad, gid: 0, gids: [] }), /uid must be an integer/);
    t.throws(() => encodeAuthSys(new XdrWriter(), { uid: 0, gid: bad, gids: [] }), /gid must be an integer/);
    t.throws(() => encodeAuthSys(new XdrWriter(), { uid: 0, gid: 0, gids: [1, bad] }), /gids\[1\] must be an integer/);
  }
  t.doesNotThrow(() => encodeAuthSys(new XdrWriter(), { uid: 2 ** 32 - 1, gid: 0, gids: [] }));
  t.doesNotThrow(() => encodeAuthSys(new XdrWriter(), { uid: 0, gid: 0, gids: [...Array(16).fill(1), -1] }), 'gids past 16 are not sent');
  t.throws(() => encodeAuthSys(new XdrWriter(), { uid: 0, gid: 0, gids: [], machineName: 'x'.repeat(256) }), /255/);
});

t.test('a CALL record: record mark, xid, CALL, rpcvers 2, program, version, procedure, credential, AUTH_NONE verifier, args', async (t) => {
  const record = Buffer.concat(
    encodeCallRecord({ xid: 0xfffffffe, program: 100005, version: 3, procedure: 1, credential: null }, (w) => w.string('/export')),
  );
  const r = new XdrReader(record);
  t.equal(r.uint32(), 0x80000000 + record.length - 4, 'one last fragment holding the rest');
  t.same(
    Array.from({ length: 10 }, () => r.uint32()),
    [0xfffffffe, 0, 2, 100005, 3, 1, 0, 0, 0, 0],
  );
  t.equal(r.string(), '/export');
  t.equal(r.remaining, 0);
  t.throws(() => encodeCallRecord({ ...context, credential: { uid: -5, gid: 0, gids: [] } }, null), RangeError);
});

t.test("opaques by reference: the record holds the caller's buffer itself, and its bytes are those of a copy", async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 5 }), fc.nat(3), (lengths, skew) => {
      const data = lengths.map((n, i) => Buffer.alloc(n + skew, i + 1).subarray(skew)); // views at odd offsets too
      const call = { xid: 9, program: 100003, version: 3, procedure: 7, credential };
      const pieces = encodeCallRecord(call, (w) => data.forEach((d) => w.uint32(d.length).opaqueByReference(d)));
      const copied = encodeCallRecord(call, (w) => data.forEach((d) => w.uint32(d.length).opaque(d)));
      t.ok(Buffer.concat(pieces).equals(Buffer.concat(copied)), `opaques of ${lengths.join(', ')} bytes`);
      for (const d of data.filter((d) => d.length >= 4096)) {
        t.ok(
          pieces.some((p) => p.buffer === d.buffer && p.byteOffset === d.byteOffset && p.length === d.length),
          `${d.length} bytes sent from the caller's buffer`,
        );
      }
    }),
    { numRuns: 50 },
  );
});

t.test('SUCCESS gives a reader at the results, past any verifier', async (t) => {
  const results = Buffer.from([1, 2, 3, 4]);
  t.same([...decodeReply(successReply(7, results), context).fixedOpaque(4)], [1, 2, 3, 4]);
  const withVerifier = Buffer.concat([wordsReply(7, 1, 0, 1, 8, 0xaaaaaaaa, 0xbbbbbbbb, 0), results]);
  const r = decodeReply(withVerifier, context);
  t.equal(r.uint32(), 0x01020304);
  t.equal(replyXid(withVerifier), 7);
  t.equal(replyXid(Buffer.from([1, 2, 3])), undefined);
});

t.test('accept_stat errors say what happened', async (t) => {
  const cases: [number[], string, RegExp][] = [
    [[1], 'PROG_UNAVAIL', /10\.0\.0\.1:2049 does not serve NFS \(PROG_UNAVAIL\)/],
    [[2, 2, 4], 'PROG_MISMATCH', /supports NFS versions 2 to 4 only, not v3 \(PROG_MISMATCH\)/],
    [[3], 'PROC_UNAVAIL', /does not implement NFS v3 WRITE \(PROC_UNAVAIL\)/],
    [[4], 'GARBAGE_ARGS', /could not decode the arguments of NFS v3 WRITE \(GARBAGE_ARGS\)/],
    [[5], 'SYSTEM_ERR', /failed on NFS v3 WRITE with a system error \(SYSTEM_ERR\)/],
  ];
  for (const [words, status, message] of cases) {
    t.throws(() => decodeReply(wordsReply(7, 1, 0, 0, 0, ...words), context), { name: 'RpcAcceptError', status, message }, status);
  }
});

t.test('MSG_DENIED: RPC_MISMATCH and AUTH_ERROR with the reason and the credential', async (t) => {
  const mismatch = caught(() => decodeReply(wordsReply(7, 1, 1, 0, 3, 4), context));
  t.ok(mismatch instanceof RpcVersionMismatchError);
  t.match(mismatch, { low: 3, high: 4, message: /versions 3 to 4, not 2 \(RPC_MISMATCH\)/ });
  const badcred = caught(() => decodeReply(wordsReply(7, 1, 1, 1, 1), context));
  t.ok(badcred instanceof RpcAuthError);
  t.match(badcred, {
    reason: 'AUTH_BADCRED',
    message: /rejected the credential uid=1000 gid=2000 gids=3000,.*,3015 for NFS v3 WRITE \(AUTH_BADCRED\)/,
  });
  t.throws(() => decodeReply(wordsReply(7, 1, 1, 1, 5), { ...context, credential: null }), {
    reason: 'AUTH_TOOWEAK',
    message: /rejected the credential AUTH_NONE .*\(AUTH_TOOWEAK\): the export wants another security flavor/,
  });
  t.throws(() => decodeReply(wordsReply(7, 1, 1, 1, 99), context), {
    reason: 'auth_stat 99',
    message: /\(auth_stat 99\): an unknown reason/,
  });
});

t.test('malformed replies are RpcProtocolError naming the call', async (t) => {
  const cases: [string, Buffer][] = [
    ['truncated after reply_stat', wordsReply(7, 1, 0)],
    ['verifier longer than 400 bytes', wordsReply(7, 1, 0, 0, 1000)],
    ['verifier length past the end', wordsReply(7, 1, 0, 0, 100, 0)],
    ['msg_type CALL', wordsReply(7, 0, 0, 0, 0, 0)],
    ['msg_type 9', wordsReply(7, 9, 0, 0, 0, 0)],
    ['reply_stat out of range', wordsReply(7, 1, 2, 0, 0, 0)],
    ['accept_stat out of range', wordsReply(7, 1, 0, 0, 0, 6)],
    ['reject_stat out of range', wordsReply(7, 1, 1, 2)],
    ['PROG_MISMATCH without high', wordsReply(7, 1, 0, 0, 0, 2, 3)],
    ['AUTH_ERROR without auth_stat', wordsReply(7, 1, 1, 1)],
  ];
  for (const [name, reply] of cases) {
    t.throws(
      () => decodeReply(reply, context),
      { name: 'RpcProtocolError', message: /10\.0\.0\.1:2049 sent a malformed reply to NFS v3 WRITE: / },
      name,
    );
  }
});

t.test('random bytes decode to results or an RpcError, nothing else', async (t) => {
  let errors = 0;
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.nat()), { maxLength: 12 }), (words) => {
      try {
        decodeReply(wordsReply(7, ...words), context);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        errors++;
      }
    }),
    { numRuns: 1000 },
  );
  t.ok(errors > 0, `${errors} of 1000 were errors, all RpcError`);
  t.ok(new RpcProtocolError('x') instanceof RpcError);
});
