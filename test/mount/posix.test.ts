// POSIX details that random and conformance testing found wrong: reads of a hole below writes not yet sent, hard
// links (one inode number, nlink/ctime/mode shared by every name at once), NAME_MAX, search permission revoked
// through the mount, times past 2106, and setgid directories. Real mounts on a real ganesha, driven by python3.
import t, { type Test } from 'tap';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const config = writeConfig(work, STATIC_TABLE);
const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work });
const onServer = (path: string) => join(server.dir, path);

/** Runs a python3 program in the mount as (container) root; resolves with what it printed, failing the test otherwise. */
function python(t: Test, program: string): string {
  const result = run('root', mount.target, `python3 - <<'EOF'\nimport os, errno\n${program}\nEOF`);
  t.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

t.test('a hole below writes not yet sent reads as zeros, by pread, read and copy_file_range', async (t) => {
  const opened = (name: string) => `fd = os.open('${name}', os.O_RDWR | os.O_CREAT, 0o644)\nos.pwrite(fd, b'x' * 10, 100000)\n`;
  t.equal(python(t, `${opened('hole-pread')}print(os.fstat(fd).st_size, os.pread(fd, 100, 0) == bytes(100))`), '100010 True', 'pread');
  t.equal(python(t, `${opened('hole-read')}os.lseek(fd, 0, 0)\nprint(os.read(fd, 100) == bytes(100))`), 'True', 'read');
  const copy = `${opened('hole-copy')}out = os.open('copied', os.O_RDWR | os.O_CREAT, 0o644)
print(os.copy_file_range(fd, out, 100, 0, 0), os.pread(out, 200, 0) == bytes(100))`;
  t.equal(python(t, copy), '100 True', 'copy_file_range copies the zeros');
  t.equal(
    python(t, `${opened('hole-tail')}print(os.pread(fd, 200000, 99990) == bytes(10) + b'x' * 10)`),
    'True',
    'zeros, then the data, then the end',
  );
});

t.test("hard links: one inode number (the server's fileid), and a change through one name shows through the other at once", async (t) => {
  const out = python(
    t,
    `open('f', 'w').write('data')
before = os.stat('f')
os.link('f', 'g')
f, g = os.stat('f'), os.stat('g')
print(f.st_ino == g.st_ino, f.st_nlink, g.st_nlink, f.st_ctime_ns > before.st_ctime_ns or f.st_ctime_ns == g.st_ctime_ns)
os.chmod('g', 0o600)
print(oct(os.stat('f').st_mode & 0o777))
os.chmod('f', 0o640)
print(oct(os.stat('g').st_mode & 0o777))
os.unlink('g')
print(os.stat('f').st_nlink)`,
  );
  t.same(out.split('\n'), ['True 2 2 True', '0o600', '0o640', '1']);
  t.equal(Number(python(t, "print(os.stat('f').st_ino)")), lstatSync(onServer('f')).ino, 'st_ino is the fileid (the backing inode number)');
  const find = run('root', mount.target, 'ln f h && find . -samefile f | sort && du -a . | grep -c "[fh]$"');
  t.equal(find.status, 0, find.stderr);
  t.same(find.stdout.trim().split('\n'), ['./f', './h', '1'], 'find -samefile finds both names, du counts the file once');
});

t.test('rename of one name of a file over another name of it does nothing, as POSIX says', async (t) => {
  t.equal(
    python(
      t,
      `open('same', 'w').close()
os.link('same', 'other')
os.rename('other', 'same')
print(sorted(n for n in os.listdir('.') if n in ('same', 'other')), os.stat('same').st_nlink, os.stat('other').st_nlink)`,
    ),
    "['other', 'same'] 2 2",
  );
  t.equal(lstatSync(onServer('other')).nlink, 2, 'both names stay on the server');
});

t.test('the same rename while the file is open does nothing either (libfuse hides the open target first: put back)', async (t) => {
  t.equal(
    python(
      t,
      `fd = os.open('open-same', os.O_RDONLY | os.O_CREAT, 0o644)
os.link('open-same', 'open-other')
os.rename('open-other', 'open-same')
print(os.path.exists('open-other'), os.stat('open-same').st_nlink, os.fstat(fd).st_nlink, os.stat('open-other').st_ino == os.fstat(fd).st_ino)
os.close(fd)`,
    ),
    'True 2 2 True',
    'both names stay, one file, nlink 2 through every name and the fd',
  );
  t.ok(
    await waitUntil(() => !readdirSync(server.dir).some((name) => name.startsWith('.fuse_hidden'))),
    'nothing hidden is left after the close',
  );
  t.equal(lstatSync(onServer('open-other')).nlink, 2, 'both names stay on the server');
});

t.test('truncate past the largest file size fails with EFBIG, as on a local file system', async (t) => {
  t.equal(
    python(
      t,
      `open('big', 'w').close()
try:
    os.truncate('big', 2**63 - 1)
except OSError as e:
    print(errno.errorcode[e.errno], os.stat('big').st_size)`,
    ),
    'EFBIG 0',
  );
});

t.test('unlinking one name of an open file with two names removes that name (nothing hidden is left on the server)', async (t) => {
  t.equal(
    python(
      t,
      `fd = os.open('kept', os.O_RDWR | os.O_CREAT, 0o644)
os.link('kept', 'dropped')
os.unlink('dropped')
print(os.stat('kept').st_nlink, os.fstat(fd).st_nlink)`,
    ),
    '1 1',
  );
  t.equal(
    python(
      t,
      `fd = os.open('first', os.O_RDWR | os.O_CREAT, 0o644)
os.link('first', 'second')
os.unlink('first')
print(os.stat('second').st_nlink, os.fstat(fd).st_nlink)
os.unlink('second')
print(os.fstat(fd).st_nlink)`,
    ),
    '1 1\n0',
    'the name it was opened by (hidden by libfuse while open) counts no more',
  );
  // The last close reaches the mount as a RELEASE after python has exited; the hidden name goes with it.
  const hiddenNames = () => readdirSync(server.dir).filter((name) => name.startsWith('.'));
  await waitUntil(() => hiddenNames().length === 0);
  t.same(hiddenNames(), [], 'no hidden name on the server');
});

t.test('statfs reports NAME_MAX 255, and a name of that length works', async (t) => {
  t.equal(
    python(
      t,
      `n = os.statvfs('.').f_namemax
open('a' * n, 'w').close()
try:
    open('b' * (n + 1), 'w')
except OSError as e:
    print(n, errno.errorcode[e.errno])`,
    ),
    '255 ENAMETOOLONG',
  );
});

t.test('chmod that takes search permission from a directory is enforced at once for what is cached below it', async (t) => {
  t.equal(
    python(
      t,
      `os.mkdir('d')
open('d/f', 'w').close()
os.stat('d/f')
os.chmod('d', 0o644)
try:
    os.stat('d/f')
    print('still visible')
except OSError as e:
    print(errno.errorcode[e.errno])
os.chmod('d', 0o755)
print(os.stat('d/f').st_size)`,
    ),
    'EACCES\n0',
  );
  t.equal(
    python(
      t,
      `os.mkdir('e')
fd = os.open('e/f', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'abc')
os.chmod('e', 0o644)
print(os.fstat(fd).st_size)
os.close(fd)
try:
    os.stat('e/f')
except OSError as e:
    print(errno.errorcode[e.errno])`,
    ),
    '3\nEACCES',
    'an open file still answers fstat; once closed, the path is refused',
  );
});

t.test('times past 2106 and before 1970 are clamped to what NFSv3 stores, and the other time is still set', async (t) => {
  t.equal(
    python(
      t,
      `open('late', 'w').close()
os.utime('late', (2**31, 2**32))
s = os.stat('late')
print(s.st_atime_ns, s.st_mtime_ns)
os.utime("late", ns=(-5 * 10**9 + 3, 10**9 + 7))
s = os.stat('late')
print(s.st_atime_ns, s.st_mtime_ns)`,
    ),
    `${2 ** 31 * 1e9} ${(2 ** 32 - 1) * 1e9}\n0 1000000007`,
  );
  t.equal(statSync(onServer('late'), { bigint: true }).mtimeNs, 1000000007n, 'on the server');
});

t.test('setgid stays on directories (chmod and mkdir); setuid is always stripped, setgid on files too', async (t) => {
  const result = run(
    'root',
    mount.target,
    'mkdir shared && chmod g+s shared && mkdir -m 2775 team && mkdir -m 6775 both && touch tool && chmod 6755 tool && mkdir shared/sub',
  );
  t.equal(result.status, 0, result.stderr);
  const mode = (path: string) => (statSync(onServer(path)).mode & 0o7777).toString(8);
  t.equal(mode('shared'), '2755', 'chmod g+s on a directory');
  t.equal(mode('team'), '2775', 'mkdir -m 2775');
  t.equal(mode('both'), '2775', 'mkdir -m 6775 drops setuid only');
  t.equal(mode('tool'), '755', 'chmod 6755 on a file drops both');
  t.equal(mode('shared/sub'), '2755', 'a directory made in a setgid directory inherits setgid');
  t.equal(run('root', mount.target, 'stat -c %a shared').stdout.trim(), '2755', 'seen through the mount');
});

t.test("mmap'ed pages written back through an O_APPEND fd land where they belong, not at the end", async (t) => {
  t.equal(
    python(
      t,
      `import mmap
fd = os.open('log', os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, b'abc')
with mmap.mmap(fd, 0) as m:
    m[0:1] = b'X'
    m.flush()
os.write(fd, b'def')
os.close(fd)
print(open('log').read())`,
    ),
    'Xbcdef',
  );
});

t.test('a rename the server refuses, over a file open on the mount, leaves that file in place', async (t) => {
  // libfuse hides the open target before the rename reaches kidfs; the refused rename must put it back.
  const out = python(
    t,
    `os.mkdir('locked')
open('locked/x', 'w').write('x')
os.chmod('locked', 0o555)
fd = os.open('kept', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'precious')
try:
    os.rename('locked/x', 'kept')
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.fstat(fd).st_size, os.fstat(fd).st_nlink, os.stat('kept').st_ino == os.fstat(fd).st_ino)
os.close(fd)`,
  );
  t.equal(out, 'EACCES\n8 1 True', 'refused; the open file still has its one name');
  const hiddenGone = await waitUntil(() => !readdirSync(server.dir).some((name) => name.startsWith('.fuse_hidden')));
  t.ok(hiddenGone, 'no hidden name is left on the server after the close');
  t.equal(
    python(t, "print(open('kept').read(), 'kept' in os.listdir('.'), os.stat('kept').st_nlink)"),
    'precious True 1',
    'the file and its data are still there',
  );
  t.ok(lstatSync(onServer('kept')).isFile(), 'on the server too');
  t.equal(
    python(
      t,
      `fd = os.open('kept', os.O_RDONLY)
os.unlink('kept')
print(os.fstat(fd).st_size, 'kept' in os.listdir('.'))
os.close(fd)`,
    ),
    '8 False',
    'it can still be unlinked while open, as any file',
  );
});
