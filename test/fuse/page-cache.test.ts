// A file read again, unchanged since its last opens, is served from the kernel's page cache (autoCache: libfuse's
// auto_cache, attributes fetched again at every open); without it every open starts with an empty cache. (The
// first read after the writes, and the one after it, still go through FUSE: the kernel and libfuse each see the
// mtime the writes left change once.)
import { open, readFile, writeFile } from 'node:fs/promises';
import t from 'tap';
import { startFuseServer } from '../helpers/fuse-server-client.ts';

const MiB = 1 << 20;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** How many read requests reach the file system when a file written, then read whole twice, is read a third time. */
async function readsOfSecondOpen(t: Teardown, autoCache: boolean): Promise<number> {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: `page-cache-${autoCache}`, autoCache } });
  const file = `${server.mountpoint}/data`;
  await writeFile(file, Buffer.alloc(4 * MiB, 7));
  await readFile(file);
  await readFile(file);
  const reads = async () => (await server.calls()).filter((call) => call.op === 'read' && call.path === '/data').length;
  const before = await reads();
  const length = (await readFile(file)).length;
  if (length !== 4 * MiB) throw new Error(`read ${length} bytes of ${4 * MiB}`);
  return (await reads()) - before;
}

t.test('with autoCache, another open of an unchanged file reads nothing through FUSE', async (t) => {
  t.equal(await readsOfSecondOpen(t, true), 0);
});

t.test('without it, every open reads the file through FUSE again', async (t) => {
  t.ok((await readsOfSecondOpen(t, false)) > 0);
});

t.test('reads of an open file ask for no attributes each (no_auto_inval_data): the cache is decided at open', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'page-cache-reads', autoCache: true, attrTimeoutSeconds: 0 } });
  const file = `${server.mountpoint}/data`;
  await writeFile(file, Buffer.alloc(4 * MiB, 7));
  const attributeCalls = async () => (await server.calls()).filter((call) => /getattr$/.test(call.op)).length;
  const handle = await open(file, 'r');
  const before = await attributeCalls();
  const piece = Buffer.alloc(64 * 1024);
  let bytes = 0;
  for (let read = 1; read > 0; bytes += read) ({ bytesRead: read } = await handle.read(piece, 0, piece.length, bytes));
  const during = (await attributeCalls()) - before;
  await handle.close();
  t.equal(bytes, 4 * MiB);
  // the kernel still asks once when a read reaches the end of the file it knows
  t.ok(during <= 2, `${during} attribute requests for 65 reads`);
});
