// Mounts and unmounts a small file system again and again in this process (forked by
// test/fuse/unmount-release.test.ts), each time with handlers that hold a large Buffer, and
// reports how many of those Buffers GC could collect and this process's RssAnon. Each mount
// answers a stat, and holds the answer to a second one until its unmount is done, so that
// libfuse's loop for the mount ends only after that late answer. argv[2] is a JSON ChurnConfig;
// the result comes back as one IPC message.
import { constants } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Attributes } from '../../src/fuse/handlers.ts';
import { fuseOptionList } from '../../src/fuse/mount-options.ts';
import { mountFuse } from '../../src/fuse/fuse-mount.ts';
import { rssAnonKiB } from './fuse-server-client.ts';
import { mountUpstream, type UpstreamCallback } from './upstream-fuse.ts';

export interface ChurnConfig {
  binding: 'kidfs' | 'upstream';
  mountpoint: string;
  mounts: number;
  ballastMiB: number;
  /** RssAnon is also read after this many mounts */
  warmUpMounts: number;
}

export interface ChurnResult {
  /** RssAnon (KiB) after warmUpMounts mounts, and after all of them */
  warmRssKiB: number;
  finalRssKiB: number;
  /** how many of the handlers' Buffers GC collected */
  collected: number;
}

/** full GCs that show upstream's handlers are held (they would go at the first; a few more rule out timing) */
const HELD_GC_ROUNDS = 10;
const EPOCH = { sec: 0, nsec: 0 };
const MOUNT_OPTIONS = { name: 'churn', attrTimeoutSeconds: 0, entryTimeoutSeconds: 0 };

const config = JSON.parse(process.argv[2]) as ChurnConfig;

function gc(): void {
  const { gc: collect } = globalThis as { gc?: () => void };
  if (!collect) throw new Error('mount-churn.ts needs --expose-gc');
  collect();
}

let collected = 0;
const collections = new FinalizationRegistry(() => collected++);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

async function mountOnce(round: number): Promise<void> {
  const ballast = Buffer.allocUnsafe(config.ballastMiB << 20).fill(round + 1); // filled: its pages are in memory
  collections.register(ballast, round);
  const lateAsked = deferred();
  const unmounted = deferred();
  const getattr = async (path: string): Promise<Attributes> => {
    if (path === '/late') {
      lateAsked.resolve();
      await unmounted.promise;
    }
    const mode = path === '/' ? constants.S_IFDIR | 0o755 : constants.S_IFREG | 0o644;
    return { mode, uid: 0, gid: 0, size: 0, nlink: 1, atime: EPOCH, mtime: EPOCH, ctime: EPOCH };
  };

  let unmount: () => Promise<void>;
  if (config.binding === 'upstream') {
    const ops = {
      ballast,
      getattr: (path: string, reply: UpstreamCallback) =>
        getattr(path).then(({ mode, uid, gid, size, nlink }) => reply(0, { mode, uid, gid, size, nlink })),
    };
    unmount = await mountUpstream(config.mountpoint, ops, fuseOptionList(MOUNT_OPTIONS));
  } else {
    const handlers = { ballast, getattr };
    const mounted = await mountFuse({ mountpoint: config.mountpoint, handlers, options: MOUNT_OPTIONS });
    unmount = () => mounted.unmount();
  }

  await stat(`${config.mountpoint}/served`);
  const late = stat(`${config.mountpoint}/late`);
  await lateAsked.promise;
  await unmount();
  unmounted.resolve();
  await late;
}

/**
 * RssAnon after a full GC, once every mount so far let go of its handlers. libfuse's loop ends asynchronously after an
 * unmount, so the patched binding is waited for (the test's timeout bounds it); upstream never lets go, so for it
 * HELD_GC_ROUNDS collections show that nothing went.
 */
async function settledRssKiB(mounts: number): Promise<number> {
  for (let round = 0; config.binding === 'kidfs' ? collected < mounts : round < HELD_GC_ROUNDS; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20)); // finalizers run in a later task
  }
  gc();
  return rssAnonKiB(process.pid);
}

let warmRssKiB = 0;
for (let round = 0; round < config.mounts; round++) {
  await mountOnce(round);
  if (round + 1 === config.warmUpMounts) warmRssKiB = await settledRssKiB(round + 1);
}
const finalRssKiB = await settledRssKiB(config.mounts);
process.send?.({ warmRssKiB, finalRssKiB, collected } satisfies ChurnResult);
process.disconnect();
