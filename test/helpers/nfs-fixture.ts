// A loopback ganesha with its export connected through kidfs's client, stopped in the test's teardown.
import { chmodSync } from 'node:fs';
import type { Test } from 'tap';
import { startLoopbackNfs, type LoopbackNfs, type LoopbackNfsOptions } from '../../scripts/loopback-nfs.ts';
import { connectExport, type ConnectExportOptions, type NfsExport } from '../../src/nfs/nfs-export.ts';
import type { Credential } from '../../src/nfs/rpc-transport.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';

export interface NfsFixture {
  readonly server: LoopbackNfs;
  readonly exp: NfsExport;
}

export const ROOT: Credential = { uid: 0, gid: 0, gids: [] };
export const cred = (uid: number, gid: number, gids: number[] = []): Credential => ({ uid, gid, gids });

/** The export directory is made world-writable (mode 0777) so any test identity may create in it. */
export async function startNfsFixture(t: Test, options: LoopbackNfsOptions = {}, connect: ConnectExportOptions = {}): Promise<NfsFixture> {
  const server = await startLoopbackNfs(options);
  t.teardown(() => server.stop());
  chmodSync(server.dir, 0o777);
  const exp = await connectExport(server.url, connect);
  t.teardown(() => exp.close());
  return { server, exp };
}

/** Asserts that `promise` rejects with an NfsError of `statusName` that the fs layer maps to `errno`; returns the error. */
export async function rejectsWithStatus(
  t: Test,
  promise: Promise<unknown>,
  statusName: string,
  errno: number,
  what = statusName,
): Promise<NfsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, NfsError, `${what}: rejected with an NfsError`);
  t.equal((err as NfsError | undefined)?.code, statusName, `${what}: ${statusName}`);
  t.equal(errnoOfFailure(err), errno, `${what}: errno ${errno}`);
  return err as NfsError;
}
