// `kidfs mount` and `kidfs unmount` as a person runs them: one line on success or failure, a background mount that
// outlives the command, unmount that commits what is still open, dead mounts cleared, nothing left behind on failure.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/loopback-nfs.ts';
import { isRunning, logPath, processStartTime, readRecord, recordPath } from '../../src/cli/standalone-records.ts';
import {
  isMounted,
  KIDFS,
  makeWorkDir,
  run,
  startMount,
  startServer,
  STATIC_TABLE,
  untracked,
  writeConfig,
} from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
// This file's mounts keep their records apart from other kidfs mounts on the machine (kidfs status lists them all).
process.env['KIDFS_MOUNT_RECORDS'] = join(work, 'records');
const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 2s`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the kidfs command (it serves no mount itself: background mounts run in a process of their own). */
function kidfs(...args: string[]) {
  const result = spawnSync(...untracked(KIDFS, args), { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A target for a background mount; teardown stops its process by the recorded pid and unmounts it. */
function backgroundTarget(name: string): string {
  const target = join(work, name);
  mkdirSync(target);
  t.teardown(async () => {
    const record = await readRecord(target);
    if (record && isRunning(record)) {
      process.kill(record.pid, 'SIGTERM');
      for (let i = 0; i < 50 && isRunning(record); i++) await sleep(100);
      if (isRunning(record)) process.kill(record.pid, 'SIGKILL');
    }
    if (isMounted(target)) spawnSync('umount', ['-l', target]);
    rmSync(logPath(target), { force: true });
  });
  return target;
}

t.test('an identity that is not in the table: one line, exit 1, nothing mounted, no process left', async (t) => {
  const target = backgroundTarget('refused');
  const result = kidfs('mount', server.url, target, '--identity', 'cms/intruder', '--config', config);
  t.equal(result.status, 1);
  t.equal(result.stdout, '');
  t.equal(result.stderr, `kidfs: cms/intruder is not in [static] of ${config} (source = static)\n`);
  t.notOk(isMounted(target), 'nothing is mounted');
  t.notOk(existsSync(recordPath(target)), 'no mount process recorded');
  t.notOk(existsSync(logPath(target)), 'and no log left behind');

  const malformed = kidfs('mount', server.url, target, '--identity', 'editor', '--config', config, '--foreground');
  t.equal(
    malformed.stderr,
    'kidfs: --identity: "editor" is not <namespace>/<serviceaccount>: write --identity <namespace>/<serviceaccount>\n',
  );
});

t.test("nothing listens on the server's ports: fails at once, in one line, nothing left behind", async (t) => {
  const target = backgroundTarget('unreachable');
  // A timeout far beyond the spawn's limit: only a refusal seen at once ends the command in time.
  const patient = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 10m`, 'patient.ini');
  const mountPort = await freePort();
  const url = `nfs://127.0.0.1/nowhere?nfsport=${await freePort()}&mountport=${mountPort}`;
  const result = kidfs('mount', url, target, '--identity', 'cms/editor', '--config', patient);
  t.equal(result.status, 1);
  t.match(
    result.stderr,
    new RegExp(`^kidfs: nothing listens on 127\\.0\\.0\\.1:\\d+ \\(the (MOUNT|NFS) service\\): connection refused\n$`),
  );
  t.notOk(isMounted(target));
  t.notOk(existsSync(logPath(target)), 'no log left behind');
  t.notOk(existsSync(recordPath(target)));
});

