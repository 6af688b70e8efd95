// Serves one FUSE mount for a test in its own process (the process serving a mount must not call
// into it synchronously, and the test driver does). Started by fuse-server-client.ts with fork():
// argv[2] is a JSON FuseServerConfig; over IPC it sends {type: 'ready'} or {type: 'mount-error'},
// and answers {type: 'calls'} (the memory fs's call log), {type: 'gc'} and {type: 'stop'}.
import { constants } from 'node:os';
import { loadFuseNative } from '../../src/fuse/binding.ts';
import { fuseOptionList, type MountOptions } from '../../src/fuse/mount-options.ts';
import { mountFuse } from '../../src/fuse/fuse-mount.ts';
import { toNativeOps } from '../../src/fuse/safe-handlers.ts';
import { MemoryFs } from './memory-fs.ts';
import { NullFs } from './null-fs.ts';
import { mountUpstreamNullFs } from './upstream-fuse.ts';

export interface FuseServerConfig {
  mountpoint: string;
  /** memory: MemoryFs; null: NullFs with nullFileSize and getattrDelayMs */
  fs: 'memory' | 'null';
  options: MountOptions;
  opTimeoutMs?: number;
  nullFileSize?: number;
  getattrDelayMs?: number;
  /** kidfs: mountFuse; upstream: untouched fuse-native (null fs only); raw: the patched binding without mountFuse */
  binding?: 'kidfs' | 'upstream' | 'raw';
  /** for upstream and raw: libfuse options passed unchecked instead of options */
  rawOptions?: string[];
  /** for raw: getattr and write answer a second time, EIO, when the next of their kind arrives (a misbehaving binding user) */
  answerTwice?: boolean;
}

export type ServerMessage = { type: 'ready' } | { type: 'mount-error'; message: string } | { type: 'reply'; id: number; value: unknown };
export type ClientMessage = { id: number; type: 'calls' | 'gc' | 'stop' };

type Reply = (result: number, ...values: unknown[]) => void;

const config = JSON.parse(process.argv[2]) as FuseServerConfig;
const send = (message: ServerMessage) => process.send?.(message);
const memory = config.fs === 'memory' ? new MemoryFs() : undefined;
const handlers = memory ?? new NullFs(config.nullFileSize ?? 0, config.getattrDelayMs ?? 0);

async function mount(): Promise<() => Promise<void>> {
  switch (config.binding ?? 'kidfs') {
    case 'kidfs': {
      const mounted = await mountFuse({
        mountpoint: config.mountpoint,
        handlers,
        options: config.options,
        opTimeoutMs: config.opTimeoutMs,
      });
      return () => mounted.unmount();
    }
    case 'upstream':
      return mountUpstreamNullFs(config.mountpoint, config.rawOptions ?? fuseOptionList(config.options), config.getattrDelayMs ?? 0);
    case 'raw': {
      const Fuse = loadFuseNative();
      const ops = toNativeOps(handlers, { opTimeoutMs: 0, log: console.error });
      if (config.answerTwice) {
        // Each getattr is answered, and answered again with EIO when the next getattr arrives: the late answer
        // reaches the binding while a thread waits for that next request's answer.
        const getattr = ops.getattr as (path: string, reply: Reply) => void;
        let answerAgain: (() => void) | undefined;
        ops.getattr = (path: string, reply: Reply) => {
          answerAgain?.();
          getattr(path, (...answer) => {
            reply(...answer);
            answerAgain = () => reply(-constants.errno.EIO);
          });
        };
        // A write's second answer reaches the binding while the next write waits, in a slot it may have reused.
        type Write = (path: string, fh: number, data: Buffer, length: number, position: number, reply: Reply) => void;
        const write = ops.write as Write;
        let answerWriteAgain: (() => void) | undefined;
        ops.write = (path: string, fh: number, data: Buffer, length: number, position: number, reply: Reply) => {
          answerWriteAgain?.();
          write(path, fh, data, length, position, (...answer) => {
            reply(...answer);
            answerWriteAgain = () => reply(-constants.errno.EIO);
          });
        };
      }
      const fuse = new Fuse(config.mountpoint, ops, {
        timeout: false,
        options: config.rawOptions ?? [],
        fastWrites: true,
        fastReads: true,
      });
      await new Promise<void>((resolve, reject) => fuse.mount((error) => (error ? reject(error) : resolve())));
      return () => new Promise<void>((resolve, reject) => fuse.unmount((error) => (error ? reject(error) : resolve())));
    }
  }
}

mount().then(
  (unmount) => {
    process.on('message', async (message: ClientMessage) => {
      if (message.type === 'calls') send({ type: 'reply', id: message.id, value: memory?.calls ?? [] });
      if (message.type === 'gc') {
        (globalThis as { gc?: () => void }).gc?.();
        send({ type: 'reply', id: message.id, value: null });
      }
      if (message.type === 'stop') {
        await unmount().catch((error: Error) => console.error(`fuse-server: ${error.message}`));
        send({ type: 'reply', id: message.id, value: null });
        process.disconnect();
      }
    });
    send({ type: 'ready' });
  },
  (error: Error) => {
    send({ type: 'mount-error', message: error.message });
    process.disconnect();
  },
);
