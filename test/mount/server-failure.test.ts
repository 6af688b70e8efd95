// The NFS server goes away under a real kidfs mount: killed during a large write and restarted, the application's
// fsync still means the data is on the server (kidfs sends again what the restarted server may have lost); killed
// during a large read, the reader still gets exactly the file; dead for
// longer than the configured NFS timeout, operations fail with ETIMEDOUT instead of hanging, and the mount works
// again once the server is back.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });

interface Dd {
  /** Resolves with dd's exit code. */
  readonly done: Promise<number | null>;
  /** What dd wrote to stderr so far. */
  errors(): string;
  running(): boolean;
}

/** dd with `args` in a process of its own (killed in teardown if it still runs). */
function startDd(t: Test, args: string[]): Dd {
  const dd = spawn('dd', [...args, 'bs=1M', 'status=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  dd.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const done = new Promise<number | null>((resolve) => dd.once('exit', (code) => resolve(code)));
  t.teardown(() => void (dd.exitCode === null && dd.kill('SIGKILL')));
  return { done, errors: () => errors, running: () => dd.exitCode === null && dd.signalCode === null };
}

/** Waits until `path` holds at least `bytes`; false (and a failed test) when dd ends first. */
async function whileDdRuns(t: Test, dd: Dd, path: string, bytes: number): Promise<boolean> {
  while (!(existsSync(path) && statSync(path).size >= bytes)) {
    if (!dd.running()) {
      t.fail(`dd ended (${await dd.done}) before the server could be killed: ${dd.errors()}`);
      return false;
    }
    await sleep(10);
  }
  return true;
}

t.test('killed and restarted during a large write: after fsync returns, the file on the server is complete', async (t) => {
  const server = await startServer(t);
  const work = makeWorkDir(t);
  // The NFS timeout outlasts the restart: writers wait for the server instead of failing.
  const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 60s`);
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work });
  const source = join(work, 'source.bin');
  const made = run(
    'root',
    work,
    `openssl enc -aes-128-ctr -K 0f0e0d0c0b0a09080706050403020100 -iv 0 -nosalt < /dev/zero 2>/dev/null | head -c ${384 * 2 ** 20} > ${source}`,
  );
  t.equal(made.status, 0, made.stderr);

  const writer = startDd(t, [`if=${source}`, `of=${join(mount.target, 'big.bin')}`, 'conv=fsync']);
  const onServer = join(server.dir, 'big.bin');
  if (!(await whileDdRuns(t, writer, onServer, 96 * 2 ** 20))) return;
  const sizeAtKill = statSync(onServer).size;
  await server.kill();
  await sleep(1500);
  await server.restart();
  t.comment(`killed the server with ${(sizeAtKill / 2 ** 20).toFixed(0)} MiB on it, restarted it 1.5 s later`);

  t.equal(await writer.done, 0, `dd (conv=fsync) succeeded ${writer.errors().trim()}`);
  t.equal(statSync(onServer).size, statSync(source).size, 'the server has the whole size');
  t.equal(await sha256(onServer), await sha256(source), 'and exactly the bytes dd wrote');
  const { code, stderr } = await mount.stop();
  t.equal(code, 0, 'the mount stops cleanly');
  const replayed = Number(/(\d+) chunks sent again after a server restart/.exec(stderr)?.[1]);
  t.ok(replayed > 0, `data the restarted server could have lost was sent again (${replayed} chunks)`);
});

t.test('killed and restarted during a large read: the reader gets exactly the file', async (t) => {
  const server = await startServer(t);
  const work = makeWorkDir(t);
  const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 60s`);
  const onServer = join(server.dir, 'big.bin');
  const made = run(
    'root',
    work,
    `openssl enc -aes-128-ctr -K 0f0e0d0c0b0a09080706050403020100 -iv 0 -nosalt < /dev/zero 2>/dev/null | head -c ${384 * 2 ** 20} > ${onServer}`,
  );
  t.equal(made.status, 0, made.stderr);
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work });

  // READ replies land in reused buffers: the ones cut off by the kill must be read again, into the right place.
  const copy = join(work, 'copy.bin');
  const reader = startDd(t, [`if=${join(mount.target, 'big.bin')}`, `of=${copy}`]);
  if (!(await whileDdRuns(t, reader, copy, 64 * 2 ** 20))) return;
  const copiedAtKill = statSync(copy).size;
  await server.kill();
  t.ok(reader.running(), 'the reader was still reading when the server died');
  await sleep(1500);
  await server.restart();
  t.comment(`killed the server with ${(copiedAtKill / 2 ** 20).toFixed(0)} MiB read, restarted it 1.5 s later`);

  t.equal(await reader.done, 0, `dd succeeded ${reader.errors().trim()}`);
  t.equal(await sha256(copy), await sha256(onServer), 'the copy is exactly the file');
});

t.test('a dead server: ETIMEDOUT after the NFS timeout, and the mount works again when it is back', async (t) => {
  const server = await startServer(t);
  const work = makeWorkDir(t);
  const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nnfs-timeout = 2s\nop-timeout = 10s`);
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work });
  writeFileSync(join(mount.target, 'before'), 'written before');

  await server.kill();
  let started = Date.now();
  // Paths into the mount, not a working directory in it: the shell's chdir would already time out.
  const lookup = run('root', work, `stat ${mount.target}/never-seen-1`);
  const lookupMs = Date.now() - started;
  t.not(lookup.status, 0);
  t.match(lookup.stderr, /Connection timed out/, `a lookup fails with ETIMEDOUT (${lookup.stderr.trim()})`);
  t.ok(lookupMs >= 1900 && lookupMs < 10_000, `after the 2 s NFS timeout, not the 10 s backstop (${lookupMs} ms)`);
  started = Date.now();
  const write = run('root', work, `echo lost > ${mount.target}/during`);
  t.not(write.status, 0, 'a create fails too');
  t.match(write.stderr, /Connection timed out|Input\/output error/, write.stderr.trim());
  t.ok(Date.now() - started < 10_000, 'without hanging');
  await sleep(200); // the test's event loop was blocked in spawnSync: let the mount's stderr arrive
  t.match(mount.stderr(), /ETIMEDOUT/, `the mount logged the timeouts for the admin: ${mount.stderr()}`);

  await server.restart();
  const after = run('root', mount.target, 'cat before && echo back > after');
  t.equal(after.status, 0, after.stderr);
  t.equal(after.stdout, 'written before', 'old files read again');
  t.equal(readFileSync(join(server.dir, 'after'), 'utf8'), 'back\n', 'new files reach the server');
});
