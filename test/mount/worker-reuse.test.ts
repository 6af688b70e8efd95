// A mount keeps the libfuse workers that ordinary work needs: the kernel sends a few requests at a time even for one
// application (a create's own requests beside the release and forget of the last file), and with too few idle workers
// allowed libfuse 3 ends one after each request and starts another for the next (two threads per file of a tar x,
// and tar x 10-20 % slower than on libfuse 2). The test watches the mount's threads while files are created one by one.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const FILES = 400;

const server = await startServer(t);
const work = makeWorkDir(t);
const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config: writeConfig(work, STATIC_TABLE), dir: work });

const threadIds = async () => new Set(await readdir(`/proc/${mount.pid}/task`));

/** Runs `script` with sh in the mount, in another process (the test serves no mount, but samples meanwhile). */
function shell(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { cwd: mount.target, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sh exited with ${code}: ${script}`))));
  });
}

t.test(`creating ${FILES} files one by one starts no libfuse worker after the first few`, async (t) => {
  await shell('for i in 1 2 3 4 5 6 7 8; do echo warm > warm-$i; done');
  const before = await threadIds();
  const seen = new Set(before);
  let running = true;
  const sampler = (async () => {
    while (running) for (const id of await threadIds()) seen.add(id);
  })();
  await shell(`i=0; while [ $i -lt ${FILES} ]; do echo "file $i" > f-$i; i=$((i + 1)); done`);
  running = false;
  await sampler;
  const started = [...seen].filter((id) => !before.has(id)).length;
  t.ok(started <= 4, `${started} threads started during ${FILES} creates (${before.size} before)`);
  t.equal((await readdir(mount.target)).filter((name) => name.startsWith('f-')).length, FILES, 'every file made');
});
