// Benchmark: kidfs's NFSv3 client against libnfs's nfs-cp, same loopback ganesha, same data, same run.
//
//   node --import tsx scripts/bench-nfs.ts [--size-mib 1024] [--chunk-mib 1] [--in-flight 8] [--rounds 3]
//
// Copies a random local file (on tmpfs) to the export and back with each client, checks every copy by SHA-256,
// and prints times, MiB/s and the kidfs/libnfs ratio per direction (the median of the rounds; the clients take
// turns going first). The export itself lives on tmpfs so the numbers compare the clients, not the disk.
// It also prints the CPU seconds each client and the server spent: on a busy machine wall times wander,
// CPU time much less.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connectExport } from '../src/nfs/nfs-export.ts';
import { READ_REPLY_SLACK, type Nfs3Client } from '../src/nfs/nfs3-client.ts';
import { StableHow, type FileHandle } from '../src/nfs/nfs3-types.ts';
import type { Credential } from '../src/nfs/rpc-transport.ts';
import { makeSource, sha256File } from './bench-files.ts';
import { startLoopbackNfs } from './loopback-nfs.ts';

const MiB = 1024 * 1024;
const ROOT: Credential = { uid: 0, gid: 0, gids: [] };

interface Options {
  sizeMiB: number;
  chunkMiB: number;
  inFlight: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { sizeMiB: 1024, chunkMiB: 1, inFlight: 8, rounds: 3 };
  const names: Record<string, keyof Options> = {
    '--size-mib': 'sizeMiB',
    '--chunk-mib': 'chunkMiB',
    '--in-flight': 'inFlight',
    '--rounds': 'rounds',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = names[argv[i]!];
    const value = Number(argv[++i]);
    if (!key) throw new Error(`unknown option ${argv[i - 1]} (known: ${Object.keys(names).join(', ')})`);
    if (!(value > 0) || (key !== 'chunkMiB' && !Number.isInteger(value))) throw new Error(`${argv[i - 1]} needs a positive number`);
    options[key] = value;
  }
  if (options.chunkMiB > 64) throw new Error("--chunk-mib must be at most 64 (ganesha's rtmax/wtmax)");
  return options;
}

/** Runs `count` workers that each take the next chunk offset until `size` is covered. */
async function inParallel(
  size: number,
  chunk: number,
  count: number,
  work: (offset: number, length: number, buffer: Buffer) => Promise<void>,
) {
  let next = 0;
  const worker = async () => {
    const buffer = Buffer.allocUnsafe(chunk);
    while (next < size) {
      const offset = next;
      next += chunk;
      await work(offset, Math.min(chunk, size - offset), buffer);
    }
  };
  await Promise.all(Array.from({ length: count }, worker));
}

/** Creates `name` in the export's root and fills it from `source`: UNSTABLE WRITEs in parallel, then COMMIT. */
async function kidfsWrite(
  client: Nfs3Client,
  root: FileHandle,
  name: string,
  source: string,
  size: number,
  o: Options,
): Promise<FileHandle> {
  const { handle: fh } = await client.create(ROOT, root, name, { mode: 'guarded', attributes: { mode: 0o644 } });
  const input = await open(source, 'r');
  let verifier: Buffer | undefined;
  try {
    await inParallel(size, o.chunkMiB * MiB, o.inFlight, async (offset, length, buffer) => {
      const { bytesRead } = await input.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new Error(`short read of the source at ${offset}`);
      for (let done = 0; done < length;) {
        const result = await client.write(ROOT, fh, BigInt(offset + done), buffer.subarray(done, length), StableHow.UNSTABLE);
        verifier ??= result.verifier;
        if (!verifier.equals(result.verifier)) throw new Error('the write verifier changed: the server restarted during the benchmark');
        done += result.count;
      }
    });
  } finally {
    await input.close();
  }
  const commit = await client.commit(ROOT, fh);
  if (verifier && !verifier.equals(commit.verifier)) throw new Error("COMMIT verifier differs from the WRITEs': data was lost");
  return fh;
}

/**
 * Reads the file with READs in parallel into `target`, each reply into a reused buffer as the mount's read-ahead
 * does. The local file is written synchronously, as nfs-cp does: parallel pwrites to one tmpfs file only contend for
 * its lock, and chaining them through the event loop adds a hop per chunk; meanwhile the replies still in flight
 * wait in the socket.
 */
async function kidfsRead(client: Nfs3Client, fh: FileHandle, target: string, size: number, o: Options): Promise<void> {
  const output = openSync(target, 'w');
  const spare: Buffer[] = [];
  try {
    await inParallel(size, o.chunkMiB * MiB, o.inFlight, async (offset, length) => {
      const into = spare.pop() ?? Buffer.allocUnsafe(o.chunkMiB * MiB + READ_REPLY_SLACK);
      try {
        for (let done = 0; done < length;) {
          const result = await client.read(ROOT, fh, BigInt(offset + done), length - done, { into });
          if (result.count === 0) throw new Error(`READ at ${offset + done} returned nothing before the end of the file`);
          writeSync(output, result.data, 0, result.count, offset + done);
          done += result.count;
        }
      } finally {
        spare.push(into);
      }
    });
  } finally {
    closeSync(output);
  }
}

