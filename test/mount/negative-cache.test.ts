// [mount] negative-timeout: how long the kernel may answer "no such name" from its cache. The default (0) asks every
// time, so a file another host creates shows up at once; a longer one hides it for that long, but never makes a
// create through the mount take another host's file for its own (O_EXCL), nor hides what the mount made itself.
import t from 'tap';
import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const mountWith = (name: string, mountSection: string) =>
  startMount(t, {
    url: server.url,
    identity: 'cms/editor',
    config: writeConfig(work, `${STATIC_TABLE}\n[mount]\n${mountSection}\n`, `${name}.ini`),
    dir: work,
    name,
  });
const fresh = await mountWith('fresh', 'negative-timeout = 0s');
const cached = await mountWith('cached', 'negative-timeout = 1h');

/** Another host's create: straight into the export's directory. */
const createElsewhere = (name: string, text: string) => writeFileSync(join(server.dir, name), text);

t.test('by default a name missing a moment ago shows up as soon as another host creates it', async (t) => {
  const path = join(fresh.target, 'arrives');
  t.notOk(existsSync(path), 'missing at first');
  createElsewhere('arrives', 'from another host');
  t.equal(readFileSync(path, 'utf8'), 'from another host');
});

t.test('with negative-timeout, the missing name is answered from the cache for that long', async (t) => {
  const path = join(cached.target, 'late');
  t.notOk(existsSync(path), 'missing at first');
  createElsewhere('late', 'from another host');
  t.notOk(existsSync(path), 'still missing here: the cached answer (the documented price)');
  t.ok(existsSync(join(fresh.target, 'late')), 'the mount without the cache sees it');
});

t.test('the cache never lets an exclusive create take another host’s file', async (t) => {
  const path = join(cached.target, 'claimed');
  t.notOk(existsSync(path), 'missing at first (and now cached as missing)');
  createElsewhere('claimed', 'theirs');
  t.throws(() => closeSync(openSync(path, 'wx')), { code: 'EEXIST' }, 'O_EXCL asks the server');
  t.equal(readFileSync(join(server.dir, 'claimed'), 'utf8'), 'theirs', 'their file is untouched');
});

t.test('names made through the mount show up at once, cache or not', async (t) => {
  const path = join(cached.target, 'mine');
  t.notOk(existsSync(path), 'missing at first');
  writeFileSync(path, 'made here');
  t.equal(readFileSync(path, 'utf8'), 'made here');
});
