// Benchmark: one node daemon (`kidfs node`, its own process) holding the volume of N pods, each its own FUSE mount,
// against a loopback ganesha and the loopback Kubernetes API server (N pods on node-a). Reports the daemon's resident
// memory (VmRSS) before and after the N mounts and after every mount was used once, the time of a cold publish (the
// pod and its token verified, the identity mapped), and of a warm NodePublishVolume (identity cached, connection
// open: unpublish + publish of one pod again, median of --rounds). Aim from issue 5: < 500 MiB for 100 mounts,
// < 100 ms per publish. Every mount is unpublished at the end (and detached, and the daemon stopped, on failure).
//
//   node --import tsx scripts/bench-node.ts [--pods 100] [--rounds 30]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from '../test/helpers/kidfs-mount.ts';
import { TestCluster, type TestPod } from '../test/helpers/node-fixture.ts';
import { NodeProcess } from '../test/helpers/node-process.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} needs a whole number of at least 1`);
  return value;
}

const PODS = option('pods', 100);
const ROUNDS = option('rounds', 30);

/** The number of threads of a process (libfuse workers included). */
function threads(pid: number): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

/** VmRSS of a process, MiB. */
function rssMiB(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) / 1024;
}

/** Established TCP connections of `pid` to `port` on loopback. */
function connections(pid: number, port: number): number {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(`pid=${pid},`)).length;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (values: readonly number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const mib = (value: number): string => `${value.toFixed(1)} MiB`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

// Teardown in reverse order, as tap runs it: daemon (and its mounts) before the servers it uses.
const cleanups: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void cleanups.push(fn) };

async function main(): Promise<void> {
  const cluster = await TestCluster.start(t);
  const server = await startServer(t);
  const node = await NodeProcess.start(t, { cluster, server, cacheTtl: '10m' });
  const pid = node.pid!;
  console.log(`kidfs node (pid ${pid}): ${PODS} pods on node-a, each publishing one volume (subDir cms of one loopback ganesha export)`);
  console.log(`  VmRSS with no mount:              ${mib(rssMiB(pid))}; threads: ${threads(pid)}`);

  const pods: { pod: TestPod; target: string; token: string }[] = [];
  const cold: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const pod = cluster.pod((['editor', 'viewer', 'api'] as const)[i % 3]);
    const target = node.target(pod);
    const token = cluster.token(pod);
    cold.push(await timed(() => node.csi.call('Node', 'NodePublishVolume', node.publishRequest(pod, target, { token }))));
    pods.push({ pod, target, token });
  }
  const afterMounts = rssMiB(pid);
  console.log(`  VmRSS after ${PODS} mounts:           ${mib(afterMounts)}   (aim: < 500 MiB for 100); threads: ${threads(pid)}`);

  // Each mount used once: a file written and read back through it (the mounts' caches and open-file state warmed).
  await Promise.all(
    pods.map(async ({ pod, target }) => {
      const file = join(target, `${pod.name}.txt`);
      await writeFile(file, `${pod.name}\n`);
      if ((await readFile(file, 'utf8')) !== `${pod.name}\n`) throw new Error(`${file} did not read back`);
    }),
  );
  console.log(`  VmRSS after a write+read in each: ${mib(rssMiB(pid))}; threads: ${threads(pid)}`);
  console.log(`  TCP connections to the NFS port:  ${connections(pid, server.nfsPort)} (one per server, shared by all ${PODS} mounts)`);
  console.log(
    `  cold publish (pod + token verified, identity mapped, mounted): median ${ms(median(cold))}, p90 ${ms(percentile(cold, 0.9))}, ` +
      `first ${ms(cold[0]!)} (MNT, connection), all ${PODS}: ${(cold.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s`,
  );

  const [warmPod] = pods;
  const warm: number[] = [];
  const unpublish: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    unpublish.push(await timed(() => node.unpublish(warmPod!.target)));
    warm.push(
      await timed(() =>
        node.csi.call('Node', 'NodePublishVolume', node.publishRequest(warmPod!.pod, warmPod!.target, { token: warmPod!.token })),
      ),
    );
  }
  console.log(
    `  warm NodePublishVolume (identity cached, connection open), ${ROUNDS} rounds: median ${ms(median(warm))}, ` +
      `min ${ms(Math.min(...warm))}, max ${ms(Math.max(...warm))}   (aim: < 100 ms)`,
  );
  console.log(`  NodeUnpublishVolume, ${ROUNDS} rounds: median ${ms(median(unpublish))}; VmRSS after them: ${mib(rssMiB(pid))}`);

  const cleanup = await timed(async () => {
    for (const { target } of pods) await node.unpublish(target);
  });
  const left = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(` ${node.dir}/`)).length;
  console.log(`  unpublished all ${PODS} in ${(cleanup / 1000).toFixed(1)} s; mounts left: ${left}; VmRSS then: ${mib(rssMiB(pid))}`);
}

try {
  await main();
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch((err: Error) => console.error(`cleanup: ${err.message}`));
}
