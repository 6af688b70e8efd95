// The node daemon dies or stops while pods are writing: the next daemon brings every mount back at the same
// target with the same identity, and nothing the file system acknowledged (fsync returned, or the daemon stopped
// cleanly) is missing on the server. `kidfs node` runs in its own process with real FUSE mounts and ganesha.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_BYTES, block, readAcknowledged } from '../helpers/fsync-writer.ts';
import { kidfsEnv, run, startServer } from '../helpers/kidfs-mount.ts';
import { TestCluster } from '../helpers/node-fixture.ts';
import { NodeProcess } from '../helpers/node-process.ts';

const cluster = await TestCluster.start(t);
const server = await startServer(t);
const node = await NodeProcess.start(t, { cluster, server });
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).pathname;
const WRITER = new URL('../helpers/fsync-writer.ts', import.meta.url).pathname;

/** A process the test started, killed by pid in teardown if it is still running. */
function startProcess(command: string, args: string[], options: { cwd?: string } = {}): ChildProcess {
  const child = spawn(command, args, { ...options, env: kidfsEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `data` holds blocks 0..count-1 exactly as the writer wrote them; names the first bad block. */
function checkBlocks(data: Buffer, count: number): string {
  if (data.length < count * BLOCK_BYTES)
    return `only ${data.length} bytes, ${count} blocks (${count * BLOCK_BYTES} bytes) were acknowledged`;
  for (let i = 0; i < count; i++) {
    if (!data.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES).equals(block(i))) return `block ${i} differs`;
  }
  return 'intact';
}

t.test('SIGKILL while pods write and fsync: mounts come back with their identities, no acknowledged byte is lost', async (t) => {
  const pods = [cluster.pod('editor'), cluster.pod('api')];
  const mounts = await Promise.all(
    pods.map(async (pod) => {
      const target = await node.publish(pod);
      const identity = (await node.status(target))!.identity;
      const name = `writer-${pod.name}.bin`;
      const ackLog = join(node.dir, `${pod.name}.acks`);
      writeFileSync(ackLog, '');
      const writer = startProcess(process.execPath, ['--import', TSX, WRITER, name, ackLog], { cwd: target });
      return { pod, target, identity, name, ackLog, writer, owner: node.ownerOfNewFile(target, `before-${pod.name}`) };
    }),
  );
  const acks = (ackLog: string) => readAcknowledged(readFileSync(ackLog, 'utf8'));
  await waitFor('each writer has 20 fsyncs acknowledged', () => mounts.every((m) => acks(m.ackLog).blocks >= 20));

  await node.kill();
  await Promise.all(mounts.map((m) => exited(m.writer)));
  for (const m of mounts) {
    const { blocks, ended } = acks(m.ackLog);
    t.match(ended, /^error (ENOTCONN|ECONNABORTED)$/, `${m.pod.name}'s writer: ${blocks} fsyncs acknowledged, then ${ended}`);
    t.equal(
      checkBlocks(readFileSync(join(node.volumeDir, m.name)), blocks),
      'intact',
      `${m.pod.name}: every acknowledged block is on the server`,
    );
    t.equal(m.owner, m.identity.uid, `${m.pod.name}: files were owned by ${m.identity.name} before the crash`);
  }

  await node.startDaemon();
  t.match(node.log, /"msg":"ready: 0 alive, 2 remounted, 0 cleaned up, 0 failed"/, 'the new daemon remounted both');
  for (const m of mounts) {
    const after = await node.status(m.target);
    t.equal(after?.state, 'mounted', `${m.pod.name}: mounted again at the same target`);
    t.same(after?.identity, m.identity, `${m.pod.name}: with the same identity`);
    t.equal(node.ownerOfNewFile(m.target, `after-${m.pod.name}`), m.identity.uid, `${m.pod.name}: new files are ${m.identity.name}'s`);
    const { blocks } = acks(m.ackLog);
    const throughMount = run('root', m.target, `head -c ${blocks * BLOCK_BYTES} ${m.name} | sha256sum`).stdout;
    const expected = run('root', node.volumeDir, `head -c ${blocks * BLOCK_BYTES} ${m.name} | sha256sum`).stdout;
    t.equal(throughMount, expected, `${m.pod.name}: the mount reads the acknowledged data back`);
  }
  for (const m of mounts) await node.unpublish(m.target);
});

t.test('a clean stop commits what open files hold; the next daemon serves the same targets', async (t) => {
  const pod = cluster.pod('viewer');
  const target = await node.publish(pod);
  // A process that wrote (no fsync, no close: no FUSE flush either) and keeps its file open: the data is the
  // daemon's to commit when it stops.
  const holder = startProcess(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs');
    fs.writeSync(fs.openSync('held.txt', 'w'), 'written before the stop\\n');
    console.log('ready');
    setTimeout(() => {}, 600000);`,
    ],
    { cwd: target },
  );
  await new Promise<void>((resolve) => holder.stdout!.on('data', () => resolve()));

  await node.stop();
  t.equal(node.exit, 0, 'the daemon exits by itself, leaving its mounts');
  t.match(node.log, /"msg":"SIGTERM: committing open files and stopping/, 'the daemon says what it does');
  t.equal(readFileSync(join(node.volumeDir, 'held.txt'), 'utf8'), 'written before the stop\n', "the open file's data is on the server");
  t.equal(
    run('root', '/', `stat ${target}`).stderr.includes('Transport endpoint is not connected'),
    true,
    "the target stays a dead mount: the pod never writes into the node's directory underneath",
  );
  holder.kill('SIGKILL');
  await exited(holder);

  await node.startDaemon();
  t.equal((await node.status(target))?.state, 'mounted', 'mounted again by the next daemon');
  t.equal(run('root', target, 'cat held.txt').stdout, 'written before the stop\n');
  await node.unpublish(target);
});
