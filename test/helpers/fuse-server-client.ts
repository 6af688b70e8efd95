// Starts test/helpers/fuse-server.ts in a child process for a test, and cleans up in teardown
// whatever happened: lazy unmount, stop the child by pid, remove the temporary directory.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from './memory-fs.ts';
import type { ClientMessage, FuseServerConfig, ServerMessage } from './fuse-server.ts';
import { exited } from './child-exit.ts';

const SERVER = new URL('./fuse-server.ts', import.meta.url).pathname;

export interface FuseServer {
  readonly pid: number;
  readonly mountpoint: string;
  /** the memory fs's calls so far */
  calls(): Promise<Call[]>;
  /**
   * Runs a full GC in the server, then reads from /proc its RssAnon (KiB): the part of its RSS
   * that a leak grows (RssFile, the executable's pages, grows as new code paths first run).
   */
  rssAfterGcKiB(): Promise<number>;
  /** what the server wrote to stderr so far (libfuse's and the handlers' log lines) */
  stderr(): string;
  /** unmounts and lets the server exit */
  stop(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

function mountpoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '');
}

/** A process's RssAnon (KiB) from /proc: the part of its RSS that a leak grows. */
export function rssAnonKiB(pid: number): number {
  return Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

export function isMounted(path: string): boolean {
  return mountpoints().includes(path);
}

/** A fresh directory for a mountpoint, under a temporary directory removed in teardown. */
export async function makeMountpoint(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kidfs-fuse-'));
  const mountpoint = join(dir, 'mnt');
  await mkdir(mountpoint);
  t.teardown(async () => {
    const under = () => mountpoints().filter((path) => path.startsWith(`${dir}/`));
    for (const path of under()) spawnSync('umount', ['-l', path]);
    if (under().length === 0) await rm(dir, { recursive: true, force: true });
  });
  return mountpoint;
}

// For measuring a leak by RSS: glibc and V8 keep freed memory in pools whose size follows thread
// scheduling and allocation rates (per-thread malloc arenas holding libfuse's 128 KiB worker
// buffers, the thread-stack cache, V8's page pool, memory reducer and growing young generation),
// which moves RSS by megabytes. These make RSS follow live memory instead.
export const STEADY_MEMORY_FLAGS = ['--single-threaded', '--no-memory-reducer', '--max-semi-space-size=1'];
export const STEADY_MEMORY_TUNABLES = 'glibc.malloc.mmap_threshold=65536:glibc.pthread.stack_cache_size=0';

/**
 * Starts a server and waits for its mount; rejects with the server's mount error.
 * steadyMemory: run it with the settings above. inheritFd: a descriptor the server gets as its fd 4.
 */
export async function startFuseServer(
  t: Teardown,
  config: Omit<FuseServerConfig, 'mountpoint'> & { mountpoint?: string },
  { steadyMemory = false, inheritFd }: { steadyMemory?: boolean; inheritFd?: number } = {},
): Promise<FuseServer> {
  const mountpoint = config.mountpoint ?? (await makeMountpoint(t));
  const child = fork(SERVER, [JSON.stringify({ ...config, mountpoint })], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(steadyMemory ? STEADY_MEMORY_FLAGS : [])],
    env: steadyMemory ? { ...process.env, GLIBC_TUNABLES: STEADY_MEMORY_TUNABLES } : process.env,
    // an inherited descriptor is the server's fd 4 (config.mountpoint /dev/fd/4 serves it)
    stdio: inheritFd === undefined ? ['ignore', 'inherit', 'pipe', 'ipc'] : ['ignore', 'inherit', 'pipe', 'ipc', inheritFd],
  });
  const pid = child.pid as number;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.teardown(() => stopChild(child, mountpoint));

  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const request = (type: ClientMessage['type']) =>
    new Promise<unknown>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`fuse server ${pid} is gone (${child.exitCode ?? child.signalCode})`));
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, type } satisfies ClientMessage);
    });

  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'mount-error') reject(new Error(message.message));
      if (message.type === 'reply') {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`fuse server exited (${code ?? signal}) before mounting: ${stderr.trim()}`)));
  });

  return {
    pid,
    mountpoint,
    calls: async () => (await request('calls')) as Call[],
    rssAfterGcKiB: async () => {
      await request('gc');
      return rssAnonKiB(pid);
    },
    stderr: () => stderr,
    stop: async () => {
      await request('stop');
      await exited(child, 5000);
    },
  };
}

async function stopChild(child: ChildProcess, mountpoint: string): Promise<void> {
  if (isMounted(mountpoint)) spawnSync('umount', ['-l', mountpoint]);
  if (!(await exited(child, 100))) {
    child.kill('SIGTERM');
    if (!(await exited(child, 3000))) child.kill('SIGKILL');
  }
}
