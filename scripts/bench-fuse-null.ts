// The ceiling of the FUSE binding itself: a file system that stores nothing (test/helpers/null-fs.ts),
// served through src/fuse in its own process, written and read with 1 MiB calls from this one.
// Usage: node --import tsx scripts/bench-fuse-null.ts [MiB]   (default 1024; 1/16 of it without big writes)
import { open } from 'node:fs/promises';
import { startFuseServer } from '../test/helpers/fuse-server-client.ts';

const MiB = 1 << 20;
const sizeMiB = Number(process.argv[2] ?? 1024);
const RUNS = 3;

async function writeMiBps(path: string, mib: number): Promise<number> {
  const chunk = Buffer.alloc(MiB, 1);
  const file = await open(path, 'w');
  const start = process.hrtime.bigint();
  for (let i = 0; i < mib; i++) await file.write(chunk, 0, MiB, i * MiB);
  await file.close();
  return mib / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function readMiBps(path: string, mib: number): Promise<number> {
  const chunk = Buffer.alloc(MiB);
  const file = await open(path, 'r');
  const start = process.hrtime.bigint();
  let total = 0;
  for (;;) {
    const { bytesRead } = await file.read(chunk, 0, MiB, total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  await file.close();
  if (total !== mib * MiB) throw new Error(`read ${total} bytes of ${mib * MiB}`);
  return mib / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const cleanups: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => cleanups.push(fn) };
  try {
    const big = await startFuseServer(t, { fs: 'null', nullFileSize: sizeMiB * MiB, options: { name: 'bench-null' } });
    const small = await startFuseServer(t, { fs: 'null', nullFileSize: 0, options: { name: 'bench-null-4k', bigWrites: false } });
    const smallMiB = Math.max(1, Math.round(sizeMiB / 16));
    const results: Array<[string, number[]]> = [
      [`write, big writes (1 MiB requests), ${sizeMiB} MiB`, []],
      [`write, without big writes (4 KiB requests), ${smallMiB} MiB`, []],
      [`read (1 MiB requests), ${sizeMiB} MiB`, []],
    ];
    for (let run = 0; run < RUNS; run++) {
      results[0][1].push(await writeMiBps(`${big.mountpoint}/w${run}`, sizeMiB));
      results[1][1].push(await writeMiBps(`${small.mountpoint}/w${run}`, smallMiB));
      results[2][1].push(await readMiBps(`${big.mountpoint}/r${run}`, sizeMiB));
    }
    console.log(`FUSE ceiling (null file system through src/fuse, 1 MiB calls, median of ${RUNS} runs):`);
    for (const [label, values] of results) {
      console.log(`  ${label}: ${median(values).toFixed(0)} MiB/s   (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`);
    }
    console.log(`  big writes / 4 KiB writes: ${(median(results[0][1]) / median(results[1][1])).toFixed(1)}x`);
    await Promise.all([big.stop(), small.stop()]);
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

await main();
