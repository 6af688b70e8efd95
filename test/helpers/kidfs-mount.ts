// Real kidfs mounts for the mount tests: `scripts/kidfs mount --foreground` in a process of its own (the test process
// never serves a mount, so it may call into mounts synchronously), a loopback ganesha, and drivers that run shell
// commands inside a mount as a chosen container uid. Everything is unmounted and stopped by pid in teardown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackNfs, type LoopbackNfs, type LoopbackNfsOptions } from '../../scripts/loopback-nfs.ts';
import { isMounted } from './fuse-server-client.ts';
import { exited } from './child-exit.ts';

export { isMounted };

export const KIDFS = new URL('../../scripts/kidfs', import.meta.url).pathname;

/** The environment for kidfs processes: without tap's NODE_OPTIONS and variables (tap adds them back: see untracked()). */
export function kidfsEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !key.startsWith('_TAPJS_')));
}

/**
 * `command args` as [file, args] for spawn that run it with kidfsEnv() and `env` only. tap adds its process tracker to
 * the NODE_OPTIONS of every process a test spawns, whatever env the spawn is given; in a kidfs process the tracker keeps
 * every module it loads (~100 MB with the Kubernetes client, and a slower start). `env -i` passes on exactly the
 * variables named, and execs the command: the pid is the command's.
 */
export function untracked(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): [string, string[]] {
  const variables = Object.entries({ ...kidfsEnv(), ...env }).map(([key, value]) => `${key}=${value}`);
  return ['env', ['-i', ...variables, command, ...args]];
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The identities the mount tests use: editor and api share group 3000; viewer shares cms's group 2000 with editor. */
export const STATIC_TABLE = ['[static]', 'cms/editor = 2001:2000:3000', 'cms/viewer = 2002:2000', 'shop/api = 2101:2100:3000'].join('\n');

/** A directory for configs and mountpoints that uid 1000 may traverse; removed in teardown once nothing is mounted in it. */
export function makeWorkDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'kidfs-mount-test-'));
  chmodSync(dir, 0o755);
  t.teardown(() => {
    if (!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir}/`)) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Writes `text` (INI) to dir/name and returns its path. */
export function writeConfig(dir: string, text: string, name = 'kidfs.ini'): string {
  const path = join(dir, name);
  writeFileSync(path, `${text}\n`);
  return path;
}

/** A loopback ganesha whose export directory anyone may write (mode 0777), stopped in teardown. */
export async function startServer(t: Teardown, options: LoopbackNfsOptions = {}): Promise<LoopbackNfs> {
  const server = await startLoopbackNfs(options);
  t.teardown(() => server.stop());
  chmodSync(server.dir, 0o777);
  return server;
}

export interface KidfsMountProcess {
  readonly pid: number;
  readonly target: string;
  /** The line `kidfs mount` printed when the mount was ready. */
  readonly readyLine: string;
  /** What the mount process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code once it exits by itself, or undefined after `timeoutMs`. */
  exit(timeoutMs: number): Promise<number | null | undefined>;
  /** SIGTERM or `signal` (commit, unmount, exit); resolves with its exit code and everything it wrote to stderr. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>;
}

export interface MountOptions {
  url: string;
  identity: string;
  config: string;
  /** Default: a new directory `name` in `dir`. */
  dir: string;
  name?: string;
  readOnly?: boolean;
  /** More arguments for `kidfs mount` (e.g. --metrics-listen). */
  extraArgs?: readonly string[];
  /** Added to the mount process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** `kidfs mount --foreground` in its own process; resolves once it printed its ready line. */
export async function startMount(t: Teardown, options: MountOptions): Promise<KidfsMountProcess> {
  const target = join(options.dir, options.name ?? 'mnt');
  mkdirSync(target, { recursive: true });
  const args = [
    'mount',
    options.url,
    target,
    '--identity',
    options.identity,
    '--config',
    options.config,
    '--foreground',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(...untracked(KIDFS, options.readOnly ? [...args, '--read-only'] : args, options.env), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.teardown(() => stopMountProcess(child, target));

  const readyLine = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = stdout.split('\n').find((l) => l.startsWith('mounted '));
      if (line) resolve(line);
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`kidfs mount exited (${code}) before it was ready: ${stderr.trim()}`)));
  });
  return {
    pid: child.pid!,
    target,
    readyLine,
    stderr: () => stderr,
    exit: async (timeoutMs) => ((await exited(child, timeoutMs)) ? child.exitCode : undefined),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited(child, 60_000);
      }
      return { code: child.exitCode, stderr };
    },
  };
}

/** A clean stop if it comes within 5 s; otherwise lazy unmount and SIGKILL. */
export async function stopMountProcess(child: ChildProcess, target: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await exited(child, 5000))) child.kill('SIGKILL');
    await exited(child, 5000);
  }
  if (isMounted(target)) spawnSync('umount', ['-l', target]);
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A container user: root, or uid/gid 1000 with no supplementary groups. */
export type ContainerUser = 'root' | { uid: number; gid: number };
export const USER_1000: ContainerUser = { uid: 1000, gid: 1000 };

/** Runs `script` with sh in `cwd` as `user`; the test process serves no mount, so waiting synchronously is safe. */
export function run(user: ContainerUser, cwd: string, script: string, timeoutMs = 120_000): RunResult {
  const ids = user === 'root' ? {} : { uid: user.uid, gid: user.gid };
  const result = spawnSync('sh', ['-c', script], {
    cwd,
    ...ids,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: '/tmp', LANG: 'C' },
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: (result.stderr ?? '') + (result.error ? String(result.error) : '') };
}
