// Benchmark (issue 11): one tenant attacks the node daemon while another works. For each attack a fresh `kidfs node`
// (its own process, the default [mount] settings) serves two pods' mounts of a loopback ganesha export; the attacker
// runs in one mount (test/helpers/tenant-attack.ts) while the other tenant opens and reads a 64 KiB file in its own
// mount over and over (test/helpers/tenant-probe.ts). Reports the daemon's RssAnon before and at its peak during the
// attack, and the other tenant's open+read latency (median, 99th percentile, longest). `idle` is the reference: the
// other tenant alone.
//
//   node --import tsx scripts/bench-tenants.ts [--entries 200000]
import { closeSync, mkdirSync, openSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { run, startServer, USER_1000 } from '../test/helpers/kidfs-mount.ts';
import { TestCluster } from '../test/helpers/node-fixture.ts';
import { NodeProcess } from '../test/helpers/node-process.ts';
import { runAttack } from '../test/helpers/tenant-attack-run.ts';

const MiB = 1024 * 1024;
const i = process.argv.indexOf('--entries');
const ENTRIES = i < 0 ? 200_000 : Number(process.argv[i + 1]);
if (!Number.isSafeInteger(ENTRIES) || ENTRIES < 1) throw new Error('--entries needs a whole number of at least 1');

// Teardown in reverse order, as tap runs it: daemon (and its mounts) before the servers it uses.
let cleanups: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
async function cleanUp(list: (() => unknown)[]): Promise<void> {
  for (const fn of list.reverse()) await fn();
}

const attacks: { name: string; prepare(volumeDir: string): void; args(attacker: string): string[] }[] = [
  { name: 'idle (reference)', prepare: () => undefined, args: (dir) => ['idle', dir, '3000'] },
  {
    name: '16 files x 31 MiB written, held open',
    prepare: () => undefined,
    args: (dir) => {
      mkdirSync(join(dir, 'writes'));
      return ['writes', join(dir, 'writes'), '16', String(31 * MiB)];
    },
  },
  {
    name: '120 open files, 128 KiB read from each',
    prepare: (volume) => {
      mkdirSync(join(volume, 'reads'), { mode: 0o755 });
      for (let n = 0; n < 120; n++) {
        closeSync(openSync(join(volume, 'reads', `f${n}`), 'w', 0o644));
        truncateSync(join(volume, 'reads', `f${n}`), 8 * MiB);
      }
    },
    args: (dir) => ['reads', join(dir, 'reads'), '120', String(128 * 1024)],
  },
  {
    name: `ls of a ${ENTRIES.toLocaleString('en')}-entry directory`,
    prepare: (volume) => {
      mkdirSync(join(volume, 'huge'), { mode: 0o755 });
      for (let n = 0; n < ENTRIES; n++) closeSync(openSync(join(volume, 'huge', `entry-with-a-longer-name-${n}`), 'w', 0o644));
    },
    args: (dir) => ['list', join(dir, 'huge')],
  },
];

async function main(): Promise<void> {
  const cluster = await TestCluster.start(t);
  const server = await startServer(t);
  const shared = cleanups;
  console.log('attack | daemon RssAnon before -> peak (MiB) | other tenant open+read: median / p99 / max (ms), reads');
  for (const attack of attacks) {
    cleanups = [];
    try {
      const node = await NodeProcess.start(t, { cluster, server });
      const attacker = await node.publish(cluster.pod('editor'));
      const victim = await node.publish(cluster.pod('api'));
      if (run(USER_1000, victim, 'head -c 65536 /dev/zero > probe').status !== 0) throw new Error('cannot write the probe file');
      attack.prepare(node.volumeDir);
      const r = await runAttack(node.pid!, attack.args(attacker), join(victim, 'probe'));
      console.log(
        `${attack.name} | ${(r.baseKiB / 1024).toFixed(0)} -> ${(r.peakKiB / 1024).toFixed(0)} (+${((r.peakKiB - r.baseKiB) / 1024).toFixed(0)}) | ` +
          `${r.probe.medianMs} / ${r.probe.p99Ms} / ${r.probe.maxMs}, ${r.probe.count}${r.probe.failures ? ` (${r.probe.failures} failed)` : ''}`,
      );
      for (const dir of ['writes', 'reads', 'huge']) run('root', node.volumeDir, `rm -rf ${dir}`);
    } finally {
      await cleanUp(cleanups);
    }
  }
  cleanups = shared;
}

try {
  await main();
} finally {
  await cleanUp(cleanups);
}
