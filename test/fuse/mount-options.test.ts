// Mount options: the set kidfs builds, that zero values take effect (upstream fuse-native dropped
// them), and that a refused option is a clear error that leaves nothing mounted.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t from 'tap';
import { fuseOptionList, MountOptionsError } from '../../src/fuse/mount-options.ts';
import { isMounted, makeMountpoint, startFuseServer } from '../helpers/fuse-server-client.ts';

t.test('the option set of a kidfs mount', async (t) => {
  t.same(fuseOptionList({ name: 'cms/editor' }), [
    'nosuid',
    'nodev',
    'fsname=kidfs:cms/editor',
    'subtype=kidfs',
    'no_auto_inval_data',
    'no_splice_read',
    'allow_other',
    'attr_timeout=1',
    'entry_timeout=1',
    'negative_timeout=0',
    'max_write=1048576',
    'max_read=1048576',
    'max_readahead=1048576',
    'max_threads=16',
    'max_idle_threads=4',
  ]);
  const zeros = fuseOptionList({ name: 'z', attrTimeoutSeconds: 0, entryTimeoutSeconds: 0, umask: 0, uid: 0, gid: 0 });
  t.ok(
    ['attr_timeout=0', 'entry_timeout=0', 'umask=0', 'uid=0', 'gid=0'].every((option) => zeros.includes(option)),
    'zero values are kept',
  );
  t.ok(fuseOptionList({ name: 'u', umask: 0o22 }).includes('umask=22'), 'umask is written in octal, as libfuse reads it');
  t.notOk(fuseOptionList({ name: 'p' }).includes('default_permissions'), 'permissions are left to the server');
  const readahead = fuseOptionList({ name: 'x', extraOptions: ['kernel_cache', 'max_readahead=65536'] }).filter((o) =>
    o.startsWith('max_readahead='),
  );
  t.same(readahead, ['max_readahead=65536'], 'a max_readahead of extraOptions replaces the default');

  const refused: Array<[object, RegExp]> = [
    [{ name: 'a,b' }, /mount name "a,b" must be 1-200 of/],
    [
      { name: 'x', maxWriteBytes: 2 << 20 },
      /maxWriteBytes must be an integer from 4096 to 1048576 \(the kernel's largest FUSE request\), not 2097152/,
    ],
    [{ name: 'x', maxThreads: 0 }, /maxThreads must be an integer from 1 to 1024, not 0/],
    [{ name: 'x', extraOptions: ['max_threads=4'] }, /'max_threads=4' is not allowed in extraOptions: use maxThreads/],
    [{ name: 'x', attrTimeoutSeconds: -1 }, /attrTimeoutSeconds must be a number of seconds >= 0, not -1/],
    [{ name: 'x', umask: 0o1000 }, /umask must be an integer from 0 to 511, not 512/],
    [{ name: 'x', extraOptions: ['bogus'] }, /unknown FUSE option 'bogus'; extraOptions accepts: kernel_cache, /],
    [
      { name: 'x', extraOptions: ['default_permissions'] },
      /'default_permissions' is not allowed in extraOptions: kidfs leaves permission checks to the NFS server/,
    ],
    [{ name: 'x', extraOptions: ['suid'] }, /kidfs mounts are always nosuid/],
    [{ name: 'x', extraOptions: ['splice_read'] }, /'splice_read' is not allowed in extraOptions: a spliced write would be copied/],
    [
      { name: 'x', extraOptions: ['splice_move'] },
      /'splice_move' is not allowed in extraOptions: the binding reads and answers \/dev\/fuse itself/,
    ],
    [{ name: 'x', extraOptions: ['max_readahead'] }, /max_readahead needs =<number>/],
    [{ name: 'x', extraOptions: ['kernel_cache=1'] }, /kernel_cache takes no value/],
    [{ name: 'x'.repeat(200), extraOptions: Array(60).fill('kernel_cache') }, /FUSE options are \d+ characters, at most 1000 fit/],
  ];
  for (const [options, message] of refused) {
    t.throws(() => fuseOptionList(options as never), { name: 'MountOptionsError', message }, JSON.stringify(options).slice(0, 80));
  }
  t.ok(new MountOptionsError('m') instanceof Error);
});

t.test('attr_timeout=0 makes every stat ask the file system; a long one lets the kernel cache', async (t) => {
  const getattrsFor = async (options: { attrTimeoutSeconds: number; entryTimeoutSeconds: number }) => {
    const server = await startFuseServer(t, { fs: 'memory', options: { name: 'attr', ...options } });
    await writeFile(`${server.mountpoint}/f`, 'x');
    await stat(`${server.mountpoint}/f`);
    const before = (await server.calls()).length;
    for (let i = 0; i < 5; i++) await stat(`${server.mountpoint}/f`);
    return (await server.calls()).slice(before).filter((call) => call.op === 'getattr').length;
  };
  t.ok((await getattrsFor({ attrTimeoutSeconds: 0, entryTimeoutSeconds: 0 })) >= 5, 'five stats, five getattrs at least');
  t.equal(await getattrsFor({ attrTimeoutSeconds: 60, entryTimeoutSeconds: 60 }), 0, 'five stats from the cache');
});

t.test('umask=0 shows every permission bit set', async (t) => {
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'umask', umask: 0 } });
  await writeFile(`${server.mountpoint}/f`, 'x', { mode: 0o640 });
  t.equal((await stat(`${server.mountpoint}/f`)).mode & 0o777, 0o777);
});

