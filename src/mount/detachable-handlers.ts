// FUSE handlers that can be cut off from the file system behind them. fuse-native keeps the handlers object
// of a mount for the life of the process, even after unmounting (the node daemon mounts and unmounts all the time),
// so every kidfs mount hands fuse-native this stand-in and drops the file system (caches, open files, connection) on detach.
import { constants } from 'node:os';
import { FuseError, type FuseHandlers } from '../fuse/index.ts';

export interface DetachableHandlers {
  /** What to mount: the same operations as the handlers given. */
  readonly handlers: FuseHandlers;
  /** From now on every operation answers ENOTCONN (as a mount whose server is gone), and the real handlers are let go. */
  detach(): void;
}

const notConnected = (): Promise<never> =>
  Promise.reject(new FuseError(constants.errno.ENOTCONN, 'ENOTCONN', 'this kidfs mount is no longer served'));

export function detachableHandlers(real: FuseHandlers): DetachableHandlers {
  let current: Record<string, (...args: unknown[]) => Promise<unknown>> | undefined = real as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  // The same keys as `real`: src/fuse tells the kernel which operations exist from the handlers present.
  // Values that are not operations (flags such as writeCopiesData) are kept as they are.
  const handlers = Object.fromEntries(
    Object.entries(real).map(([name, value]) => [
      name,
      typeof value === 'function' ? (...args: unknown[]) => (current ? current[name]!(...args) : notConnected()) : value,
    ]),
  ) as unknown as FuseHandlers;
  return {
    handlers,
    detach: () => {
      current = undefined;
    },
  };
}
