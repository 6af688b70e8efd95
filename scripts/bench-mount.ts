// Benchmark: a real kidfs mount against libnfs (nfs-cp), kidfs's own NFS client, a plain local directory and the FUSE
// binding's ceiling (a null file system), against one loopback ganesha, in one run.
//
//   node --import tsx scripts/bench-mount.ts [--size-mib 1024] [--files 2000] [--nfs-cp-files 50] [--rounds 3]
//                                            [--base /dev/shm] [--writes-only]
//
// Everything lives in one fresh directory under --base (default /dev/shm, tmpfs): the source file, the export and the
// local reference directory share one file system, so the numbers compare the clients, not the disks.
// - Sequential write: `dd bs=1M conv=fsync` of a random file into the mount, the local directory and the null mount
//   (the time includes the fsync, so for kidfs every byte is COMMITted); `nfs-cp` of the same file to the export.
// - Sequential read: the kidfs mount is remounted first (a new process: no cache of kidfs's survives), and the kernel
//   keeps no FUSE page cache across open (kidfs does not set kernel_cache), so the dd reads through FUSE and NFS.
//   Every reader writes into a file next to the source (nfs-cp cannot do otherwise), which is then checksummed.
//   A second dd of the same file through the same mount is the re-read, from the page cache when it is kept (into
//   /dev/null, then checksummed through the mount).
//   The page cache is dropped before the reads when this process may (not in most containers; the output says);
//   on tmpfs there is nothing to drop anyway: there the local and the server's reads come from memory.
// - Small files: a node process creates N files (open O_CREAT|O_EXCL, a few bytes, close) in the mount and the
//   local directory. The reference is a libnfs loop (scripts/bench-libnfs-create.c, built here against libnfs-dev):
//   create O_EXCL, write, fsync, close per file, one at a time like the application, with the guarantee a kidfs
//   close gives. kidfs's own Nfs3Client doing CREATE + UNSTABLE WRITE + COMMIT per file is shown too, and nfs-cp per
//   file (a process per file). The mount and the null fs are measured twice: the first N creates after a mount run
//   while V8 still compiles the path (shown), the second pass is the steady state a long-running daemon serves.
// - The FUSE ceilings: test/helpers/null-fs.ts served through src/fuse by test/helpers/fuse-server.ts (as
//   scripts/bench-fuse-null.ts does), with a kidfs mount's options (1 MiB requests on libfuse 3); and FUSE's own, a
//   null file system in C on libfuse 3 (scripts/bench-null-fuse3.c, built here), with the same request sizes.
// - The bound of a bridge: scripts/bench-bridge-fuse3.c (built here), kidfs's design in C with no JavaScript, libfuse
//   3 in front of libnfs, the same request sizes and workers, 16 WRITEs in flight, COMMIT at fsync and close.
// - A bridge on libfuse 3's low-level API: scripts/bench-bridge-lowlevel.c (built here), no path lookups, WRITE and
//   COMMIT encoded by hand on their own connection, the same 16 in flight and COMMIT at fsync and close. Spliced: a
//   WRITE's pages go from /dev/fuse through a pipe into the NFS socket, uncopied. Built again with -DNO_SPLICE, it
//   reads each request into memory and sends it from there: the two rows differ only in the copies. libfuse splices
//   only into a pipe that holds a whole request (1 MiB and a header): without CAP_SYS_RESOURCE, bench-mount raises
//   /proc/sys/fs/pipe-max-size to 2 MiB for the run and puts the old value back at the end. The other FUSE servers
//   turn libfuse's splicing off (kidfs mounts always do: no_splice_read), so the setting changes nothing else.
// - Order: on this machine a copy's speed depends on when in a round it runs, so each round runs the write rows
//   (all but the local directory's, once the fresh mount is warm) in its own shuffled order, and the read rows too
//   (the mount's re-read right after its first read), printed with the round.
// - CPU: per row, the CPU seconds of the FUSE server, ganesha, the command (dd or nfs-cp: this process's children)
//   and the whole machine, then per GiB: on a machine of few cores, the sum a copy needs bounds its speed.
// - Warm-up: V8 compiles a fresh process's data path during its first GiBs; a node daemon that serves pods has long
//   done so. Before each timed copy, the fresh kidfs mount (and the null fs, once) writes 512 MiB of another file and
//   reads it twice, six times over, and prints each pass (the first is a fresh mount's speed); nothing of it can
//   serve the timed file.
// Every copy is checked by SHA-256, every small file by content (and owner, for the mount's). Every measurement runs
// --rounds times (each round mounts kidfs afresh); the tables show, per row, the round with the median time. The
// load average is printed at the start and the end: on a busy machine wall times wander (CPU times less so).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { isMounted, startFuseServer, type FuseServer } from '../test/helpers/fuse-server-client.ts';
import { waitUntil } from '../test/helpers/wait-until.ts';
import { startMount, type KidfsMountProcess } from '../test/helpers/kidfs-mount.ts';
import { connectExport } from '../src/nfs/nfs-export.ts';
import { StableHow } from '../src/nfs/nfs3-types.ts';
import type { Credential } from '../src/nfs/rpc-transport.ts';
import { makeSource, sha256File } from './bench-files.ts';
import { startLoopbackNfs, type LoopbackNfs } from './loopback-nfs.ts';

const MiB = 1024 * 1024;
/**
 * V8 optimizes a function after enough calls, and at 1 MiB per FUSE request a GiB is only 1,024 of them: a fresh
 * mount's CPU per GiB written fell from 1.24 s in its first 512 MiB to a plateau of 0.7-0.9 s by its fourth (measured
 * 2026-12-03). Six passes of 512 MiB reach it; each pass's figures are printed, so a run shows where it levelled.
 */
