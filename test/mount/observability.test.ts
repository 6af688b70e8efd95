// A standalone `kidfs mount` as an operator watches it: metrics on --metrics-listen that move as the work says, JSON
// log lines carrying the mount's identity, an audit record when it mounts, unmounts and is denied; and on a terminal
// one readable line per log record instead of JSON.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/loopback-nfs.ts';
import { recordPath } from '../../src/cli/standalone-records.ts';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, USER_1000, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const auditFile = join(work, 'audit.log');

/** The sum of `name`'s samples whose labels include `labels`, scraped now. */
async function metric(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

t.test('--metrics-listen: bytes written and read, FUSE operations and denials, labelled with the mount; audit records', async (t) => {
  const config = writeConfig(work, `${STATIC_TABLE}\n[log]\naudit-file = ${auditFile}`, 'observed.ini');
  const port = await freePort();
  const mount = await startMount(t, {
    url: server.url,
    identity: 'cms/editor',
    config,
    dir: work,
    name: 'observed',
    extraArgs: ['--metrics-listen', `127.0.0.1:${port}`],
  });
  const labels = { namespace: 'cms', service_account: 'editor', uid: '2001', volume: mount.target };
  const bytes = 1024 * 1024 + 7;
  const result = run(USER_1000, mount.target, `head -c ${bytes} /dev/zero > data.bin && cat data.bin > /dev/null`);
  t.equal(result.status, 0, result.stderr);
  t.equal(await metric(port, 'kidfs_written_bytes_total', labels), bytes);
  t.equal(await metric(port, 'kidfs_read_bytes_total', labels), bytes);
  t.ok((await metric(port, 'kidfs_fuse_operations_total', { ...labels, op: 'create' })) >= 1);
  t.ok((await metric(port, 'kidfs_nfs_calls_total', { procedure: 'NFS v3 WRITE' })) >= 1);

  mkdirSync(join(server.dir, 'private'), { mode: 0o700 });
  writeFileSync(join(server.dir, 'private', 'x'), 'root only');
  t.not(run(USER_1000, mount.target, 'cat private/x').status, 0, 'the server denies it');
  t.ok((await metric(port, 'kidfs_permission_denials_total', labels)) >= 1, 'the denial is counted');

  const { code, stderr } = await mount.stop();
  t.equal(code, 0);
  const lines = stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(lines.length >= 2);
  for (const line of lines) {
    t.match(line, {
      level: /^\w+$/,
      time: /^\d{4}-/,
      component: 'mount',
      target: mount.target,
      identity: { account: 'cms/editor', uid: 2001 },
    });
  }
  t.match(
    lines.find((l) => /serving metrics/.test(String(l['msg']))),
    { msg: `serving metrics on http://127.0.0.1:${port}/metrics` },
  );
  const audit = readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(
    audit.map((r) => r['event']),
    ['mount', 'denial', 'unmount'],
  );
  t.match(audit[1], { stream: 'audit', errno: 'EACCES', path: '/private/x', identity: { uid: 2001 }, export: server.url });
  t.match(audit[2], { reason: 'SIGTERM' });
});

t.test('on a terminal each log record is one readable line, not JSON', async (t) => {
  const config = writeConfig(work, STATIC_TABLE, 'terminal.ini');
  const target = join(work, 'terminal');
  mkdirSync(target);
  const kidfs = new URL('../../scripts/kidfs', import.meta.url).pathname;
  // script(1) gives the mount a terminal; it stops itself once the mount is ready (SIGTERM), so script returns. Ready
  // is when its mount record exists: the FUSE mount shows in mountinfo earlier, and a SIGTERM then is a failed start.
  const command =
    `${kidfs} mount '${server.url}' ${target} --identity cms/editor --config ${config} --foreground & pid=$!; ` +
    `while kill -0 $pid && ! [ -e '${recordPath(target)}' ]; do sleep 0.1; done; kill -TERM $pid; wait $pid`;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  t.teardown(() => void spawnSync('umount', ['-l', target]));
  t.equal(result.status, 0, result.stdout);
  const logLine = result.stdout
    .split(/\r?\n/)
    .find((line) => line.includes('committing open files and unmounting'))
    ?.replace(/\x1b\[[0-9;]*m/g, ''); // colours on a terminal
  t.match(
    logLine,
    /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: SIGTERM: committing open files and unmounting \{"component":"mount",/,
    'time, level, message, then the fields',
  );
  t.notMatch(logLine, /^\{/, 'not a JSON object');
});
