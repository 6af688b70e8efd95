// Real programs inside a real kidfs mount, run as a container's root: tar, SQLite, git and a 1 GiB dd, each checked
// against what the server holds afterwards. The mount shows cms/editor's files as root's (owner-view = 0:0), as a
// root container would want (git refuses a repository owned by someone else).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nowner-view = 0:0`);
const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work });
const inMount = (script: string, timeoutMs?: number) => run('root', mount.target, `set -e; ${script}`, timeoutMs);
const onServer = (path: string) => join(server.dir, path);
/** sha256 of every file under `dir`, by relative path. */
const checksums = (dir: string) => run('root', dir, 'find . -type f -print0 | sort -z | xargs -0 sha256sum').stdout;

t.test('tar x of a few thousand files: every file arrives intact', async (t) => {
  const tree = join(work, 'tree');
  for (let d = 0; d < 50; d++) {
    mkdirSync(join(tree, `dir-${d}`, 'deeper'), { recursive: true });
    for (let f = 0; f < 60; f++) {
      const size = (d * 7919 + f * 104729) % 20000;
      writeFileSync(join(tree, `dir-${d}`, f % 3 ? `file-${f}.dat` : `deeper/file-${f}.dat`), randomBytes(size));
    }
  }
  const archive = join(work, 'tree.tar');
  t.equal(run('root', tree, `tar cf ${archive} .`).status, 0);
  const expected = checksums(tree);
  t.equal(expected.trim().split('\n').length, 3000, '3000 files in the archive');

  const started = Date.now();
  const extracted = inMount(`mkdir extracted && tar xf ${archive} -C extracted`);
  t.comment(`tar x of 3000 files (${(statSync(archive).size / 2 ** 20).toFixed(0)} MiB): ${Date.now() - started} ms`);
  t.equal(extracted.status, 0, extracted.stderr);
  t.equal(checksums(onServer('extracted')), expected, 'the server holds every file, byte for byte');
  t.equal(checksums(join(mount.target, 'extracted')), expected, 'and the mount reads them back the same');
  t.equal(statSync(onServer('extracted/dir-9/file-10.dat')).uid, 2001, 'owned by cms/editor on the server');
});

t.test('SQLite: many transactions, then PRAGMA integrity_check, in the mount and on the server', async (t) => {
  const statements = ['CREATE TABLE items(id INTEGER PRIMARY KEY, round INTEGER, payload BLOB);'];
  for (let round = 0; round < 300; round++) {
    statements.push('BEGIN;');
    for (let i = 0; i < 10; i++)
      statements.push(`INSERT INTO items(round, payload) VALUES (${round}, randomblob(${100 + ((round * 37 + i * 11) % 3000)}));`);
    if (round % 10 === 9)
      statements.push(
        `DELETE FROM items WHERE round = ${round - 5}; UPDATE items SET payload = randomblob(2000) WHERE round = ${round - 1};`,
      );
    statements.push('COMMIT;');
  }
  writeFileSync(join(work, 'load.sql'), statements.join('\n'));
  for (const mode of ['delete', 'wal']) {
    const db = `${mode}.sqlite`;
    const started = Date.now();
    const loaded = inMount(`sqlite3 ${db} 'PRAGMA journal_mode=${mode};' < /dev/null && sqlite3 ${db} < ${join(work, 'load.sql')}`);
    t.comment(`SQLite journal_mode=${mode}: 300 transactions in ${Date.now() - started} ms`);
    t.equal(loaded.status, 0, loaded.stderr);
    const check = `PRAGMA integrity_check; SELECT count(*) FROM items;`;
    t.equal(inMount(`sqlite3 ${db} '${check}'`).stdout, 'ok\n2700\n', `${mode}: intact through the mount (30 rounds deleted)`);
    t.equal(run('root', server.dir, `sqlite3 ${db} '${check}'`).stdout, 'ok\n2700\n', `${mode}: intact on the server`);
  }
});

t.test('git init, add, commit: a repository that git fsck accepts', async (t) => {
  const git = 'git -c user.name=kidfs -c user.email=kidfs@example.invalid -c init.defaultBranch=main';
  const result = inMount(
    [
      `${git} init -q repo`,
      'cd repo',
      'for i in $(seq 1 100); do mkdir -p src/$((i % 10)); echo "line $i" > src/$((i % 10))/file-$i.txt; done',
      `${git} add . && ${git} commit -qm first`,
      'echo changed >> src/1/file-1.txt && git rm -q src/2/file-2.txt && echo new > added.txt',
      `${git} add -A && ${git} commit -qm second`,
      'git fsck --full --strict',
      'git log --oneline | wc -l',
      'git status --porcelain | wc -l',
    ].join(' && '),
  );
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.trim().split('\n').slice(-2).join(' '), '2 0', 'two commits, a clean work tree');
  const onTheServer = run(
    'root',
    onServer('repo'),
    'git -c safe.directory=* fsck --full --strict && git -c safe.directory=* log --format=%s',
  );
  t.equal(onTheServer.status, 0, onTheServer.stderr);
  t.equal(onTheServer.stdout.trim(), 'second\nfirst', 'the repository on the server is whole');
});

t.test('a 1 GiB file written with dd and read back has the same checksum', async (t) => {
  // A fast, repeatable stream of pseudo-random bytes (AES-CTR of zeros), so the data itself is checked, not a pattern.
  const stream = 'openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt < /dev/zero 2>/dev/null';
  const expected = run('root', work, `${stream} | head -c 1073741824 | sha256sum`).stdout;
  let started = Date.now();
  const written = inMount(`${stream} | dd of=big bs=1M count=1024 iflag=fullblock conv=fsync status=none`, 600_000);
  const writeMs = Date.now() - started;
  t.equal(written.status, 0, written.stderr);
  started = Date.now();
  const readBack = inMount('dd if=big bs=1M status=none | sha256sum', 600_000).stdout;
  const readMs = Date.now() - started;
  const mib = (ms: number) => (1024 / (ms / 1000)).toFixed(0);
  t.comment(`1 GiB dd: write + fsync ${writeMs} ms (${mib(writeMs)} MiB/s), read ${readMs} ms (${mib(readMs)} MiB/s)`);
  t.equal(statSync(onServer('big')).size, 2 ** 30);
  t.equal(readBack, expected, 'read back through the mount: the same checksum');
  t.equal(run('root', server.dir, 'sha256sum < big').stdout, expected, 'the server holds the same bytes');
});
