// Issue 11 for a standalone `kidfs mount` process (one mount, its own process budget): the security review took one
// from 88 MiB to 1,605 MiB by holding written files open, reading a little from many open files and listing a huge
// directory. Each attack, scaled down, must leave the process within its [mount] memory budget plus what it used before
// and a stated allowance, while another program keeps reading a file in the same mount.
import { chmodSync, closeSync, mkdirSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';
import { runAttack } from '../helpers/tenant-attack-run.ts';

const MiB = 1024 * 1024;
const BUDGET_MIB = 48;
/** Requests in flight, direct READ replies, per-file objects, garbage not yet collected (see test/node/tenant-isolation). */
const ALLOWANCE_MIB = 64;

const server = await startServer(t);
const work = makeWorkDir(t);
const config = writeConfig(work, `${STATIC_TABLE}\n[mount]\nmemory-per-mount = ${BUDGET_MIB}MiB\nmemory-per-process = ${BUDGET_MIB}MiB`);
writeFileSync(join(server.dir, 'probe'), Buffer.alloc(65536));
mkdirSync(join(server.dir, 'writes'));
chmodSync(join(server.dir, 'writes'), 0o777);
mkdirSync(join(server.dir, 'reads'), { mode: 0o755 });
for (let i = 0; i < 120; i++) {
  closeSync(openSync(join(server.dir, 'reads', `f${i}`), 'w', 0o644));
  truncateSync(join(server.dir, 'reads', `f${i}`), 8 * MiB);
}
mkdirSync(join(server.dir, 'huge'), { mode: 0o755 });
for (let i = 0; i < 100_000; i++) closeSync(openSync(join(server.dir, 'huge', `entry-with-a-longer-name-${i}`), 'w', 0o644));

const attacks: [string, (target: string) => string[], number][] = [
  ['16 files with 31 MiB written each, held open', (target) => ['writes', join(target, 'writes'), '16', String(31 * MiB)], 16 * 31 * MiB],
  ['120 open files with 128 KiB read from each', (target) => ['reads', join(target, 'reads'), '120', String(128 * 1024)], 120 * 128 * 1024],
  ['a directory of 100,000 entries listed', (target) => ['list', join(target, 'huge')], 100_000],
];
for (const [i, [what, args, expected]] of attacks.entries()) {
  t.test(`${what}: the kidfs mount process stays within its budget`, async (t) => {
    // A mount process of its own: its memory before the attack is the base.
    const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: `mnt${i}` });
    const result = await runAttack(mount.pid, args(mount.target), join(mount.target, 'probe'));
    const grownMiB = (result.peakKiB - result.baseKiB) / 1024;
    t.comment(
      `RssAnon ${Math.round(result.baseKiB / 1024)} -> peak ${Math.round(result.peakKiB / 1024)} MiB; ` +
        `reads meanwhile: median ${result.probe.medianMs} ms, max ${result.probe.maxMs} ms`,
    );
    t.ok(grownMiB < BUDGET_MIB + ALLOWANCE_MIB, `grew by ${grownMiB.toFixed(0)} MiB, less than ${BUDGET_MIB} + ${ALLOWANCE_MIB} MiB`);
    t.equal(result.holding, expected, 'the attack itself went through whole (back-pressure, not failure)');
    t.ok(result.probe.count > 0 && result.probe.failures === 0, 'the other reads all succeeded');
  });
}