/** Runs nfs-cp and resolves with the CPU seconds it used (bash's `times` reports its children's). */
function nfsCp(from: string, to: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'nfs-cp "$1" "$2" >/dev/null && times', 'nfs-cp', from, to], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`nfs-cp ${from} ${to} failed (${code}): ${stderr.trim()}`));
      // The second line of `times`: children's user and system time, like "0m0.033s 0m0.303s".
      const times = [...(stdout.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
      if (times.length !== 2) return reject(new Error(`cannot read nfs-cp's CPU time from ${JSON.stringify(stdout)}`));
      resolve(times.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0));
    });
  });
}

/** CPU seconds a process has used so far (user + system, from /proc). */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks of 1/100 s
}

interface Sample {
  /** Wall seconds. */
  wall: number;
  /** CPU seconds of the client. */
  client: number;
  /** CPU seconds of the server. */
  server: number;
}

/** Times one copy; `run` resolves with the client's CPU seconds when it runs in another process. */
async function measure(serverPid: number, run: () => Promise<number | void>): Promise<Sample> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const server = processCpu(serverPid);
  const childCpu = await run();
  const own = process.cpuUsage(cpu);
  return {
    wall: Number(process.hrtime.bigint() - start) / 1e9,
    client: typeof childCpu === 'number' ? childCpu : (own.user + own.system) / 1e6,
    server: processCpu(serverPid) - server,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const size = o.sizeMiB * MiB;
  const work = await mkdtemp('/dev/shm/kidfs-bench-');
  const server = await startLoopbackNfs({ dir: join(work, 'export') });
  const exp = await connectExport(server.url, { credential: ROOT });
  try {
    const fileUrl = (name: string) => server.url.replace('?', `/${name}?`);
    const source = join(work, 'source.bin');
    console.log(
      `bench-nfs: ${o.sizeMiB} MiB x ${o.rounds} rounds, kidfs chunks of ${o.chunkMiB} MiB with ${o.inFlight} in flight; ` +
        `export on tmpfs (${server.url})`,
    );
    const expected = await makeSource(source, size);
    let handle: FileHandle | undefined;
    const copies = ['export/kidfs.bin', 'export/libnfs.bin', 'kidfs-read.bin', 'libnfs-read.bin'];
    const samples = { write: { kidfs: [] as Sample[], libnfs: [] as Sample[] }, read: { kidfs: [] as Sample[], libnfs: [] as Sample[] } };

    for (let round = 0; round < o.rounds; round++) {
      // Both clients write new files every round (nfs-cp will not overwrite).
      for (const copy of copies) await rm(join(work, copy), { force: true });
      const steps = {
        write: {
          kidfs: async () => void (handle = await kidfsWrite(exp.client, exp.rootHandle, 'kidfs.bin', source, size, o)),
          libnfs: () => nfsCp(source, fileUrl('libnfs.bin')),
        },
        read: {
          kidfs: () => kidfsRead(exp.client, handle!, join(work, 'kidfs-read.bin'), size, o),
          libnfs: () => nfsCp(fileUrl('libnfs.bin'), join(work, 'libnfs-read.bin')),
        },
      };
      const order = round % 2 === 0 ? (['kidfs', 'libnfs'] as const) : (['libnfs', 'kidfs'] as const);
      for (const direction of ['write', 'read'] as const) {
        for (const client of order) samples[direction][client].push(await measure(server.pid, steps[direction][client]));
      }
      for (const copy of copies) {
        if ((await sha256File(join(work, copy))) !== expected)
          throw new Error(`round ${round + 1}: ${copy} differs from the source: a client corrupted data`);
      }
      const line = (['write', 'read'] as const)
        .map((d) => `${d} kidfs ${samples[d].kidfs[round]!.wall.toFixed(2)} s, libnfs ${samples[d].libnfs[round]!.wall.toFixed(2)} s`)
        .join('; ');
      console.log(`round ${round + 1}: ${line}; all 4 copies match the source`);
    }

    console.log(`sha256 of the source ${expected.slice(0, 16)}…; medians of ${o.rounds} rounds:`);
    console.log('        wall s  MiB/s  client CPU s  server CPU s');
    for (const direction of ['write', 'read'] as const) {
      const row = (client: 'kidfs' | 'libnfs') => {
        const pick = (key: keyof Sample) => median(samples[direction][client].map((s) => s[key]));
        const wall = pick('wall');
        const cols = [
          wall.toFixed(2).padStart(6),
          (o.sizeMiB / wall).toFixed(0).padStart(6),
          pick('client').toFixed(2).padStart(13),
          pick('server').toFixed(2).padStart(13),
        ];
        console.log(`${direction.padEnd(5)} ${client.padEnd(6)} ${cols.join(' ')}`);
        return wall;
      };
      const kidfs = row('kidfs');
      const libnfs = row('libnfs');
      console.log(`${direction.padEnd(5)} kidfs/libnfs throughput ${(libnfs / kidfs).toFixed(2)}x`);
    }
  } finally {
    await exp.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`bench-nfs: ${err.message}`);
  process.exit(1);
});