t.test('every option extraOptions accepts is one libfuse 3 knows', async (t) => {
  const all = [
    'kernel_cache',
    'auto_cache',
    'noauto_cache',
    'direct_io',
    'hard_remove',
    'use_ino',
    'readdir_ino',
    'async_read',
    'sync_read',
    'atomic_o_trunc',
    'no_remote_lock',
    'noatime',
    'noexec',
    'sync',
    'dirsync',
    'intr',
    'noforget',
    'ac_attr_timeout=1',
    'max_readahead=131072',
    'max_background=12',
    'congestion_threshold=9',
    'remember=1',
    'intr_signal=10',
  ];
  t.throws(() => fuseOptionList({ name: 'x', extraOptions: ['not_in_the_list'] }), /extraOptions accepts: (\w+(=N)?, )+/);
  const server = await startFuseServer(t, { fs: 'memory', options: { name: 'extras', extraOptions: all } });
  t.ok((await stat(server.mountpoint)).isDirectory());
});

t.test('an unknown option is a clear error before anything is mounted', async (t) => {
  const mountpoint = await makeMountpoint(t);
  const failed = startFuseServer(t, { mountpoint, fs: 'memory', options: { name: 'x', extraOptions: ['bogus'] } });
  await t.rejects(failed, /unknown FUSE option 'bogus'/);
  t.notOk(isMounted(mountpoint));
});

t.test('a mountpoint that is not empty is a clear error, and nothing is mounted', async (t) => {
  const mountpoint = await makeMountpoint(t);
  await writeFile(join(mountpoint, 'kept.txt'), 'hidden by a mount');
  const failed = startFuseServer(t, { mountpoint, fs: 'memory', options: { name: 'x' } });
  await t.rejects(failed, new RegExp(`mountpoint ${mountpoint} is not empty \\(it holds kept.txt\\): a mount would hide its files`));
  t.notOk(isMounted(mountpoint));
});

t.test('an option libfuse itself refuses leaves no mount behind', async (t) => {
  const mountpoint = await makeMountpoint(t);
  const failed = startFuseServer(t, {
    mountpoint,
    fs: 'memory',
    binding: 'raw',
    rawOptions: ['nosuid', 'bogus_option'],
    options: { name: 'x' },
  });
  await t.rejects(failed, /libfuse refused the mount options \(its stderr names the option\); nothing was left mounted/);
  t.notOk(isMounted(mountpoint), 'not mounted');
});

t.test('upstream fuse-native left a dead mount for the same option', async (t) => {
  const mountpoint = await makeMountpoint(t);
  const failed = startFuseServer(t, {
    mountpoint,
    fs: 'null',
    binding: 'upstream',
    rawOptions: ['nosuid', 'bogus_option'],
    options: { name: 'x' },
  });
  await t.rejects(failed, /fuse failed/);
  // Nobody answers it: a stat hangs while that process lives, and gets ENOTCONN after it exits.
  t.ok(isMounted(mountpoint), 'still mounted (removed in teardown)');
});

t.test('a mountpoint whose name holds shell characters unmounts', async (t) => {
  const mountpoint = join(dirname(await makeMountpoint(t)), 'm$HOME`id`');
  await mkdir(mountpoint);
  const server = await startFuseServer(t, { mountpoint, fs: 'memory', options: { name: 'shell' } });
  t.ok(isMounted(mountpoint));
  await server.stop();
  t.notOk(isMounted(mountpoint), 'unmounted by stop, not by teardown');
});