const WARM_UP_MIB = 512;
const WARM_UP_PASSES = 6;
/** The identity the mount acts as; the raw client loop uses the same. */
const IDENTITY = 'bench/writer';
const CREDENTIAL: Credential = { uid: 2001, gid: 2001, gids: [] };

interface Options {
  sizeMiB: number;
  files: number;
  nfsCpFiles: number;
  rounds: number;
  base: string;
  /** only the sequential writes: short rounds, so that many fit in one run */
  writesOnly: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { sizeMiB: 1024, files: 2000, nfsCpFiles: 50, rounds: 3, base: '/dev/shm', writesOnly: false };
  const counts: Record<string, 'sizeMiB' | 'files' | 'nfsCpFiles' | 'rounds'> = {
    '--size-mib': 'sizeMiB',
    '--files': 'files',
    '--nfs-cp-files': 'nfsCpFiles',
    '--rounds': 'rounds',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--writes-only') {
      options.writesOnly = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--base') options.base = resolve(value);
    else if (counts[flag]) {
      const n = Number(value);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`${flag} needs a positive whole number`);
      options[counts[flag]] = n;
    } else throw new Error(`unknown option ${flag} (known: ${[...Object.keys(counts), '--base', '--writes-only'].join(', ')})`);
  }
  return options;
}

/** `items` in an order that depends only on `seed` (Fisher-Yates with mulberry32), so a run can be repeated. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = (seed + 1) * 0x9e3779b9;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** Teardown steps, run last-first whatever happened (the test helpers take the same interface). */
class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  private running?: Promise<void>;

  /** A step added once the cleanup has begun (the interrupted run went on) runs right after it. */
  teardown(step: () => unknown): void {
    if (this.running) this.running = this.running.then(() => this.runStep(step));
    else this.steps.push(step);
  }

  /** Runs the steps, latest first, once: a failure the interrupted run causes waits for the signal's cleanup. */
  run(): Promise<void> {
    return (this.running ??= this.runSteps());
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await this.runStep(step);
  }

  private runStep(step: () => unknown): Promise<void> {
    return Promise.resolve()
      .then(step)
      .then(
        () => undefined,
        (err: Error) => console.error(`bench-mount: cleanup: ${err.message}`),
      );
  }
}

