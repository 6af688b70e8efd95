// The socket a running `kidfs mount` answers on, for `kidfs status` and `kidfs unmount`: what is open and held right now,
// and an unmount that is refused while files are open (decided in the mount's own process, so no file can be opened
// between the check and the unmount). Root only (0600), one JSON line each way; next to the mount's record.
import { createHash } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { lineSplitter } from '../control-socket/index.ts';
import { mountRecordDir } from './standalone-records.ts';

/** What a running mount holds right now. */
export interface MountUse {
  /** Open file descriptors (FUSE opens), and how many of them may write. */
  readonly openFiles: number;
  readonly openForWriting: number;
  /** Written data not yet committed on the server. */
  readonly bytesHeld: number;
}

export type MountSocketRequest = { readonly op: 'status' } | { readonly op: 'unmount'; readonly force: boolean };

export type MountSocketReply =
  { readonly ok: true; readonly use: MountUse } | { readonly ok: false; readonly busy: true; readonly use: MountUse };

export interface MountSocketHandler {
  use(): MountUse;
  /** Starts the clean unmount (commit, unmount, exit); the reply goes out first. */
  unmount(): void;
}

/** Short and fixed-length: a unix socket path has at most 107 bytes, a target may be much longer. */
export const socketPath = (target: string): string =>
  join(mountRecordDir(), `${createHash('sha256').update(target).digest('hex').slice(0, 24)}.sock`);

export async function serveMountSocket(target: string, handler: MountSocketHandler): Promise<{ close(): Promise<void> }> {
  const path = socketPath(target);
  await mkdir(mountRecordDir(), { recursive: true, mode: 0o755 });
  await rm(path, { force: true }); // a process that served this target before is gone (the target was not mounted)
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on(
      'data',
      lineSplitter(
        (line) => {
          let request: MountSocketRequest;
          try {
            request = JSON.parse(line) as MountSocketRequest;
          } catch {
            socket.destroy(); // only kidfs (root) talks here: garbage is not worth an answer
            return;
          }
          socket.end(`${JSON.stringify(answer(request, handler))}\n`);
        },
        () => socket.destroy(),
      ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  await chmod(path, 0o600);
  server.unref();
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await rm(path, { force: true });
    },
  };
}

function answer(request: MountSocketRequest, handler: MountSocketHandler): MountSocketReply {
  const use = handler.use();
  if (request.op === 'unmount') {
    if (use.openFiles > 0 && !request.force) return { ok: false, busy: true, use };
    setImmediate(() => handler.unmount());
  }
  return { ok: true, use };
}

/** Asks the mount process serving `target`; rejects when it does not answer (gone, or too old to have the socket). */
export function askMount(target: string, request: MountSocketRequest, timeoutMs = 10_000): Promise<MountSocketReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath(target));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    socket.once('error', reject);
    socket.on(
      'data',
      lineSplitter(
        (line) => {
          socket.end();
          resolve(JSON.parse(line) as MountSocketReply);
        },
        () => socket.destroy(new Error('an overlong answer')),
      ),
    );
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
  });
}