t.test('a server that accepts but does not answer: says what it waits for, then gives up after nfs-timeout', async (t) => {
  const target = backgroundTarget('silent');
  const held = new Set<Socket>();
  const silent = createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of held) socket.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const url = `nfs://127.0.0.1/silent?nfsport=${port}&mountport=${port}`;
  const slow = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 8s`, 'slow.ini');
  const child = spawn(...untracked(KIDFS, ['mount', url, target, '--identity', 'cms/editor', '--config', slow]), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = stderr.trimEnd().split('\n');
  t.equal(code, 1);
  t.equal(lines.length, 2, stderr);
  t.equal(
    lines[0],
    `kidfs: waiting for the NFS server 127.0.0.1 to answer (mounting ${url}): no answer after 5 s; each call gives up after 8 s ([mount] nfs-timeout)`,
  );
  t.match(lines[1], /^kidfs: MOUNT v3 MNT to 127\.0\.0\.1:\d+ got no reply within 8000 ms$/);
  t.notOk(isMounted(target));
  t.notOk(existsSync(logPath(target)), 'no log left behind');
});

t.test('a background mount outlives the command; unmount refuses while a file is open, --force commits it and stops it', async (t) => {
  const target = backgroundTarget('background');
  const mounted = kidfs('mount', server.url, target, '--identity', 'cms/editor', '--config', config);
  t.equal(mounted.status, 0, mounted.stderr);
  t.equal(mounted.stdout, `mounted ${server.url} on ${target} as cms/editor (uid 2001 gid 2000 groups 3000)\n`, 'exactly one line');
  const record = await readRecord(target);
  t.ok(record && isRunning(record), 'its process runs on, recorded with its pid');
  t.match(readFileSync(`/proc/${record!.pid}/cmdline`, 'utf8'), /--foreground/);
  t.match(
    readFileSync('/proc/self/mountinfo', 'utf8'),
    new RegExp(`${target} .* - fuse\\.kidfs kidfs:cms\\.editor@127\\.0\\.0\\.1:${server.dir}`),
    'listed as a kidfs mount with nosuid,nodev',
  );
  t.match(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.includes(` ${target} `)),
    /nosuid,nodev.*[ ,]allow_other[ ,]/,
  );

  // A writer that keeps its file open (no close, so no flush): its data is left for unmount to commit. (64 KiB or
  // more: a smaller first write into an empty file is sent at once.)
  const text = 'still open'.padEnd(70_000, '.');
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(join(target, 'open.txt'))}, 'w');
    fs.writeSync(fd, ${JSON.stringify(text)});
    console.log('written');
    setTimeout(() => {}, 60000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => void writer.kill('SIGKILL'));
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  t.equal(statSync(join(server.dir, 'open.txt')).size, 0, 'the server has nothing of it yet');

  const busy = kidfs('unmount', target);
  t.same(busy, { status: 1, stdout: '', stderr: `kidfs: ${target} is busy: 1 file is open (1 for writing); close it, or use --force\n` });
  t.ok(isMounted(target), 'still mounted');
  t.ok(isRunning(record!), 'still served');

  // No node daemon here: kidfs status lists the standalone mounts from their records, asking each what it holds.
  const noDaemon = join(work, 'no-daemon.sock');
  const table = kidfs('status', '--control-socket', noDaemon);
  t.equal(table.status, 0, table.stderr);
  const lines = table.stdout.split('\n');
  t.equal(lines[0], `no node daemon: cannot reach the kidfs node daemon at ${noDaemon}: ENOENT (is kidfs node running on this node?)`);
  t.equal(lines[1], '');
  t.equal(lines[2], '1 standalone kidfs mount');
  t.match(lines[3], /^IDENTITY +EXPORT +STATE +OPEN +HELD BYTES +PID +TARGET$/);
  t.match(
    lines[4],
    new RegExp(
      `^cms/editor 2001:2000:3000 +${server.url.replace(/[?.]/g, '\\$&')} +serving +1 \\(1 w\\) +70000 +${record!.pid} +${target}$`,
    ),
  );
  const json = JSON.parse(kidfs('status', '--json', '--control-socket', noDaemon).stdout) as { standalone: unknown[] };
  t.same(json.standalone, [
    {
      target,
      export: server.url,
      identity: { account: 'cms/editor', uid: 2001, gid: 2000, groups: [3000] },
      readOnly: false,
      pid: record!.pid,
      startedAt: record!.startedAt,
      state: 'serving',
      use: { openFiles: 1, openForWriting: 1, bytesHeld: 70_000 },
    },
  ]);

  const unmounted = kidfs('unmount', '--force', target);
  t.equal(unmounted.status, 0, unmounted.stderr);
  t.equal(unmounted.stdout, `unmounted ${target} (forced: 1 file was open (1 for writing); written data was committed first)\n`);
  t.equal(readFileSync(join(server.dir, 'open.txt'), 'utf8'), text, 'unmount committed the open file');
  t.notOk(isMounted(target), 'unmounted');
  t.notOk(isRunning(record!), 'its process is gone');
  t.notOk(existsSync(recordPath(target)), 'and so is its record');
  t.match(readFileSync(logPath(target), 'utf8'), /kidfs unmount: committing open files and unmounting/, 'its log tells what happened');
});

t.test('unmount of a mount whose process died (ENOTCONN) clears it with umount -l', async (t) => {
  const target = backgroundTarget('crashed');
  t.equal(kidfs('mount', server.url, target, '--identity', 'cms/viewer', '--config', config).status, 0);
  const record = await readRecord(target);
  process.kill(record!.pid, 'SIGKILL');
  while (isRunning(record!)) await sleep(50);
  const dead = run('root', work, `ls ${target}`);
  t.match(dead.stderr, /Transport endpoint is not connected/, 'callers get ENOTCONN at once, they do not hang');

  const unmounted = kidfs('unmount', target);
  t.equal(unmounted.status, 0, unmounted.stderr);
  t.equal(unmounted.stdout, `unmounted ${target} (it was dead: its kidfs process was gone)\n`);
  t.notOk(isMounted(target));
  t.notOk(existsSync(recordPath(target)), 'the stale record went with it');
});

t.test('a process that has exited counts as gone before anyone reaps it', async (t) => {
  // `sleep 0` exits at once, and the shell, replaced by `sleep 5`, never reaps it: a zombie until sleep 5 ends.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => parent.kill());
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
  const state = () => /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1];
  for (let i = 0; i < 100 && state() !== 'Z'; i++) await sleep(20);
  t.equal(state(), 'Z', 'a zombie');
  t.notOk(isRunning({ pid, startTime: processStartTime(pid)! }), 'not running');
  t.ok(isRunning({ pid: parent.pid!, startTime: processStartTime(parent.pid!)! }), 'its parent runs');
});

t.test('unmount refuses what it should not touch, in one line', async (t) => {
  const plain = join(work, 'plain');
  mkdirSync(plain);
  t.same(kidfs('unmount', plain), { status: 1, stdout: '', stderr: `kidfs: ${plain} is not mounted\n` });

  const tmpfs = join(work, 'tmpfs');
  mkdirSync(tmpfs);
  t.equal(spawnSync('mount', ['-t', 'tmpfs', 'kidfs-test', tmpfs]).status, 0);
  t.teardown(() => void spawnSync('umount', ['-l', tmpfs]));
  t.same(kidfs('unmount', tmpfs), {
    status: 1,
    stdout: '',
    stderr: `kidfs: ${tmpfs} is not a kidfs mount (it is tmpfs from kidfs-test)\n`,
  });
  t.ok(isMounted(tmpfs), 'and leaves it alone');

  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'twice' });
  const again = kidfs('mount', server.url, mount.target, '--identity', 'cms/editor', '--config', config, '--foreground');
  t.equal(again.status, 1);
  t.match(
    again.stderr,
    /^kidfs: .* is already a mount point \(fuse\.kidfs kidfs:cms\.editor@.*\): unmount it first or choose another directory\n$/,
  );
});

t.test('--read-only: reads work, every change is refused (EROFS)', async (t) => {
  writeFileSync(join(server.dir, 'existing.txt'), 'readable');
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'ro', readOnly: true });
  t.match(mount.readyLine, / read-only$/);
  const result = run('root', mount.target, 'cat existing.txt; echo x > new.txt; mkdir d; rm existing.txt; true');
  t.equal(result.stdout, 'readable');
  t.equal(result.stderr.match(/Read-only file system/g)?.length, 3, result.stderr);
  t.ok(existsSync(join(server.dir, 'existing.txt')));
});

t.test('the foreground mount stops cleanly on SIGINT (Ctrl-C)', async (t) => {
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'interrupted' });
  writeFileSync(join(mount.target, 'f'), 'x');
  const { code, stderr } = await mount.stop('SIGINT');
  t.equal(code, 0, stderr);
  t.match(stderr, /SIGINT: committing open files and unmounting/);
  t.notOk(isMounted(mount.target));
  t.notOk(existsSync(recordPath(mount.target)));
});

t.test('a mount unmounted from outside (umount -l): its process exits once no file is open', async (t) => {
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'outside' });
  t.equal(spawnSync('umount', ['-l', mount.target]).status, 0);
  t.equal(await mount.exit(20_000), 0, 'exited by itself, cleanly');
  t.match(mount.stderr(), /unmounted from outside, and no file is open any more: exiting/);
  t.notOk(existsSync(recordPath(mount.target)), 'its record is gone');
});