/** Runs a command to completion; rejects with its stderr when it fails. Resolves with its stdout. */
function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${stderr.trim()}`)),
    );
  });
}

/** Where two files first differ, for the error message. */
async function firstDifference(a: string, b: string): Promise<string> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const [ba, bb] = [Buffer.alloc(MiB), Buffer.alloc(MiB)];
    for (let offset = 0; ; offset += MiB) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, MiB, offset), fb.read(bb, 0, MiB, offset)]);
      const n = Math.min(ra.bytesRead, rb.bytesRead);
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return `first difference at byte ${offset + i}`;
      if (ra.bytesRead !== rb.bytesRead) return `sizes differ: one ends at ${offset + n}`;
      if (n === 0) return 'no difference found on a second look';
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

function zerosSha256(size: number): string {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(4 * MiB);
  for (let done = 0; done < size; done += zeros.length) hash.update(zeros.subarray(0, Math.min(zeros.length, size - done)));
  return hash.digest('hex');
}

/** CPU seconds a process has used so far (user + system), 0 when it is gone; `children`: of its children waited for. */
function processCpu(pid: number | 'self' | undefined, children = false): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const at = children ? 13 : 11;
    return (Number(fields[at]) + Number(fields[at + 1])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has been busy so far (every core; idle and iowait left out), and its core count. */
function machineCpu(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (fields.reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!) / 100;
}
const CORES = readFileSync('/proc/cpuinfo', 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('processor')).length;

interface Sample {
  readonly label: string;
  readonly seconds: number;
  /** MiB or files. */
  readonly amount: number;
  /** CPU seconds of the process that served the client side (the FUSE server), when there is one. */
  readonly clientCpu?: number;
  readonly serverCpu: number;
  /** CPU seconds of the commands run meanwhile (dd, nfs-cp: this process's children), and of the whole machine. */
  readonly commandCpu: number;
  readonly machineCpu: number;
}

/** Times `work` (or takes the time it reports), with the CPU the FUSE server (`clientPid`) and ganesha spent. */
async function measure(
  label: string,
  amount: number,
  pids: { client?: number; server?: number },
  work: () => Promise<unknown>,
): Promise<Sample> {
  const client = processCpu(pids.client);
  const server = processCpu(pids.server);
  const command = processCpu('self', true);
  const machine = machineCpu();
  const start = process.hrtime.bigint();
  const reported = await work();
  const seconds = typeof reported === 'number' ? reported : Number(process.hrtime.bigint() - start) / 1e9;
  return {
    label,
    seconds,
    amount,
    clientCpu: pids.client === undefined ? undefined : processCpu(pids.client) - client,
    serverCpu: pids.server === undefined ? 0 : processCpu(pids.server) - server,
    commandCpu: processCpu('self', true) - command,
    machineCpu: machineCpu() - machine,
  };
}

/** Drops the page cache (after a sync: only clean pages go); false where this process may not (most containers). */
async function dropCaches(): Promise<boolean> {
  const control = await open('/proc/sys/vm/drop_caches', 'w').catch(() => undefined);
  if (!control) return false;
  try {
    await run('sync', []);
    await control.write('3');
    return true;
  } finally {
    await control.close();
  }
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');

const dd = (from: string, to: string, fsync: boolean) =>
  run('dd', [`if=${from}`, `of=${to}`, 'bs=1M', ...(fsync ? ['conv=fsync'] : []), 'status=none']);

/**
 * Runs in its own node process: creates `count` files of a few bytes in a new `dir` (O_CREAT|O_EXCL); prints the
 * seconds it took. With 'existing', opens the names with O_TRUNC in `dir` as it is (the null fs, where every name is
 * a file and nothing can be made).
 */
const SMALL_FILE_WRITER = `
const { closeSync, mkdirSync, openSync, writeSync } = require('node:fs');
const [dir, count, mode] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
if (mode !== 'existing') mkdirSync(dir);
const start = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  const fd = openSync(dir + '/f' + i, mode === 'existing' ? 'w' : 'wx');
  writeSync(fd, 'file ' + i + '\\n');
  closeSync(fd);
}
process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e9));
`;

async function createSmallFiles(dir: string, count: number, mode: 'new' | 'existing' = 'new'): Promise<number> {
  return Number(await run(process.execPath, ['-e', SMALL_FILE_WRITER, dir, String(count), mode]));
}

/** Every small file is in `dir` with its content (and, when given, owned by `uid`). */
async function checkSmallFiles(dir: string, count: number, prefix: string, uid?: number): Promise<void> {
  const names = await readdir(dir);
  if (names.length !== count) throw new Error(`${dir} holds ${names.length} files, ${count} were created`);
  for (let i = 0; i < count; i++) {
    const path = join(dir, `${prefix}${i}`);
    const text = await readFile(path, 'utf8');
    if (text !== `file ${i}\n`) throw new Error(`${path} holds ${JSON.stringify(text)}, not what was written`);
    if (uid !== undefined && (await stat(path)).uid !== uid) throw new Error(`${path} is not owned by uid ${uid} on the server`);
  }
}

/**
 * Removes files of the export with NFS REMOVE. Removed behind ganesha's back (on the backing directory), a file it
 * wrote stays open in ganesha, and every later write to the export got slower (measured: 2.6, 4.2, 6.6 s per GiB).
 */
async function removeThroughNfs(server: LoopbackNfs, names: string[]): Promise<void> {
  const exp = await connectExport(server.url, { credential: CREDENTIAL });
  try {
    for (const name of names) await exp.client.remove(CREDENTIAL, exp.rootHandle, name);
  } finally {
    await exp.close();
  }
}

/** kidfs's Nfs3Client, one file at a time: CREATE, UNSTABLE WRITE, COMMIT (checked against the WRITE's verifier). */
async function rawCreateLoop(server: LoopbackNfs, dirName: string, count: number): Promise<number> {
  const exp = await connectExport(server.url, { credential: CREDENTIAL });
  try {
    const { handle: dir } = await exp.client.mkdir(CREDENTIAL, exp.rootHandle, dirName, { mode: 0o755 });
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const { handle } = await exp.client.create(CREDENTIAL, dir, `f${i}`, { mode: 'guarded', attributes: { mode: 0o644 } });
      const data = Buffer.from(`file ${i}\n`);
      const written = await exp.client.write(CREDENTIAL, handle, 0n, data, StableHow.UNSTABLE);
      if (written.count !== data.length) throw new Error(`short WRITE of f${i}`);
      const committed = await exp.client.commit(CREDENTIAL, handle);
      if (!committed.verifier.equals(written.verifier)) throw new Error('the server restarted during the benchmark');
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    await exp.close();
  }
}

const LIBNFS_LOOP_SOURCE = fileURLToPath(new URL('./bench-libnfs-create.c', import.meta.url));
const C_NULL_FS_SOURCE = fileURLToPath(new URL('./bench-null-fuse3.c', import.meta.url));
const C_BRIDGE_SOURCE = fileURLToPath(new URL('./bench-bridge-fuse3.c', import.meta.url));
const C_LOW_LEVEL_BRIDGE_SOURCE = fileURLToPath(new URL('./bench-bridge-lowlevel.c', import.meta.url));
/** libfuse options of the C programs: a kidfs mount's request sizes and worker limits. */
const C_FUSE_OPTIONS = 'max_read=1048576,max_threads=16,max_idle_threads=4,allow_other';
/** What libfuse needs to splice a 1 MiB request: a pipe of 257 pages, rounded up to a power of two. */
const SPLICE_PIPE_BYTES = 2 * MiB;
const PIPE_MAX_SIZE = '/proc/sys/fs/pipe-max-size';

interface CFuseBuild {
  /** the program's name (default: the source's); also names its mountpoint */
  name?: string;
  /** gcc flags before the source, such as -DNO_SPLICE */
  defines?: string[];
}

/**
 * Builds one of the C FUSE programs into `dir` and mounts it at `dir`/`name` with `args` before the mountpoint and a
 * kidfs mount's request sizes; unmounted and stopped in teardown.
 */
async function startCFuse(
  cleanup: Cleanup,
  dir: string,
  what: string,
  source: string,
  libraries: string[],
  args: string[],
  build: CFuseBuild = {},
): Promise<{ mountpoint: string; pid: number }> {
  const name = build.name ?? basename(source, '.c');
  const program = join(dir, name);
  const flags = (await run('pkg-config', ['--cflags', '--libs', 'fuse3'])).trim().split(/\s+/);
  await run('gcc', ['-O2', ...(build.defines ?? []), '-o', program, source, ...flags, ...libraries]).catch((err: Error) => {
    throw new Error(`cannot build ${what} (needs gcc, libfuse3-dev and libnfs-dev: bash scripts/setup.sh): ${err.message}`);
  });
  const mountpoint = join(dir, name.replace('bench-', ''));
  await mkdir(mountpoint);
  const child = spawn(program, [...args, mountpoint, '-f', '-o', C_FUSE_OPTIONS], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  cleanup.teardown(async () => {
    if (isMounted(mountpoint)) await run('fusermount3', ['-u', mountpoint]).catch(() => run('umount', ['-l', mountpoint]));
    if (child.exitCode === null) child.kill();
  });
  if (!(await waitUntil(() => isMounted(mountpoint) || child.exitCode !== null)) || !isMounted(mountpoint)) {
    throw new Error(`${what} did not mount: ${stderr.trim()}`);
  }
  return { mountpoint, pid: child.pid! };
}

/**
 * Raises /proc/sys/fs/pipe-max-size to what a spliced 1 MiB request needs, when this process may not exceed it anyway
 * (CAP_SYS_RESOURCE); the old value is written back in teardown.
 */
async function allowSplicePipes(cleanup: Cleanup): Promise<void> {
  const capabilities = /^CapEff:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const CAP_SYS_RESOURCE = 24n;
  const before = Number((await readFile(PIPE_MAX_SIZE, 'utf8')).trim());
  if ((BigInt(`0x${capabilities}`) >> CAP_SYS_RESOURCE) & 1n || before >= SPLICE_PIPE_BYTES) return;
  await writeFile(PIPE_MAX_SIZE, String(SPLICE_PIPE_BYTES)).catch((err: Error) => {
    throw new Error(`the spliced low-level bridge needs ${PIPE_MAX_SIZE} >= ${SPLICE_PIPE_BYTES} (run as root): ${err.message}`);
  });
  console.log(`  ${PIPE_MAX_SIZE} raised from ${before} to ${SPLICE_PIPE_BYTES} for the spliced bridge; put back at the end`);
  cleanup.teardown(() => writeFile(PIPE_MAX_SIZE, String(before)));
}

/** Builds the libnfs create loop into `dir`; resolves with the program's path. */
async function buildLibnfsLoop(dir: string): Promise<string> {
  const program = join(dir, 'bench-libnfs-create');
  await run('gcc', ['-O2', '-o', program, LIBNFS_LOOP_SOURCE, '-lnfs']).catch((err: Error) => {
    throw new Error(`cannot build the libnfs loop (needs gcc and libnfs-dev: bash scripts/setup.sh): ${err.message}`);
  });
  return program;
}

/** libnfs creating `count` files in a new `dirName` of the export, one after another; resolves with the seconds. */
async function libnfsLoop(program: string, server: LoopbackNfs, dirName: string, count: number): Promise<number> {
  const out = await run(program, [server.url, `/${dirName}`, String(count), String(CREDENTIAL.uid), String(CREDENTIAL.gid)]);
  return Number(out);
}

/** One nfs-cp per file: what a libnfs tool costs per small file, process start included. */
async function nfsCpLoop(source: string, dirUrl: (name: string) => string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await run('nfs-cp', [source, dirUrl(`c${i}`)]);
}

function table(title: string, unit: string, rows: Sample[]): void {
  console.log(`\n${title}`);
  const heads = ['seconds', unit, 'FUSE server CPU s', 'ganesha CPU s', 'command CPU s', `machine CPU s (of ${CORES}/s)`];
  console.log(`  ${''.padEnd(44)} ${heads.join(' ')}`);
  for (const s of rows) {
    const cols = [
      s.seconds.toFixed(2).padStart(heads[0]!.length),
      (s.amount / s.seconds).toFixed(0).padStart(heads[1]!.length),
      (s.clientCpu === undefined ? '-' : s.clientCpu.toFixed(2)).padStart(heads[2]!.length),
      s.serverCpu.toFixed(2).padStart(heads[3]!.length),
      s.commandCpu.toFixed(2).padStart(heads[4]!.length),
      `${s.machineCpu.toFixed(2)} (${((s.machineCpu / s.seconds / CORES) * 100).toFixed(0)}%)`.padStart(heads[5]!.length),
    ];
    console.log(`  ${s.label.padEnd(44)} ${cols.join(' ')}`);
  }
}

const rate = (s: Sample) => s.amount / s.seconds;

/**
 * CPU seconds per GiB moved, per process: what a copy costs the machine whatever the load. The FUSE path's sum beside
 * the machine's 2 cores shows whether CPU bounds a copy (sum / cores = the shortest time it could take).
 */
function cpuTable(title: string, rows: Sample[]): void {
  console.log(`\n${title}`);
  const heads = ['FUSE server', 'ganesha', 'dd / nfs-cp', 'sum', `sum / ${CORES} cores = s`, 'machine'];
  console.log(`  ${''.padEnd(44)} ${heads.join('  ')}`);
  for (const s of rows) {
    const gib = s.amount / 1024;
    const sum = (s.clientCpu ?? 0) + s.serverCpu + s.commandCpu;
    const cols = [
      s.clientCpu === undefined ? '-' : (s.clientCpu / gib).toFixed(2),
      (s.serverCpu / gib).toFixed(2),
      (s.commandCpu / gib).toFixed(2),
      (sum / gib).toFixed(2),
      (sum / gib / CORES).toFixed(2),
      (s.machineCpu / gib).toFixed(2),
    ];
    console.log(`  ${s.label.padEnd(44)} ${cols.map((c, i) => c.padStart(heads[i]!.length)).join('  ')}`);
  }
}

function ratio(label: string, values: number[], aim?: number): void {
  // The lower middle when the count is even: an aim is never met on the better of two rounds alone.
  const value = [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  const each = values.length > 1 ? `  [${values.map((v) => v.toFixed(2)).join(' ')}]` : '';
  const verdict = aim === undefined ? '' : value >= aim ? `  (aim >= ${aim}: met)` : `  (aim >= ${aim}: NOT met)`;
  console.log(`  ${label.padEnd(76)} ${value.toFixed(2).padStart(6)}x${each}${verdict}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const size = o.sizeMiB * MiB;
  const cleanup = new Cleanup();
  const onSignal = () => void cleanup.run().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const work = await mkdtemp(join(o.base, 'kidfs-bench-mount-'));
    chmodSync(work, 0o755);
    cleanup.teardown(async () => {
      // Never delete through a mount that failed to go away.
      if ((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${work}/`))
        throw new Error(`something is still mounted in ${work}: left in place`);
      await rm(work, { recursive: true, force: true });
    });
    const local = join(work, 'local');
    await mkdir(local);
    const server = await startLoopbackNfs({ dir: join(work, 'export') });
    cleanup.teardown(() => server.stop());
    chmodSync(server.dir, 0o777);
    // nfs-cp acts as the mount's identity (libnfs's uid= and gid=), so the server does the same work for both: as root
    // it would skip the permission checks it makes for anyone else.
    const fileUrl = (name: string) => server.url.replace('?', `/${name}?uid=${CREDENTIAL.uid}&gid=${CREDENTIAL.gid}&`);
    const config = join(work, 'kidfs.ini');
    await writeFile(config, `[static]\n${IDENTITY} = ${CREDENTIAL.uid}:${CREDENTIAL.gid}\n`);

    let mountCount = 0;
    const mountKidfs = (): Promise<KidfsMountProcess> =>
      startMount(cleanup, { url: server.url, identity: IDENTITY, config, dir: work, name: `mnt${++mountCount}` });
    const stopKidfs = async (mount: KidfsMountProcess) => {
      const { code, stderr } = await mount.stop();
      if (code !== 0) throw new Error(`kidfs mount ${mount.target} exited with ${code}: ${stderr.trim()}`);
    };

    console.log(
      `bench-mount: ${o.sizeMiB} MiB sequential, ${o.files} small files, in ${work} (export ${server.url}); load average ${load()}`,
    );
    const source = join(work, 'source.bin');
    const expected = await makeSource(source, size);
    const copy = join(work, 'copy.bin');
    /**
     * A fresh process runs its first GiBs while V8 still compiles the data path; a node daemon serving pods has long
     * done so (its mounts share one V8). Before a timed copy, a fresh mount (and the null fs, once) writes another file
     * and reads it twice, WARM_UP_PASSES times (the first read after a write goes through FUSE, and so does the one
     * after it: see test/fuse/page-cache). Nothing of it serves the timed file: kidfs keeps no data across open, and
     * the kernel only a file's own pages. Prints, per pass, the write's speed and the server process's CPU per GiB.
     */
    const warmUp = async (label: string, dir: string, pid: number, { remove = true } = {}) => {
      const file = join(dir, 'warm-up.bin');
      const mib = Math.min(WARM_UP_MIB, o.sizeMiB);
      const passes: string[] = [];
      for (let pass = 0; pass < WARM_UP_PASSES; pass++) {
        const [cpuBefore, started] = [processCpu(pid), performance.now()];
        await run('dd', [`if=${source}`, `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fsync', 'status=none']);
        const seconds = (performance.now() - started) / 1000;
        const cpuPerGiB = ((processCpu(pid) - cpuBefore) * 1024) / mib;
        passes.push(`${(mib / seconds).toFixed(0)} MiB/s ${cpuPerGiB.toFixed(2)} s`);
        for (let read = 0; read < 2; read++) await run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none']);
      }
      console.log(`  warm-up of ${label}, per pass of ${mib} MiB, write speed and CPU s per GiB: ${passes.join(', ')}`);
      if (remove) await rm(file);
    };
    const checkFile = async (what: string, path: string, want = expected) => {
      const got = await sha256File(path);
      if (got === want) return;
      const where = want === expected ? `; ${await firstDifference(source, path)}` : '';
      throw new Error(
        `${what}: the data differs from what was written (sha256 ${got.slice(0, 16)}, expected ${want.slice(0, 16)}${where})`,
      );
    };
    const checkCopy = async (what: string, want = expected) => {
      await checkFile(what, copy, want);
      await rm(copy);
    };

    // The FUSE binding's ceiling: a null file system served by the same kidfs FUSE layer in its own process.
    const nullFs: FuseServer = await startFuseServer(cleanup, {
      fs: 'null',
      nullFileSize: size,
      options: { name: 'bench-null', allowOther: true, attrTimeoutSeconds: 1, entryTimeoutSeconds: 1, negativeTimeoutSeconds: 0 },
    });

    // FUSE's own ceiling: every name is a file of `size` zero bytes.
    const cNull = await startCFuse(cleanup, work, 'the C null file system', C_NULL_FS_SOURCE, [], [String(size)]);
    // The bound of a bridge with kidfs's design: FUSE in front of libnfs, in C, acting as the mount's identity.
    const bridgeArgs = [server.url, String(CREDENTIAL.uid), String(CREDENTIAL.gid)];
    const nfsLibraries = ['-lnfs', '-lpthread'];
    const cBridge = await startCFuse(cleanup, work, 'the C bridge', C_BRIDGE_SOURCE, nfsLibraries, bridgeArgs);
    // The bound of any bridge: low-level, uncopied (splice); and that program copying, to show what the copies cost.
    await allowSplicePipes(cleanup);
    const spliceBridge = await startCFuse(
      cleanup,
      work,
      'the spliced low-level bridge',
      C_LOW_LEVEL_BRIDGE_SOURCE,
      nfsLibraries,
      bridgeArgs,
    );
    const copyingBridge = await startCFuse(
      cleanup,
      work,
      'the copying low-level bridge',
      C_LOW_LEVEL_BRIDGE_SOURCE,
      nfsLibraries,
      bridgeArgs,
      {
        name: 'bench-bridge-copying',
        defines: ['-DNO_SPLICE'],
      },
    );
    const srv = server.pid;
    const libnfsProgram = await buildLibnfsLoop(work);
    let dropped = true;
    const drop = async () => void (dropped = (await dropCaches()) && dropped);
    const smallSource = join(work, 'small-source.txt');
    await writeFile(smallSource, 'file 0\n');

    /** One round of every measurement; its big files are removed at the end (nfs-cp does not overwrite). */
    const round = async (r: number): Promise<Sample[][]> => {
      const writes: Sample[] = [];
      const reads: Sample[] = [];
      const small: Sample[] = [];
      let readOrder: number[] = [];

      // ---- sequential write ----
      writes.push(await measure('local directory (dd conv=fsync)', o.sizeMiB, {}, () => dd(source, join(local, 'big.bin'), true)));
      await checkFile('local write', join(local, 'big.bin'));
      let mount = await mountKidfs();
      await warmUp('the write mount', mount.target, mount.pid);
      if (r === 0) await warmUp('the FUSE null fs', nullFs.mountpoint, nullFs.pid, { remove: false }); // it serves every round
      const ddTo = (path: string) => () => dd(source, path, true);
      const copies: [string, { client?: number; server?: number }, () => Promise<unknown>][] = [
        ['kidfs mount (dd conv=fsync)', { client: mount.pid, server: srv }, ddTo(join(mount.target, 'big.bin'))],
        ['nfs-cp (libnfs)', { server: srv }, () => run('nfs-cp', [source, fileUrl('libnfs.bin')])],
        ['FUSE null fs ceiling (dd conv=fsync)', { client: nullFs.pid }, ddTo(join(nullFs.mountpoint, 'big.bin'))],
        ['C libfuse 3 null fs (dd conv=fsync)', { client: cNull.pid }, ddTo(join(cNull.mountpoint, 'big.bin'))],
        [
          'C bridge, libfuse 3 + libnfs (dd conv=fsync)',
          { client: cBridge.pid, server: srv },
          ddTo(join(cBridge.mountpoint, 'bridge.bin')),
        ],
        [
          'C low-level bridge, spliced (dd conv=fsync)',
          { client: spliceBridge.pid, server: srv },
          ddTo(join(spliceBridge.mountpoint, 'splice.bin')),
        ],
        [
          'C low-level bridge, copying (dd conv=fsync)',
          { client: copyingBridge.pid, server: srv },
          ddTo(join(copyingBridge.mountpoint, 'copying.bin')),
        ],
      ];
      // On this machine a copy's speed depends on when in the round it runs (in a 12-round run the last rows of a round
      // were up to 3x slower than the first): each round runs these rows in its own shuffled order.
      const timed: Sample[] = [];
      const writeOrder = shuffled([...copies.keys()], r);
      for (const i of writeOrder) {
        const [label, pids, work] = copies[i]!;
        timed[i] = await measure(label, o.sizeMiB, pids, work);
      }
      writes.push(...timed);
      await stopKidfs(mount);
      await checkFile('kidfs mount write (file on the server)', join(server.dir, 'big.bin'));
      await checkFile('nfs-cp write (file on the server)', join(server.dir, 'libnfs.bin'));
      await checkFile('C bridge write (file on the server)', join(server.dir, 'bridge.bin'));
      await checkFile('C low-level bridge (spliced) write (file on the server)', join(server.dir, 'splice.bin'));
      await checkFile('C low-level bridge (copying) write (file on the server)', join(server.dir, 'copying.bin'));

      if (!o.writesOnly) {
        // ---- sequential read: every reader writes a copy next to the source ----
        mount = await mountKidfs();
        await warmUp('the read mount', mount.target, mount.pid);
        await drop();
        reads.push(await measure('local directory (dd)', o.sizeMiB, {}, () => dd(join(local, 'big.bin'), copy, false)));
        await checkCopy('local read');
        // The rows that read over FUSE or NFS, in a shuffled order per round as the writes (the re-read belongs to the
        // mount's row: the same file again through the same mount, unchanged since its last open, so from the page cache).
        const readInto = (path: string) => () => dd(path, copy, false);
        const readRows: [string, { client?: number; server?: number }, () => Promise<unknown>, () => Promise<void>][] = [
          [
            'kidfs mount, fresh mount (dd)',
            { client: mount.pid, server: srv },
            readInto(join(mount.target, 'big.bin')),
            async () => {
              await checkCopy('kidfs mount read');
              // Into /dev/null: a copy into tmpfs would time tmpfs; the checksum that follows reads it through the mount again.
              timedReads[readRows.length] = await measure(
                'kidfs mount, re-read of the unchanged file (dd to /dev/null)',
                o.sizeMiB,
                { client: mount.pid, server: srv },
                () => dd(join(mount.target, 'big.bin'), '/dev/null', false),
              );
              await checkFile('kidfs mount re-read', join(mount.target, 'big.bin'));
            },
          ],
          ['nfs-cp (libnfs)', { server: srv }, () => run('nfs-cp', [fileUrl('libnfs.bin'), copy]), () => checkCopy('nfs-cp read')],
          [
            'FUSE null fs ceiling (dd)',
            { client: nullFs.pid },
            readInto(join(nullFs.mountpoint, 'big.bin')),
            () => checkCopy('FUSE null fs read', zerosSha256(size)),
          ],
          [
            'C libfuse 3 null fs (dd)',
            { client: cNull.pid },
            readInto(join(cNull.mountpoint, 'big.bin')),
            () => checkCopy('C null fs read', zerosSha256(size)),
          ],
          [
            'C bridge, libfuse 3 + libnfs (dd)',
            { client: cBridge.pid, server: srv },
            readInto(join(cBridge.mountpoint, 'bridge.bin')),
            () => checkCopy('C bridge read'),
          ],
        ];
        const timedReads: Sample[] = [];
        readOrder = shuffled([...readRows.keys()], r);
        for (const i of readOrder) {
          const [label, pids, work, check] = readRows[i]!;
          await drop();
          timedReads[i] = await measure(label, o.sizeMiB, pids, work);
          await check();
        }
        // The table's order: the mount's first read, its re-read, then the others.
        reads.push(timedReads[0]!, timedReads[readRows.length]!, ...timedReads.slice(1, readRows.length));

        // ---- small files ----
        small.push(await measure('local directory', o.files, {}, () => createSmallFiles(join(local, `small${r}`), o.files)));
        await checkSmallFiles(join(local, `small${r}`), o.files, 'f');
        // A fresh mount: the first pass runs while V8 compiles the path, the second is the steady state.
        await stopKidfs(mount);
        mount = await mountKidfs();
        for (const pass of ['first', 'steady'] as const) {
          const label = pass === 'first' ? `kidfs mount, first ${o.files} after mounting` : 'kidfs mount, steady state';
          small.push(
            await measure(label, o.files, { client: mount.pid, server: srv }, () =>
              createSmallFiles(join(mount.target, `small${r}${pass}`), o.files),
            ),
          );
          await checkSmallFiles(join(server.dir, `small${r}${pass}`), o.files, 'f', CREDENTIAL.uid);
        }
        small.push(
          await measure('libnfs loop: create O_EXCL, write, fsync, close', o.files, { server: srv }, () =>
            libnfsLoop(libnfsProgram, server, `libnfs${r}`, o.files),
          ),
        );
        await checkSmallFiles(join(server.dir, `libnfs${r}`), o.files, 'f', CREDENTIAL.uid);
        small.push(
          await measure('Nfs3Client loop: CREATE+WRITE+COMMIT per file', o.files, { server: srv }, () =>
            rawCreateLoop(server, `raw${r}`, o.files),
          ),
        );
        await checkSmallFiles(join(server.dir, `raw${r}`), o.files, 'f', CREDENTIAL.uid);
        await createSmallFiles(nullFs.mountpoint, o.files, 'existing'); // the same warm-up as the mount's
        small.push(
          await measure('FUSE null fs ceiling (open O_TRUNC, no create)', o.files, { client: nullFs.pid }, () =>
            createSmallFiles(nullFs.mountpoint, o.files, 'existing'),
          ),
        );
        await mkdir(join(server.dir, `nfscp${r}`));
        chmodSync(join(server.dir, `nfscp${r}`), 0o777); // nfs-cp writes as the identity
        small.push(
          await measure(`nfs-cp, one process per file (${o.nfsCpFiles} files)`, o.nfsCpFiles, { server: srv }, () =>
            nfsCpLoop(smallSource, (name) => fileUrl(`nfscp${r}/${name}`), o.nfsCpFiles),
          ),
        );
        const copies = await readdir(join(server.dir, `nfscp${r}`));
        if (copies.length !== o.nfsCpFiles) throw new Error(`nfs-cp made ${copies.length} of ${o.nfsCpFiles} files`);
        await stopKidfs(mount);
      }

      await rm(join(local, 'big.bin'));
      await removeThroughNfs(server, ['big.bin', 'libnfs.bin', 'bridge.bin', 'splice.bin', 'copying.bin']);
      const summary = (name: string, rows: Sample[], unit: string) => `${name} ${rows.map((s) => rate(s).toFixed(0)).join('/')} ${unit}`;
      // The tables' row numbers: the local directory's is 1 in both, and the re-read is row 3 of the reads.
      const readsRun = readOrder.map((i) => (i === 0 ? 2 : i + 3)).join(' ');
      const others = o.writesOnly
        ? ''
        : `; ${summary('read', reads, 'MiB/s')} (run as rows ${readsRun}); ${summary('small files', small, 'files/s')}`;
      const order = writeOrder.map((i) => i + 2).join(' ');
      console.log(
        `round ${r + 1} of ${o.rounds} (the rows' order): ${summary('write', writes, 'MiB/s')} (run as rows ${order})${others}; load ${load()}`,
      );
      return [writes, reads, small];
    };

    const rounds: Sample[][][] = [];
    for (let r = 0; r < o.rounds; r++) rounds.push(await round(r));
    await nullFs.stop();
    // Per row, the round with the median time.
    const [writes, reads, small] = [0, 1, 2].map((section) =>
      rounds[0]![section]!.map((_, row) => {
        const samples = rounds.map((result) => result[section]![row]!).sort((a, b) => a.seconds - b.seconds);
        return samples[Math.floor(samples.length / 2)]!;
      }),
    ) as [Sample[], Sample[], Sample[]];
    const median = o.rounds > 1 ? `, median of ${o.rounds} rounds` : '';
    table(`sequential write, ${o.sizeMiB} MiB${median}`, 'MiB/s', writes);
    if (!o.writesOnly) {
      table(
        `sequential read, ${o.sizeMiB} MiB${median} (into a file on ${o.base}; page cache ${dropped ? 'dropped' : 'not dropped: not allowed here'})`,
        'MiB/s',
        reads,
      );
      table(`small files: create, write a few bytes, close (${o.files} files unless said)${median}`, 'files/s', small);
    }
    cpuTable('CPU seconds per GiB, sequential write (the median round)', writes);
    if (!o.writesOnly) {
      cpuTable('CPU seconds per GiB, sequential read (the median round)', reads);
      const nfsCp = small[6]!;
      console.log(`  nfs-cp per file: ${((nfsCp.seconds / nfsCp.amount) * 1000).toFixed(1)} ms (mostly process start and MNT)`);
    }

    // Each ratio is taken within a round (its rows ran back to back, under the same load), then the median of the rounds.
    const perRound = (section: number, f: (rate: (row: number) => number) => number): number[] =>
      rounds.map((result) => f((row) => rate(result[section]![row]!)));
    const [W, R, S] = [0, 1, 2];
    const [LOCAL, MOUNT, NFS_CP, NULL, C_NULL, BRIDGE, SPLICE, COPYING] = [0, 1, 2, 3, 4, 5, 6, 7];
    const [R_LOCAL, R_MOUNT, R_REREAD, R_NFS_CP, R_NULL, R_C_NULL, R_BRIDGE] = [0, 1, 2, 3, 4, 5, 6];
    const [S_LOCAL, S_FIRST, S_STEADY, S_LIBNFS, S_RAW, S_NULL, S_NFS_CP] = [0, 1, 2, 3, 4, 5, 6];
    console.log(`\nratios (throughput; >1 is faster): the median of the rounds' ratios${o.rounds > 1 ? ', each round in brackets' : ''}`);
    ratio(
      'write: kidfs mount / nfs-cp',
      perRound(W, (r) => r(MOUNT) / r(NFS_CP)),
      0.8,
    );
    ratio(
      'write: C bridge (libfuse 3 + libnfs, no JavaScript) / nfs-cp',
      perRound(W, (r) => r(BRIDGE) / r(NFS_CP)),
    );
    ratio(
      'write: kidfs mount / C bridge',
      perRound(W, (r) => r(MOUNT) / r(BRIDGE)),
    );
    ratio(
      'write: C low-level bridge, spliced / nfs-cp',
      perRound(W, (r) => r(SPLICE) / r(NFS_CP)),
    );
    ratio(
      'write: C low-level bridge, copying / nfs-cp',
      perRound(W, (r) => r(COPYING) / r(NFS_CP)),
    );
    ratio(
      'write: kidfs mount / C low-level bridge, copying',
      perRound(W, (r) => r(MOUNT) / r(COPYING)),
    );
    ratio(
      'write: kidfs mount / FUSE ceiling',
      perRound(W, (r) => r(MOUNT) / r(NULL)),
    );
    ratio(
      'write: kidfs mount / local directory',
      perRound(W, (r) => r(MOUNT) / r(LOCAL)),
    );
    ratio(
      'write: FUSE null fs (JavaScript) / C libfuse 3 null fs',
      perRound(W, (r) => r(NULL) / r(C_NULL)),
    );
    ratio(
      'write: nfs-cp / C libfuse 3 null fs',
      perRound(W, (r) => r(NFS_CP) / r(C_NULL)),
    );
    if (!o.writesOnly) {
      ratio(
        'read: kidfs mount / nfs-cp',
        perRound(R, (r) => r(R_MOUNT) / r(R_NFS_CP)),
        0.8,
      );
      ratio(
        'read: C bridge (libfuse 3 + libnfs, no JavaScript) / nfs-cp',
        perRound(R, (r) => r(R_BRIDGE) / r(R_NFS_CP)),
      );
      ratio(
        'read: kidfs mount / C bridge',
        perRound(R, (r) => r(R_MOUNT) / r(R_BRIDGE)),
      );
      ratio(
        'read: kidfs mount / FUSE ceiling',
        perRound(R, (r) => r(R_MOUNT) / r(R_NULL)),
      );
      ratio(
        'read: kidfs mount / local directory',
        perRound(R, (r) => r(R_MOUNT) / r(R_LOCAL)),
      );
      ratio(
        'read: FUSE null fs (JavaScript) / C libfuse 3 null fs',
        perRound(R, (r) => r(R_NULL) / r(R_C_NULL)),
      );
      ratio(
        'read: nfs-cp / C libfuse 3 null fs',
        perRound(R, (r) => r(R_NFS_CP) / r(R_C_NULL)),
      );
      ratio(
        're-read of the unchanged file / its first read (page cache kept)',
        perRound(R, (r) => r(R_REREAD) / r(R_MOUNT)),
        5,
      );
      ratio(
        'small files: kidfs mount (steady) / libnfs loop',
        perRound(S, (r) => r(S_STEADY) / r(S_LIBNFS)),
        0.8,
      );
      ratio(
        'small files: kidfs mount (first after mounting) / libnfs loop',
        perRound(S, (r) => r(S_FIRST) / r(S_LIBNFS)),
      );
      ratio(
        'small files: kidfs mount (steady) / Nfs3Client loop',
        perRound(S, (r) => r(S_STEADY) / r(S_RAW)),
      );
      ratio(
        'small files: kidfs mount (steady) / FUSE ceiling',
        perRound(S, (r) => r(S_STEADY) / r(S_NULL)),
      );
      ratio(
        'small files: kidfs mount (steady) / local directory',
        perRound(S, (r) => r(S_STEADY) / r(S_LOCAL)),
      );
      ratio(
        'small files: kidfs mount (steady) / nfs-cp per file',
        perRound(S, (r) => r(S_STEADY) / r(S_NFS_CP)),
      );
      // The application waits for each FUSE request, and kidfs can answer LOOKUP, CREATE and FLUSH only once their RPC
      // (LOOKUP, CREATE, FILE_SYNC WRITE) has come back: per file it needs at least the FUSE ceiling's time for as many
      // requests plus three round trips, which the libnfs loop's time stands for (CREATE, WRITE, COMMIT).
      const floor = perRound(S, (r) => 1 / (1 / r(S_NULL) + 1 / r(S_LIBNFS)) / r(S_LIBNFS));
      ratio('small files: bound for any FUSE client with these guarantees / libnfs loop', floor);
    }
    const smallChecked = o.writesOnly ? '' : ', content and owner of every small file';
    console.log(`\nall data checked: sha256 ${expected.slice(0, 16)}… for every 1-file copy${smallChecked}`);
    console.log(`load average at the end ${load()}`);
  } finally {
    await cleanup.run();
  }
}

main().catch((err: Error) => {
  console.error(`bench-mount: ${err.message}`);
  process.exit(1);
});
