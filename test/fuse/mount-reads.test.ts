// Reads through a real kidfs mount on a loopback ganesha, now that READ replies go into pooled buffers and the FUSE
// read fills the kernel's buffer itself: sequential, two readers at once, and reads interleaved with writes.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const MiB = 1024 * 1024;
const server = await startServer(t);
const work = makeWorkDir(t);
const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config: writeConfig(work, STATIC_TABLE), dir: work });
const inMount = (script: string) => run('root', mount.target, `set -e; ${script}`);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const content = randomBytes(48 * MiB);
writeFileSync(join(server.dir, 'big'), content);
chownSync(join(server.dir, 'big'), 2001, 2000);

t.test('a sequential read of a file of many read-ahead blocks reads back exactly', async (t) => {
  const result = inMount('dd if=big bs=1M status=none | sha256sum');
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.split(' ')[0], sha256(content));
});

t.test('two readers of one file at once, at different offsets, each get their bytes', async (t) => {
  const result = inMount(
    'dd if=big bs=128k count=192 status=none | sha256sum > /tmp/$$.a & ' +
      'dd if=big bs=128k skip=192 status=none | sha256sum > /tmp/$$.b & wait; cat /tmp/$$.a /tmp/$$.b; rm /tmp/$$.a /tmp/$$.b',
  );
  t.equal(result.status, 0, result.stderr);
  const [first, second] = result.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[0]);
  t.equal(first, sha256(content.subarray(0, 24 * MiB)), 'the first half');
  t.equal(second, sha256(content.subarray(24 * MiB)), 'the second half');
});

t.test('reads interleaved with writes ahead of them see every write', async (t) => {
  // A program in the mount: it reads the file in order through one fd while writing, through another, just ahead of
  // the reader (inside its read-ahead window), and checks every read against its model of the file.
  const program = join(work, 'interleave.mjs');
  writeFileSync(
    program,
    `
    import { openSync, readSync, writeSync, closeSync, readFileSync } from 'node:fs';
    import { createHash } from 'node:crypto';
    const MiB = ${MiB};
    const model = readFileSync(${JSON.stringify(join(server.dir, 'big'))}); // the server's copy
    const reader = openSync('big', 'r');
    const writer = openSync('big', 'r+');
    const got = Buffer.alloc(MiB);
    for (let i = 0; i < 40; i++) {
      const n = readSync(reader, got, 0, MiB, i * MiB);
      if (n !== MiB || !got.equals(model.subarray(i * MiB, (i + 1) * MiB))) {
        console.log('read ' + i + ' MiB in differs from what was written');
        process.exit(1);
      }
      const patch = Buffer.alloc(5000, i + 1);
      const at = (i + 2) * MiB + ((i * 7919) % MiB);
      writeSync(writer, patch, 0, patch.length, at);
      patch.copy(model, at);
    }
    closeSync(writer);
    closeSync(reader);
    console.log(createHash('sha256').update(model).digest('hex'));
  `,
  );
  const result = inMount(`node ${program}`);
  t.equal(result.status, 0, result.stdout + result.stderr);
  const onServer = run('root', server.dir, 'sha256sum < big').stdout.split(' ')[0];
  t.equal(onServer, result.stdout.trim(), 'the server holds what the program wrote');
  const again = inMount('dd if=big bs=1M status=none | sha256sum').stdout.split(' ')[0];
  t.equal(again, onServer, 'and a new sequential read through the mount sees it too');
});
