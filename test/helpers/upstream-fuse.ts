// The untouched fuse-native 2.2.6 with its prebuilt binary (scripts/build-fuse-native.sh keeps a
// copy), for tests that show a defect of upstream next to the patched build.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const UPSTREAM = fileURLToPath(new URL('../../node_modules/.fuse-native-2.2.6-upstream', import.meta.url));

export type UpstreamCallback = (result: number, value?: unknown) => void;
interface UpstreamFuse {
  mount(callback: (error: Error | null) => void): void;
  unmount(callback: (error: Error | null) => void): void;
  _fuseOptions(): string;
}

/** Mounts callback-style operations (fuse-native's own API) with upstream fuse-native; resolves to its unmount. */
export async function mountUpstream(mountpoint: string, ops: object, options: string[]): Promise<() => Promise<void>> {
  const Fuse = createRequire(import.meta.url)(UPSTREAM) as new (mnt: string, ops: object, opts: object) => UpstreamFuse;
  const fuse = new Fuse(mountpoint, ops, { timeout: false });
  // upstream's documented way to pass options it does not know (it also drops zero values);
  // without the worker-pool bounds and no_auto_inval_data, which only libfuse 3 has (upstream runs on libfuse 2)
  const libfuse2Options = options.filter((option) => !/^(max_(idle_)?threads=|no_auto_inval_data$)/.test(option));
  fuse._fuseOptions = () => `-o${libfuse2Options.join(',')}`;
  await new Promise<void>((resolve, reject) => fuse.mount((error) => (error ? reject(error) : resolve())));
  return () => new Promise<void>((resolve, reject) => fuse.unmount((error) => (error ? reject(error) : resolve())));
}

/** A null file system (every name a file, after `getattrDelayMs`) served by upstream fuse-native. */
export function mountUpstreamNullFs(mountpoint: string, options: string[], getattrDelayMs: number): Promise<() => Promise<void>> {
  return mountUpstream(
    mountpoint,
    {
      getattr(path: string, callback: UpstreamCallback) {
        if (path === '/') return callback(0, { mode: 0o40755, size: 0, nlink: 2, uid: 0, gid: 0 });
        setTimeout(() => callback(0, { mode: 0o100644, size: 0, nlink: 1, uid: 0, gid: 0 }), getattrDelayMs);
      },
    },
    options,
  );
}
