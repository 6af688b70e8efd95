// The NFSv3 codecs against bytes written out by hand from RFC 1813's XDR.
import t from 'tap';
import { XdrError, XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';
import { decodeFattr, decodeWcc, encodeSattr } from '../../src/nfs/nfs3-attr-codec.ts';
import * as codec from '../../src/nfs/nfs3-codec.ts';
import { StableHow } from '../../src/nfs/nfs3-types.ts';

/** Words (and raw byte strings) as a hex string, for comparing with what an encoder wrote. */
const hex = (...words: (number | string)[]) =>
  words.map((w) => (typeof w === 'number' ? (w >>> 0).toString(16).padStart(8, '0') : w)).join('');
const encoded = (encode: (w: XdrWriter) => void) => {
  const w = new XdrWriter(8);
  encode(w);
  return w.bytes().toString('hex');
};
const reader = (...words: (number | string)[]) => new XdrReader(Buffer.from(hex(...words), 'hex'));

const fh = Buffer.from('0102030405', 'hex'); // 5 bytes: length word, bytes, 3 bytes padding
const FH_HEX = hex(5, '0102030405000000');

/** A fattr3 on the wire: regular file, mode 0644, 2 links, uid 2001, gid 3001, size 2^40+1, ... */
const FATTR = [1, 0o644, 2, 2001, 3001, 0x100, 1, 0, 4096, 4, 8, 0, 42, 0xffffffff, 0xfffffffe, 10, 11, 20, 21, 30, 31] as const;

t.test('sattr3 encodes every set_* arm', async (t) => {
  t.equal(
    encoded((w) => encodeSattr(w, {})),
    hex(0, 0, 0, 0, 0, 0),
    'nothing set',
  );
  t.equal(
    encoded((w) =>
      encodeSattr(w, { mode: 0o4755, uid: 2001, gid: 3001, size: 0x1_0000_0002n, atime: 'server', mtime: { seconds: 7, nseconds: 9 } }),
    ),
    hex(1, 0o4755, 1, 2001, 1, 3001, 1, 1, 2, 1, 2, 7, 9),
  );
});

t.test('procedure arguments', async (t) => {
  t.equal(
    encoded((w) => codec.encodeSetattrArgs(w, fh, { size: 0n })),
    FH_HEX + hex(0, 0, 0, 1, 0, 0, 0, 0, 0),
    'SETATTR unguarded',
  );
  t.equal(
    encoded((w) => codec.encodeSetattrArgs(w, fh, {}, { seconds: 5, nseconds: 6 })),
    FH_HEX + hex(0, 0, 0, 0, 0, 0, 1, 5, 6),
    'SETATTR guarded by ctime',
  );
  t.equal(
    encoded((w) => codec.encodeAccessArgs(w, fh, 0x3f)),
    FH_HEX + hex(0x3f),
  );
  t.equal(
    encoded((w) => codec.encodeReadArgs(w, fh, 0x1_0000_0000n, 65536)),
    FH_HEX + hex(1, 0, 65536),
    'READ offset is 64-bit',
  );
  t.equal(
    encoded((w) => codec.encodeWriteArgs(w, fh, 3n, Buffer.from('hello'), StableHow.DATA_SYNC)),
    FH_HEX + hex(0, 3, 5, 1, 5, '68656c6c6f000000'),
    'WRITE: offset, count, stable, opaque data padded',
  );
  t.equal(
    encoded((w) => codec.encodeCreateArgs(w, fh, 'ab', { mode: 'guarded', attributes: { mode: 0o600 } })),
    FH_HEX + hex(2, '61620000', 1, 1, 0o600, 0, 0, 0, 0, 0),
    'CREATE GUARDED',
  );
  t.equal(
    encoded((w) => codec.encodeCreateArgs(w, fh, 'ab', { mode: 'unchecked' })),
    FH_HEX + hex(2, '61620000', 0, 0, 0, 0, 0, 0, 0),
  );
  t.equal(
    encoded((w) => codec.encodeCreateArgs(w, fh, 'ab', { mode: 'exclusive', verifier: Buffer.from('0011223344556677', 'hex') })),
    FH_HEX + hex(2, '61620000', 2, '0011223344556677'),
    'CREATE EXCLUSIVE carries the 8-byte verifier',
  );
  t.throws(() => encoded((w) => codec.encodeCreateArgs(w, fh, 'ab', { mode: 'exclusive', verifier: Buffer.alloc(4) })), XdrError);
  t.equal(
    encoded((w) => codec.encodeMkdirArgs(w, fh, 'd', { mode: 0o700 })),
    FH_HEX + hex(1, '64000000', 1, 0o700, 0, 0, 0, 0, 0),
  );
  t.equal(
    encoded((w) => codec.encodeSymlinkArgs(w, fh, 'l', '../t', {})),
    FH_HEX + hex(1, '6c000000', 0, 0, 0, 0, 0, 0, 4, '2e2e2f74'),
    'SYMLINK: sattr3 before the target',
  );
  t.equal(
    encoded((w) => codec.encodeMknodArgs(w, fh, 'c', { type: 'chr', spec: { major: 1, minor: 3 }, attributes: { mode: 0o666 } })),
    FH_HEX + hex(1, '63000000', 4, 1, 0o666, 0, 0, 0, 0, 0, 1, 3),
    'MKNOD CHR: type, sattr3, specdata3',
  );
  t.equal(
    encoded((w) => codec.encodeMknodArgs(w, fh, 'b', { type: 'blk', spec: { major: 8, minor: 0 } })),
    FH_HEX + hex(1, '62000000', 3, 0, 0, 0, 0, 0, 0, 8, 0),
  );
  t.equal(
    encoded((w) => codec.encodeMknodArgs(w, fh, 'p', { type: 'fifo' })),
    FH_HEX + hex(1, '70000000', 7, 0, 0, 0, 0, 0, 0),
    'MKNOD FIFO: sattr3 only',
  );
  t.equal(
    encoded((w) => codec.encodeMknodArgs(w, fh, 's', { type: 'sock' })),
    FH_HEX + hex(1, '73000000', 6, 0, 0, 0, 0, 0, 0),
  );
  t.equal(
    encoded((w) => codec.encodeRenameArgs(w, fh, 'a', fh, 'bcdef')),
    FH_HEX + hex(1, '61000000') + FH_HEX + hex(5, '6263646566000000'),
  );
  t.equal(
    encoded((w) => codec.encodeLinkArgs(w, fh, fh, 'x')),
    FH_HEX + FH_HEX + hex(1, '78000000'),
  );
  const verf = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
  t.equal(
    encoded((w) => codec.encodeReaddirArgs(w, fh, 77n, verf, 4096)),
    FH_HEX + hex(0, 77, 'a1a2a3a4a5a6a7a8', 4096),
  );
  t.equal(
    encoded((w) => codec.encodeReaddirplusArgs(w, fh, 0n, verf, 100, 8192)),
    FH_HEX + hex(0, 0, 'a1a2a3a4a5a6a7a8', 100, 8192),
  );
  t.equal(
    encoded((w) => codec.encodeCommitArgs(w, fh, 0n, 0)),
    FH_HEX + hex(0, 0, 0),
  );
  t.throws(() => encoded((w) => codec.encodeAccessArgs(w, Buffer.alloc(65), 1)), /exceeds NFS3_FHSIZE/);
});

t.test('fattr3 and wcc_data decode, 64-bit fields as exact bigints', async (t) => {
  const a = decodeFattr(reader(...FATTR));
  t.same(a, {
    type: 1,
    mode: 0o644,
    nlink: 2,
    uid: 2001,
    gid: 3001,
    size: 0x100_0000_0001n,
    used: 4096n,
    rdev: { major: 4, minor: 8 },
    fsid: 42n,
    fileid: 0xffff_ffff_ffff_fffen,
    atime: { seconds: 10, nseconds: 11 },
    mtime: { seconds: 20, nseconds: 21 },
    ctime: { seconds: 30, nseconds: 31 },
  });
  t.throws(() => decodeFattr(reader(9, ...FATTR.slice(1))), /ftype3 9 is not a file type/);
  t.throws(() => decodeFattr(reader(...FATTR.slice(0, 10))), XdrError, 'truncated');
  t.same(decodeWcc(reader(0, 0)), { before: undefined, after: undefined });
  const wcc = decodeWcc(reader(1, 0, 5, 1, 2, 3, 4, 1, ...FATTR));
  t.same(wcc.before, { size: 5n, mtime: { seconds: 1, nseconds: 2 }, ctime: { seconds: 3, nseconds: 4 } });
  t.equal(wcc.after?.uid, 2001);
});

t.test('procedure results', async (t) => {
  const look = codec.decodeLookupOk(reader(3, 'aabbcc00', 1, ...FATTR, 0));
  t.same(look.handle, Buffer.from('aabbcc', 'hex'));
  t.equal(look.attributes?.fileid, 0xffff_ffff_ffff_fffen);
  t.equal(look.dirAttributes, undefined);
  t.throws(() => codec.decodeLookupOk(reader(65, '00'.repeat(68), 0, 0)), /opaque length 65 exceeds its limit of 64/);

  const read = codec.decodeReadOk(reader(0, 3, 1, 3, '78797a00'));
  t.same(read, { attributes: undefined, count: 3, eof: true, data: Buffer.from('xyz') });
  t.throws(() => codec.decodeReadOk(reader(0, 4, 0, 3, '78797a00')), /count 4 but carries 3 bytes/);

  const write = codec.decodeWriteOk(reader(0, 0, 4096, 0, 'dead beef 0102 0304'.replace(/ /g, '')));
  t.same(write, {
    wcc: { before: undefined, after: undefined },
    count: 4096,
    committed: 0,
    verifier: Buffer.from('deadbeef01020304', 'hex'),
  });
  t.throws(() => codec.decodeWriteOk(reader(0, 0, 1, 3, '0000000000000000')), /stable_how 3/);

  const created = codec.decodeCreateOk(reader(0, 0, 0, 0));
  t.equal(created.handle, undefined, 'post_op_fh3 may be missing');

  const plus = codec.decodeReaddirplusOk(
    reader(
      0,
      '0102030405060708',
      1,
      0,
      12,
      1,
      '2e000000',
      0,
      1,
      1,
      ...FATTR,
      1,
      2,
      'f00d0000',
      1,
      0,
      99,
      5,
      '68656c6c6f000000',
      0,
      0x7fffffff,
      0,
      0,
      0,
      1,
    ),
  );
  t.same(plus.cookieverf, Buffer.from('0102030405060708', 'hex'));
  t.equal(plus.eof, true);
  t.equal(plus.entries.length, 2);
  t.same(
    plus.entries.map((e) => [e.fileid, e.name, e.cookie]),
    [
      [12n, '.', 1n],
      [99n, 'hello', 0x7fffffffn],
    ],
  );
  t.equal(plus.entries[0]?.attributes?.uid, 2001);
  t.same(plus.entries[0]?.handle, Buffer.from('f00d', 'hex'));
  t.equal(plus.entries[1]?.attributes, undefined);
  t.equal(plus.entries[1]?.handle, undefined);

  const dir = codec.decodeReaddirOk(reader(0, '0000000000000000', 1, 0, 7, 1, '61000000', 0, 3, 0, 0));
  t.same(dir, { dirAttributes: undefined, cookieverf: Buffer.alloc(8), entries: [{ fileid: 7n, name: 'a', cookie: 3n }], eof: false });

  const fsinfo = codec.decodeFsinfoOk(reader(0, 1 << 26, 1 << 20, 4096, 1 << 26, 1 << 20, 4096, 16384, 0xffffffff, 0xffffffff, 0, 1, 0x1b));
  t.same(fsinfo, {
    attributes: undefined,
    rtmax: 1 << 26,
    rtpref: 1 << 20,
    rtmult: 4096,
    wtmax: 1 << 26,
    wtpref: 1 << 20,
    wtmult: 4096,
    dtpref: 16384,
    maxFileSize: 0xffff_ffff_ffff_ffffn,
    timeDelta: { seconds: 0, nseconds: 1 },
    properties: 0x1b,
  });
  const fsstat = codec.decodeFsstatOk(reader(0, 0, 100, 0, 50, 0, 40, 0, 10, 0, 5, 0, 4, 0));
  t.same(
    [
      fsstat.totalBytes,
      fsstat.freeBytes,
      fsstat.availableBytes,
      fsstat.totalFiles,
      fsstat.freeFiles,
      fsstat.availableFiles,
      fsstat.invarsec,
    ],
    [100n, 50n, 40n, 10n, 5n, 4n, 0],
  );
  t.same(codec.decodePathconfOk(reader(0, 32000, 255, 1, 1, 0, 1)), {
    attributes: undefined,
    linkMax: 32000,
    nameMax: 255,
    noTrunc: true,
    chownRestricted: true,
    caseInsensitive: false,
    casePreserving: true,
  });
  t.same(codec.decodeCommitOk(reader(0, 0, '0807060504030201')).verifier, Buffer.from('0807060504030201', 'hex'));
  t.same(codec.decodeRenameOk(reader(0, 0, 0, 0)), {
    fromDirWcc: { before: undefined, after: undefined },
    toDirWcc: { before: undefined, after: undefined },
  });
  t.same(codec.decodeAccessOk(reader(0, 0x1f)), { attributes: undefined, access: 0x1f });
  t.same(codec.decodeReadlinkOk(reader(0, 2, '2f780000')), { attributes: undefined, target: '/x' });
});
