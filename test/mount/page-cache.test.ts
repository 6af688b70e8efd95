// A kidfs mount keeps a file's page cache across opens only while the file is unchanged (autoCache): once another
// host changes it on the server, the next open reads the new content, never the cached pages.
import t from 'tap';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const mount = await startMount(t, {
  url: server.url,
  identity: 'cms/editor',
  config: writeConfig(work, STATIC_TABLE),
  dir: work,
  name: 'cache',
});

t.test('a file changed on the server is read afresh at its next open, though its pages were cached', async (t) => {
  const [onServer, throughMount] = [join(server.dir, 'shared'), join(mount.target, 'shared')];
  writeFileSync(onServer, 'A'.repeat(1 << 20));
  for (let i = 0; i < 3; i++) t.equal(readFileSync(throughMount, 'latin1')[0], 'A', `read ${i + 1}: the first version`);
  // the same size, another mtime: only the attributes revalidated at open can tell
  writeFileSync(onServer, 'B'.repeat(1 << 20));
  utimesSync(onServer, new Date(), new Date(Date.now() + 5000));
  const after = readFileSync(throughMount, 'latin1');
  t.equal(after.length, 1 << 20);
  t.ok(/^B+$/.test(after), 'the next open reads the new content, all of it');
});
