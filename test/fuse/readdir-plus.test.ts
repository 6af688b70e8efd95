// `ls -l` of a directory must not cost a LOOKUP or GETATTR round trip to JavaScript per entry: on libfuse 3
// the binding answers the kernel's READDIRPLUS with each entry's attributes, which the kernel caches as if
// it had looked the name up. (On libfuse 2 every entry of `ls -l` was a getattr call.)
import { execFile } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { setTimeout as tick } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';

const run = promisify(execFile);
const FILES = 100;

t.test(`ls -l of ${FILES} entries asks JavaScript for no entry's attributes`, async (t) => {
  const server = await startFuseServer(t, {
    fs: 'memory',
    options: { name: 'readdir-plus', attrTimeoutSeconds: 2, entryTimeoutSeconds: 2 },
  });
  const dir = `${server.mountpoint}/d`;
  await mkdir(dir);
  for (let i = 0; i < FILES; i++) await writeFile(`${dir}/f${i}`, `file ${i}`);
  const getattrsOfEntries = async () =>
    (await server.calls()).filter((call) => call.op === 'getattr' && call.path.startsWith('/d/f') && call.path !== '/d/f0').length;

  // The names and attributes cached by the creates must expire first: until a stat of f0 asks again.
  const asked = async () => (await server.calls()).filter((call) => call.op === 'getattr' && call.path === '/d/f0').length;
  for (const before = await asked(); (await stat(`${dir}/f0`), await asked()) === before;) await tick(100);

  const before = await getattrsOfEntries();
  const { stdout } = await run('ls', ['-l', dir]);
  t.equal(stdout.trim().split('\n').length, FILES + 1, 'ls -l lists every entry (and the total)');
  const perEntry = (await getattrsOfEntries()) - before;
  t.ok(perEntry < FILES / 10, `${perEntry} getattr calls for ${FILES} entries`);
});
