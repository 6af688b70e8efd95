// The model-based random test of a kidfs mount: fast-check generates sequences of file operations, an executor process
// (fs-model-executor.py, as uid 1000) applies each to the mount and to a reference directory on local disk, and every
// result and the whole tree after every step must be equal; a failure is shrunk to a shortest sequence.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';

const EXECUTOR = new URL('./fs-model-executor.py', import.meta.url).pathname;
/** Names a file unlinked while open keeps on the server until its last close: libfuse's and kidfs's own. */
const HIDDEN_PREFIXES = ['.fuse_hidden', '.kidfs-unlinked-'];
const isHiddenName = (name: string): boolean => HIDDEN_PREFIXES.some((prefix) => name.startsWith(prefix));
/** The system's python3: a user's own (pyenv in root's home) is out of reach of uid 1000. */
const PYTHON = '/usr/bin/python3';

export type Operation = { readonly op: string } & Record<string, unknown>;

// Few names and fds, so that operations meet the same files often.
const FILES = ['a', 'b', 'd/a', 'e/a', 'd/f/a'];
const DIRS = ['d', 'e', 'd/f'];
const path = fc.constantFrom(...FILES, ...DIRS);
const slot = fc.integer({ min: 0, max: 2 });
const seed = fc.integer({ min: 0, max: 250 });
const MiB = 1024 * 1024;
/** Offsets and sizes near the start, across FUSE's 128 KiB requests, and around kidfs's 1 MiB write and read chunks. */
const offset = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: 0, max: 300_000 }),
  fc.integer({ min: MiB - 70_000, max: MiB + 70_000 }),
);
const length = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 140_000 }));
const fileMode = fc.constantFrom(0o644, 0o600, 0o444, 0o755, 0o200);
const dirMode = fc.constantFrom(0o755, 0o700, 0o2755, 0o555, 0o644, 0o1777);
/** nanoseconds since 1970, within NFSv3's 32-bit seconds (clamping is tested on its own). */
const time = fc.bigInt({ min: 0n, max: (2n ** 32n - 1n) * 1_000_000_000n }).map(Number);

export const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('open'),
      slot,
      path: fc.constantFrom(...FILES),
      access: fc.constantFrom('r', 'w', 'rw', 'rw'),
      flags: fc.oneof(fc.constant(['creat']), fc.subarray(['creat', 'excl', 'trunc', 'append'])),
      mode: fileMode,
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('close'), slot }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write'), slot, length, seed }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('pwrite'), slot, offset, length, seed }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('read'), slot, length }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('pread'), slot, offset, length }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('seek'), slot, offset, whence: fc.constantFrom(0, 1, 2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('ftruncate'), slot, size: offset }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate'), path, size: offset }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fsync'), slot }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fstat'), slot }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mmap_read'), slot, offset, length }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mmap_write'), slot, offset, length, seed }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy'), from: slot, to: slot, fromOffset: offset, toOffset: offset, length }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fallocate'), slot, offset, length: fc.integer({ min: 1, max: 200_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename'), from: path, to: path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('link'), from: path, to: path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink'), target: fc.constantFrom('a', 'd/a', '../a', 'nowhere', 'd'), path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('readlink'), path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unlink'), path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mkdir'), path: fc.constantFrom(...DIRS), mode: dirMode }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmdir'), path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('chmod'), path, mode: fc.oneof(fileMode, dirMode) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('utime'), path, atime: time, mtime: time }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('stat'), path }) },
);

/**
 * An operation that fails on both, where the reference says EACCES: the mount may name another error of the same
 * call. Linux checks search permission on every directory of the path first; a FUSE kernel leaves permission to the
 * file system (kidfs must: the server decides, for the identity), so the server's EACCES comes only at the lookup of
 * a name the kernel has not cached, after the kernel's own checks (a missing second path, EISDIR of a cached name).
 */
function kernelErrorBeforeEacces(reply: Reply): boolean {
  const errnoOf = (result: unknown) => (result as { errno?: string } | undefined)?.errno;
  return errnoOf(reply.reference) === 'EACCES' && errnoOf(reply.mount) !== undefined;
}

interface Reply {
  readonly mount?: unknown;
  readonly reference?: unknown;
  readonly otherHost?: { readonly expected: string; readonly seen: string } | null;
  readonly snapshot?: { readonly mount: unknown; readonly reference: unknown };
  /** After 'end' or 'purge': why the mount's run directory could not be removed, if it could not. */
  readonly leftover?: string | null;
}

/** The executor process: one JSON line per operation, one reply line each. */
export class ModelExecutor {
  private readonly child: ChildProcess;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  /** How the executor ended, once it has. */
  private exited?: string;
  private runs = 0;
  /** Operations applied to both trees (shrinking included). */
  operations = 0;

