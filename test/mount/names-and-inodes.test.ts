// Names are bytes on the server: a name that is not valid UTF-8 (a Latin-1 tarball, a file another host made)
// must be listed, opened, renamed and removed through a mount byte for byte, and so must symlink targets. And
// st_ino is the server's file id: equal for two hard links of one file, as tar, find -samefile, du and
// rsync -H expect. Real mounts, checked on the backing directory.
import t from 'tap';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  lstatSync,
  readdirSync,
  readSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const config = writeConfig(work, STATIC_TABLE);
const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'names' });

/** A path made of a directory (text) and a name (bytes), as Node takes it: a Buffer. */
const at = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(`${dir}/`), name]);
const names = (dir: string) => readdirSync(dir, { encoding: 'buffer' }).map((name) => name.toString('hex'));
// "café" in Latin-1 (0xe9 alone is not UTF-8), a name in the form Latin-1 tarballs hold
const latin1 = Buffer.from('636166e9', 'hex');
const renamed = Buffer.from('72e9e7752dff', 'hex');
const utf8 = Buffer.from('Grüße-名前', 'utf8');

t.test('a name that is not UTF-8, made on the server, is listed, read, renamed and removed through the mount', async (t) => {
  writeFileSync(at(server.dir, latin1), 'from another host');
  t.ok(names(mount.target).includes(latin1.toString('hex')), 'listed with its bytes');
  t.equal(readFileSync(at(mount.target, latin1), 'utf8'), 'from another host', 'opened and read');
  renameSync(at(mount.target, latin1), at(mount.target, renamed));
  t.same(
    names(server.dir).filter((name) => [latin1, renamed].some((n) => n.toString('hex') === name)),
    [renamed.toString('hex')],
    'renamed on the server to exactly the new bytes',
  );
  unlinkSync(at(mount.target, renamed));
  t.notOk(names(server.dir).includes(renamed.toString('hex')), 'removed on the server');
});

t.test('names made through the mount reach the server byte for byte, UTF-8 or not', async (t) => {
  for (const name of [latin1, utf8]) {
    writeFileSync(at(mount.target, name), name);
    t.ok(readFileSync(at(server.dir, name)).equals(name), `${name.toString('hex')} exists on the server`);
    t.ok(names(mount.target).includes(name.toString('hex')), 'and is listed through the mount');
  }
});

t.test('symlink targets round-trip byte for byte', async (t) => {
  const target = Buffer.concat([Buffer.from('../'), latin1]);
  symlinkSync(target, at(mount.target, Buffer.from('made-here')));
  t.ok(readlinkSync(at(server.dir, Buffer.from('made-here')), { encoding: 'buffer' }).equals(target), 'made through the mount');
  symlinkSync(target, at(server.dir, Buffer.from('made-there')));
  t.ok(readlinkSync(at(mount.target, Buffer.from('made-there')), { encoding: 'buffer' }).equals(target), 'read through the mount');
});

t.test("st_ino is the server's file id, one for both names of a hard link", async (t) => {
  writeFileSync(join(mount.target, 'original'), 'linked');
  linkSync(join(mount.target, 'original'), join(mount.target, 'second'));
  const [original, second] = ['original', 'second'].map((name) => statSync(join(mount.target, name)));
  t.equal(original.ino, statSync(join(server.dir, 'original')).ino, 'the file id the server reports (its inode number)');
  t.equal(second.ino, original.ino, 'both names show one inode number');
  const same = run('root', mount.target, 'find . -samefile original | sort');
  t.equal(same.stdout, './original\n./second\n', `find -samefile sees the link (${same.stderr.trim()})`);
  t.equal(lstatSync(join(mount.target, 'second')).nlink, 2, 'the new name counts two links');
});

t.test('nlink is right straight after link and unlink, through either name', async (t) => {
  const [a, b] = ['nl-a', 'nl-b'].map((name) => join(mount.target, name));
  writeFileSync(a, 'x');
  t.equal(statSync(a).nlink, 1, 'one link (and now cached)');
  linkSync(a, b);
  t.equal(statSync(a).nlink, 2, 'the old name counts two right after link');
  t.equal(statSync(b).nlink, 2, 'and so does the new one');
  unlinkSync(b);
  // libfuse's high-level API gives each name its own kernel inode, so the kernel keeps no count of the other name
  // (attr_timeout 0), and kidfs drops the file's cached attributes when one of its names goes
  t.equal(statSync(a).nlink, 1, 'one right after unlinking the other name');
});

t.test('a write through one name of a file is read through another name opened after it', async (t) => {
  const [writer, other] = ['wr-a', 'wr-b'].map((name) => join(mount.target, name));
  writeFileSync(writer, 'A'.repeat(8192));
  linkSync(writer, other);
  t.equal(readFileSync(other, 'latin1').slice(0, 4), 'AAAA', 'read through the other name (now in its page cache)');
  const fd = openSync(writer, 'r+');
  writeSync(fd, 'BBBB', 0);
  // held by the mount, not sent yet: the next open of the other name must not keep its cached pages
  t.equal(readFileSync(other, 'latin1').slice(0, 4), 'BBBB', 'a new open of the other name reads the write');

  const reader = openSync(other, 'r');
  const head = Buffer.alloc(4);
  readSync(reader, head, 0, 4, 0);
  writeSync(fd, 'CCCC', 0);
  fsyncSync(fd);
  readSync(reader, head, 0, 4, 0);
  t.equal(head.toString('latin1'), 'CCCC', 'an fd already open on the other name reads it too');
  closeSync(reader);
  closeSync(fd);
});

t.test('two names of one file written at once, each through its own fd, both finish and the server holds both', async (t) => {
  const [first, second] = ['both-a', 'both-b'].map((name) => join(mount.target, name));
  const block = 256 * 1024;
  const blocks = 32;
  writeFileSync(first, Buffer.alloc(block * blocks));
  linkSync(first, second);
  const [a, b] = await Promise.all([open(first, 'r+'), open(second, 'r+')]);
  try {
    // even blocks through one name, odd through the other, all in flight together: each write drops the other
    // name's pages while the other name's writes hold them
    const writes = Array.from({ length: blocks }, (_, index) =>
      (index % 2 ? b : a).write(Buffer.alloc(block, index % 2 ? 'b' : 'a'), 0, block, index * block),
    );
    await Promise.all(writes);
    await Promise.all([a.sync(), b.sync()]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  const onServer = readFileSync(join(server.dir, 'both-a'));
  const wrong = Array.from({ length: blocks }, (_, index) => index).filter(
    (index) => !onServer.subarray(index * block, (index + 1) * block).equals(Buffer.alloc(block, index % 2 ? 'b' : 'a')),
  );
  t.same(wrong, [], 'every block holds what its name wrote');
});
