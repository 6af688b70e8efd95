// The stand-in handlers the daemon gives fuse-native: they pass every operation through while attached, answer
// ENOTCONN once detached, and then no longer hold the file system (fuse-native keeps the stand-in for good).
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FuseHandlers } from '../../src/fuse/handlers.ts';
import { detachableHandlers } from '../../src/mount/detachable-handlers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Handlers of a file system holding `memory` (standing for its caches), recording the calls. */
function realHandlers(calls: string[], memory: Buffer): FuseHandlers {
  return {
    getattr: async (path) => {
      calls.push(`getattr ${path}`);
      return {
        mode: 0o40755,
        uid: 1,
        gid: 2,
        size: memory.length,
        nlink: 2,
        atime: { sec: 0, nsec: 0 },
        mtime: { sec: 0, nsec: 0 },
        ctime: { sec: 0, nsec: 0 },
      };
    },
    read: async (path, fh, target, position) => {
      calls.push(`read ${path} ${fh} ${target.length} ${position}`);
      return memory.copy(target, 0, position);
    },
  };
}

t.test('attached: the same operations, passed through with their arguments and answers', async (t) => {
  const calls: string[] = [];
  const { handlers } = detachableHandlers(realHandlers(calls, Buffer.from('hello')));
  t.same(Object.keys(handlers).sort(), ['getattr', 'read'], 'only the operations the file system has (others stay ENOSYS)');
  t.equal((await handlers.getattr('/')).size, 5);
  const target = Buffer.alloc(3);
  t.equal(await handlers.read!('/f', 7, target, 1, {}), 3);
  t.equal(target.toString(), 'ell');
  t.same(calls, ['getattr /', 'read /f 7 3 1']);
});

t.test('detached: ENOTCONN, and the file system behind is let go', async (t) => {
  const calls: string[] = [];
  let real: FuseHandlers | undefined = realHandlers(calls, Buffer.alloc(16 * 1024 * 1024));
  const collected = new WeakRef(real);
  const gate = detachableHandlers(real);
  real = undefined;

  gc();
  t.ok(collected.deref(), 'held while attached');
  gate.detach();
  await t.rejects(gate.handlers.getattr('/'), { code: 'ENOTCONN', message: 'this kidfs mount is no longer served' });
  t.same(calls, [], 'nothing reaches the file system');
  for (let i = 0; i < 5 && collected.deref(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  t.equal(collected.deref(), undefined, 'collected, although the stand-in itself is still referenced');
  t.ok(gate.handlers.read, 'the stand-in is still here');
});
