// A mount can be served from an already opened /dev/fuse descriptor (libfuse 3's "/dev/fd/N" mountpoint): the
// kernel mount is made by someone else with that descriptor, and the serving process gets the descriptor only.
// This is what lets a later step keep a mount alive across a restart of the daemon that serves it.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import t from 'tap';
import { exited } from '../helpers/child-exit.ts';
import { isMounted, makeMountpoint, startFuseServer } from '../helpers/fuse-server-client.ts';

t.test('a mount made with an opened /dev/fuse is served through /dev/fd/N', async (t) => {
  const mountpoint = await makeMountpoint(t);
  const fuseFd = openSync('/dev/fuse', 'r+');
  t.teardown(() => closeSync(fuseFd));
  // mount(8) without its helper (-i): the plain mount(2) of a FUSE file system on the descriptor (its fd 3)
  const mount = spawn(
    'mount',
    ['-i', '-t', 'fuse.kidfs', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0,allow_other', 'kidfs:from-fd', mountpoint],
    {
      stdio: ['ignore', 'inherit', 'inherit', fuseFd],
    },
  );
  t.ok(await exited(mount, 10_000), 'mount(8) ended');
  t.equal(mount.exitCode, 0, 'and mounted');
  t.ok(isMounted(mountpoint));

  const server = await startFuseServer(t, { mountpoint: '/dev/fd/4', fs: 'memory', options: { name: 'from-fd' } }, { inheritFd: fuseFd });
  await writeFile(`${mountpoint}/hello`, 'served from an inherited descriptor');
  t.equal(await readFile(`${mountpoint}/hello`, 'utf8'), 'served from an inherited descriptor');
  t.ok(
    (await server.calls()).some((call) => call.op === 'create' && call.path === '/hello'),
    'by the server that got the descriptor',
  );
});
