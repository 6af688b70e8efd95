// Benchmark: metadata work through a kidfs mount against the same work in a local directory, in one run.
//
//   node --import tsx scripts/bench-metadata.ts [--entries 10000] [--files 5000] [--rounds 3] [--base /dev/shm]
//
// - `ls -l` of a directory of --entries files (made on the export's backing directory, so only the listing is timed);
// - `find . -type f | xargs stat` over a tree of --files files (50 directories);
// - `tar x` of that tree (a tarball made from the local copy) into an empty directory.
// Each round mounts kidfs afresh (no name or attribute of an earlier round is cached); the table shows the median
// round, and the ratio local time / mount time (1 is as fast as a local directory). Every listing and every
// extracted tree is checked (entry count, total size).
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { startMount } from '../test/helpers/kidfs-mount.ts';
import { startLoopbackNfs } from './loopback-nfs.ts';

interface Options {
  entries: number;
  files: number;
  rounds: number;
  base: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { entries: 10000, files: 5000, rounds: 3, base: '/dev/shm' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--base') options.base = resolve(value);
    else if (flag === '--entries' || flag === '--files' || flag === '--rounds') {
      const n = Number(value);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`${flag} needs a positive whole number`);
      options[flag.slice(2) as 'entries' | 'files' | 'rounds'] = n;
    } else throw new Error(`unknown option ${flag} (known: --entries, --files, --rounds, --base)`);
  }
  return options;
}

const IDENTITY = 'bench/writer';
const UID = 2001;
const TREE_DIRS = 50;

/** Runs `script` in bash in `cwd`; resolves with its stdout and the seconds it took. */
function timedShell(script: string, cwd: string): Promise<{ out: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('bash', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve({ out, seconds: Number(process.hrtime.bigint() - start) / 1e9 })
        : reject(new Error(`${script} in ${cwd} failed (${code}): ${err.trim()}`)),
    );
  });
}

/** `dir/d<i>/f<j>` files of a few bytes, --files in all, over TREE_DIRS directories. */
async function makeTree(dir: string, files: number): Promise<void> {
  await mkdir(dir);
  for (let d = 0; d < TREE_DIRS; d++) await mkdir(join(dir, `d${d}`));
  for (let i = 0; i < files; i++) await writeFile(join(dir, `d${i % TREE_DIRS}`, `f${i}`), `file ${i}\n`);
}

async function makeFlat(dir: string, entries: number): Promise<void> {
  await mkdir(dir);
  for (let i = 0; i < entries; i++) await writeFile(join(dir, `entry-${i}`), '');
}

function expectCount(what: string, out: string, want: number): void {
  const got = Number(out.trim());
  if (got !== want) throw new Error(`${what}: ${got} entries, expected ${want}`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const steps: (() => unknown)[] = [];
  const t = { teardown: (step: () => unknown) => void steps.push(step) };
  try {
    const work = await mkdtemp(join(o.base, 'kidfs-bench-metadata-'));
    chmodSync(work, 0o755);
    t.teardown(async () => {
      if ((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${work}/`))
        throw new Error(`something is still mounted in ${work}: left in place`);
      await rm(work, { recursive: true, force: true });
    });
    const server = await startLoopbackNfs({ dir: join(work, 'export') });
    t.teardown(() => server.stop());
    chmodSync(server.dir, 0o777);
    const config = join(work, 'kidfs.ini');
    await writeFile(config, `[static]\n${IDENTITY} = ${UID}:${UID}\n`);
    const local = join(work, 'local');
    await mkdir(local);

    console.log(
      `bench-metadata: ls -l of ${o.entries} entries, find|xargs stat and tar x of ${o.files} files; load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}`,
    );
    for (const dir of [local, server.dir]) {
      await makeFlat(join(dir, 'flat'), o.entries);
      await makeTree(join(dir, 'tree'), o.files);
    }
    const tarball = join(work, 'tree.tar');
    await timedShell(`tar cf ${tarball} tree`, local);

    const ls = `ls -l flat | tail -n +2 | wc -l`;
    const stat = `find tree -type f | xargs stat -c '%s' | wc -l`;
    // As the mount's identity owns what it makes, tar does not try to give files their archived owner.
    const untar = (dir: string) => `mkdir ${dir} && tar xf ${tarball} --no-same-owner -C ${dir}`;
    const rows = {
      ls: { local: [] as number[], mount: [] as number[] },
      stat: { local: [] as number[], mount: [] as number[] },
      tar: { local: [] as number[], mount: [] as number[] },
    };
    for (let r = 0; r < o.rounds; r++) {
      const mount = await startMount(t, { url: server.url, identity: IDENTITY, config, dir: work, name: `mnt${r}` });
      for (const [where, dir] of [
        ['local', local],
        ['mount', mount.target],
      ] as const) {
        const listed = await timedShell(ls, dir);
        expectCount(`ls -l in ${where}`, listed.out, o.entries);
        rows.ls[where].push(listed.seconds);
        const stated = await timedShell(stat, dir);
        expectCount(`find | xargs stat in ${where}`, stated.out, o.files);
        rows.stat[where].push(stated.seconds);
        const extracted = await timedShell(untar(`untar${r}`), dir);
        expectCount(`tar x in ${where}`, (await timedShell(`find untar${r} -type f | wc -l`, dir)).out, o.files);
        rows.tar[where].push(extracted.seconds);
      }
      const { code, stderr } = await mount.stop();
      if (code !== 0) throw new Error(`kidfs mount exited with ${code}: ${stderr.trim()}`);
    }
    console.log(`\nmedian of ${o.rounds} rounds (a fresh mount each)       local s   mount s   local/mount`);
    const labels = {
      ls: `ls -l, ${o.entries} entries`,
      stat: `find | xargs stat, ${o.files} files`,
      tar: `tar x, ${o.files} files in ${TREE_DIRS} dirs`,
    };
    for (const key of ['ls', 'stat', 'tar'] as const) {
      const [l, m] = [median(rows[key].local), median(rows[key].mount)];
      console.log(
        `  ${labels[key].padEnd(46)} ${l.toFixed(2).padStart(7)} ${m.toFixed(2).padStart(9)} ${(l / m).toFixed(2).padStart(12)}x`,
      );
    }
  } finally {
    for (const step of steps.reverse())
      await Promise.resolve()
        .then(step)
        .catch((err: Error) => console.error(`bench-metadata: cleanup: ${err.message}`));
  }
}

main().catch((err: Error) => {
  console.error(`bench-metadata: ${err.message}`);
  process.exit(1);
});