  /**
   * `serverDir`: the export's directory on the server (ganesha's backing directory), where the test sees the hidden
   * names of files unlinked while open that readdir on the mount never lists.
   */
  constructor(
    mount: string,
    reference: string,
    otherHost: string,
    user: { uid: number; gid: number },
    private readonly serverDir: string,
  ) {
    // The program is handed over as text: the executor runs as `user`, who may not read a checkout in a 0700 directory.
    this.child = spawn(PYTHON, ['-c', readFileSync(EXECUTOR, 'utf8'), mount, reference, otherHost], {
      ...user,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
    const gone = (code: unknown, signal?: unknown) => {
      this.exited = signal ? `signal ${String(signal)}` : String(code);
      for (const resolve of this.waiting.splice(0)) resolve(JSON.stringify({ exited: this.exited }));
    };
    this.child.once('exit', gone);
    this.child.once('error', gone);
  }

  /** Runs `operations` in a new directory of both trees; throws at the first difference, naming it. */
  async check(operations: readonly Operation[]): Promise<void> {
    const run = `run${++this.runs}`;
    await this.send({ op: 'begin', name: run });
    try {
      // The trees' contents are compared after close and fsync, and once at the end ('verify').
      for (const [index, op] of [...operations, { op: 'verify' }].entries()) {
        const target = op.op === 'rmdir' ? op.path : op.op === 'rename' ? op.to : undefined;
        const skip = typeof target === 'string' && this.holdsHidden(run, target);
        const reply = await this.send(skip ? { ...op, skip } : op);
        this.operations++;
        const where = `step ${index + 1} ${JSON.stringify(op)}`;
        if (!isDeepStrictEqual(reply.mount, reply.reference) && !kernelErrorBeforeEacces(reply)) {
          throw new Error(`${where}: the mount answered ${JSON.stringify(reply.mount)}, the reference ${JSON.stringify(reply.reference)}`);
        }
        if (reply.otherHost && reply.otherHost.seen !== reply.otherHost.expected) {
          throw new Error(
            `${where}: another mount opened the closed file and read ${reply.otherHost.seen}, not ${reply.otherHost.expected}`,
          );
        }
        if (!isDeepStrictEqual(reply.snapshot?.mount, reply.snapshot?.reference)) {
          throw new Error(
            `${where}: the trees differ: mount ${JSON.stringify(reply.snapshot?.mount)}, reference ${JSON.stringify(reply.snapshot?.reference)}`,
          );
        }
      }
    } catch (err) {
      await this.end(run, operations, false).catch(() => undefined);
      throw err;
    }
    await this.end(run, operations, true);
  }

  /**
   * Removes the run's trees. A file closed below a directory the identity could no longer write keeps its hidden name
   * on the server (README, "POSIX behaviour"; NFS clients' .nfs names do the same): when the run took write or search
   * permission from something, such names are removed through the mount by name. `strict`: any other name left
   * behind is a difference.
   */
  private async end(run: string, operations: readonly Operation[], strict: boolean): Promise<void> {
    const ended = await this.send({ op: 'end' });
    if (!ended.leftover) return;
    const hidden = this.hiddenNames(run);
    const tookPermission = operations.some((op) => op.op === 'chmod' && ((op.mode as number) & 0o300) !== 0o300);
    if (strict && !(tookPermission && hidden.length > 0)) {
      throw new Error(
        `the run's directory on the mount could not be removed once every fd was closed (${ended.leftover}); hidden names left on the server: ${hidden.join(', ') || 'none'}`,
      );
    }
    const purged = await this.send({ op: 'purge', paths: hidden });
    if (purged.leftover)
      throw new Error(
        `the run's directory on the mount could not be removed even without its hidden names ${hidden.join(', ')}: ${purged.leftover}`,
      );
  }

  /** Whether directory `path` of run `run` holds a hidden name on the server (an rmdir of it or a rename over it then fails with ENOTEMPTY, as on any NFS client: skipped). */
  private holdsHidden(run: string, path: string): boolean {
    try {
      return readdirSync(join(this.serverDir, run, path)).some(isHiddenName);
    } catch {
      return false;
    }
  }

  /** The hidden names on the server below run `run`, as paths relative to it. */
  private hiddenNames(run: string): string[] {
    try {
      const names = readdirSync(join(this.serverDir, run), { recursive: true, encoding: 'utf8' });
      return names.filter((name) => isHiddenName(basename(name)));
    } catch {
      return [];
    }
  }

  /** Ends the executor (its fds close, so files unlinked while open are removed). */
  async close(): Promise<void> {
    if (this.exited !== undefined) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }

  private async send(op: Operation): Promise<Reply> {
    if (this.exited !== undefined) throw new Error(`the executor exited (${this.exited}): ${this.stderr.trim()}`);
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(`${JSON.stringify(op)}\n`);
    });
    const reply = JSON.parse(line) as Reply & { exited?: number };
    if ('exited' in reply) throw new Error(`the executor exited (${reply.exited}): ${this.stderr.trim()}`);
    return reply;
  }
}
