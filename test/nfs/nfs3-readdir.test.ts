// Listing whole directories: every entry exactly once across many rounds, and no endless loop when a server makes
// no progress (ganesha with dircount 0, or a faulty peer).
import t, { type Test } from 'tap';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Nfs3Proc } from '../../src/nfs/nfs3-types.ts';
import type { XdrWriter } from '../../src/nfs/xdr.ts';
import { fakeNfsClient } from '../helpers/fake-rpc-server.ts';
import { cred, startNfsFixture } from '../helpers/nfs-fixture.ts';

const alice = cred(2001, 3001);
const COUNT = 3000;

t.test('a directory of 3000 entries, listed in many rounds', async (t) => {
  const { server, exp } = await startNfsFixture(t);
  const { client } = exp;
  const dir = join(server.dir, 'big');
  mkdirSync(dir);
  const expected = new Map<string, bigint>();
  for (let i = 0; i < COUNT; i++) {
    const name = `entry-${i.toString().padStart(5, '0')}-${'x'.repeat(i % 40)}`;
    writeFileSync(join(dir, name), '');
    expected.set(name, statSync(join(dir, name), { bigint: true }).ino);
  }
  const { handle } = await client.lookup(alice, exp.rootHandle, 'big');

  const check = (t: Test, entries: { name: string; fileid: bigint }[]) => {
    const names = entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..');
    t.equal(names.length, COUNT, `${COUNT} entries`);
    t.equal(new Set(names).size, COUNT, 'none twice');
    t.ok(
      names.every((n) => expected.has(n)),
      'none unknown',
    );
    t.ok(
      entries.every((e) => e.name.startsWith('.') || expected.get(e.name) === e.fileid),
      'every fileid is the inode',
    );
  };

  const plus = await client.readdirplusAll(alice, handle, { dircount: 128, maxcount: 32 * 1024 });
  check(t, plus.entries);
  t.ok(
    plus.entries.every((e) => e.name.startsWith('.') || (e.handle && e.attributes?.fileid === e.fileid)),
    'handles and attributes for all',
  );
  check(t, (await client.readdirplusAll(alice, handle)).entries);
  check(t, (await client.readdirAll(alice, handle, { maxcount: 8192 })).entries);

  const zero = await client.readdirplus(alice, handle, 0n, Buffer.alloc(8), 0, 65536);
  t.same([zero.entries.length, zero.eof], [0, false], 'ganesha: dircount 0 gives no entries and no eof');
  check(t, (await client.readdirplusAll(alice, handle, { dircount: 0, maxcount: 4096 })).entries);
});

/** READDIR(PLUS)3resok with no dir attributes, a zero verifier, the given entries (fileid = cookie) and eof. */
function dirReply(w: XdrWriter, procedure: number, cookies: bigint[], eof: boolean) {
  w.uint32(0).bool(false).fixedOpaque(Buffer.alloc(8));
  for (const cookie of cookies) {
    w.bool(true).uint64(cookie).string(`e${cookie}`).uint64(cookie);
    if (procedure === Nfs3Proc.READDIRPLUS) w.bool(false).bool(false); // no attributes, no handle
  }
  w.bool(false).bool(eof);
}

t.test('a server that never makes progress fails the listing after a bounded number of rounds', async (t) => {
  const counts: number[] = [];
  const { fake, client } = await fakeNfsClient(t, (call, w) => {
    call.args.opaque(); // dir
    call.args.uint64(); // cookie
    call.args.fixedOpaque(8);
    counts.push(call.args.uint32());
    dirReply(w, call.procedure, [], false);
  });
  await t.rejects(
    client.readdirplusAll(alice, Buffer.from('dir'), { dircount: 0 }),
    /READDIRPLUS makes no progress: the server returned no entries and no eof at cookie 0 4 times, the last with dircount 524288 and maxcount 16777216/,
  );
  t.same(counts, [0, 32768, 131072, 524288], 'four rounds with growing dircount, then it gives up');
  t.ok(fake.calls.every((c) => c.procedure === Nfs3Proc.READDIRPLUS));
});

t.test('a server that hands out a cookie twice fails the listing instead of looping', async (t) => {
  let round = 0;
  const { client } = await fakeNfsClient(t, (call, w) => {
    round++;
    dirReply(w, call.procedure, round === 1 ? [1n, 2n] : [3n, 2n], false); // the second round ends where the first did
  });
  await t.rejects(client.readdirAll(alice, Buffer.from('dir')), /READDIR loops: the server returned cookie 2 a second time/);
  t.equal(round, 2);
});

t.test('NFS3ERR_TOOSMALL is retried with larger counts', async (t) => {
  const counts: number[] = [];
  const { client } = await fakeNfsClient(t, (call, w) => {
    call.args.opaque(); // dir
    call.args.uint64(); // cookie
    call.args.fixedOpaque(8);
    call.args.uint32(); // dircount
    counts.push(call.args.uint32()); // maxcount
    if (counts.length === 1)
      w.uint32(10005).bool(false); // NFS3ERR_TOOSMALL, no dir attributes
    else dirReply(w, call.procedure, [1n, 2n], true);
  });
  const listing = await client.readdirplusAll(alice, Buffer.from('dir'), { maxcount: 100 });
  t.same(
    listing.entries.map((e) => e.name),
    ['e1', 'e2'],
  );
  t.same(counts, [100, 262144], 'the second round asks for more');
});
