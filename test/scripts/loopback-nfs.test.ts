// A test process that fails before its teardown (a throw at the top level of a test file) must not leave the loopback
// NFS server running: the next run would find its ports and processes. scripts/loopback-nfs.ts ends what it started
// when its process exits, by pid.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitUntil } from '../helpers/wait-until.ts';

const LOOPBACK = new URL('../../scripts/loopback-nfs.ts', import.meta.url).href;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('a process that dies by a throw takes its ganesha with it', async (t) => {
  const crash = [
    `const { startLoopbackNfs } = await import(${JSON.stringify(LOOPBACK)});`,
    'const server = await startLoopbackNfs();',
    'console.log(JSON.stringify({ pid: server.pid, dir: server.dir }));',
    "throw new Error('a test file failing before its teardown');",
  ].join('\n');
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', crash], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const started = /^\{.*\}$/m.exec(result.stdout);
  if (!started) throw new Error(`the crashing process did not start a server: ${result.stderr.trim()}`);
  const { pid, dir } = JSON.parse(started[0]) as { pid: number; dir: string };
  // If it is left running after all, this test ends it (by its pid) so that it does not outlive the run.
  t.teardown(() => void (alive(pid) && process.kill(pid, 'SIGKILL')));
  t.not(result.status, 0, 'the process failed');
  t.match(result.stderr, /a test file failing before its teardown/);
  t.ok(await waitUntil(() => !alive(pid)), `ganesha (pid ${pid}) is gone`);
  t.notOk(existsSync(dir), 'its export directory is removed');
});
