// What a kidfs mount does with the operations that could break out of its identity or that programs rely on for
// times: chown per policy (never reaching the server), setuid bits stripped, no device nodes, FIFOs and sockets, and
// touch / cp -p / tar x setting exactly the times they ask for. Real mounts, checked on the backing directory.
import t from 'tap';
import { execPath } from 'node:process';
import { lstatSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, USER_1000, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const denying = writeConfig(work, `${STATIC_TABLE}\n[mount]\nchown = deny`, 'deny.ini');
const ignoring = writeConfig(work, `${STATIC_TABLE}\n[mount]\nchown = ignore`, 'ignore.ini');
const viewed = writeConfig(work, `${STATIC_TABLE}\n[mount]\nowner-view = 1000:1000\nchown = deny`, 'view.ini');
const [strict, lenient, as1000] = await Promise.all([
  startMount(t, { url: server.url, identity: 'cms/editor', config: denying, dir: work, name: 'strict' }),
  startMount(t, { url: server.url, identity: 'cms/editor', config: ignoring, dir: work, name: 'lenient' }),
  startMount(t, { url: server.url, identity: 'cms/editor', config: viewed, dir: work, name: 'as1000' }),
]);
const onServer = (path: string) => join(server.dir, path);
const owner = (path: string) => {
  const s = lstatSync(onServer(path));
  return `${s.uid}:${s.gid}`;
};
const mtimeNs = (path: string) => statSync(path, { bigint: true }).mtimeNs;
const atimeNs = (path: string) => statSync(path, { bigint: true }).atimeNs;

t.test('chown to another owner: refused with chown = deny, ignored with chown = ignore; never done on the server', async (t) => {
  writeFileSync(join(strict.target, 'owned'), 'x');
  const attempts = [
    ['root', 'chown 0 owned'],
    ['root', 'chown 1000:1000 owned'],
    ['root', 'chgrp 0 owned'],
    [USER_1000, 'chown 1000 owned'],
  ] as const;
  for (const [who, cmd] of attempts) {
    const user = who === 'root' ? 'root' : 'uid 1000';
    const refused = run(who, strict.target, cmd);
    t.not(refused.status, 0, `deny: ${cmd} by ${user} fails`);
    t.match(refused.stderr, /Operation not permitted/, `deny: ${cmd} by ${user} gets EPERM`);
    const ignored = run(who, lenient.target, cmd);
    t.equal(ignored.status, 0, `ignore: ${cmd} by ${user} reports success (${ignored.stderr.trim()})`);
  }
  t.equal(owner('owned'), '2001:2000', 'the owner on the server never changed');

  const chgrp = run('root', strict.target, 'chgrp 3000 owned');
  t.equal(chgrp.status, 0, `chgrp to a group of the identity is passed on (${chgrp.stderr.trim()})`);
  t.equal(owner('owned'), '2001:3000');
});

t.test('setuid bits and setgid bits of files asked through the mount are stripped', async (t) => {
  const result = run(
    'root',
    strict.target,
    'touch tool && chmod 6755 tool && chmod u+s,g+s tool && mkdir -m 2775 team && install -m 4755 /dev/null tool2',
  );
  t.equal(result.status, 0, result.stderr);
  t.equal(statSync(onServer('tool')).mode & 0o7777, 0o755, 'chmod 6755 and u+s,g+s leave 0755');
  t.equal(statSync(onServer('team')).mode & 0o7777, 0o2775, 'mkdir -m 2775 keeps setgid: it is no privilege on a directory');
  t.equal(statSync(onServer('tool2')).mode & 0o7777, 0o755, 'install -m 4755 leaves 0755');
});

t.test('device nodes are refused (EPERM); FIFOs and sockets work', async (t) => {
  for (const cmd of ['mknod disk b 8 0', 'mknod tty c 4 1']) {
    const result = run('root', strict.target, cmd);
    t.not(result.status, 0, cmd);
    t.match(result.stderr, /Operation not permitted/, `${cmd}: EPERM`);
  }
  t.notOk(run('root', server.dir, 'ls disk tty').status === 0, 'nothing was made on the server');

  const fifo = run(USER_1000, strict.target, 'mkfifo pipe && (echo through-the-fifo > pipe &) && cat pipe');
  t.equal(fifo.status, 0, fifo.stderr);
  t.equal(fifo.stdout, 'through-the-fifo\n');
  t.ok(lstatSync(onServer('pipe')).isFIFO(), 'a FIFO on the server');
  t.equal(owner('pipe'), '2001:2000');

  const socket = run(
    'root',
    strict.target,
    `${execPath} -e "
    const net = require('net');
    net.createServer((c) => c.end('hello over the socket')).listen('sock', () => {
      net.connect('sock').on('data', (d) => { console.log(String(d)); process.exit(0); });
    });"`,
  );
  t.equal(socket.status, 0, socket.stderr);
  t.equal(socket.stdout, 'hello over the socket\n', 'a unix socket bound in the mount answers');
  t.ok(lstatSync(onServer('sock')).isSocket(), 'a socket on the server');
});

t.test('touch -d, touch -m, touch -a, cp -p and tar x set the times they ask for', async (t) => {
  const d = lenient.target;
  const touched = run('root', d, "touch -d '2001-02-03 04:05:06.123456789' stamped");
  t.equal(touched.status, 0, touched.stderr);
  t.equal(mtimeNs(onServer('stamped')), 981173106123456789n, 'touch -d: mtime to the nanosecond');
  t.equal(atimeNs(onServer('stamped')), 981173106123456789n, 'touch -d: atime too');

  writeFileSync(join(d, 'm'), 'x');
  utimesSync(onServer('m'), 1_000_000_000, 1_100_000_000);
  const m = run('root', d, "touch -m -d '2010-01-01 00:00:01.5' m && touch -a -d '2012-01-01 00:00:00' m");
  t.equal(m.status, 0, m.stderr);
  t.equal(mtimeNs(onServer('m')), 1262304001500000000n, 'touch -m sets the mtime');
  t.equal(atimeNs(onServer('m')), 1325376000000000000n, 'touch -a sets the atime, leaving the mtime');

  const source = join(work, 'source.txt');
  writeFileSync(source, 'copied');
  // cp -p also copies the ACL. The kernel lets only the owner set one, by the owner the mount shows: a container
  // user who is not shown as the owner gets EPERM there (cp exits 1 after setting times and mode), unless the
  // mount's owner view shows the files as its own.
  for (const [user, mount, name] of [
    ['root', lenient, 'by-root'],
    [USER_1000, as1000, 'by-1000'],
  ] as const) {
    utimesSync(source, new Date('2003-03-03T03:03:03.333Z'), new Date('2004-04-04T04:04:04.444Z'));
    const [sourceAtime, sourceMtime] = [atimeNs(source), mtimeNs(source)];
    const copied = run(user, mount.target, `cp -p ${source} ${name}.txt`);
    t.equal(copied.status, 0, `cp -p ${name}: ${copied.stderr}`);
    t.equal(mtimeNs(onServer(`${name}.txt`)), sourceMtime, `cp -p ${name} keeps the mtime`);
    t.equal(atimeNs(onServer(`${name}.txt`)), sourceAtime, `cp -p ${name} keeps the atime`);
  }

  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'sub', 'a.txt'), 'a');
  writeFileSync(join(tree, 'b.txt'), 'b');
  utimesSync(join(tree, 'sub', 'a.txt'), 0, new Date('1999-12-31T23:59:59Z'));
  utimesSync(join(tree, 'b.txt'), 0, new Date('2005-05-05T05:05:05Z'));
  utimesSync(join(tree, 'sub'), 0, new Date('2006-06-06T06:06:06Z'));
  const archive = join(work, 'tree.tar');
  t.equal(run('root', tree, `tar cf ${archive} sub b.txt`).status, 0);
  // tar x as root also gives each file its archived owner (root): the default chown = ignore lets it finish.
  const extracted = run('root', lenient.target, `mkdir x && tar xf ${archive} -C x`);
  t.equal(extracted.status, 0, extracted.stderr);
  for (const name of ['sub/a.txt', 'b.txt', 'sub']) {
    t.equal(statSync(onServer(join('x', name))).mtimeMs, statSync(join(tree, name)).mtimeMs, `tar x: mtime of ${name}`);
  }
});

t.test("the owner view shows the identity's files as owned by the container user, and maps chown back", async (t) => {
  const made = run(USER_1000, as1000.target, 'echo x > viewed && ls -ln viewed && chown 1000:1000 viewed');
  t.equal(made.status, 0, made.stderr);
  t.match(made.stdout, / 1000 1000 /, 'inside the mount: 1000:1000');
  t.equal(owner('viewed'), '2001:2000', 'on the server: cms/editor');
  t.match(
    run('root', as1000.target, 'echo y > other && chown 0 other').stderr,
    /Operation not permitted/,
    'chown to anyone else is still refused (chown = deny)',
  );
});
