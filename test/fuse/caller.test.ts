// A handler can know which process made each operation (pid, uid, gid as the kernel reports them), for the audit
// log: the FuseHandlers audit hook gets them before the operation's handler runs.
import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import t from 'tap';
import { exited } from '../helpers/child-exit.ts';
import { startFuseServer } from '../helpers/fuse-server-client.ts';

t.test('each operation reaches the handlers with the pid, uid and gid of the process that made it', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'caller' } });
  await writeFile(`${server.mountpoint}/audited`, 'read by another user');
  await chmod(dirname(server.mountpoint), 0o711); // the test's temporary directory: uid 1000 may pass through
  const reader = spawn('cat', [`${server.mountpoint}/audited`], { uid: 1000, gid: 1001, stdio: ['ignore', 'pipe', 'inherit'] });
  t.ok(await exited(reader, 10_000), 'cat ended');
  t.equal(reader.exitCode, 0, 'and read the file');
  const audited = (await server.calls()).filter((call) => call.op === 'audit' && call.path === '/audited' && call.args[0] === 'open');
  t.same(
    audited.map((call) => call.args.slice(1)),
    [[reader.pid, 1000, 1001]],
    'the open came from cat, uid 1000, gid 1001',
  );
});
